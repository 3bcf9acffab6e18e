"""Whole-split metrics for reports: metrics.json entries and metrics_per_task.tsv.

The per-task AUROC/AUPR computation (``compute_split_metrics``) is defined in :mod:`seqlab.metrics`
(training logs the same values every epoch) and re-exported here. Entries with weight 0 are left
out; a task with one class in a split gets NaN (null in JSON) and an ``UndefinedMetricWarning``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from seqlab.atomic import atomic_open
from seqlab.metrics import (
    SplitMetrics,
    SplitPredictions,
    TaskMetrics,
    UndefinedMetricWarning,
    compute_split_metrics,
)

__all__ = [
    "SplitMetrics",
    "SplitPredictions",
    "TaskMetrics",
    "UndefinedMetricWarning",
    "compute_split_metrics",
    "write_metrics_tsv",
]

TSV_COLUMNS = ("split", "task", "auroc", "aupr", "n_pos", "n_neg")


def _cell(value: float) -> str:
    return "NA" if math.isnan(value) else f"{value:.6f}"


def write_metrics_tsv(path: str | Path, metrics: Mapping[str, SplitMetrics]) -> Path:
    """Write one row per split and task (columns ``TSV_COLUMNS``; undefined values ``NA``) atomically.

    Args:
        path: the TSV file (``RunPaths.metrics_per_task``).
        metrics: split name -> its metrics, in the order the rows should appear.
    """
    with atomic_open(path) as handle:
        handle.write("\t".join(TSV_COLUMNS) + "\n")
        for split, split_metrics in metrics.items():
            for task, m in split_metrics.per_task.items():
                handle.write(f"{split}\t{task}\t{_cell(m.auroc)}\t{_cell(m.aupr)}\t{m.n_pos}\t{m.n_neg}\n")
    return Path(path)
