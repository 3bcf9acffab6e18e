"""bigWig and bedGraph tracks: exact bin sums and base values on tiny files, and one-line errors."""

import gzip

import numpy as np
import pyBigWig
import pytest

from seqlab.io.errors import InputError
from seqlab.io.tracks import Track, TrackIntervals, write_track


def write_bigwig(path, sizes, entries):
    """entries: (chrom, start, end, value) sorted."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, start, end, value in entries:
        bw.addEntries([chrom], [start], ends=[end], values=[float(value)])
    bw.close()
    return path


ENTRIES = [("chr1", 10, 20, 2.0), ("chr1", 20, 25, 4.0), ("chr1", 40, 50, 1.0), ("chr2", 0, 5, 3.0)]


@pytest.fixture
def bigwig(tmp_path):
    return write_bigwig(tmp_path / "t.bw", {"chr1": 100, "chr2": 50}, ENTRIES)


def test_bigwig_runs_bin_sums_and_base_values(bigwig):
    track = Track(bigwig)
    assert track.format == "bigwig" and track.chrom_sizes == {"chr1": 100, "chr2": 50}
    runs = track.intervals("chr1")
    assert runs.starts.tolist() == [10, 20, 40] and runs.values.tolist() == [2.0, 4.0, 1.0]
    sums, covered = runs.bin_sums(np.array([0, 15]), n_bins=2, bin_size=10)
    # [0,10) 0, [10,20) 2*10; [15,25) 2*5+4*5, [25,35) 0
    assert sums.tolist() == [[0.0, 20.0], [30.0, 0.0]]
    assert covered.tolist() == [[0, 10], [10, 0]]
    dense = runs.dense(np.array([18]), 5)[0]
    assert dense[:2].tolist() == [2.0, 2.0] and dense[2:4].tolist() == [4.0, 4.0] and dense[4] == 4.0
    assert np.isnan(runs.dense(np.array([30]), 3)).all()
    assert len(track.intervals("chrX")) == 0


def test_bedgraph_plain_and_gzip_read_the_same(tmp_path):
    text = "track type=bedGraph\nchr1\t10\t20\t2\nchr1\t20\t25\t4.5\nchr2\t0\t5\t3\n"
    (tmp_path / "a.bedGraph").write_text(text)
    with gzip.open(tmp_path / "a.bdg.gz", "wt") as handle:
        handle.write(text)
    for name in ("a.bedGraph", "a.bdg.gz"):
        track = Track(tmp_path / name)
        assert track.format == "bedgraph"
        assert track.chrom_sizes == {"chr1": 25, "chr2": 5}
        runs = track.intervals("chr1")
        assert runs.starts.tolist() == [10, 20] and runs.values.tolist() == [2.0, 4.5]
        assert runs.bin_sums(np.array([10]), 1, 15)[0].tolist() == [[20.0 + 22.5]]


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("chr1\t10\t20\t2\nchr1\t15\t30\t1\n", "starts before the previous run", 3),
        ("chr1\t10\t20\t2\nchr1\t20\t30\tnan\n", "NaN or negative", 3),
        ("chr1\t10\t20\t-1\n", "NaN or negative", 2),
        ("chr1\t10\t5\t1\n", "start < end", 2),
        ("chr1\t10\tx\t1\n", "not integers", 2),
    ],
)
def test_bad_bedgraph_is_one_line_error_naming_file_and_line(tmp_path, body, message, line):
    path = tmp_path / "bad.bdg"
    path.write_text("track type=bedGraph\n" + body)
    with pytest.raises(InputError) as err:
        Track(path).intervals("chr1")
    assert message in str(err.value) and err.value.line == line and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_negative_values_allowed_when_asked(tmp_path):
    path = tmp_path / "neg.bdg"
    path.write_text("chr1\t0\t5\t-1.5\n")
    assert Track(path, allow_negative=True).intervals("chr1").values.tolist() == [-1.5]


def test_bigwig_negative_value_names_the_place(tmp_path):
    path = write_bigwig(tmp_path / "n.bw", {"chr1": 100}, [("chr1", 10, 20, 1.0), ("chr1", 30, 35, -2.0)])
    with pytest.raises(InputError, match=r"chr1:30-35: value -2\.0"):
        Track(path).intervals("chr1")
    assert Track(path, allow_negative=True).intervals("chr1").values.tolist() == [1.0, -2.0]


def test_genome_matching_aliases_and_errors(bigwig, tmp_path):
    track = Track(bigwig)
    sizes = {"1": 100, "2": 50}
    assert track.match_genome(sizes, {"chr1": "1", "chr2": "2"}, window=20) == {"1": "chr1", "2": "chr2"}
    with pytest.raises(InputError, match="none of the track's chromosome names"):
        track.match_genome({"chrA": 100}, {"chr1": None, "chr2": None}, window=20)
    with pytest.raises(InputError, match="another genome build"):
        track.match_genome({"chr1": 90, "chr2": 50}, {"chr1": "chr1", "chr2": "chr2"}, window=20)
    with pytest.raises(InputError, match="shorter than a 60-bp window"):
        track.match_genome({"chr1": 100, "chr2": 50}, {"chr1": "chr1", "chr2": "chr2"}, window=60)


def test_not_a_bigwig_named_as_one(tmp_path):
    path = tmp_path / "x.bw"
    path.write_text("chr1\t0\t5\t1\n")
    with pytest.raises(InputError, match="magic number"):
        Track(path)


@pytest.mark.parametrize("name", ["w.bw", "w.bedGraph", "w.bdg.gz"])
def test_write_track_round_trips(tmp_path, name):
    runs = TrackIntervals(np.array([0, 7]), np.array([7, 30]), np.array([0.0, 2.5], np.float32))
    write_track(tmp_path / name, {"chr1": 30, "chr2": 10}, [("chr1", runs), ("chr2", TrackIntervals.empty())])
    back = Track(tmp_path / name).intervals("chr1")
    assert back.starts.tolist() == [0, 7] and back.ends.tolist() == [7, 30] and back.values.tolist() == [0.0, 2.5]
