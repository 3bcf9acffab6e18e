"""ROC and precision-recall curves per task, regression scatter plots, sequence logos, saved as PNG files atomically.

Figures are drawn on the Agg canvas through ``matplotlib.figure.Figure`` (no pyplot, no global
state), so plotting works headless and never changes the caller's matplotlib backend. A curve is
computed with one sort (:func:`~seqlab.metrics.ranking_counts`, the counts behind the reported AUROC/AUPR)
and drawn through at most 1,000 evenly spaced points of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seqlab.atomic import atomic_open
from seqlab.data.encoding import ALPHABET
from seqlab.extras import require
from seqlab.metrics import binary_auroc_aupr, ranking_counts, task_entries, weighted_pearson

__all__ = ["plot_logo", "plot_pr_curves", "plot_profile_examples", "plot_roc_curves", "plot_scatter"]


def _save(figure: Figure, path: str | Path) -> Path:
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    return Path(path)


_MAX_POINTS = 1000  # points drawn per curve: enough for a 5.5-inch figure, whatever the split's size


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ``_MAX_POINTS`` evenly spaced points of a curve, both ends kept."""
    if x.size <= _MAX_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, x.size - 1, _MAX_POINTS).round().astype(np.int64))
    return x[keep], y[keep]


def _roc_line(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tps, fps = ranking_counts(labels, scores)
    return _thin(np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]])


def _pr_line(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tps, fps = ranking_counts(labels, scores)
    return _thin(np.r_[0.0, tps / tps[-1]], np.r_[1.0, tps / (tps + fps)])


@dataclass(frozen=True)
class _Curve:
    metric: str
    line: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    score: int  # index into binary_auroc_aupr's (AUROC, AUPR)
    x_label: str
    y_label: str
    legend_loc: str
    positive_rate_baseline: bool  # chance level: each task's positive rate (PR) or the diagonal (ROC)


_CURVES = {
    "roc": _Curve("AUROC", _roc_line, 0, "False positive rate", "True positive rate", "lower right", False),
    "pr": _Curve("AUPR", _pr_line, 1, "Recall", "Precision", "lower left", True),
}


def _plot_curves(
    kind: str,
    y: np.ndarray,
    probs: np.ndarray,
    weight: np.ndarray | None,
    tasks: Sequence[str],
    path: str | Path,
    title: str | None,
    legend_limit: int,
) -> Path:
    curve = _CURVES[kind]
    figure = Figure(figsize=(5.5, 5))
    ax = figure.subplots()
    if not curve.positive_rate_baseline:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    scores: list[float] = []
    for column, task in enumerate(tasks):
        labels, task_scores = task_entries(y, probs, weight, column)
        if np.unique(labels).size < 2:  # nothing unmasked, or a single class: no curve
            continue
        x_values, y_values = curve.line(labels, task_scores)
        score = binary_auroc_aupr(labels, task_scores)[curve.score]
        scores.append(score)
        (line,) = ax.plot(x_values, y_values, linewidth=1.2, label=f"{task} ({curve.metric} {score:.3f})")
        if curve.positive_rate_baseline:
            ax.axhline(labels.mean(), linestyle="--", color=line.get_color(), linewidth=0.8, alpha=0.6)
    skipped = len(tasks) - len(scores)
    summary = (
        f"mean {curve.metric} {np.mean(scores):.3f} over {len(scores)} tasks" if scores else "no task has both classes"
    )
    if skipped:
        summary += f" ({skipped} with a single class left out)"
    ax.set_title(f"{title}\n{summary}" if title else summary, fontsize=10)
    ax.set_xlabel(curve.x_label)
    ax.set_ylabel(curve.y_label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    if scores and len(scores) <= legend_limit:
        ax.legend(loc=curve.legend_loc, fontsize=8)
    return _save(figure, path)


def plot_roc_curves(
    y: np.ndarray,
    probs: np.ndarray,
    weight: np.ndarray | None,
    tasks: Sequence[str],
    path: str | Path,
    title: str | None = None,
    legend_limit: int = 20,
) -> Path:
    """ROC curve of every task (one line each, AUROC in the legend) and the diagonal, as a PNG.

    Args:
        y: float (N, T) labels in [0, 1] (positive from 0.5).
        probs: float (N, T) predicted probabilities.
        weight: float (N, T) weights (entries with weight 0 are left out) or None.
        tasks: T task names.
        path: PNG file, written atomically.
        title: first title line (e.g. the split); the second gives the mean AUROC.
        legend_limit: no legend above this many tasks (the title still gives the mean).

    Tasks with a single class in the split have no curve and are counted in the title.
    """
    return _plot_curves("roc", y, probs, weight, tasks, path, title, legend_limit)


def plot_pr_curves(
    y: np.ndarray,
    probs: np.ndarray,
    weight: np.ndarray | None,
    tasks: Sequence[str],
    path: str | Path,
    title: str | None = None,
    legend_limit: int = 20,
) -> Path:
    """Precision-recall curve of every task (AUPR in the legend), each with its positive-rate baseline.

    Arguments as ``plot_roc_curves``.
    """
    return _plot_curves("pr", y, probs, weight, tasks, path, title, legend_limit)


def plot_scatter(
    y: np.ndarray,
    predictions: np.ndarray,
    weight: np.ndarray | None,
    tasks: Sequence[str],
    path: str | Path,
    title: str | None = None,
    max_points: int = 20_000,
    columns: int = 4,
) -> Path:
    """Observed against predicted values, one panel per task (Pearson r in its title), as a PNG.

    Args:
        y: float (N, T) observed targets.
        predictions: float (N, T) predicted values.
        weight: float (N, T) weights (entries with weight 0 are left out) or None.
        tasks: T task names.
        path: PNG file, written atomically.
        title: figure title (e.g. the split).
        max_points: at most this many points drawn per task (evenly spaced rows; r uses every entry).
        columns: panels per row.
    """
    n_tasks = len(tasks)
    n_columns = min(columns, n_tasks)
    n_rows = -(-n_tasks // n_columns)
    figure = Figure(figsize=(3.2 * n_columns, 3.0 * n_rows))
    axes = figure.subplots(n_rows, n_columns, squeeze=False)
    for t, task in enumerate(tasks):
        ax = axes[t // n_columns][t % n_columns]
        keep = np.ones(len(y), dtype=bool) if weight is None else np.asarray(weight)[:, t] > 0
        observed, predicted = np.asarray(y)[keep, t], np.asarray(predictions)[keep, t]
        r = weighted_pearson(predicted, observed, None if weight is None else np.asarray(weight)[keep, t])
        step = max(1, observed.size // max_points)
        ax.scatter(predicted[::step], observed[::step], s=3, alpha=0.4, linewidths=0)
        ax.set_title(f"{task} (r = {r:.3f}, n = {observed.size:,})", fontsize=9)
        ax.set_xlabel("predicted")
        ax.set_ylabel("observed")
    for t in range(n_tasks, n_rows * n_columns):
        axes[t // n_columns][t % n_columns].set_visible(False)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def plot_logo(matrix: np.ndarray, path: str | Path, title: str | None = None) -> Path:
    """Sequence logo of a position matrix as a PNG (atomically).

    Args:
        matrix: float (L, 4) heights per position for A, C, G, T (information content, probabilities
            or attributions; negative values are drawn below the axis).
        path: PNG file.
        title: optional title.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != len(ALPHABET):
        raise ValueError(f"a logo needs an (L, {len(ALPHABET)}) matrix, got shape {matrix.shape}")
    frame = pd.DataFrame(matrix, columns=list(ALPHABET))
    figure = Figure(figsize=(max(3.0, 0.35 * len(frame)), 2.2))
    ax = figure.subplots()
    require("logomaker", "plot_logo").Logo(frame, ax=ax, color_scheme="classic")
    ax.set_xlabel("position")
    if title:
        ax.set_title(title, fontsize=10)
    return _save(figure, path)


def plot_profile_examples(
    y: np.ndarray,
    predictions: np.ndarray,
    weight: np.ndarray | None,
    tasks: Sequence[str],
    path: str | Path,
    title: str | None = None,
    control: np.ndarray | None = None,
    examples: int = 3,
) -> Path:
    """Observed and predicted profiles of a few windows per task (the control dashed), as a PNG.

    Per task one row: the ``examples`` counted windows with the most observed counts, observed counts
    per base against expected counts (predicted profile x predicted total), and the control when given.

    Args:
        y: float (N, T, L) observed counts per base.
        predictions: float (N, T, L) expected counts per base.
        weight: float (N, T) weights (windows with weight 0 are not shown) or None.
        tasks: T task names.
        path: PNG file, written atomically.
        title: figure title (e.g. the split).
        control: float (N, T, L) control counts, or None.
        examples: windows shown per task.
    """
    y, predictions = np.asarray(y), np.asarray(predictions)
    figure = Figure(figsize=(3.6 * examples, 2.4 * len(tasks)))
    axes = figure.subplots(len(tasks), examples, squeeze=False)
    for t, task in enumerate(tasks):
        totals = y[:, t].sum(axis=-1)
        if weight is not None:
            totals = np.where(np.asarray(weight)[:, t] > 0, totals, -np.inf)
        for column, row in enumerate(np.argsort(-totals, kind="stable")[:examples]):
            ax = axes[t][column]
            ax.plot(y[row, t], lw=0.8, label="observed")
            ax.plot(predictions[row, t], lw=0.8, label="predicted")
            if control is not None:
                ax.plot(np.asarray(control)[row, t], lw=0.6, ls="--", color="grey", label="control")
            ax.set_title(f"{task}, window {int(row)} ({y[row, t].sum():.0f} counts)", fontsize=8)
            ax.set_xlabel("position in the target span (bp)", fontsize=7)
        axes[t][0].legend(fontsize=6)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)
