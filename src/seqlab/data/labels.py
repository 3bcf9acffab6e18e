"""Overlap labels: a window is positive for a task when it overlaps one of the task's peaks enough.

Overlap tests are vectorised per chromosome with sorting and ``np.searchsorted``:
O((N + M) log M) for N windows and M peaks, never an N x M comparison.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["label_matrix", "overlaps_any"]


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
