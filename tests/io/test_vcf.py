from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.io.errors import InputError
from seqlab.io.vcf import VCF_COLUMNS, read_vcf

HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def write(path: Path, body: str, header: str = HEADER) -> Path:
    path.write_text(header + body)
    return path


def test_positions_become_zero_based_and_lines_are_recorded(tmp_path: Path) -> None:
    vcf = write(tmp_path / "a.vcf", "chr1\t1\trs1\tA\tG\t.\tPASS\t.\n\nchr2\t100\t.\tc\tt\t50\tPASS\tDP=3\n")
    table = read_vcf(vcf)
    assert list(table.variants.columns) == VCF_COLUMNS
    assert table.variants.to_dict("records") == [
        {"chrom": "chr1", "pos0": 0, "id": "rs1", "ref": "A", "alt": "G", "line": 4},
        {"chrom": "chr2", "pos0": 99, "id": ".", "ref": "c", "alt": "t", "line": 6},
    ]
    assert table.counts == {
        "data_lines": 2,
        "alleles": 2,
        "kept": 2,
        "skipped_symbolic": 0,
        "skipped_multiallelic": 0,
        "skipped_indel": 0,
        "skipped_alt_equals_ref": 0,
        "skipped_ref_n": 0,
    }


def test_multiallelic_split_or_skip(tmp_path: Path) -> None:
    vcf = write(tmp_path / "m.vcf", "chr1\t10\tv1\tA\tC,G,T\t.\t.\t.\nchr1\t20\tv2\tA\tC\t.\t.\t.\n")
    split = read_vcf(vcf)
    assert split.variants[["pos0", "id", "alt"]].values.tolist() == [
        [9, "v1", "C"],
        [9, "v1", "G"],
        [9, "v1", "T"],
        [19, "v2", "C"],
    ]
    skipped = read_vcf(vcf, multiallelic="skip")
    assert skipped.variants["id"].tolist() == ["v2"]
    assert skipped.counts["skipped_multiallelic"] == 1
    assert skipped.counts["alleles"] == 4
    assert skipped.counts["kept"] == 1


def test_symbolic_alleles_are_skipped_and_counted(tmp_path: Path) -> None:
    body = (
        "chr1\t10\tsv\tA\t<DEL>\t.\t.\t.\n"
        "chr1\t11\tstar\tA\tC,*\t.\t.\t.\n"
        "chr1\t12\tmissing\tA\t.\t.\t.\t.\n"
        "chr1\t13\tbnd\tG\tG]chr2:5]\t.\t.\t.\n"
        "chr1\t14\tsingle\tG\tG.\t.\t.\t.\n"
        "chr1\t15\tgvcf\tG\tT,<*>\t.\t.\t.\n"
    )
    table = read_vcf(write(tmp_path / "s.vcf", body))
    assert table.variants[["id", "alt"]].values.tolist() == [["star", "C"], ["gvcf", "T"]]
    assert table.counts["skipped_symbolic"] == 6
    assert table.counts["alleles"] == 8


def test_indels_skipped_by_default_kept_on_request(tmp_path: Path) -> None:
    body = "chr1\t10\tins\tA\tAT\t.\t.\t.\nchr1\t20\tdel\tACG\tA\t.\t.\t.\nchr1\t30\tmnv\tAC\tGT\t.\t.\t.\n"
    vcf = write(tmp_path / "i.vcf", body)
    default = read_vcf(vcf)
    assert default.variants["id"].tolist() == ["mnv"]
    assert default.counts["skipped_indel"] == 2
    scored = read_vcf(vcf, indels="score")
    assert scored.variants["id"].tolist() == ["ins", "del", "mnv"]
    assert scored.counts["skipped_indel"] == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("chr1\t10\tx\tA\n", "4 tab-separated columns, the '#CHROM' line has 8"),
        ("chr1\t10\tx\tA\tC\t.\t.\n", "7 tab-separated columns"),
        ("chr1\t10\tx\tA\tC\t.\t.\tDP=1chr1\t11\ty\tA\tC\t.\t.\t.\n", "15 tab-separated columns"),
        ("chr1\tten\tx\tA\tC\t.\t.\t.\n", "POS 'ten'"),
        ("chr1\t0\tx\tA\tC\t.\t.\t.\n", "POS '0'"),
        ("chr1\t10\tx\tA-\tC\t.\t.\t.\n", "REF 'A-'"),
        ("chr1\t10\tx\tA\tC,Q\t.\t.\t.\n", "ALT 'Q'"),
        ("\t10\tx\tA\tC\t.\t.\t.\n", "empty CHROM"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    vcf = write(tmp_path / "bad.vcf", "chr1\t5\tok\tA\tC\t.\t.\t.\n" + line)
    with pytest.raises(ValueError, match=rf"bad\.vcf:5: malformed VCF line \(.*{reason}"):
        read_vcf(vcf)


def test_gzip_and_bgzip_read_like_plain(tmp_path: Path) -> None:
    body = "chr1\t10\tv1\tA\tC\t.\t.\t.\nchr1\t20\tv2\tG\tT\t.\t.\t.\n"
    plain = write(tmp_path / "p.vcf", body)
    with gzip.open(tmp_path / "g.vcf.gz", "wt") as handle:
        handle.write(HEADER + body)
    bgzipped = tmp_path / "b.vcf.gz"
    pysam.tabix_compress(str(plain), str(bgzipped))
    expected = read_vcf(plain).variants
    assert read_vcf(tmp_path / "g.vcf.gz").variants.equals(expected)
    assert read_vcf(bgzipped).variants.equals(expected)


def test_bad_options_are_rejected(tmp_path: Path) -> None:
    vcf = write(tmp_path / "o.vcf", "")
    with pytest.raises(ValueError, match="multiallelic"):
        read_vcf(vcf, multiallelic="keep")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="indels"):
        read_vcf(vcf, indels="yes")  # type: ignore[arg-type]
    assert read_vcf(vcf).variants.empty


alleles = st.text(alphabet="ACGTN", min_size=1, max_size=6)
records = st.lists(
    st.tuples(
        st.sampled_from(["chr1", "2", "chrX", "scaffold_7"]),
        st.integers(min_value=1, max_value=250_000_000),
        st.from_regex(r"(rs[0-9]{1,8}|\.)", fullmatch=True),
        st.text(alphabet="ACGT", min_size=1, max_size=6),  # REF with N is skipped (counted)
        st.lists(alleles, min_size=1, max_size=3),
    ).filter(lambda r: r[3] not in r[4]),  # ALT == REF is skipped (counted)
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=records)
def test_round_trip(tmp_path: Path, records: list[tuple[str, int, str, str, list[str]]]) -> None:
    body = "".join(f"{c}\t{p}\t{i}\t{r}\t{','.join(a)}\t.\t.\t.\n" for c, p, i, r, a in records)
    table = read_vcf(write(tmp_path / "rt.vcf", body), indels="score")
    expected = [(c, p - 1, i, r, alt, line) for line, (c, p, i, r, a) in enumerate(records, start=4) for alt in a]
    assert list(table.variants.itertuples(index=False, name=None)) == expected
    assert table.counts["kept"] == table.counts["alleles"] == len(expected)


def test_alt_equal_to_ref_and_ref_n_are_skipped_and_counted(tmp_path: Path, caplog) -> None:
    body = "chr1\t5\ta\tA\ta\nchr1\t6\tb\tN\tC\nchr1\t7\tc\tAN\tCC\nchr1\t8\td\tG\tT,G\n"
    vcf = write(tmp_path / "x.vcf", body.replace("\n", "\t.\t.\t.\n"))
    with caplog.at_level("WARNING"):
        table = read_vcf(vcf)
    assert table.variants["id"].tolist() == ["d"]
    assert table.counts["skipped_alt_equals_ref"] == 2
    assert table.counts["skipped_ref_n"] == 2
    assert "ALT equal to REF skipped" in caplog.text


def test_empty_vcf_warns(tmp_path: Path, caplog) -> None:
    vcf = write(tmp_path / "x.vcf", "")
    with caplog.at_level("WARNING"):
        assert read_vcf(vcf).variants.empty
    assert "no variants" in caplog.text


def test_damaged_bgzip_vcf_and_bad_bytes_are_named(tmp_path: Path) -> None:
    import gzip

    from seqlab.io.errors import DamagedFileError

    vcf = tmp_path / "x.vcf.gz"
    packed = gzip.compress(HEADER.encode() + b"".join(b"chr1\t%d\t.\tA\tC\t.\t.\t.\n" % (i + 1) for i in range(3000)))
    vcf.write_bytes(packed[:-8] + b"\1\2\3\4" + packed[-4:])  # bad CRC
    with pytest.raises(DamagedFileError, match="x.vcf.gz: the file is damaged"):
        read_vcf(vcf)
    vcf.write_bytes(packed[: len(packed) // 3])  # truncated
    with pytest.raises(DamagedFileError, match="x.vcf.gz: the file is damaged"):
        read_vcf(vcf)
    plain = tmp_path / "y.vcf"
    plain.write_bytes(HEADER.encode() + b"chr1\t5\t.\tA\tC\t.\t.\t.\nchr1\t6\t\xff\tA\tC\n")
    with pytest.raises(InputError, match=r"y.vcf:5: byte b'\\xff' is not UTF-8"):
        read_vcf(plain)
    plain.write_bytes(HEADER.encode() + b"chr1\t1e6\t.\tA\tC\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"y.vcf:4: malformed VCF line \(POS '1e6'") as info:
        read_vcf(plain)
    assert info.value.field == "POS"


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("chr1\t5\t.\tA\tC\t.\t.\t.\n", "h.vcf:1", "a record before the '#CHROM POS ID REF ALT QUAL FILTER INFO'"),
        ("##fileformat=VCFv4.2\nchr1\t5\t.\tA\tC\t.\t.\t.\n", "h.vcf:2", "a record before the '#CHROM"),
        ("##fileformat=VCFv4.2\n", "h.vcf", "no '#CHROM POS ID REF ALT QUAL FILTER INFO' header line"),
        ("", "h.vcf", "no '#CHROM"),
        ("#CHROM\tPOS\tID\tREF\tALT\nchr1\t5\t.\tA\tC\n", "h.vcf:1", "the header line must be"),
        (HEADER + HEADER.splitlines()[-1] + "\n", "h.vcf:4", "a second '#CHROM' header line"),
    ],
)
def test_a_vcf_without_its_chrom_header_line_is_refused(tmp_path: Path, text: str, where: str, reason: str) -> None:
    vcf = tmp_path / "h.vcf"
    vcf.write_text(text)
    with pytest.raises(InputError, match=rf"/{where}: .*{reason}") as info:
        read_vcf(vcf)
    assert "\n" not in str(info.value)


def test_samples_columns_are_allowed_when_the_header_has_them(tmp_path: Path) -> None:
    header = HEADER.rstrip("\n") + "\tFORMAT\tS1\n"
    table = read_vcf(write(tmp_path / "s.vcf", "chr1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\n", header))
    assert table.variants["alt"].tolist() == ["C"]
    with pytest.raises(InputError, match=r"s.vcf:4: .*8 tab-separated columns, the '#CHROM' line has 10"):
        read_vcf(write(tmp_path / "s.vcf", "chr1\t5\t.\tA\tC\t.\t.\t.\n", header))
