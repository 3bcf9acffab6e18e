"""Overlap labels: a window is positive for a task when it overlaps one of the task's peaks enough.

Overlap tests are vectorised per chromosome with sorting and ``np.searchsorted``:
O((N + M) log M) for N windows and M peaks, never an N x M comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["bin_overlap_labels", "label_matrix", "matched_peak_values", "overlaps_any"]


def overlaps_any(windows: pd.DataFrame, intervals: pd.DataFrame, min_overlap: int = 1) -> np.ndarray:
    """Whether each window overlaps at least one interval by ``min_overlap`` bp or more.

    Overlap of ``[ws, we)`` and ``[ps, pe)`` is ``min(we, pe) - max(ws, ps)``; it is at least k
    exactly when ``ps <= we - k``, ``pe >= ws + k`` and both intervals are at least k long. Per
    chromosome, intervals are sorted by start and a running maximum of their ends answers, for
    each window, whether some interval starting early enough also ends late enough.

    Args:
        windows: ``chrom``, ``start``, ``end`` (N rows).
        intervals: ``chrom``, ``start``, ``end`` (M rows); chromosome names must match exactly.
        min_overlap: k >= 1, in bp.

    Returns:
        bool array of shape (N,), in window order.
    """
    if min_overlap < 1:
        raise ValueError(f"min_overlap must be >= 1, got {min_overlap}")
    result = np.zeros(len(windows), dtype=bool)
    if len(windows) == 0 or len(intervals) == 0:
        return result
    k = int(min_overlap)
    ivs = intervals[(intervals["end"] - intervals["start"]) >= k]
    by_chrom = {
        chrom: (group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64))
        for chrom, group in ivs.groupby(ivs["chrom"].astype(str), sort=False)
    }
    w_chrom = windows["chrom"].astype(str).to_numpy()
    w_start = windows["start"].to_numpy(np.int64)
    w_end = windows["end"].to_numpy(np.int64)
    for chrom, rows in pd.Series(np.arange(len(windows))).groupby(w_chrom, sort=False):
        if chrom not in by_chrom:
            continue
        starts, ends = by_chrom[chrom]
        order = np.argsort(starts, kind="stable")
        sorted_starts = starts[order]
        running_max_end = np.maximum.accumulate(ends[order])
        idx = rows.to_numpy()
        ws, we = w_start[idx], w_end[idx]
        n_candidates = np.searchsorted(sorted_starts, we - k, side="right")
        best_end = np.where(n_candidates > 0, running_max_end[np.maximum(n_candidates - 1, 0)], np.iinfo(np.int64).min)
        result[idx] = (n_candidates > 0) & (best_end >= ws + k) & ((we - ws) >= k)
    return result


def matched_peak_values(
    windows: pd.DataFrame, peaks: pd.DataFrame, values: np.ndarray, match: Literal["summit", "overlap"]
) -> np.ndarray:
    """The largest value of the peaks matching each window, NaN where none matches.

    A window ``[ws, we)`` matches a peak ``[ps, pe)`` whose summit lies in it (``match="summit"``:
    ``ws <= ps + summit < we``; a peak without a ``summit`` column or with summit -1 counts by its midpoint
    ``(ps + pe) // 2``) or that overlaps it by 1 bp or more (``match="overlap"``). Per chromosome, the
    candidates of each window are a range of the peaks sorted by position (``np.searchsorted``), so the
    work is O((N + M) log M + matches), never N x M.

    Args:
        windows: ``chrom``, ``start``, ``end`` (N rows).
        peaks: ``chrom``, ``start``, ``end`` and optionally ``summit`` (M rows); chromosome names must match.
        values: float64 (M,), one value per peak (NaN values are never the maximum unless all are NaN).
        match: ``summit`` or ``overlap``.

    Returns:
        float64 (N,), in window order.
    """
    result = np.full(len(windows), np.nan)
    values = np.asarray(values, dtype=np.float64)
    starts, ends = peaks["start"].to_numpy(np.int64), peaks["end"].to_numpy(np.int64)
    summits = peaks["summit"].to_numpy(np.int64) if "summit" in peaks else np.full(len(peaks), -1)
    points = np.where(summits >= 0, starts + summits, (starts + ends) // 2)
    keys = points if match == "summit" else starts
    reach = int((ends - starts).max()) if len(peaks) else 0
    p_chrom = peaks["chrom"].astype(str).to_numpy()
    w_chrom = windows["chrom"].astype(str).to_numpy()
    w_start, w_end = windows["start"].to_numpy(np.int64), windows["end"].to_numpy(np.int64)
    for chrom, rows in pd.Series(np.arange(len(windows))).groupby(w_chrom, sort=False):
        on = np.flatnonzero(p_chrom == chrom)
        if on.size == 0:
            continue
        on = on[np.argsort(keys[on], kind="stable")]
        idx = rows.to_numpy()
        ws, we = w_start[idx], w_end[idx]
        if match == "summit":
            lo, hi = np.searchsorted(keys[on], ws, "left"), np.searchsorted(keys[on], we, "left")
        else:  # an overlapping peak starts before we and after ws - reach (no peak is longer than reach)
            lo, hi = np.searchsorted(keys[on], ws - reach, "right"), np.searchsorted(keys[on], we, "left")
        counts = np.maximum(hi - lo, 0)  # an empty window ([ws, ws)) has none
        window = np.repeat(idx, counts)
        peak = on[np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)]
        if match == "overlap":
            overlap = np.minimum(w_end[window], ends[peak]) - np.maximum(w_start[window], starts[peak])
            window, peak = window[overlap >= 1], peak[overlap >= 1]
        np.fmax.at(result, window, values[peak])
    return result


def label_matrix(windows: pd.DataFrame, peaks: Mapping[str, pd.DataFrame], min_overlap: int = 1) -> np.ndarray:
    """Multi-task labels of windows: column t is 1 where a window overlaps a peak of task t.

    Args:
        windows: ``chrom``, ``start``, ``end`` (N rows), the union of every task's windows and any
            background windows; each is labelled against every task.
        peaks: task name -> peak frame (``chrom``, ``start``, ``end``), in task order.
        min_overlap: minimum overlap in bp.

    Returns:
        float32 array (N, T) of 0/1 in the order of ``peaks``.
    """
    labels = np.zeros((len(windows), len(peaks)), dtype=np.float32)
    for column, frame in enumerate(peaks.values()):
        labels[:, column] = overlaps_any(windows, frame, min_overlap)
    return labels


def bin_overlap_labels(
    starts: np.ndarray,
    bin_size: int,
    intervals: Sequence[tuple[np.ndarray, np.ndarray] | None],
    min_overlap: int = 1,
) -> sp.csr_matrix:
    """Sparse overlap labels of equal-sized bins on one chromosome: entry (i, t) is 1 where bin i overlaps a
    peak of task t by ``min_overlap`` bp or more (the rule of :func:`overlaps_any`).

    For bins of one size B sorted by start, the bins a peak ``[ps, pe)`` overlaps by k or more are those
    with ``ps + k - B <= start <= pe - k``: one ``np.searchsorted`` range per peak. Work and memory are
    O(M log N + positives) per task; no dense (N, T) array is made.

    Args:
        starts: int64 (N,) bin starts, ascending (bins ``[start, start + bin_size)``).
        bin_size: B in bp.
        intervals: per task (T entries), ``(starts, ends)`` int64 arrays of its peaks on this chromosome,
            or None for none.
        min_overlap: k >= 1, in bp.

    Returns:
        CSR float32 (N, T) with 1 at every overlap.
    """
    if min_overlap < 1:
        raise ValueError(f"min_overlap must be >= 1, got {min_overlap}")
    starts = np.asarray(starts, dtype=np.int64)
    k = int(min_overlap)
    rows, cols = [], []
    for t, peaks in enumerate(intervals):
        if peaks is None or bin_size < k or starts.size == 0:
            continue
        peak_starts, peak_ends = (np.asarray(a, dtype=np.int64) for a in peaks)
        long_enough = (peak_ends - peak_starts) >= k
        lo = np.searchsorted(starts, peak_starts[long_enough] + k - bin_size, side="left")
        hi = np.searchsorted(starts, peak_ends[long_enough] - k, side="right")
        lengths = np.maximum(hi - lo, 0)
        total = int(lengths.sum())
        if total == 0:
            continue
        first = np.cumsum(lengths) - lengths  # position of each range in the expanded output
        expanded = np.repeat(lo - first, lengths) + np.arange(total, dtype=np.int64)
        hit = np.unique(expanded)
        rows.append(hit)
        cols.append(np.full(hit.size, t, dtype=np.int32))
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int32)
    shape = (starts.size, len(intervals))
    return sp.csr_matrix((np.ones(row.size, dtype=np.float32), (row, col)), shape=shape, dtype=np.float32)
