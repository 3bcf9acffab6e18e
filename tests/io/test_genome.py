import gzip
import pickle
from pathlib import Path

import pysam
import pytest

from seqlab.io.errors import DamagedFileError, InputError
from seqlab.io.genome import Genome, canonical_chrom

SEQS = {
    "chr1": "ACGTACGTNNacgtacgtAAAACCCCGGGGTTTT" * 3,
    "chrM": "GATTACA" * 5,
    "chrX": "TTTTGGGGCCCCAAAA",
}


def _write(path: Path) -> Path:
    with open(path, "w") as handle:
        for name, seq in SEQS.items():
            handle.write(f">{name} some description\n")
            for i in range(0, len(seq), 10):
                handle.write(seq[i : i + 10] + "\n")
    return path


@pytest.fixture(params=["plain", "bgzip"])
def fasta(request, tmp_path) -> Path:
    plain = _write(tmp_path / "toy.fa")
    if request.param == "plain":
        return plain
    compressed = tmp_path / "toy.fa.gz"
    pysam.tabix_compress(str(plain), str(compressed))
    pysam.faidx(str(compressed))  # writes .fai and .gzi
    assert (tmp_path / "toy.fa.gz.gzi").is_file()
    return compressed


def test_sizes_fetch_and_case(fasta):
    genome = Genome(fasta, name="toy")
    assert genome.name == "toy"
    assert genome.chrom_sizes == {name: len(seq) for name, seq in SEQS.items()}
    assert genome.fetch("chr1", 0, 12) == "ACGTACGTNNac"
    assert genome.fetch("chr1", 95, 102) == SEQS["chr1"][95:102]
    assert genome.fetch("chrX", 16, 16) == ""


def test_aliases(fasta):
    genome = Genome(fasta)
    assert genome.resolve("1") == "chr1"
    assert genome.resolve("MT") == "chrM"
    assert genome.resolve("M") == "chrM"
    assert genome.resolve("X") == "chrX"
    assert genome.fetch("MT", 0, 7) == "GATTACA"
    assert "1" in genome and "chr2" not in genome


def test_missing_chromosome_lists_what_the_genome_has(fasta):
    genome = Genome(fasta)
    with pytest.raises(KeyError, match=r"'chr2' not in genome.*chr1, chrM, chrX"):
        genome.fetch("chr2", 0, 10)


def test_padding_and_bounds(fasta):
    genome = Genome(fasta)
    assert genome.fetch("chrX", -3, 2, pad=True) == "NNNTT"
    assert genome.fetch("chrX", 14, 19, pad=True) == "AANNN"
    assert genome.fetch("chrX", -2, 18, pad=True) == "NN" + SEQS["chrX"] + "NN"
    assert genome.fetch("chrX", 20, 23, pad=True) == "NNN"
    with pytest.raises(ValueError, match="runs off chromosome chrX"):
        genome.fetch("chrX", 10, 17)
    with pytest.raises(ValueError, match="end < start"):
        genome.fetch("chrX", 5, 4)


def test_fetch_many_keeps_input_order(fasta):
    genome = Genome(fasta)
    out = genome.fetch_many(["chrX", "chr1", "chrX"], [4, 0, 0], [8, 4, 4])
    assert out == ["GGGG", "ACGT", "TTTT"]


def test_pickle_drops_the_handle_and_reopens(fasta):
    genome = Genome(fasta)
    genome.fetch("chr1", 0, 4)
    assert genome._fasta is not None
    clone = pickle.loads(pickle.dumps(genome))
    assert clone._fasta is None
    assert clone.fetch("chrX", 0, 4) == "TTTT"
    genome.close()
    assert genome.fetch("chrX", 0, 4) == "TTTT"


def test_canonical_names():
    assert canonical_chrom("chr1") == canonical_chrom("1") == "1"
    assert canonical_chrom("chrM") == canonical_chrom("MT") == canonical_chrom("chrMT") == "MT"
    assert canonical_chrom("chrUn_gl000220") == "Un_gl000220"
    assert canonical_chrom("chr") == "chr"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="genome FASTA not found"):
        Genome(tmp_path / "nope.fa")


def test_plain_gzip_is_rejected_with_a_clear_error(tmp_path):
    path = tmp_path / "plain.fa.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(">chr1\nACGT\n")
    with pytest.raises(InputError, match="plain.fa.gz: cannot index the genome FASTA"):
        Genome(path)


@pytest.mark.realdata
def test_hg19_chr22_bgzip_matches_window_fasta(shared_data):
    from seqlab.io.fasta import read_sequence_set

    genome = Genome(shared_data / "dna/chr22_primates/hg19.chr22.fa.gz", name="hg19")
    assert genome.chrom_sizes == {"chr22": 51_304_566}
    assert genome.resolve("22") == "chr22"
    windows = read_sequence_set(shared_data / "dna/gm12878_hg19/windows/CTCF_GM12878_pos.fa.gz")
    chr22 = windows[windows["chrom"] == "chr22"]
    compared = 0
    for row in chr22.itertuples():
        seq = genome.fetch("22", row.start, row.end)
        if "N" in seq.upper():
            continue  # outside the MAF subset
        assert seq.upper() == row.sequence
        if compared == 0:
            assert genome.fetch("chr22", row.start, row.start + 60).upper() == row.sequence[:60]
        compared += 1
    assert compared >= 20


def test_stale_index_is_reported(tmp_path):
    import os
    import warnings

    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\nACGTACGTACGTAC\n")
    assert Genome(fasta).chrom_sizes == {"chr1": 14}  # writes g.fa.fai
    fasta.write_text(">chr1\nACGTACGTACGTACGT\n")
    index = tmp_path / "g.fa.fai"
    os.utime(index, (fasta.stat().st_mtime - 10, fasta.stat().st_mtime - 10))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert Genome(fasta).chrom_sizes == {"chr1": 16}  # the stale index is found out and rebuilt
    assert any("is older than the genome FASTA" in str(w.message) for w in caught)
    assert any("does not match" in str(w.message) and "rebuilding" in str(w.message) for w in caught)


# ---------------------------------------------------------------- index (.fai) checks, alphabet, damage


def _fai_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in Path(f"{path}.fai").read_text().splitlines()]


def _write_fai(path: Path, rows: list[list[str]]) -> None:
    Path(f"{path}.fai").write_text("".join("\t".join(row) + "\n" for row in rows))


@pytest.mark.parametrize(
    ("field", "delta"),
    [(2, 1), (2, -1), (2, 11), (1, 1), (1, -1), (1, 10), (1, -10), (3, 1), (4, 1), (3, -1)],
)
def test_a_fai_that_does_not_match_a_plain_fasta_is_rebuilt(tmp_path, field, delta):
    fasta = _write(tmp_path / "toy.fa")
    Genome(fasta).close()  # writes the index
    rows = _fai_rows(fasta)
    rows[1][field] = str(int(rows[1][field]) + delta)  # chrM
    _write_fai(fasta, rows)
    with pytest.warns(UserWarning, match="does not match"):
        genome = Genome(fasta)
    assert genome.chrom_sizes == {name: len(seq) for name, seq in SEQS.items()}
    assert genome.fetch("chrM", 0, 35) == SEQS["chrM"]
    assert genome.fetch("chrX", 0, 16) == SEQS["chrX"]


def test_a_fai_that_does_not_match_a_bgzip_fasta_is_refused(tmp_path):
    plain = _write(tmp_path / "toy.fa")
    compressed = tmp_path / "toy.fa.gz"
    pysam.tabix_compress(str(plain), str(compressed))
    pysam.faidx(str(compressed))
    rows = _fai_rows(compressed)
    rows[2][2] = str(int(rows[2][2]) + 1)  # chrX offset shifted by one byte
    _write_fai(compressed, rows)
    with pytest.raises(InputError, match=r"toy.fa.gz: the index .*does not match the bgzip FASTA.*'chrX'.*samtools"):
        Genome(compressed)


def test_non_iupac_character_names_chromosome_and_position(tmp_path):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">chr1\nACGTACGTAC\nACGT!CGTAC\n>chr2\nACGT\n")
    genome = Genome(fasta)
    assert genome.fetch("chr1", 0, 10) == "ACGTACGTAC"
    with pytest.raises(InputError, match=r"bad.fa: chr1: position 15 \(1-based\) holds '!'") as info:
        genome.fetch("chr1", 8, 18)
    assert info.value.file == str(fasta) and info.value.field == "chr1"


def test_damaged_bgzip_genome_is_named(tmp_path):
    plain = _write(tmp_path / "toy.fa")
    compressed = tmp_path / "toy.fa.gz"
    pysam.tabix_compress(str(plain), str(compressed))
    pysam.faidx(str(compressed))
    data = bytearray(compressed.read_bytes())
    data[40:60] = bytes(20)  # inside the first block's deflate payload
    compressed.write_bytes(bytes(data))
    with pytest.raises(DamagedFileError, match=r"toy.fa.gz: the file is damaged"):
        genome = Genome(compressed)
        genome.fetch("chr1", 0, 50)


BIG = {"chr1": "ACGTTGCA" * 700, "chr2": "GGATCCAA" * 300, "chrM": "GATTACA" * 4}  # chr1 spans > 4 KB


def _big(tmp_path: Path, compressed: bool) -> Path:
    plain = tmp_path / "big.fa"
    lines = [f">{n}\n" + "\n".join(s[i : i + 60] for i in range(0, len(s), 60)) + "\n" for n, s in BIG.items()]
    plain.write_text("".join(lines))
    if not compressed:
        pysam.faidx(str(plain))
        return plain
    packed = tmp_path / "big.fa.gz"
    pysam.tabix_compress(str(plain), str(packed))
    pysam.faidx(str(packed))
    return packed


@pytest.mark.parametrize(
    "edit",
    [
        lambda rows: rows[1:],
        lambda rows: rows[2:],
        lambda rows: [[rows[0][0], "0", rows[0][2], "0", "0"]],
        lambda rows: [rows[0], rows[2]],
    ],
    ids=["first-entry-missing", "first-two-missing", "zero-length-only", "middle-entry-missing"],
)
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "bgzip"])
def test_a_fai_missing_entries_or_with_a_zero_length_entry_is_not_accepted(tmp_path, compressed, edit):
    path = _big(tmp_path, compressed)
    _write_fai(path, edit(_fai_rows(path)))
    if compressed:
        with pytest.raises(InputError, match=r"big.fa.gz: the index .*does not match the bgzip FASTA") as info:
            Genome(path)
        assert "\n" not in str(info.value)
        return
    with pytest.warns(UserWarning, match="does not match.*rebuilding it"):
        genome = Genome(path)
    assert genome.chrom_sizes == {name: len(seq) for name, seq in BIG.items()}
    assert genome.fetch("chr1", 0, len(BIG["chr1"])) == BIG["chr1"]


def test_a_byte_order_mark_before_the_first_header_is_accepted(tmp_path):
    fasta = tmp_path / "bom.fa"
    fasta.write_bytes(b"\xef\xbb\xbf" + _write(tmp_path / "toy.fa").read_bytes())
    genome = Genome(fasta)
    assert genome.chrom_sizes == {name: len(seq) for name, seq in SEQS.items()}
    assert genome.fetch("chr1", 0, 12) == "ACGTACGTNNac"
    assert genome.fetch("chrX", 0, 16) == SEQS["chrX"]
    rows = _fai_rows(fasta)
    rows[0][2] = "3"  # an index that ignores the header is rebuilt
    _write_fai(fasta, rows)
    with pytest.warns(UserWarning, match="rebuilding it"):
        assert Genome(fasta).fetch("chrM", 0, 35) == SEQS["chrM"]


def test_inconsistent_lines_of_a_fasta_with_a_byte_order_mark_name_the_line(tmp_path):
    fasta = tmp_path / "bom.fa"
    fasta.write_bytes(b"\xef\xbb\xbf>chr1\nACGT\nAC\nACGT\n")
    with pytest.raises(InputError, match=r"bom.fa:4: lines of sequence 'chr1' are not of one length"):
        Genome(fasta)


def test_entries_missing_at_the_end_are_found_at_open(tmp_path):
    path = _big(tmp_path, compressed=False)
    _write_fai(path, _fai_rows(path)[:2])  # chrM lost: chr2 (the last entry) must end the file
    with pytest.warns(UserWarning, match="sequence 'chr2'.*the file goes on after the last sequence"):
        genome = Genome(path)
    assert genome.chrom_sizes == {name: len(seq) for name, seq in BIG.items()}


def test_every_fai_entry_is_checked_at_open_even_for_thousands_of_contigs(tmp_path):
    plain = tmp_path / "many.fa"
    plain.write_text("".join(f">c{i}\nACGTACGT\n" for i in range(2500)))
    pysam.faidx(str(plain))
    rows = _fai_rows(plain)
    _write_fai(plain, rows[:2200] + rows[2201:])  # c2200 lost deep in the index: c2199 must be followed by c2201
    with pytest.warns(UserWarning, match="sequence 'c2199'"):
        genome = Genome(plain)
    assert len(genome.chrom_sizes) == 2500  # re-indexed at open
