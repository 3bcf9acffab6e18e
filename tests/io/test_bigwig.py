"""read_bigwig_runs: the runs pyBigWig gives, from all three block types, and one-line errors."""

import numpy as np
import pyBigWig
import pytest

from seqlab.io.bigwig import read_bigwig_runs
from seqlab.io.errors import InputError


def pybigwig_runs(path, chrom):
    with pyBigWig.open(str(path)) as bw:
        return np.array(bw.intervals(chrom) or [], np.float64).reshape(-1, 3)


def test_bedgraph_varstep_and_fixedstep_blocks(tmp_path):
    path = tmp_path / "t.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 1000), ("chr2", 500), ("chr3", 100)])
    bw.addEntries(["chr1", "chr1"], [10, 20], ends=[20, 25], values=[2.0, 4.5])  # bedGraph
    bw.addEntries("chr1", [100, 130], values=[1.5, 3.0], span=10)  # variableStep
    bw.addEntries("chr2", 200, values=[7.0, 8.0, 9.0], span=5, step=20)  # fixedStep
    bw.close()
    starts, ends, values = read_bigwig_runs(path, "chr1")
    assert starts.tolist() == [10, 20, 100, 130] and ends.tolist() == [20, 25, 110, 140]
    assert values.tolist() == [2.0, 4.5, 1.5, 3.0]
    assert starts.dtype == ends.dtype == np.int64 and values.dtype == np.float32
    starts, ends, values = read_bigwig_runs(path, "chr2")
    assert starts.tolist() == [200, 220, 240] and ends.tolist() == [205, 225, 245] and values.tolist() == [7, 8, 9]
    assert [a.size for a in read_bigwig_runs(path, "chr3")] == [0, 0, 0]  # in the header, no data
    assert read_bigwig_runs(path, "chrX") is None
    for chrom in ("chr1", "chr2"):
        assert np.array_equal(np.stack(read_bigwig_runs(path, chrom), axis=1), pybigwig_runs(path, chrom))


def test_many_blocks_and_chromosomes_match_pybigwig(tmp_path):
    # 300 chromosomes (a B+ tree with internal nodes) and 20k runs on one (many blocks, an R-tree of levels)
    rng = np.random.default_rng(0)
    sizes = [(f"chr{i}", 10**6) for i in range(300)]
    path = tmp_path / "many.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(sizes)
    starts = np.sort(rng.choice(10**6 // 10, 20_000, replace=False)) * 10
    values = rng.random(20_000).tolist()
    bw.addEntries(["chr7"] * starts.size, starts.tolist(), ends=(starts + 5).tolist(), values=values)
    bw.addEntries(["chr250"], [3], ends=[4], values=[0.25])
    bw.close()
    for chrom in ("chr7", "chr250"):
        assert np.array_equal(np.stack(read_bigwig_runs(path, chrom), axis=1), pybigwig_runs(path, chrom))
    assert read_bigwig_runs(path, "chr250")[2].tolist() == [0.25]


def test_not_a_bigwig_and_truncated_file(tmp_path):
    other = tmp_path / "x.bw"
    other.write_bytes(b"\0" * 100)
    with pytest.raises(InputError, match="not a little-endian bigWig"):
        read_bigwig_runs(other, "chr1")
    path = tmp_path / "t.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 1000)])
    bw.addEntries(["chr1"], [10], ends=[20], values=[2.0])
    bw.close()
    data = path.read_bytes()
    cut = tmp_path / "cut.bw"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"damaged bigWig: chr1 does not parse"):
        read_bigwig_runs(cut, "chr1")
