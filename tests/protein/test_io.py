import gzip
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.io.protein import (
    ALPHABET,
    clean_sequence,
    read_protein_fasta,
    read_sequence_dict,
    read_sequences,
    read_string_links,
)


def _write(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


FASTA = ">sp|P1 first protein\nMKV\nlla*\n\n>P2\nACDEFGHIKLMNPQRSTVWYX\n"


@pytest.mark.parametrize("gz", [False, True])
def test_fasta_plain_and_gzip(tmp_path, gz):
    # The name does not say gzip: compression is detected from the content.
    path = _write(tmp_path / "proteins.fa", FASTA, gz=gz)
    assert read_protein_fasta(path) == {"sp|P1": "MKVLLA", "P2": "ACDEFGHIKLMNPQRSTVWYX"}
    assert read_sequences(path) == read_protein_fasta(path)


def test_fasta_maps_nonstandard_residues_to_x(tmp_path):
    path = _write(tmp_path / "p.fa", ">A\nMUOB\nZJK\n")
    assert read_protein_fasta(path) == {"A": "MXXXXXK"}


def test_fasta_reject_names_file_line_id_residue(tmp_path):
    path = _write(tmp_path / "p.fa", ">A\nMKV\n>B desc\nMKV\nMMU\n")
    with pytest.raises(ValueError, match=r"p\.fa, line 5, id 'B': non-standard residue 'U' at position 3"):
        read_protein_fasta(path, unknown="reject")


@pytest.mark.parametrize("unknown", ["map_to_x", "reject"])
def test_non_letters_are_always_errors(tmp_path, unknown):
    path = _write(tmp_path / "p.fa", ">A\nMK-V\n")
    with pytest.raises(ValueError, match=r"line 2, id 'A': character that is not a residue '-' at position 3"):
        read_protein_fasta(path, unknown=unknown)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">A\n>B\nMK\n", r"line 1, id 'A': empty sequence"),
        (">A\nMK\n>A\nMK\n", r"line 3: duplicate id 'A'"),
        ("MK\n>A\nMK\n", r"line 1: sequence before the first '>'"),
        (">\nMK\n", r"line 1: FASTA header without an id"),
    ],
)
def test_fasta_structure_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_protein_fasta(_write(tmp_path / "p.fa", text))


def test_clean_sequence_reports_mapped_count():
    assert clean_sequence(" mk uv\n") == ("MKXV", 1)
    with pytest.raises(ValueError, match=r"x\.tsv, line 7, id 'Q': empty sequence"):
        clean_sequence("*", source="x.tsv", line=7, seq_id="Q")


@pytest.mark.parametrize("gz", [False, True])
def test_sequence_dict_plain_and_gzip(tmp_path, gz):
    path = _write(tmp_path / "dict.tsv", "9606.ENSP1\tMKVL\n\n9606.ENSP2\tacdu\n", gz=gz)
    assert read_sequence_dict(path) == {"9606.ENSP1": "MKVL", "9606.ENSP2": "ACDX"}
    assert read_sequences(path) == {"9606.ENSP1": "MKVL", "9606.ENSP2": "ACDX"}


def test_sequence_dict_errors_name_line(tmp_path):
    bad_fields = _write(tmp_path / "a.tsv", "P1\tMK\nP2\tMK\textra\n")
    with pytest.raises(ValueError, match=r"a\.tsv, line 2: expected 'id<TAB>sequence' \(2 fields\), found 3"):
        read_sequence_dict(bad_fields)
    reject = _write(tmp_path / "b.tsv", "P1\tMK\nP2\tMKB\n")
    with pytest.raises(ValueError, match=r"b\.tsv, line 2, id 'P2': non-standard residue 'B' at position 3"):
        read_sequence_dict(reject, unknown="reject")
    empty = _write(tmp_path / "c.tsv", "P1\t\n")
    with pytest.raises(ValueError, match=r"c\.tsv, line 1, id 'P1': empty sequence"):
        read_sequence_dict(empty)
    with pytest.raises(FileNotFoundError, match="file not found"):
        read_sequence_dict(tmp_path / "missing.tsv")


EXPECTED_LINKS = pd.DataFrame(
    {"protein1": ["9606.A", "9606.B"], "protein2": ["9606.B", "9606.A"], "combined_score": [900, 150]}
)
LINKS_FILES = {
    "links": "protein1 protein2 combined_score\n9606.A 9606.B 900\n9606.B 9606.A 150\n",
    "detailed": (
        "protein1 protein2 neighborhood fusion cooccurence coexpression experimental database textmining "
        "combined_score\n9606.A 9606.B 0 0 0 62 800 0 300 900\n9606.B 9606.A 0 0 0 0 0 0 150 150\n"
    ),
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("kind", sorted(LINKS_FILES))
def test_string_links_and_detailed(tmp_path, kind, gz):
    frame = read_string_links(_write(tmp_path / "links.txt", LINKS_FILES[kind], gz=gz))
    pd.testing.assert_frame_equal(frame, EXPECTED_LINKS, check_dtype=False)
    assert frame["combined_score"].dtype == "int64"


@pytest.mark.parametrize("gz", [False, True])
def test_string_actions(tmp_path, gz):
    text = (
        "item_id_a\titem_id_b\tmode\taction\tis_directional\ta_is_acting\tscore\n"
        "9606.A\t9606.B\treaction\t\tt\tt\t900\n"
        "9606.A\t9606.B\tbinding\t\tf\tf\t650\n"
        "9606.B\t9606.A\tactivation\tactivation\tf\tf\t175"  # no trailing newline, as in SHS27k
    )
    frame = read_string_links(_write(tmp_path / "actions.txt", text, gz=gz))
    assert list(frame.columns) == ["protein1", "protein2", "combined_score", "mode"]
    assert frame["combined_score"].tolist() == [900, 650, 175]
    assert frame["mode"].tolist() == ["reaction", "binding", "activation"]
    assert frame["protein1"].tolist() == ["9606.A", "9606.A", "9606.B"]


def test_string_links_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unrecognised STRING header 'id a b'"):
        read_string_links(_write(tmp_path / "x.txt", "id a b\n1 2 3\n"))
    with pytest.raises(ValueError, match=r"y\.txt, line 3: score '9x' is not an integer"):
        read_string_links(_write(tmp_path / "y.txt", "protein1 protein2 combined_score\nA B 1\nA C 9x\n"))


ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12).filter(
    lambda s: not s.startswith(">")
)
records = st.dictionaries(ids, st.text(alphabet=ALPHABET, min_size=1, max_size=200), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=records, width=st.integers(1, 80), gz=st.booleans(), lower=st.booleans())
def test_fasta_round_trip(tmp_path, records, width, gz, lower):
    lines = []
    for seq_id, seq in records.items():
        lines.append(f">{seq_id} some description")
        text = seq.lower() if lower else seq
        lines.extend(text[i : i + width] for i in range(0, len(text), width))
    path = _write(tmp_path / "rt.fa", "\n".join(lines) + "\n", gz=gz)
    assert read_protein_fasta(path, unknown="reject") == records


# ---------------------------------------------------------------- bad input (issue 9)


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("a b 1200\n", r"line 2: score 1200 is outside STRING's range 0-1000", 2),
        ("a b 5\nc d -3\n", r"line 3: score -3 is outside STRING's range 0-1000", 3),
        ("a b 5\nc d x7\n", r"line 3: score 'x7' is not an integer", 3),
        ("a b 5\nc d 7 extra\n", r"line 3: 4 fields, but the header has 3", 3),
        ("a b 5\nc 7\n", r"line 3: 2 fields, but the header has 3", 3),
    ],
)
def test_string_links_scores_and_fields_are_checked(tmp_path, body, message, line):
    from seqlab.io.errors import InputError
    from seqlab.io.protein import read_string_links

    path = tmp_path / "links.txt"
    path.write_text("protein1 protein2 combined_score\n" + body)
    with pytest.raises(InputError, match=message) as info:
        read_string_links(path)
    assert info.value.file == str(path) and info.value.line == line


def test_protein_readers_name_damaged_and_undecodable_files(tmp_path):
    import gzip

    from seqlab.io.errors import DamagedFileError, InputError
    from seqlab.io.protein import read_sequences, read_string_links

    packed = gzip.compress(b"".join(b">p%d\nMKVL\n" % i for i in range(3000)))
    path = tmp_path / "seqs.fa.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DamagedFileError, match="seqs.fa.gz: the file is damaged"):
        read_sequences(path)
    links = tmp_path / "links.txt.gz"
    links.write_bytes(gzip.compress(b"protein1 protein2 combined_score\na b 5\n")[:-3])
    with pytest.raises(DamagedFileError, match="links.txt.gz: the file is damaged"):
        read_string_links(links)
    plain = tmp_path / "dict.tsv"
    plain.write_bytes(b"p1\tMKV\np2\tMK\xffV\n")
    with pytest.raises(InputError, match=r"dict.tsv:2: byte b'\\xff' is not UTF-8"):
        read_sequences(plain)
