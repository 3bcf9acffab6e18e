"""Fuzzing every reader with damaged versions of small valid files (issue 9, item 17).

Each example takes a valid file, damages it (byte flips, insertions, deletions, truncation; for
gzip files also damage to the compressed bytes) and reads it. The reader must either parse the file
or raise the project's :class:`~seqlab.io.errors.InputError` naming the file; any other exception
(a zlib traceback, an ``EOFError`` that the CLI would print as a bare "Aborted", a pandas
``ParserError``, an ``IndexError``...) fails the test. Examples are derandomised, so the suite is
the same on every run, and small enough to run in a few seconds.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.io.errors import InputError
from seqlab.io.fasta import read_fasta, read_sequence_set
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.protein import read_sequences, read_string_links
from seqlab.io.tasks import read_task_table
from seqlab.io.vcf import read_vcf

FUZZ = settings(
    max_examples=int(os.environ.get("SEQLAB_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize="SEQLAB_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _read_genome(path: Path) -> None:
    for index in (Path(f"{path}.fai"), Path(f"{path}.gzi")):
        index.unlink(missing_ok=True)
    genome = Genome(path)
    for chrom, size in genome.chrom_sizes.items():
        genome.fetch(chrom, 0, size)


def _read_tasks(path: Path) -> None:
    (path.parent / "a.bed").write_text("chr1\t1\t5\n")
    read_task_table(path)


def _read_pair_corpus(path: Path) -> None:
    from seqlab.protein.corpus import PairCorpus

    PairCorpus.load(path)


VALID: dict[str, tuple[str, bytes, Callable[[Path], object]]] = {
    "bed": ("x.bed", b"track name=a\nchr1\t10\t20\tp1\t5\t+\nchr2\t0\t7\tp2\t.\t-\n", read_intervals),
    "narrowpeak": (
        "x.narrowPeak",
        b"chr1\t10\t200\tp1\t0\t.\t5.5\t3.1\t2.0\t40\nchr1\t300\t400\tp2\t0\t.\t1\t1\t1\t-1\n",
        read_intervals,
    ),
    "fasta": ("x.fa", b">a desc\nACGTNacgtn\nACG\n>b\nTTTT\n", read_fasta),
    "sequence_set": ("s.fa", b">chr1:0-8\nACGTACGT\n>chr2:5-13(+)\nGGGGCCCC\n", read_sequence_set),
    "tasks": ("tasks.tsv", b"task\tpeaks\ttarget\nCTCF\ta.bed\tCTCF\nREST\ta.bed\tREST\n", _read_tasks),
    "vcf": (
        "x.vcf",
        b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        b"chr1\t5\trs1\tA\tC,T\t.\t.\t.\nchr2\t9\t.\tAC\tA\t.\tPASS\tDP=3\n",
        read_vcf,
    ),
    "protein_fasta": ("p.fa", b">P1 kinase\nMKVLAAGIW\nKKR*\n>P2\nMSTNPKPQRKTKRNTNRRPQDVKFPGG\n", read_sequences),
    "sequence_dict": ("d.tsv", b"P1\tMKVLAAGIW\nP2\tMSTNPKPQRK\n", read_sequences),
    "string_links": (
        "links.txt",
        b"protein1 protein2 combined_score\n9606.A 9606.B 900\n9606.B 9606.C 150\n",
        read_string_links,
    ),
    "genome": ("g.fa", b">chr1 x\nACGTACGTAC\nGTACGTAC\n>chr2\nNNNNacgt\n", _read_genome),
    "pair_corpus": (
        "pairs.tsv",
        b"id_a\tid_b\tseq_a\tseq_b\tbinding\tscore\tsplit\nP1\tP2\tMKVL\tMSTN\t1\t900\ttrain\n"
        b"P3\tP1\tMAAG\tMKVL\t0\t0\tval\n",
        _read_pair_corpus,
    ),
}


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` after one to three byte-level edits, or truncated."""
    if draw(st.booleans()) and len(data) > 1:
        return data[: draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif not out:
            continue
        elif kind == "delete":
            del out[at : at + draw(st.integers(1, 4))]
        elif kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        else:
            out[at] = draw(st.sampled_from(b"\t\n\r >#.-0e\x00\xff\xc3"))
    return bytes(out)


def _check(name: str, payload: bytes, suffix: str = "") -> None:
    filename, _, reader = VALID[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (filename + suffix)
        path.write_bytes(payload)
        try:
            reader(path)
        except InputError as err:
            assert err.file is not None and Path(err.file).name == path.name, err
            assert path.name in str(err), err
            assert "\n" not in str(err), err
        except FileNotFoundError as err:  # a damaged task table names a peak file that is not there
            assert name == "tasks" and path.name in str(err), err


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_files_parse(name: str) -> None:
    filename, payload, reader = VALID[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_bytes(payload)
        reader(path)
        if name != "genome":  # a gzip genome must be bgzip; the others read gzip too
            path.write_bytes(gzip.compress(payload))
            reader(path)


@pytest.mark.parametrize("name", sorted(VALID))
def test_byte_level_damage_gives_input_error_naming_the_file(name: str) -> None:
    @FUZZ
    @given(payload=damaged(VALID[name][1]))
    def run(payload: bytes) -> None:
        _check(name, payload)

    run()


@pytest.mark.parametrize("name", sorted(set(VALID) - {"genome"}))
def test_gzip_damage_gives_input_error_naming_the_file(name: str) -> None:
    packed = gzip.compress(VALID[name][1], mtime=0)

    @FUZZ
    @given(payload=damaged(packed))
    def run(payload: bytes) -> None:
        _check(name, payload, ".gz")

    run()


GENOME = {"chr1": "ACGTACGTACGTAAC" * 300, "chr2": "GGGCCcaaNNTT", "chrM": "GATTACA" * 4}  # chr1 spans > 4 KB


def _genome_files(folder: Path, compressed: bool) -> Path:
    import pysam

    plain = folder / "g.fa"
    plain.write_text(
        "".join(f">{n} d\n" + "\n".join(s[i : i + 8] for i in range(0, len(s), 8)) + "\n" for n, s in GENOME.items())
    )
    if not compressed:
        pysam.faidx(str(plain))
        return plain
    packed = folder / "g.fa.gz"
    pysam.tabix_compress(str(plain), str(packed))
    pysam.faidx(str(packed))
    return packed


def _read_all_or_input_error(path: Path) -> None:
    """Every sequence reads back exactly, or an InputError names the FASTA (never wrong bases)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            genome = Genome(path)
            for name, seq in GENOME.items():
                assert genome.fetch(name, 0, len(seq)) == seq
            assert genome.chrom_sizes == {n: len(s) for n, s in GENOME.items()}
    except InputError as err:
        assert err.file is not None and Path(err.file).name == path.name, err


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "bgzip"])
def test_damaged_fai_never_reads_wrong_sequence(compressed: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        valid = Path(f"{_genome_files(Path(folder), compressed)}.fai").read_bytes()

    @FUZZ
    @given(index=damaged(valid))
    def run(index: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = _genome_files(Path(folder), compressed)
            Path(f"{path}.fai").write_bytes(index)
            _read_all_or_input_error(path)

    run()


def test_damaged_bgzip_genome_gives_input_error() -> None:
    with tempfile.TemporaryDirectory() as folder:
        valid = _genome_files(Path(folder), True).read_bytes()

    @FUZZ
    @given(payload=damaged(valid))
    def run(payload: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = _genome_files(Path(folder), True)
            path.write_bytes(payload)
            _read_all_or_input_error(path)

    run()


@st.composite
def edited_index(draw: st.DrawFn, data: bytes) -> bytes:
    """A ``.fai`` with whole entries dropped, reordered, or given a length of 0 (issue 17, item 5)."""
    rows = [line.split(b"\t") for line in data.splitlines()]
    kind = draw(st.sampled_from(["drop", "swap", "zero"]))
    if kind == "drop":
        keep = draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)).filter(lambda k: not all(k)))
        rows = [row for row, kept in zip(rows, keep, strict=True) if kept]
    elif kind == "swap":
        i, j = draw(st.permutations(range(len(rows))))[:2]
        rows[i], rows[j] = rows[j], rows[i]
    else:
        for i in draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=len(rows))):
            rows[i][1] = b"0"
            if draw(st.booleans()):
                rows[i][3:5] = [b"0", b"0"]
    return b"".join(b"\t".join(row) + b"\n" for row in rows)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "bgzip"])
def test_fai_with_entries_dropped_or_zeroed_never_loses_a_chromosome(compressed: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        valid = Path(f"{_genome_files(Path(folder), compressed)}.fai").read_bytes()

    @FUZZ
    @given(index=edited_index(valid))
    def run(index: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = _genome_files(Path(folder), compressed)
            Path(f"{path}.fai").write_bytes(index)
            _read_all_or_input_error(path)  # plain: re-indexed, every chromosome back; bgzip: refused

    run()


@pytest.mark.parametrize("name", ["fasta", "sequence_set", "genome", "protein_fasta", "bed", "vcf"])
def test_a_byte_order_mark_at_the_start_is_accepted(name: str) -> None:
    filename, payload, reader = VALID[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_bytes(payload)
        expected = reader(path)
        for index in (Path(f"{path}.fai"), Path(f"{path}.gzi")):
            index.unlink(missing_ok=True)
        path.write_bytes(b"\xef\xbb\xbf" + payload)
        got = reader(path)
        assert repr(got) == repr(expected)


@st.composite
def vcf_line_edits(draw: st.DrawFn, data: bytes) -> tuple[bytes, str]:
    """The valid VCF with its header lines lost, two records joined, or a record's last columns cut."""
    lines = data.split(b"\n")[:-1]
    kind = draw(st.sampled_from(["no header", "no #CHROM", "joined", "short"]))
    if kind == "no header":
        lines = lines[2:]
    elif kind == "no #CHROM":
        del lines[1]
    elif kind == "joined":
        lines[2:4] = [lines[2] + draw(st.sampled_from([b"", b"\t", b";"])) + lines[3]]
    else:
        at = draw(st.sampled_from([2, 3]))
        lines[at] = b"\t".join(lines[at].split(b"\t")[: draw(st.integers(1, 7))])
    return b"\n".join(lines) + b"\n", kind


def test_vcf_without_its_header_or_with_short_or_joined_records_is_refused() -> None:
    @FUZZ
    @given(edit=vcf_line_edits(VALID["vcf"][1]))
    def run(edit: tuple[bytes, str]) -> None:
        payload, _ = edit
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "x.vcf"
            path.write_bytes(payload)
            with pytest.raises(InputError) as info:
                read_vcf(path)
            assert info.value.file == str(path) and info.value.line is not None and "\n" not in str(info.value)

    run()


# --------------------------------------------------------------------------- weights files (issue 17, items 1 and 4)


def _weights_payloads() -> dict[str, tuple[str, bytes, Callable[[Path], object]]]:
    import io

    import torch
    from safetensors.torch import save

    from seqlab.io.weights import read_checkpoint, read_safetensors

    buffer = io.BytesIO()
    torch.save({"epoch": 1, "global_step": 4, "state_dict": {"w": torch.arange(6.0)}, "rng": [1, 2.5, "x"]}, buffer)
    return {
        "checkpoint": ("last.ckpt", buffer.getvalue(), read_checkpoint),
        "safetensors": ("model.safetensors", save({"w": torch.arange(6.0), "b": torch.ones(2, 2)}), read_safetensors),
    }


@pytest.mark.parametrize("name", ["checkpoint", "safetensors"])
def test_damaged_weights_files_give_input_error_naming_the_file(name: str) -> None:
    filename, data, reader = _weights_payloads()[name]

    @FUZZ
    @given(payload=damaged(data))
    def run(payload: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            path.write_bytes(payload)
            try:
                reader(path)
            except InputError as err:
                assert err.file == str(path) and "\n" not in str(err), err

    run()


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("where", ["top", "nested", "plain pickle"])
def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path, where: str) -> None:
    import pickle

    import torch

    from seqlab.io.weights import read_checkpoint

    marker, path = tmp_path / "marker", tmp_path / "last.ckpt"
    if where == "plain pickle":
        path.write_bytes(pickle.dumps({"global_step": 1, "x": _RunsCode(marker)}))
    else:
        payload = _RunsCode(marker) if where == "top" else {"state_dict": {"w": [_RunsCode(marker)]}}
        torch.save(payload, path)
    with pytest.raises(InputError, match=f"^{path}: cannot be read safely as a checkpoint"):
        read_checkpoint(path)
    assert not marker.exists()
