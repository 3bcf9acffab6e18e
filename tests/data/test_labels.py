import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.labels import label_matrix, overlaps_any


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
