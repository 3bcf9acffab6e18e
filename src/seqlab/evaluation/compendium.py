"""Compendium checks of MFD: imputation baselines and where a metadata change moves a logit.

* **Imputation baselines** (ENCODE-DREAM style): a held-out experiment (e.g. a TF in a cell line where
  it was never trained) is scored by the average, over the *other* experiments of the same factor
  (same ``target`` and ``peak_set``, another ``biosample``), of some per-window score of theirs:

  - their observed labels (:func:`other_experiments_average` on the labels: "how often is this
    window a peak of the same TF elsewhere"), the ENCODE-DREAM baseline;
  - a plain multi-task model's probabilities for them (the same average on a model's outputs): what
    a model without a metadata head can offer for an experiment it has no output for.

  :func:`imputation_baselines` scores both on a split of an example table.
* **Logit shift** (:func:`logit_shift`): for a metadata head, the change of an experiment's logit when
  its metadata changes from row a to row b (e.g. only ``peak_set``: conservative -> relaxed), split
  into the subspaces: delta_g(j) = <z_j^g, w_b^g - w_a^g> plus delta_bias = b_b - b_a. Each group's
  weights w^g are a function of that group's columns only, so a column of the technical group moves
  only the technical term: the technical share of such a shift is 1 by construction, and
  :func:`logit_shift` measures it (a check of the construction, not of training).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from seqlab.data.table import ExampleTable
from seqlab.metrics import binary_auroc_aupr
from seqlab.models.inference import predict_table
from seqlab.models.sequence_model import SequenceModel

__all__ = ["imputation_baselines", "logit_shift", "other_experiments_average", "score_columns"]


def _matches(source: Mapping[str, Any], target: Mapping[str, Any], same: Sequence[str], differ: str) -> bool:
    return all(str(source[c]) == str(target[c]) for c in same) and str(source[differ]) != str(target[differ])


def other_experiments_average(
    scores: np.ndarray,
    sources: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    same: Sequence[str] = ("target", "peak_set"),
    differ: str = "biosample",
) -> tuple[np.ndarray, np.ndarray]:
    """Average of the source columns that share ``same`` with each target row and differ in ``differ``.

    Args:
        scores: float (N, S) one column per source experiment (labels, probabilities...); NaN = unknown
            (left out of that row's average).
        sources: the S source experiments' metadata rows (dicts with the ``same`` and ``differ`` keys).
        targets: the T experiments to score.
        same: columns a source must share with the target.
        differ: column in which a source must differ from the target (another cell line).

    Returns:
        (float64 (N, T) averages, NaN where no source matches or every source is NaN; int64 (T,) sources).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != len(sources):
        raise ValueError(f"scores have shape {scores.shape}, expected (N, {len(sources)}) for {len(sources)} sources")
    out = np.full((scores.shape[0], len(targets)), np.nan)
    counts = np.zeros(len(targets), dtype=np.int64)
    for t, target in enumerate(targets):
        columns = [s for s, source in enumerate(sources) if _matches(source, target, same, differ)]
        counts[t] = len(columns)
        if columns:
            known = np.isfinite(scores[:, columns]).sum(axis=1)
            total = np.nansum(scores[:, columns], axis=1)
            out[:, t] = np.where(known > 0, total / np.maximum(known, 1), np.nan)
    return out, counts


def score_columns(labels: np.ndarray, weights: np.ndarray, scores: np.ndarray) -> list[tuple[float, float]]:
    """(AUROC, AUPR) of each column of scores (N, T) against labels (N, T) on the rows with weight > 0.

    NaN where a column has one class among its weighted rows, or no score (a NaN column).
    """
    out = []
    for t in range(scores.shape[1]):
        keep = np.asarray(weights[:, t]) > 0
        if not np.isfinite(scores[keep, t]).all():
            out.append((float("nan"), float("nan")))
            continue
        out.append(binary_auroc_aupr(np.asarray(labels[keep, t]) > 0.5, scores[keep, t]))
    return out


def _mean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def imputation_baselines(
    table: ExampleTable,
    held: Sequence[str],
    plain: SequenceModel | None = None,
    split: str = "test",
    same: Sequence[str] = ("target", "peak_set"),
    differ: str = "biosample",
    batch_size: int = 256,
) -> dict[str, Any]:
    """Score the held-out experiments of ``table`` by the two other-experiment baselines on ``split``.

    Args:
        table: the example table with every experiment's labels (held-out columns included) and the
            task metadata (``table.tasks``).
        held: names of the held-out experiments (scored); the sources are every other task of the table
            (labels baseline) and every output of ``plain`` (model baseline).
        plain: a plain multi-task model trained without the held-out experiments (its outputs and their
            ``data_params.task_metadata`` are the sources); None: labels baseline only.
        split: the rows scored (the whole split, as the models are scored).
        same: columns a source must share with the held-out experiment (:func:`other_experiments_average`).
        differ: column in which a source must differ from it.
        batch_size: windows per forward pass of ``plain``.

    Returns:
        ``{"per_task": {task: {"sources_labels", "sources_plain", "positives", "labels_auroc", "labels_aupr",
        "plain_auroc", "plain_aupr"}}, "mean": {metric: mean over tasks}}`` (plain keys only with ``plain``).
    """
    names = list(table.task_names)
    missing = [t for t in held if t not in names]
    if missing:
        raise ValueError(f"held-out task(s) {missing} are not tasks of the table ({len(names)} tasks)")
    rows = table.split_indices(split)
    labels, weights = table.label_rows(rows)
    records = table.tasks.to_dict("records")
    columns = [names.index(t) for t in held]
    targets = [records[c] for c in columns]
    seen = [c for c in range(len(names)) if names[c] not in set(held)]
    y, w = labels[:, columns], weights[:, columns]
    # observed labels of the other experiments; a masked label (weight 0) counts as unknown, not as 0
    masked = np.where(weights[:, seen] > 0, labels[:, seen], np.nan)
    by_labels, n_labels = other_experiments_average(masked, [records[c] for c in seen], targets, same, differ)
    result = {t: {"sources_labels": int(n_labels[i]), "positives": int((y[w[:, i] > 0, i] > 0.5).sum())}
              for i, t in enumerate(held)}  # fmt: skip
    for i, (auroc, aupr) in enumerate(score_columns(y, w, by_labels)):
        result[held[i]] |= {"labels_auroc": auroc, "labels_aupr": aupr}
    if plain is not None:
        probs = predict_table(plain, table, batch_size=batch_size, split=split)
        by_plain, n_plain = other_experiments_average(probs, plain.data_params.task_metadata, targets, same, differ)
        for i, (auroc, aupr) in enumerate(score_columns(y, w, by_plain)):
            result[held[i]] |= {"sources_plain": int(n_plain[i]), "plain_auroc": auroc, "plain_aupr": aupr}
    keys = [k for k in next(iter(result.values())) if k.endswith(("auroc", "aupr"))]
    return {"per_task": result, "mean": {k: _mean([v[k] for v in result.values()]) for k in keys}}


@torch.no_grad()
def logit_shift(
    head: Any, features: np.ndarray, rows_a: Sequence[Mapping[str, Any]], rows_b: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Per-subspace change of the logits when each experiment's metadata changes from ``rows_a`` to ``rows_b``.

    Args:
        head: a :class:`~seqlab.models.metadata_head.MetadataHead`.
        features: float32 (N, F) trunk features of the windows.
        rows_a: E metadata rows (the experiments before the change).
        rows_b: E metadata rows, row e = rows_a[e] with some columns changed.

    Returns:
        ``{"delta": {group: float32 (N, E)}, "bias": float32 (E,), "mean_abs": {group: float},
        "share": {group: mean |delta_g| / sum over groups of mean |delta_g|}}``: delta_g(j, e) =
        <z_j^g, w_b^g[e] - w_a^g[e]>; the logit changes by sum_g delta_g + bias.
    """
    if len(rows_a) != len(rows_b) or not rows_a:
        raise ValueError(f"rows_a and rows_b must be non-empty pairs, got {len(rows_a)} and {len(rows_b)} rows")
    codes_a, codes_b = head.encode_metadata(rows_a), head.encode_metadata(rows_b)
    weights_a, weights_b = head.group_weights(codes_a), head.group_weights(codes_b)
    z = torch.as_tensor(np.asarray(features, dtype=np.float32))
    delta = {g: (z[:, part] @ (weights_b[g] - weights_a[g]).T).numpy() for g, part in head.feature_slices.items()}
    mean_abs = {g: float(np.abs(d).mean()) for g, d in delta.items()}
    total = sum(mean_abs.values())
    return {
        "delta": delta,
        "bias": (head.bias(codes_b) - head.bias(codes_a)).numpy(),
        "mean_abs": mean_abs,
        "share": {g: v / total if total > 0 else float("nan") for g, v in mean_abs.items()},
    }
