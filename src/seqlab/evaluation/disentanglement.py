"""Live features and output collapse of a trained model on held-out windows (MFD's health checks).

Two failure modes a penalty-trained compendium model can hide behind a good AUROC:

* **dead features**: a unit whose value hardly varies over the test windows carries nothing (a ReLU
  unit off on every input, or a unit shrunk to nothing). Feature k is *live* when its test-window sd
  exceeds ``threshold`` times the largest feature sd of the model (default 0.01: a unit at 1 % of the
  most variable one is noise for the head); ``live_fraction[g]`` = live units of subspace g / its size.
* **collapsed outputs**: experiments' logits that are one classifier plus offsets. The Pearson
  correlation matrix R (T, T) of the logits over the test windows and its mean off-diagonal value
  ``mean_logit_r`` tell (1 = every output ranks the windows alike; a constant output counts r = 0).

:func:`health_report` computes both in one pass and adds a warning when a subspace is mostly dead
(live fraction < 0.5) or the outputs collapse (mean r >= 0.95).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from seqlab.data.batches import window_batches
from seqlab.data.table import ExampleTable

__all__ = [
    "COLLAPSE_R",
    "LIVE_MIN",
    "LIVE_THRESHOLD",
    "features_and_logits",
    "health_report",
    "live_mask",
    "live_report",
    "logit_correlation",
]

log = logging.getLogger(__name__)

LIVE_THRESHOLD = 0.01
LIVE_MIN = 0.5
COLLAPSE_R = 0.95


@torch.no_grad()
def features_and_logits(
    model: torch.nn.Module, table: ExampleTable, rows: np.ndarray, encoding: str, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Trunk features float32 (N, F) and logits float32 (N, T) of the table's ``rows`` (forward strand, eval mode).

    ``model`` has ``features(x)`` and ``head(features)`` (a :class:`~seqlab.models.model.SequenceModel`).
    """
    model.eval()
    device = next(model.parameters()).device
    features, logits = [], []
    for x in window_batches(table.subset(rows), model.window_length, encoding, batch_size):
        z = model.features(x.to(device))
        features.append(z.cpu().numpy())
        logits.append(model.head(z).cpu().numpy())
    return np.concatenate(features).astype(np.float32), np.concatenate(logits).astype(np.float32)


def live_mask(features: np.ndarray, threshold: float = LIVE_THRESHOLD) -> np.ndarray:
    """Bool (F,): feature sd over the rows of features (N, F) > ``threshold`` x the largest feature sd."""
    sd = np.asarray(features, dtype=np.float64).std(axis=0)
    top = float(sd.max()) if sd.size else 0.0
    return sd > threshold * top if top > 0 else np.zeros(sd.shape, dtype=bool)


def live_report(features: np.ndarray, slices: Mapping[str, slice], threshold: float = LIVE_THRESHOLD) -> dict[str, Any]:
    """Live units per subspace of features (N, F): ``{"threshold", "live_fraction", "live", "size"}`` by subspace."""
    live = live_mask(features, threshold)
    sizes = {name: int(live[part].size) for name, part in slices.items()}
    counts = {name: int(live[part].sum()) for name, part in slices.items()}
    return {
        "threshold": threshold,
        "live_fraction": {name: counts[name] / sizes[name] if sizes[name] else 0.0 for name in slices},
        "live": counts,
        "size": sizes,
    }


def logit_correlation(logits: np.ndarray) -> tuple[np.ndarray, float]:
    """(Pearson R float64 (T, T) of the columns of logits (N, T), mean off-diagonal R).

    A constant column correlates 0 with every other (and 1 with itself); one column gives mean NaN.
    """
    x = np.asarray(logits, dtype=np.float64)
    centred = x - x.mean(axis=0, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=0))
    safe = np.where(norm > 0, norm, 1.0)
    r = (centred.T @ centred) / np.outer(safe, safe)
    r[norm == 0, :] = 0.0
    r[:, norm == 0] = 0.0
    np.fill_diagonal(r, 1.0)
    t = r.shape[0]
    mean = float((r.sum() - t) / (t * (t - 1))) if t > 1 else float("nan")
    return np.clip(r, -1.0, 1.0), mean


def health_report(
    features: np.ndarray,
    logits: np.ndarray,
    slices: Mapping[str, slice],
    tasks: Sequence[str],
    threshold: float = LIVE_THRESHOLD,
) -> dict[str, Any]:
    """Live features per subspace and logit collapse, with warnings.

    Args:
        features: float32 (N, F) trunk features of the test windows.
        logits: float32 (N, T) the experiments' logits on the same windows.
        slices: subspace name -> its feature slice (a plain head: ``{"all": slice(None)}``).
        tasks: the T experiment names (rows/columns of the correlation matrix).
        threshold: relative sd threshold of a live feature (:func:`live_mask`).

    Returns:
        ``{"live": live_report(...), "collapse": {"mean_logit_r", "logit_r": {task: {task: r}}},
        "warnings": [str]}``; each warning is also logged.
    """
    live = live_report(features, slices, threshold)
    r, mean_r = logit_correlation(logits)
    names = [str(t) for t in tasks]
    collapse = {
        "mean_logit_r": mean_r,
        "logit_r": {a: {b: round(float(r[i, j]), 4) for j, b in enumerate(names)} for i, a in enumerate(names)},
    }
    warnings = [
        f"subspace {name!r} is mostly dead: {live['live'][name]} of {live['size'][name]} features vary on the "
        f"test windows (sd > {threshold} x the largest)"
        for name, fraction in live["live_fraction"].items()
        if fraction < LIVE_MIN
    ]
    if np.isfinite(mean_r) and mean_r >= COLLAPSE_R:
        warnings.append(
            f"the {len(names)} outputs collapse: their test-window logits correlate at mean r = {mean_r:.3f} "
            f"(>= {COLLAPSE_R}), one classifier plus offsets"
        )
    for warning in warnings:
        log.warning(warning)
    return {"live": live, "collapse": collapse, "warnings": warnings}


def model_health(
    model: torch.nn.Module, table: ExampleTable, encoding: str, split: str = "test", threshold: float = LIVE_THRESHOLD
) -> tuple[dict[str, Any], np.ndarray]:
    """:func:`health_report` of a model on one split of ``table``, and its live mask bool (F,).

    The subspaces are the head's ``feature_slices`` (a metadata head), else ``{"all": slice(None)}``.
    """
    rows = table.split_indices(split)
    features, logits = features_and_logits(model, table, rows, encoding)
    slices = getattr(model.head, "feature_slices", None) or {"all": slice(None)}
    return health_report(features, logits, slices, table.task_names, threshold), live_mask(features, threshold)


def health_metrics(report: Mapping[str, Any]) -> dict[str, Any]:
    """metrics.json entries of a :func:`health_report`: ``disentanglement`` (``live_fraction``, ``live``),
    ``collapse`` and ``warnings``.
    """
    live = report["live"]
    return {
        "disentanglement": {"live_fraction": live["live_fraction"], "live": live},
        "collapse": report["collapse"],
        "warnings": list(report["warnings"]),
    }
