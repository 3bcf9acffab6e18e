import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlab.io.fasta import parse_window_names, read_fasta, read_sequence_set


def test_read_fasta_plain_and_gzip(tmp_path):
    text = ">chr1:0-8 extra words\nACGT\nacgt\n\n>chr2:10-14(-)\nNNAC\n"
    plain = tmp_path / "a.fa"
    plain.write_text(text)
    zipped = tmp_path / "a.fa.gz"
    with gzip.open(zipped, "wt") as handle:
        handle.write(text)
    for path in (plain, zipped):
        names, seqs = read_fasta(path)
        assert names == ["chr1:0-8", "chr2:10-14(-)"]
        assert seqs == ["ACGTacgt", "NNAC"]


def test_sequence_set_coordinates(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">chr1:0-8\nACGTACGT\n>chr2:10-14(-)\nNNAC\n")
    frame = read_sequence_set(path)
    assert frame.to_dict("list") == {
        "name": ["chr1:0-8", "chr2:10-14(-)"],
        "chrom": ["chr1", "chr2"],
        "start": [0, 10],
        "end": [8, 14],
        "strand": ["+", "-"],
        "sequence": ["ACGTACGT", "NNAC"],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ACGT\n>chr1:0-4\nACGT\n", r"a\.fa:1: sequence before the first '>' header"),
        (">chr1:0-4\n>chr1:4-8\nACGT\n", r"a\.fa:1: record 'chr1:0-4' has no sequence"),
        (">chr1:0-4\nACGT\n>chr1:4-8\n", r"a\.fa:3: record 'chr1:4-8' has no sequence"),
        (">chr1:0-4\nACGT\n> \nACGT\n", r"a\.fa:3: empty FASTA header"),
        (">chr1:0-4\nACGT\n>chr1:4-8\nAC1T\n", r"a\.fa:3: record 'chr1:4-8' holds '1'"),
        ("", r"a\.fa: no FASTA records"),
        (">window_7\nACGT\n", r"a\.fa: record 1 \('window_7'\) has no coordinates"),
        (">chr1:0-5\nACGT\n", r"a\.fa: record 1 \('chr1:0-5'\) spans 5 bp but its sequence has 4 bp"),
    ],
)
def test_malformed_fasta(tmp_path, text, message):
    path = tmp_path / "a.fa"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_sequence_set(path)


def test_unparsed_names_allowed_on_request(tmp_path):
    path = tmp_path / "a.fa"
    path.write_text(">window_7\nACGT\n>chr3:5-9\nACGT\n")
    frame = read_sequence_set(path, require_coordinates=False)
    assert frame["chrom"].tolist() == ["", "chr3"]
    assert frame["start"].tolist() == [-1, 5]


@given(
    # "::" is the bedtools name separator (name::chrom:start-end), so chromosome names do not hold it
    chrom=st.from_regex(r"[A-Za-z0-9_.:]{1,12}", fullmatch=True).filter(lambda c: "::" not in c),
    start=st.integers(0, 10**10),
    width=st.integers(0, 10**6),
    strand=st.sampled_from(["", "(+)", "(-)", "(.)"]),
)
def test_window_name_round_trip(chrom, start, width, strand):
    parsed = parse_window_names([f"{chrom}:{start}-{start + width}{strand}"]).iloc[0]
    assert parsed["parsed"]
    assert (parsed["chrom"], parsed["start"], parsed["end"]) == (chrom, start, start + width)
    assert parsed["strand"] == ("-" if strand == "(-)" else "+")


def test_bedtools_name_prefix_keeps_the_real_chromosome():
    # bedtools getfasta -name writes name::chrom:start-end(strand); the chromosome must drive splits.
    names = ["chr8:100-200", "peak7::chr8:100-200", "peak7::chr8:100-200(-)", "p::HLA-A*01:01:01:01:5-9"]
    frame = parse_window_names(names)
    assert frame["chrom"].tolist() == ["chr8", "chr8", "chr8", "HLA-A*01:01:01:01"]
    assert frame["strand"].tolist()[2] == "-"


# ---------------------------------------------------------------- bad input (issue 9)


def test_variant_style_names_are_not_coordinates():
    from seqlab.io.fasta import parse_window_names

    frame = parse_window_names(["chr1:12289969:G>A|chr1:12289904-12290104", "HLA-A*01:01:100-200", "x::chr2:5-9"])
    assert frame["parsed"].tolist() == [False, True, True]
    assert frame["chrom"].tolist() == ["", "HLA-A*01:01", "chr2"]


def test_duplicate_name_with_different_sequence_is_a_counted_warning(tmp_path, recwarn):
    path = tmp_path / "set.fa"
    path.write_text(">chr1:0-4\nACGT\n>chr1:0-4\nacgt\n")
    frame = read_sequence_set(path)  # the same sequence twice: silent (deduplication drops one)
    assert len(frame) == 2 and frame.attrs["names_with_different_sequences"] == 0 and not recwarn.list
    path.write_text(">chr1:0-4\nACGT\n>chr1:0-4\nACGA\n>chr2:0-4\nAAAA\n>chr1:0-4\nTTTT\n")
    with pytest.warns(UserWarning, match=r"set.fa: 2 records repeat an earlier record's name .*record 2 'chr1:0-4'"):
        frame = read_sequence_set(path)
    assert frame.attrs["names_with_different_sequences"] == 2


def test_undecodable_bytes_and_damaged_gzip_are_named(tmp_path):
    import gzip

    from seqlab.io.errors import DamagedFileError, InputError

    path = tmp_path / "x.fa"
    path.write_bytes(b">a\nACGT\n>b\nAC\xe9T\n")
    with pytest.raises(InputError, match=r"x.fa:4: byte b'\\xe9' is not UTF-8"):
        read_fasta(path)
    path.write_bytes(b">a\nACGT\n>b\nAC\xc3\xa9T\n")
    with pytest.raises(InputError, match=r"x.fa:3: record 'b' holds 'é', not a nucleotide code"):
        read_fasta(path)
    packed = gzip.compress(b">a\n" + b"ACGT" * 5000 + b"\n")
    path.write_bytes(packed[: len(packed) - 20])
    with pytest.raises(DamagedFileError, match="x.fa: the file is damaged"):
        read_fasta(path)


def test_a_byte_order_mark_before_the_first_header_is_accepted(tmp_path):
    path = tmp_path / "bom.fa"
    path.write_bytes(b"\xef\xbb\xbf>chr1:0-4\nACGT\n")
    frame = read_sequence_set(path)
    assert list(frame["name"]) == ["chr1:0-4"] and list(frame["sequence"]) == ["ACGT"]
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf>a\nAC\n"))
    assert read_fasta(path) == (["a"], ["AC"])
