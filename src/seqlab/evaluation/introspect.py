"""Introspection of a metadata head: which latent features (and subspaces) follow which metadata factor.

For experiments e = 1..E with metadata-computed weights W (E, F) (the groups' weights side by side,
feature k's weight for experiment e is W[e, k]) and a categorical factor c (target, lab...) taking
value c_e, the share of feature k's weight variance explained by c is the between-value variance
over the total variance (eta squared of a one-way ANOVA):

    eta2(k, c) = sum_v n_v (mean_{e: c_e = v} W[e, k] - mean_e W[e, k])^2 / sum_e (W[e, k] - mean_e W[e, k])^2

in [0, 1] (0 when the weights do not vary: NaN is reported as 0). A multi-valued cell (``"A, B"``) is
its own value here. The association of subspace g with factor c is the mean of eta2(k, c) over
g's features; a factor "lands" in the subspace with the largest association.

Only live features count when a live mask is given (dead units have weights the head never uses,
whose eta² means nothing). Null: the factor's values are permuted over the experiments ``permutations``
times and the association recomputed; ``null_q95`` is its 95th percentile and ``p_value`` the share of
permutations at least as high as the observed value ((1 + count) / (1 + permutations)), so a reader
sees which associations exceed chance. With few experiments per value some association is expected
by chance (eta² of random labels is about (values - 1) / (experiments - 1)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqlab.atomic import atomic_open, write_text
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import SequenceModel

__all__ = [
    "INTROSPECTION_PNG",
    "INTROSPECTION_TSV",
    "default_factors",
    "eta_squared",
    "factor_values",
    "feature_factor_table",
    "introspect_model",
    "permutation_null",
    "plot_feature_factor_heatmap",
    "subspace_association",
]

INTROSPECTION_TSV = "introspection.tsv"
_NO_ASSOCIATION = 1e-6
INTROSPECTION_PNG = "introspection.png"


def eta_squared(weights: np.ndarray, values: Sequence[Any]) -> np.ndarray:
    """eta2 per column of weights float (E, F) for factor values (E,) -> float64 (F,) in [0, 1]."""
    weights = np.asarray(weights, dtype=np.float64)
    labels = np.asarray([str(v) for v in values])
    if weights.shape[0] != labels.size:
        raise ValueError(f"{weights.shape[0]} weight rows but {labels.size} factor values")
    centred = weights - weights.mean(axis=0, keepdims=True)
    total = (centred**2).sum(axis=0)
    between = np.zeros(weights.shape[1])
    for value in np.unique(labels):
        rows = labels == value
        between += rows.sum() * centred[rows].mean(axis=0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 1e-12, between / np.where(total > 0, total, 1.0), 0.0)
    share = np.where(between > 1e-12 * np.maximum(total, 1e-300), share, 0.0)  # rounding noise -> 0
    return np.clip(share, 0.0, 1.0)


@torch.no_grad()
def feature_factor_table(
    head: MetadataHead, records: Sequence[Mapping[str, Any]] | None = None, factors: Sequence[str] | None = None
) -> pd.DataFrame:
    """eta2 of every latent feature for every factor: one row per feature.

    Args:
        head: a metadata head.
        records: experiments' metadata (the training experiments: ``model.data_params.task_metadata``;
            required since the head keeps only their codes).
        factors: metadata columns to test (default: every column of the head's encoder).

    Returns:
        DataFrame with ``feature`` (0..F-1), ``group`` (its subspace) and one float column per factor.
    """
    if records is None:
        raise ValueError("feature_factor_table needs the experiments' metadata records")
    factors = list(factors or default_factors(head))
    codes = head.encode_metadata(records)
    weights = head.group_weights(codes)
    full = torch.cat([weights[group] for group in head.groups], dim=1).cpu().numpy()
    groups = [group for group in head.groups for _ in range(head.sizes[group])]
    table = pd.DataFrame({"feature": np.arange(full.shape[1]), "group": groups})
    for factor in factors:
        table[factor] = eta_squared(full, factor_values(head, records, factor))
    return table


def default_factors(head: MetadataHead) -> list[str]:
    """The head's categorical and date columns (numeric columns have no groups of values to compare)."""
    return [encoder.column for encoder in head.encoder.columns if encoder.kind != "numeric"]


def factor_values(head: MetadataHead, records: Sequence[Mapping[str, Any]], factor: str) -> list[str]:
    """One group label per experiment for ``factor``: the cell as text, or the year of a date column."""
    kinds = {encoder.column: encoder.kind for encoder in head.encoder.columns}
    if kinds.get(factor) == "date":
        return [str(record[factor]).strip()[:4] for record in records]
    return [str(record[factor]) for record in records]


def subspace_association(table: pd.DataFrame) -> pd.DataFrame:
    """Mean eta2 per subspace (rows) and factor (columns), plus ``lands_in`` per factor as a last row.

    A factor whose association is at most 1e-6 everywhere (e.g. one value in every experiment) lands
    in ``"none"``.
    """
    factors = [c for c in table.columns if c not in ("feature", "group")]
    means = table.groupby("group", sort=False)[factors].mean()
    lands = means.idxmax(axis=0).where(means.max(axis=0) > _NO_ASSOCIATION, "none")
    lands = pd.DataFrame([lands], index=["lands_in"])
    return pd.concat([means.astype(object), lands])


def permutation_null(
    table: pd.DataFrame,
    values: Mapping[str, Sequence[str]],
    weights: np.ndarray,
    permutations: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    """Permuted-metadata null of the subspace association.

    Args:
        table: :func:`feature_factor_table` rows of the features to use (``feature``, ``group``).
        values: factor -> its value per experiment (E,).
        weights: float (E, F) the metadata-computed weights of every feature (columns picked by ``table.feature``).
        permutations: shuffles of the values over the experiments.
        seed: their seed.

    Returns:
        ``{group: {factor: {"observed", "null_q95", "p_value"}}}``.
    """
    rng = np.random.default_rng(seed)
    columns = weights[:, table["feature"].to_numpy()]
    groups = table["group"].to_numpy()
    out: dict[str, dict[str, dict[str, float]]] = {str(g): {} for g in dict.fromkeys(groups)}
    for factor, labels in values.items():
        labels = np.asarray([str(v) for v in labels])
        observed = eta_squared(columns, labels)
        null = np.stack([eta_squared(columns, rng.permutation(labels)) for _ in range(permutations)])
        for group in out:
            part = groups == group
            score, draws = float(observed[part].mean()), null[:, part].mean(axis=1)
            out[group][factor] = {
                "observed": score,
                "null_q95": float(np.quantile(draws, 0.95)),
                "p_value": float((1 + (draws >= score - 1e-12).sum()) / (1 + permutations)),
            }
    return out


def plot_feature_factor_heatmap(table: pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Heatmap of eta2 (features x factors) with the subspace boundaries marked; writes ``path`` (PNG/PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factors = [c for c in table.columns if c not in ("feature", "group")]
    values = table[factors].to_numpy(dtype=float)
    figure, axis = plt.subplots(figsize=(1.2 + 0.9 * len(factors), 1.5 + 0.12 * len(table)))
    image = axis.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    axis.set_xticks(range(len(factors)), factors, rotation=45, ha="right")
    axis.set_ylabel("latent feature")
    boundaries = np.flatnonzero(table["group"].to_numpy()[1:] != table["group"].to_numpy()[:-1])
    for boundary in boundaries:
        axis.axhline(boundary + 0.5, color="white", linewidth=1.5)
    figure.colorbar(image, ax=axis, label="eta² (weight variance explained)")
    axis.set_title(title or "feature x factor")
    figure.tight_layout()
    path = Path(path)
    try:
        with atomic_open(path, "wb") as handle:  # a kill leaves the earlier figure, never half of one
            figure.savefig(handle, format=path.suffix.lstrip(".").lower() or "png", dpi=120)
    finally:
        plt.close(figure)
    return path


def introspect_model(
    model: SequenceModel,
    out_dir: str | Path,
    title: str | None = None,
    live: np.ndarray | None = None,
    permutations: int = 200,
) -> dict[str, Any]:
    """Write ``introspection.tsv`` (eta² per feature and factor) and ``introspection.png`` into ``out_dir``.

    Args:
        model: a model with a metadata head; its training experiments are ``model.data_params.task_metadata``.
        out_dir: folder of the two files (created).
        title: heatmap title.
        live: bool (F,) live features (:func:`seqlab.evaluation.disentanglement.live_mask`); the
            association, ``lands_in`` and the null use these only (None: every feature). The TSV keeps
            every feature with a ``live`` column.
        permutations: shuffles of each factor's values for the null (0: none).

    Returns:
        ``{"association": {group: {factor: mean eta²}}, "lands_in": {factor: group}, "null": {group:
        {factor: {"observed", "null_q95", "p_value"}}}, "live_features": n, "table": TSV path,
        "heatmap": PNG path}`` (JSON values).

    Raises:
        ValueError: the model has no metadata head.
    """
    head = model.head
    if not isinstance(head, MetadataHead):
        raise ValueError(f"the model has a {type(head).__name__}, not a metadata head: nothing to introspect")
    out = Path(out_dir)
    records = model.data_params.task_metadata
    table = feature_factor_table(head, records)
    table["live"] = np.ones(len(table), dtype=bool) if live is None else np.asarray(live, dtype=bool)
    write_text(out / INTROSPECTION_TSV, table.to_csv(sep="\t", index=False, float_format="%.6g", lineterminator="\n"))
    used = table[table["live"]].drop(columns="live")
    plot_feature_factor_heatmap(used, out / INTROSPECTION_PNG, title=title or "eta² of metadata-computed weights")
    association = subspace_association(used)
    result = {
        "association": {
            str(group): {str(factor): float(value) for factor, value in row.items()}
            for group, row in association.drop("lands_in").iterrows()
        },
        "lands_in": {str(k): str(v) for k, v in association.loc["lands_in"].items()},
        "live_features": int(len(used)),
        "table": str(out / INTROSPECTION_TSV),
        "heatmap": str(out / INTROSPECTION_PNG),
    }
    if permutations and len(used):
        with torch.no_grad():
            codes = head.encode_metadata(records)
            weights = torch.cat([head.group_weights(codes)[g] for g in head.groups], dim=1).cpu().numpy()
        factors = [c for c in used.columns if c not in ("feature", "group")]
        values = {factor: factor_values(head, records, factor) for factor in factors}
        result["null"] = permutation_null(used, values, weights, permutations)
    return result
