import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlab.data.windows import center_windows, make_windows, sequence_content, tile_genome
from seqlab.io.genome import Genome


def test_center_windows_summit_and_fallback():
    intervals = pd.DataFrame({"start": [100, 100, 7], "end": [600, 601, 8], "summit": [262, -1, 0]})
    starts, fallback = center_windows(intervals, 200, "summit")
    assert starts.tolist() == [262, 250, -93]
    assert fallback == 1
    starts, fallback = center_windows(intervals, 200, "center")
    assert starts.tolist() == [250, 250, -93] and fallback == 0
    # no summit column: every interval falls back
    assert center_windows(intervals.drop(columns="summit"), 201, "summit")[1] == 3


@given(start=st.integers(0, 10**9), width=st.integers(1, 10**5), length=st.integers(1, 5000))
def test_centred_window_contains_centre_at_offset_half_length(start, width, length):
    intervals = pd.DataFrame({"start": [start], "end": [start + width], "summit": [-1]})
    (window_start,), _ = center_windows(intervals, length, "summit")
    centre = (2 * start + width) // 2
    assert window_start + length // 2 == centre
    assert start <= centre < start + width


@given(summit=st.integers(0, 999), length=st.integers(1, 400))
def test_summit_window_is_centred_on_summit(summit, length):
    intervals = pd.DataFrame({"start": [5000], "end": [6000], "summit": [summit]})
    (window_start,), _ = center_windows(intervals, length, "summit")
    assert window_start == 5000 + summit - length // 2


def test_make_windows_drop_pad_unknown(synthetic_genome):
    genome = Genome(synthetic_genome)
    intervals = pd.DataFrame(
        {
            "chrom": ["1", "chr2", "chr2", "chrQ", "chrM"],
            "start": [1000, 0, 19_950, 10, 100],
            "end": [1100, 100, 20_000, 20, 200],
            "summit": [50, -1, 25, 0, 0],
        }
    )
    windows, stats = make_windows(intervals, genome, 200, "summit", "drop")
    assert windows.to_dict("list") == {"chrom": ["chr1", "chrM"], "start": [950, 0], "end": [1150, 200]}
    assert stats.n_input == 5 and stats.n_output == 2
    assert stats.n_summit_fallback == 1
    assert stats.unknown_chroms == ["chrQ"] and stats.n_unknown_chrom == 1
    assert stats.n_chrom_end == stats.n_dropped_chrom_end == 2
    padded, stats = make_windows(intervals, genome, 200, "summit", "pad")
    assert padded["start"].tolist() == [950, -50, 19_875, 0]
    assert stats.n_padded_chrom_end == 2 and stats.n_dropped_chrom_end == 0


def test_sequence_content_exact():
    gc, n_fraction = sequence_content(["GGCC", "ATGC", "NNNN", "", "acgN", "sGC"])
    np.testing.assert_allclose(gc[[0, 1, 4]], [1.0, 0.5, 2 / 3])
    assert np.isnan(gc[2]) and np.isnan(gc[3])
    np.testing.assert_allclose(n_fraction, [0, 0, 1, 0, 0.25, 1 / 3])
    np.testing.assert_allclose(gc[5], 1.0)


def test_tile_genome_drops_n_bins(synthetic_genome):
    genome = Genome(synthetic_genome)
    bins, stats = tile_genome(genome, 200, 100, ["1", "chrM"], max_n_fraction=0.1, chunk_size=3000)
    size = genome.chrom_sizes["chr1"]
    starts = np.arange(0, size - 200 + 1, 100)
    n_start = size - 300
    # a bin is kept when at most 20 of its 200 bp are N
    expected = starts[np.maximum(0, starts + 200 - n_start) <= 20]
    chr1 = bins[bins["chrom"] == "chr1"]
    assert chr1["start"].tolist() == expected.tolist()
    assert (chr1["end"] - chr1["start"] == 200).all()
    assert bins[bins["chrom"] == "chrM"]["start"].tolist() == [0, 100, 200, 300]
    assert stats.per_chrom == {"chr1": expected.size, "chrM": 4}
    assert stats.n_dropped_n == starts.size - expected.size
    assert stats.n_bins == len(bins)


@pytest.mark.parametrize("chunk", [150, 1000, 1 << 22])
def test_tiling_is_chunk_independent(synthetic_genome, chunk):
    genome = Genome(synthetic_genome)
    reference, _ = tile_genome(genome, 250, 130, ["chr1"], max_n_fraction=0.0)
    bins, _ = tile_genome(genome, 250, 130, ["chr1"], max_n_fraction=0.0, chunk_size=chunk)
    pd.testing.assert_frame_equal(bins, reference)
