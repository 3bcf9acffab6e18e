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
    ProfileMetrics,
    RegressionMetrics,
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
"""Columns of a binary model's metrics_per_task.tsv."""
REGRESSION_TSV_COLUMNS = ("split", "task", "pearson", "spearman", "n")
PROFILE_TSV_COLUMNS = ("split", "task", "count_pearson", "profile_pearson", "jsd", "n")
"""Columns of metrics_per_task.tsv for profile metrics (medians over windows for profile_pearson and jsd)."""
"""Columns of a regression model's metrics_per_task.tsv."""


def _cell(value: float) -> str:
    return "NA" if math.isnan(value) else f"{value:.6f}"


def write_metrics_tsv(
    path: str | Path, metrics: Mapping[str, SplitMetrics | RegressionMetrics | ProfileMetrics]
) -> Path:
    """Write one row per split and task atomically (undefined values ``NA``).

    Columns ``TSV_COLUMNS`` for binary metrics, ``REGRESSION_TSV_COLUMNS`` for regression metrics,
    ``PROFILE_TSV_COLUMNS`` for profile metrics.

    Args:
        path: the TSV file (``RunPaths.metrics_per_task``).
        metrics: split name -> its metrics (all of one kind), in the order the rows should appear.
    """
    regression = any(isinstance(m, RegressionMetrics) for m in metrics.values())
    profile = any(isinstance(m, ProfileMetrics) for m in metrics.values())
    columns = PROFILE_TSV_COLUMNS if profile else REGRESSION_TSV_COLUMNS if regression else TSV_COLUMNS
    with atomic_open(path) as handle:
        handle.write("\t".join(columns) + "\n")
        for split, split_metrics in metrics.items():
            for task, m in split_metrics.per_task.items():
                if isinstance(split_metrics, ProfileMetrics):
                    values = (m.count_pearson, m.profile_pearson, m.jsd)
                    handle.write(f"{split}\t{task}\t" + "\t".join(_cell(v) for v in values) + f"\t{m.n}\n")
                elif isinstance(split_metrics, RegressionMetrics):
                    handle.write(f"{split}\t{task}\t{_cell(m.pearson)}\t{_cell(m.spearman)}\t{m.n}\n")
                else:
                    handle.write(f"{split}\t{task}\t{_cell(m.auroc)}\t{_cell(m.aupr)}\t{m.n_pos}\t{m.n_neg}\n")
    return Path(path)
