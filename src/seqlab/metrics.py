"""Every metric seqlab reports, in one module: training logs, evaluation, reports and the protein side.

One rule for undefined values: a metric that a split cannot define (AUROC or AUPR when the split
holds one class, or no unmasked entry) is ``NaN`` in memory and ``null`` in JSON (:func:`json_safe`
converts a whole document). Means over tasks skip undefined tasks.

* Multi-task binary (DNA): :func:`compute_split_metrics` gives per-task AUROC and AUPR (average
  precision) over a whole split from labels, probabilities and weights (weight 0 = masked; soft
  labels count as positive from 0.5); never an average of per-batch values.
* Regression (DNA tracks): :func:`compute_regression_metrics` gives per-task Pearson and Spearman over a
  whole split (weighted; weight 0 masks); :func:`weighted_pearson`, :func:`weighted_spearman`.
* Profiles (BPNet): :func:`jensen_shannon_distance` and :func:`profile_pearson` per window;
  :func:`compute_profile_metrics` gives per task the count Pearson and their medians over a split.
* Single-label classification (protein): :func:`classification_metrics` gives accuracy, macro-F1,
  MCC and, for two classes, AUROC and AUPR of class 1.

This module depends on numpy, scipy and scikit-learn only, so every layer can import it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

__all__ = [
    "ProfileMetrics",
    "ProfileTaskMetrics",
    "RegressionMetrics",
    "RegressionTaskMetrics",
    "SplitMetrics",
    "SplitPredictions",
    "TaskMetrics",
    "UndefinedMetricWarning",
    "binary_auroc_aupr",
    "classification_metrics",
    "compute_profile_metrics",
    "compute_regression_metrics",
    "compute_split_metrics",
    "jensen_shannon_distance",
    "json_safe",
    "nanmean",
    "profile_pearson",
    "ranking_counts",
    "task_entries",
    "weighted_pearson",
    "weighted_spearman",
]


class UndefinedMetricWarning(UserWarning):
    """A task has a single class (or no unmasked entry) in a split: its AUROC/AUPR are NaN."""


def nanmean(values: Sequence[float]) -> float:
    """Mean of the values that are not NaN (NaN when none is)."""
    finite = [float(v) for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def json_safe(value: Any) -> Any:
    """A copy of a (nested) document for JSON: NaN and infinities -> None, numpy scalars/arrays -> Python."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def ranking_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives above each distinct score, from the highest score down (one sort).

    Args:
        labels: binary labels (n,) (0/1 or bool).
        scores: scores (n,); tied scores form one threshold.

    Returns:
        int64 tps (K,) and fps (K,): positives and negatives scoring >= the k-th highest distinct score
        (scikit-learn's ``_binary_clf_curve``; ``tps[-1]`` = positives, ``fps[-1]`` = negatives).
    """
    scores = np.asarray(scores)
    order = np.argsort(scores, kind="mergesort")[::-1]
    ranked = scores[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1]
    tps = np.cumsum(np.asarray(labels)[order], dtype=np.int64)[ends]
    return tps, ends + 1 - tps


def binary_auroc_aupr(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUROC and AUPR (average precision) of binary labels int (n,) against scores (n,); NaN with one class.

    One sort per call: AUROC is the trapezoid area under (fpr, tpr) over the distinct thresholds and
    AUPR = sum_k (recall_k - recall_{k-1}) precision_k, scikit-learn's ``roc_auc_score`` and
    ``average_precision_score`` to rounding (tests/evaluation/test_metrics.py).
    """
    labels = np.asarray(labels)
    if labels.size == 0 or np.unique(labels).size < 2:
        return math.nan, math.nan
    tps, fps = ranking_counts(labels, scores)
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    auroc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
    aupr = float(np.sum(np.diff(tpr) * (tps / (tps + fps))))
    return auroc, aupr


@dataclass(frozen=True)
class SplitPredictions:
    """Strand-averaged predictions over a whole split; arrays are aligned on rows.

    Attributes:
        split: split name.
        tasks: T task names in column order.
        index: int64 (N,) rows of ``ExampleTable.frame``.
        y: float32 (N, T) labels.
        probs: float32 (N, T) probabilities.
        weight: float32 (N, T) weights (0: masked).
    """

    split: str
    tasks: list[str]
    index: np.ndarray
    y: np.ndarray
    probs: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class TaskMetrics:
    """Metrics of one task over a split (NaN when undefined) and its unmasked class counts."""

    auroc: float
    aupr: float
    n_pos: int
    n_neg: int


@dataclass(frozen=True)
class SplitMetrics:
    """Per-task metrics of a split; ``auroc``/``aupr`` are means over tasks that skip NaN."""

    split: str
    per_task: dict[str, TaskMetrics]
    messages: list[str] = field(default_factory=list)

    @property
    def auroc(self) -> float:
        """Mean AUROC over tasks with both classes (NaN if none)."""
        return nanmean([m.auroc for m in self.per_task.values()])

    @property
    def aupr(self) -> float:
        """Mean AUPR (average precision) over tasks with both classes (NaN if none)."""
        return nanmean([m.aupr for m in self.per_task.values()])

    def means(self) -> dict[str, float]:
        """The split's means over tasks, by metric name (``auroc``, ``aupr``): logged as ``{split}_<name>``."""
        return {"auroc": self.auroc, "aupr": self.aupr}

    def task_values(self, task: str) -> dict[str, float]:
        """One task's metrics by name (logged as ``{split}_<name>/<task>``)."""
        return {"auroc": self.per_task[task].auroc, "aupr": self.per_task[task].aupr}

    def to_dict(self) -> dict[str, Any]:
        """The metrics.json entry of the split; undefined values are None (JSON null)."""
        return json_safe(
            {
                "auroc": self.auroc,
                "aupr": self.aupr,
                "per_task": {
                    task: {"auroc": m.auroc, "aupr": m.aupr, "n_pos": m.n_pos, "n_neg": m.n_neg}
                    for task, m in self.per_task.items()
                },
            }
        )


def task_entries(
    y: np.ndarray, probs: np.ndarray, weight: np.ndarray | None, task: int
) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels (y >= 0.5) and scores of one task's unmasked (weight > 0) entries.

    Args:
        y: float (N, T) labels in [0, 1].
        probs: float (N, T) scores.
        weight: float (N, T) weights; None keeps every entry.
        task: column index.

    Returns:
        int64 (n,) labels in {0, 1} and float (n,) scores.
    """
    keep = np.ones(len(y), dtype=bool) if weight is None else np.asarray(weight)[:, task] > 0
    labels = (np.asarray(y)[keep, task] >= 0.5).astype(np.int64)
    return labels, np.asarray(probs)[keep, task]


def compute_split_metrics(
    y: np.ndarray,
    probs: np.ndarray,
    weight: np.ndarray | None,
    tasks: Sequence[str],
    split: str,
) -> SplitMetrics:
    """Per-task AUROC and AUPR (average precision) over a whole split.

    Entries with weight 0 are left out; soft labels count as positive from 0.5. A task with a single
    class (or nothing unmasked) gets NaN and an ``UndefinedMetricWarning`` naming task and split;
    the message is also kept in ``SplitMetrics.messages``.

    Args:
        y: float (N, T) labels in [0, 1].
        probs: float (N, T) predicted probabilities (any monotone score works).
        weight: float (N, T) weights or None.
        tasks: T task names in column order.
        split: split name used in messages (train, val, test...).
    """
    y, probs = np.asarray(y), np.asarray(probs)
    if y.shape != probs.shape or y.ndim != 2 or y.shape[1] != len(tasks):
        raise ValueError(f"y {y.shape} and probs {probs.shape} must both be (N, {len(tasks)})")
    per_task: dict[str, TaskMetrics] = {}
    messages: list[str] = []
    for column, task in enumerate(tasks):
        labels, scores = task_entries(y, probs, weight, column)
        n_pos = int(labels.sum())
        n_neg = int(labels.size - n_pos)
        n_bad = int((~np.isfinite(scores)).sum())
        if n_bad:  # a diverged model: undefined, not an exception at the end of a validation
            per_task[task] = TaskMetrics(math.nan, math.nan, n_pos, n_neg)
            message = (
                f"task {task!r} has {n_bad} non-finite score(s) in the {split} split (a diverged model?): "
                "AUROC and AUPR are undefined (NaN) and left out of the means"
            )
            warnings.warn(message, UndefinedMetricWarning, stacklevel=2)
            messages.append(message)
            continue
        auroc, aupr = binary_auroc_aupr(labels, scores)
        per_task[task] = TaskMetrics(auroc, aupr, n_pos, n_neg)
        if math.isnan(auroc):
            message = (
                f"task {task!r} has {n_pos} positive and {n_neg} negative examples in the {split} split: "
                "AUROC and AUPR are undefined (NaN) and left out of the means"
            )
            warnings.warn(message, UndefinedMetricWarning, stacklevel=2)
            messages.append(message)
    return SplitMetrics(split, per_task, messages)


def classification_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 and MCC (plus AUROC and AUPR when there are two classes) over a whole split.

    Macro-F1 is the unweighted mean of per-class F1 over the classes present in the truth or the
    predictions (a class never predicted scores 0); MCC is the multi-class form.

    Args:
        y_true: int array (N,), the true class index of each example.
        probs: float array (N, C), class probabilities (or any scores whose argmax is the prediction);
            for C == 2, ``probs[:, 1]`` ranks examples for AUROC and AUPR.

    Returns:
        ``{"n", "accuracy", "macro_f1", "mcc"}`` and, for C == 2, ``"auroc"`` and ``"aupr"`` (NaN when
        the split holds a single class; :func:`json_safe` writes them as null). Values are Python floats.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != y_true.shape[0]:
        raise ValueError(f"probs must have shape (N, C) with N = {y_true.shape[0]}, got {probs.shape}")
    if y_true.size == 0:
        raise ValueError("no examples: metrics of an empty split are undefined")
    y_pred = probs.argmax(axis=1)
    metrics: dict[str, Any] = {
        "n": int(y_true.size),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
    }
    if probs.shape[1] == 2:
        metrics["auroc"], metrics["aupr"] = binary_auroc_aupr(y_true, probs[:, 1])
    return metrics


# --------------------------------------------------------------------------- regression


def weighted_pearson(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Pearson correlation of x (n,) and y (n,) with non-negative weights (n,) (None: all 1).

    NaN with fewer than two weighted entries or a constant x or y.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    if (w > 0).sum() < 2:
        return math.nan
    w = w / w.sum()
    dx, dy = x - (w * x).sum(), y - (w * y).sum()
    var_x, var_y = (w * dx * dx).sum(), (w * dy * dy).sum()
    if var_x <= 0 or var_y <= 0:
        return math.nan
    return float(np.clip((w * dx * dy).sum() / math.sqrt(var_x * var_y), -1.0, 1.0))


def weighted_spearman(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Spearman correlation: the weighted Pearson correlation of the average ranks of the weighted entries."""
    x, y = np.asarray(x), np.asarray(y)
    keep = np.ones(x.shape, dtype=bool) if weight is None else np.asarray(weight) > 0
    w = None if weight is None else np.asarray(weight)[keep]
    return weighted_pearson(rankdata(x[keep]), rankdata(y[keep]), w)


@dataclass(frozen=True)
class RegressionTaskMetrics:
    """Pearson and Spearman correlation of one task over a split (NaN when undefined); n weighted entries."""

    pearson: float
    spearman: float
    n: int


@dataclass(frozen=True)
class RegressionMetrics:
    """Per-task regression metrics of a split; ``pearson``/``spearman`` are means over tasks that skip NaN."""

    split: str
    per_task: dict[str, RegressionTaskMetrics]
    messages: list[str] = field(default_factory=list)

    @property
    def pearson(self) -> float:
        """Mean Pearson correlation over tasks (NaN if none is defined)."""
        return nanmean([m.pearson for m in self.per_task.values()])

    @property
    def spearman(self) -> float:
        """Mean Spearman correlation over tasks (NaN if none is defined)."""
        return nanmean([m.spearman for m in self.per_task.values()])

    def means(self) -> dict[str, float]:
        """The split's means over tasks, by metric name (logged as ``{split}_<name>``)."""
        return {"pearson": self.pearson, "spearman": self.spearman}

    def task_values(self, task: str) -> dict[str, float]:
        """One task's metrics by name (logged as ``{split}_<name>/<task>``)."""
        return {"pearson": self.per_task[task].pearson, "spearman": self.per_task[task].spearman}

    def to_dict(self) -> dict[str, Any]:
        """The metrics.json entry of the split: ``{"pearson", "spearman", "per_task": {task: {...}}}``."""
        return json_safe(
            {
                "pearson": self.pearson,
                "spearman": self.spearman,
                "per_task": {
                    task: {"pearson": m.pearson, "spearman": m.spearman, "n": m.n} for task, m in self.per_task.items()
                },
            }
        )


def compute_regression_metrics(
    y: np.ndarray, predictions: np.ndarray, weight: np.ndarray | None, tasks: Sequence[str], split: str
) -> RegressionMetrics:
    """Per-task Pearson and Spearman correlations over a whole split, weighted (weight 0 masks an entry).

    Args:
        y: float (N, T) observed targets.
        predictions: float (N, T) predicted values.
        weight: float (N, T) non-negative weights or None.
        tasks: T task names in column order.
        split: split name used in messages.

    A task whose correlation is undefined (fewer than two entries, constant values, non-finite
    predictions) gets NaN and an ``UndefinedMetricWarning``, kept in ``messages``.
    """
    y, predictions = np.asarray(y), np.asarray(predictions)
    if y.shape != predictions.shape or y.ndim != 2 or y.shape[1] != len(tasks):
        raise ValueError(f"y {y.shape} and predictions {predictions.shape} must both be (N, {len(tasks)})")
    per_task: dict[str, RegressionTaskMetrics] = {}
    messages: list[str] = []
    for column, task in enumerate(tasks):
        w = np.ones(len(y)) if weight is None else np.asarray(weight)[:, column]
        observed, predicted = y[:, column], predictions[:, column]
        finite = np.isfinite(predicted).all()
        pearson = weighted_pearson(predicted, observed, w) if finite else math.nan
        spearman = weighted_spearman(predicted, observed, w) if finite else math.nan
        per_task[task] = RegressionTaskMetrics(pearson, spearman, int((w > 0).sum()))
        if math.isnan(pearson):
            message = (
                f"task {task!r}: Pearson correlation undefined in the {split} split ({int((w > 0).sum())} weighted "
                "entries, constant or non-finite values); left out of the means"
            )
            warnings.warn(message, UndefinedMetricWarning, stacklevel=2)
            messages.append(message)
    return RegressionMetrics(split, per_task, messages)


# --------------------------------------------------------------------------- profiles


def jensen_shannon_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) between profiles along the last axis.

    Each profile is normalised to sum 1 first; an all-zero profile counts as uniform. Equals
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` per row.

    Args:
        p: float (..., L) non-negative profiles.
        q: float (..., L) non-negative profiles, the same shape.

    Returns:
        float64 (...): sqrt of the JS divergence of every pair.
    """
    p, q = _normalised(p), _normalised(q)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(a / m), 0.0)
        return terms.sum(axis=-1)

    return np.sqrt(np.clip((kl(p) + kl(q)) / 2, 0.0, None))


def _normalised(profile: np.ndarray) -> np.ndarray:
    profile = np.asarray(profile, dtype=np.float64)
    total = profile.sum(axis=-1, keepdims=True)
    uniform = np.full_like(profile, 1.0 / profile.shape[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, profile / np.where(total > 0, total, 1.0), uniform)


def profile_pearson(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Pearson correlation of every pair of profiles along the last axis: float (..., L) -> float64 (...).

    NaN where either profile is constant.
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    dp, dq = p - p.mean(axis=-1, keepdims=True), q - q.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((dp * dp).sum(axis=-1) * (dq * dq).sum(axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, (dp * dq).sum(axis=-1) / denominator, np.nan)


@dataclass(frozen=True)
class ProfileTaskMetrics:
    """One task's profile metrics over a split: count Pearson, median profile Pearson and JSD, n windows."""

    count_pearson: float
    profile_pearson: float
    jsd: float
    n: int


@dataclass(frozen=True)
class ProfileMetrics:
    """Per-task profile metrics of a split; the means over tasks skip NaN."""

    split: str
    per_task: dict[str, ProfileTaskMetrics]
    messages: list[str] = field(default_factory=list)

    def means(self) -> dict[str, float]:
        """Means over tasks by metric name (logged as ``{split}_<name>``: count_pearson, profile_jsd, ...)."""
        values = self.per_task.values()
        return {
            "count_pearson": nanmean([m.count_pearson for m in values]),
            "profile_jsd": nanmean([m.jsd for m in values]),
            "profile_pearson": nanmean([m.profile_pearson for m in values]),
        }

    def task_values(self, task: str) -> dict[str, float]:
        """One task's metrics by name (logged as ``{split}_<name>/<task>``)."""
        m = self.per_task[task]
        return {"count_pearson": m.count_pearson, "profile_jsd": m.jsd, "profile_pearson": m.profile_pearson}

    def to_dict(self) -> dict[str, Any]:
        """metrics.json entry: ``{count_pearson, profile_pearson, jsd, per_task: {task: {the same, n}}}`` (means)."""
        means = self.means()
        return json_safe(
            {
                "count_pearson": means["count_pearson"],
                "profile_pearson": means["profile_pearson"],
                "jsd": means["profile_jsd"],
                "per_task": {
                    task: {
                        "count_pearson": m.count_pearson,
                        "profile_pearson": m.profile_pearson,
                        "jsd": m.jsd,
                        "n": m.n,
                    }
                    for task, m in self.per_task.items()
                },
            }
        )


def compute_profile_metrics(
    y: np.ndarray, predictions: np.ndarray, weight: np.ndarray | None, tasks: Sequence[str], split: str
) -> ProfileMetrics:
    """Per-task profile metrics over a whole split.

    Args:
        y: float (N, T, L) observed counts per base.
        predictions: float (N, T, L) expected counts per base (strand-averaged).
        weight: float (N, T) non-negative weights or None (weight 0 masks a window).
        tasks: T task names.
        split: split name used in messages.

    Returns:
        Per task: the weighted Pearson correlation of log(1 + total counts) (predicted vs observed), and
        the medians over windows with weight > 0 and observed counts > 0 of the profile Pearson
        correlation and Jensen-Shannon distance (:func:`profile_pearson`, :func:`jensen_shannon_distance`);
        NaN (with an ``UndefinedMetricWarning`` kept in ``messages``) when a task has no such window.
    """
    y, predictions = np.asarray(y, dtype=np.float64), np.asarray(predictions, dtype=np.float64)
    if y.shape != predictions.shape or y.ndim != 3 or y.shape[1] != len(tasks):
        raise ValueError(f"y {y.shape} and predictions {predictions.shape} must both be (N, {len(tasks)}, L)")
    per_task: dict[str, ProfileTaskMetrics] = {}
    messages: list[str] = []
    for column, task in enumerate(tasks):
        w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)[:, column]
        observed, predicted = y[:, column], predictions[:, column]
        totals = np.log1p(observed.sum(axis=-1))
        count = weighted_pearson(np.log1p(predicted.sum(axis=-1)), totals, w) if len(y) > 1 else math.nan
        shaped = (w > 0) & (observed.sum(axis=-1) > 0)
        pearsons = profile_pearson(observed[shaped], predicted[shaped])
        distances = jensen_shannon_distance(observed[shaped], predicted[shaped])
        median_pearson = float(np.nanmedian(pearsons)) if np.isfinite(pearsons).any() else math.nan
        median_jsd = float(np.median(distances)) if distances.size else math.nan
        per_task[task] = ProfileTaskMetrics(count, median_pearson, median_jsd, int(shaped.sum()))
        if math.isnan(count) or not distances.size:
            message = f"task {task!r}: profile metrics undefined in the {split} split ({int(shaped.sum())} windows)"
            warnings.warn(message, UndefinedMetricWarning, stacklevel=2)
            messages.append(message)
    return ProfileMetrics(split, per_task, messages)
