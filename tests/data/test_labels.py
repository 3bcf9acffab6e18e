import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.labels import label_matrix, matched_peak_values, overlaps_any


def _brute(windows: pd.DataFrame, peaks: pd.DataFrame, k: int) -> np.ndarray:
    out = np.zeros(len(windows), dtype=bool)
    for i, w in enumerate(windows.itertuples()):
        for p in peaks.itertuples():
            if p.chrom == w.chrom and min(w.end, p.end) - max(w.start, p.start) >= k:
                out[i] = True
    return out


_interval = st.tuples(st.sampled_from(["chr1", "chr2"]), st.integers(0, 300), st.integers(0, 60))


def _frame(rows):
    return pd.DataFrame(
        {"chrom": [r[0] for r in rows], "start": [r[1] for r in rows], "end": [r[1] + r[2] for r in rows]}
    )


@settings(max_examples=150, deadline=None)
@given(
    windows=st.lists(_interval, max_size=25),
    peaks=st.lists(_interval, max_size=25),
    k=st.integers(1, 40),
)
def test_overlap_matches_brute_force(windows, peaks, k):
    w, p = _frame(windows), _frame(peaks)
    np.testing.assert_array_equal(overlaps_any(w, p, k), _brute(w, p, k))


def test_label_matrix_exact():
    windows = pd.DataFrame(
        {"chrom": ["chr1", "chr1", "chr2", "chr1"], "start": [0, 100, 0, 195], "end": [200, 300, 200, 395]}
    )
    peaks = {
        "A": pd.DataFrame({"chrom": ["chr1"], "start": [190], "end": [250]}),
        "B": pd.DataFrame({"chrom": ["chr2", "chr3"], "start": [199, 0], "end": [400, 10]}),
    }
    labels = label_matrix(windows, peaks, min_overlap=1)
    assert labels.dtype == np.float32
    np.testing.assert_array_equal(labels, [[1, 0], [1, 0], [0, 1], [1, 0]])
    strict = label_matrix(windows, peaks, min_overlap=20)
    np.testing.assert_array_equal(strict, [[0, 0], [1, 0], [0, 0], [1, 0]])


def test_min_overlap_must_be_positive():
    with pytest.raises(ValueError, match="min_overlap"):
        overlaps_any(_frame([("chr1", 0, 5)]), _frame([("chr1", 0, 5)]), 0)


def test_matched_peak_values_take_the_largest_matching_peak_by_summit_or_overlap():
    windows = pd.DataFrame({"chrom": ["c", "c", "c", "d"], "start": [0, 100, 200, 0], "end": [100, 200, 300, 100]})
    # summits: 50 + 60 = 110 (window 1); midpoints (no summit): 245 (window 2), 155 (window 1); 290 + 5 = 295
    peaks = pd.DataFrame(
        {"chrom": ["c"] * 4, "start": [50, 90, 150, 290], "end": [150, 400, 160, 300], "summit": [60, -1, -1, 5]}
    )
    values = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(matched_peak_values(windows, peaks, values, "summit"), [np.nan, 3, 4, np.nan])
    np.testing.assert_array_equal(matched_peak_values(windows, peaks, values, "overlap"), [2, 3, 4, np.nan])
    # a BED frame (no summit column) counts by midpoints: 100, 245, 155, 295
    bed = peaks.drop(columns="summit")
    np.testing.assert_array_equal(matched_peak_values(windows, bed, values, "summit"), [np.nan, 3, 4, np.nan])


@settings(max_examples=100, deadline=None)
@given(windows=st.lists(_interval, max_size=20), peaks=st.lists(_interval, max_size=20))
def test_matched_peak_values_overlap_matches_brute_force(windows, peaks):
    w, p = _frame(windows), _frame(peaks)
    values = np.arange(len(p), dtype=np.float64)[::-1] % 7
    expected = np.full(len(w), np.nan)
    for i, win in enumerate(w.itertuples()):
        for j, peak in enumerate(p.itertuples()):
            if peak.chrom == win.chrom and min(win.end, peak.end) - max(win.start, peak.start) >= 1:
                expected[i] = np.fmax(expected[i], values[j])
    np.testing.assert_array_equal(matched_peak_values(w, p, values, "overlap"), expected)
