import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.io.intervals import detect_format, read_intervals, write_bed


def test_bed3_with_headers_and_blank_lines(tmp_path):
    path = tmp_path / "a.bed"
    path.write_text("track name=x\nbrowser position chr1\n# comment\nchr1\t10\t20\n\nchr2\t0\t5\n")
    frame = read_intervals(path)
    assert frame[["chrom", "start", "end"]].to_dict("list") == {
        "chrom": ["chr1", "chr2"],
        "start": [10, 0],
        "end": [20, 5],
    }
    assert frame["start"].dtype == np.int64
    assert frame["name"].tolist() == [".", "."]
    assert frame["strand"].tolist() == [".", "."]
    assert frame["score"].isna().all()


def test_bed6_gzip_and_extra_columns(tmp_path):
    path = tmp_path / "a.bed.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("chr1\t10\t20\tpeakA\t900\t+\t12\t18\n1\t5\t9\tpeakB\t.\t-\t5\t9\n")
    frame = read_intervals(path)
    assert list(frame.columns) == ["chrom", "start", "end", "name", "score", "strand", "thick_start", "thick_end"]
    assert frame["name"].tolist() == ["peakA", "peakB"]
    assert frame["score"].tolist()[0] == 900.0 and np.isnan(frame["score"].iloc[1])
    assert frame["strand"].tolist() == ["+", "-"]


def test_track_like_chromosome_names_are_data(tmp_path):
    path = tmp_path / "a.bed"
    path.write_text("track\tx\nbrowser\nbin1\t1\t2\ntrackX\t3\t4\n")
    frame = read_intervals(path)
    assert frame["chrom"].tolist() == ["bin1", "trackX"]


def test_narrowpeak(tmp_path):
    path = tmp_path / "p.narrowPeak"
    path.write_text("chr1\t100\t600\t.\t1000\t.\t549.7\t-1\t4.67\t262\nchr2\t0\t50\tn\t0\t+\t1\t2\t3\t-1\n")
    assert detect_format(path) == "narrowPeak"
    frame = read_intervals(path)
    assert frame["summit"].tolist() == [262, -1]
    assert frame["signal_value"].tolist() == [549.7, 1.0]
    assert frame["p_value"].tolist() == [-1.0, 2.0]
    assert frame["summit"].dtype == np.int64


def test_broadpeak(tmp_path):
    path = tmp_path / "p.broadPeak.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("chr1\t100\t600\t.\t1000\t.\t5.5\t-1\t4.67\n")
    frame = read_intervals(path)
    assert detect_format(path) == "broadPeak"
    assert frame[["signal_value", "p_value", "q_value"]].iloc[0].tolist() == [5.5, -1.0, 4.67]
    assert "summit" not in frame.columns


def test_empty_file_gives_typed_empty_frame(tmp_path):
    path = tmp_path / "e.narrowPeak"
    path.write_text("track name=empty\n")
    frame = read_intervals(path)
    assert frame.empty and frame["start"].dtype == np.int64 and "summit" in frame.columns


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("chr1\t1\t5\nchr1\t200\t100\n", "bed", r"peaks\.bed:2: end \(100\) < start \(200\)"),
        ("#x\nchr1\t1\t5\nchr1 1 5\n", "bed", r"peaks\.bed:3: expected at least 3 tab-separated columns"),
        ("chr1\t1\t5\nchr1\tx\t5\n", "bed", r"peaks\.bed:2: start 'x' is not an integer"),
        ("chr1\t1.5\t5\n", "bed", r"peaks\.bed:1: start '1.5' is not an integer"),
        ("chr1\t-4\t5\n", "bed", r"peaks\.bed:1: start \(-4\) is negative"),
        ("chr1\t1\t5\tn\t.\t*\n", "bed", r"peaks\.bed:1: strand '\*' is not"),
        ("chr1\t1\t5\tn\tbig\t+\n", "bed", r"peaks\.bed:1: score 'big' is not a number or '\.'"),
        ("\tchr1\t1\n", "bed", r"peaks\.bed:1: empty chromosome name"),
        ("chr1\t1\t5\t.\t0\t.\t1\t1\t1\n", "narrowPeak", r"peaks\.bed:1: expected 10 tab-separated columns"),
        (
            "chr1\t1\t5\t.\t0\t.\t1\t1\t1\t4\nchr1\t1\t5\t.\t0\t.\t1\t1\t1\t5\n",
            "narrowPeak",
            r"peaks\.bed:2: summit \(5\) outside the peak of length 4",
        ),
        ("chr1\t1\t5\t.\t0\t.\tx\t1\t1\n", "broadPeak", r"peaks\.bed:1: signal_value 'x' is not a number"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, fmt, message):
    path = tmp_path / "peaks.bed"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_intervals(path, fmt)


def test_windows_line_endings(tmp_path):
    path = tmp_path / "a.bed"
    path.write_bytes(b"chr1\t1\t5\r\nchr1\t7\t9\r\n")
    assert read_intervals(path)["end"].tolist() == [5, 9]


@pytest.mark.realdata
def test_real_narrowpeak_reads_fast_and_typed(shared_data):
    frame = read_intervals(shared_data / "dna/gm12878_hg19/peaks/POL2_GM12878_hg19.narrowPeak.gz")
    assert len(frame) == 27_558
    assert frame.drop_duplicates(["chrom", "start", "end"]).shape[0] == 21_737
    assert (frame["summit"] >= 0).all()


_chrom = st.sampled_from(["chr1", "chr2", "1", "chrUn_gl000220", "scaffold_7"])
_row = st.tuples(
    _chrom,
    st.integers(0, 10**9),
    st.integers(0, 10**6),
    st.text(alphabet="abcXYZ_.0123", min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(0, 1000)),
    st.sampled_from(["+", "-", "."]),
    st.floats(-1, 1e4, allow_nan=False),
    st.integers(-1, 10**6),
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=20), gz=st.booleans())
def test_narrowpeak_round_trip(tmp_path_factory, rows, gz):
    records = []
    for chrom, start, width, name, score, strand, signal, summit in rows:
        width = max(width, 1)
        records.append(
            {
                "chrom": chrom,
                "start": start,
                "end": start + width,
                "name": name,
                "score": np.nan if score is None else float(score),
                "strand": strand,
                "signal_value": signal,
                "p_value": -1.0,
                "q_value": signal / 3,
                "summit": min(summit, width - 1),
            }
        )
    frame = pd.DataFrame(records).astype({"chrom": str, "name": str, "strand": str})
    path = tmp_path_factory.mktemp("rt") / ("x.narrowPeak" + (".gz" if gz else ""))
    write_bed(frame, path)
    back = read_intervals(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["start"].dtype == np.int64


def test_write_bed3_and_bed6(tmp_path):
    frame = pd.DataFrame({"chrom": ["chr1"], "start": [1], "end": [5]})
    assert write_bed(frame, tmp_path / "a.bed").read_text() == "chr1\t1\t5\n"
    six = frame.assign(name="x", score=np.nan, strand="+")
    assert write_bed(six, tmp_path / "b.bed").read_text() == "chr1\t1\t5\tx\t.\t+\n"
    with pytest.raises(ValueError, match="lacks column"):
        write_bed(frame.drop(columns="end"), tmp_path / "c.bed")


def test_bed_lines_with_different_column_counts_are_an_error(tmp_path):
    path = tmp_path / "ragged.bed"
    path.write_text("chr1\t1\t5\nchr1\t2\t8\tpk\t5\t+\n")
    with pytest.raises(ValueError, match=r"ragged\.bed:2: this line's column count differs .* \(3\)"):
        read_intervals(path)


# ---------------------------------------------------------------- bad input (issue 9, items 6, 8, 9)


@pytest.mark.parametrize(
    ("payload", "message", "line", "field"),
    [
        (b"chr1\t1\t5\nchr1\t2\r\t9\n", "carriage return inside the line", 2, None),
        (b"chr1\t1\t5\nchr\xff1\t2\t9\n", "is not UTF-8", 2, None),
        (b"chr1\t1\t5\nchr1\t1\t123456789012345678901\n", "too large", 2, "end"),
        (b"chr1\t1e6\t2000000\n", r"start '1e6' is not an integer", 1, "start"),
        (b"chr1\t10.0\t20\n", r"start '10.0' is not an integer", 1, "start"),
    ],
)
def test_bad_bytes_and_coordinates_name_file_line_field(tmp_path, payload, message, line, field):
    from seqlab.io.errors import InputError

    path = tmp_path / "x.bed"
    path.write_bytes(payload)
    with pytest.raises(InputError, match=message) as info:
        read_intervals(path)
    assert (info.value.file, info.value.line, info.value.field) == (str(path), line, field)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_damaged_gzip_is_named(tmp_path):
    from seqlab.io.errors import DamagedFileError

    path = tmp_path / "x.bed.gz"
    data = gzip.compress(b"".join(b"chr1\t%d\t%d\n" % (i, i + 5) for i in range(2000)))
    for damaged in (data[: len(data) // 2], data[:-6] + b"\0\0\0\0\0\0", data[:30] + bytes(30) + data[60:]):
        path.write_bytes(damaged)
        with pytest.raises(DamagedFileError, match=r"x.bed.gz: the file is damaged"):
            read_intervals(path)


def test_narrowpeak_named_bed_is_read_as_narrowpeak(tmp_path, caplog):
    path = tmp_path / "peaks.bed"
    path.write_text("chr1\t100\t200\tp1\t0\t.\t5.5\t3.1\t2.0\t40\n")
    with caplog.at_level("WARNING"):
        frame = read_intervals(path)
    assert frame.attrs["format"] == "narrowPeak"
    assert frame["summit"].tolist() == [40]
    assert "read as narrowPeak" in caplog.text
    assert read_intervals(path, fmt="bed").attrs["format"] == "bed"


def test_empty_bed_warns(tmp_path, caplog):
    path = tmp_path / "empty.bed"
    path.write_text("# nothing\n")
    with caplog.at_level("WARNING"):
        assert read_intervals(path).empty
    assert "no intervals" in caplog.text
