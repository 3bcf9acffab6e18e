"""The ``mfd`` training scheme, held-out experiments, imputation from metadata and introspection.

``train.scheme: mfd`` (the registry entry :data:`MFD`) trains a compendium model through the one loop
(:func:`~seqlab.training.fit.fit`):

* ``model.head.kind: metadata``: an :class:`~seqlab.training.mfd.MfdModule` (metadata head, independence
  penalty ``mfd.penalty`` with its adversaries, manual optimisation through ``build_trainer``);
* ``model.head.kind: linear``: the plain multi-task head on exactly the same examples (the baseline;
  no imputation or introspection).

Held-out experiments (``mfd.holdout``, by metadata) are never trained: their label columns are left
out of the model (its tasks and vocabularies are the seen experiments'), and training/validation
windows that exist only because of a held-out experiment's peaks are dropped. Test windows are kept,
so the held-out experiments are scored afterwards on the test split from their metadata alone
(``imputation/``) and, with ``mfd.holdout_reference``, compared with a second model trained with them
seen (stage ``seen/``). The run folder gets the usual reports, ``model/`` and the introspection
(``introspection.tsv``, ``introspection.png``). Formulas and layout: docs/mfd.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import MetadataHeadConfig, MfdConfig
from seqlab.data.table import ExampleTable
from seqlab.evaluation.disentanglement import health_metrics, model_health
from seqlab.evaluation.introspect import introspect_model
from seqlab.io.metadata import parse_metadata, read_metadata_table
from seqlab.models.data_params import DataParams
from seqlab.models.impute import impute_model
from seqlab.models.metadata import MetadataEncoder, MetadataError
from seqlab.models.sequence_model import SequenceModel
from seqlab.runs import RunPaths
from seqlab.training.fit import fit
from seqlab.training.mfd import MfdModule
from seqlab.training.schemes import RunContext, Scheme
from seqlab.training.supervised import SupervisedModule

__all__ = [
    "MFD",
    "check_task_metadata",
    "holdout_mask",
    "introspect",
    "parse_metadata",
    "read_metadata_table",
    "run_mfd",
    "split_holdout",
]

log = logging.getLogger(__name__)

IMPUTATION_DIR = "imputation"
SEEN_STAGE = "seen"


# --------------------------------------------------------------------------- task metadata


def _column_specs(head: MetadataHeadConfig) -> dict[str, dict[str, Any]]:
    return {name: spec if isinstance(spec, str) else spec.model_dump() for name, spec in head.columns.items()}


def check_task_metadata(
    tasks: pd.DataFrame, head: MetadataHeadConfig, source: str | Path | None = None, held: np.ndarray | None = None
) -> None:
    """Check that every column of ``model.head.columns`` is in the task table and every cell encodes.

    The encoder is fitted once, on the seen experiments (rows not in ``held``, bool (T,)), as the
    model's head will be; every row is then encoded with it, so a held-out experiment whose value was
    never seen in training (e.g. holding out ``{target: CTCF}`` entirely) is refused here, before any
    training, not when it is imputed.

    Raises:
        MetadataError: a configured column the table lacks (its columns are listed), or a value that does
            not parse or that no seen experiment has; the message names the table, its line (row i is
            line i + 2, after the header), the task and the column.
    """
    where = f"task table {source}" if source else "task table"
    missing = [column for column in head.columns if column not in tasks.columns]
    if missing:
        raise MetadataError(
            f"{where}: model.head.columns names column(s) {missing} that the table lacks (it has {list(tasks.columns)})"
        )
    records = tasks.to_dict("records")
    seen = np.ones(len(records), dtype=bool) if held is None else ~np.asarray(held, dtype=bool)
    try:
        encoder = MetadataEncoder(_column_specs(head)).fit([r for r, s in zip(records, seen, strict=True) if s])
        encoder.encode(records)
    except MetadataError as err:
        match = re.match(r"row (\d+)", str(err))
        if not match:
            raise MetadataError(f"{where}: {err}") from None
        row = int(match.group(1))
        rest = str(err)[match.end() :]
        if not seen[row]:
            rest += " (this experiment is held out by mfd.holdout: its values must occur in a seen experiment)"
        raise MetadataError(f"{where}: line {row + 2} (task {tasks['task'].iloc[row]!r}){rest}") from None


def holdout_mask(tasks: pd.DataFrame, holdout: Sequence[Mapping[str, str]]) -> np.ndarray:
    """Held-out mask, bool (T,): the task-table rows matching every ``column: value`` of at least one holdout entry.

    A categorical cell with several comma-separated values matches when one of them equals the value.

    Raises:
        ValueError: an entry naming a column the table lacks, an entry matching no experiment, or every
            experiment held out.
    """
    held = np.zeros(len(tasks), dtype=bool)
    for i, entry in enumerate(holdout):
        match = np.ones(len(tasks), dtype=bool)
        for column, value in entry.items():
            if column not in tasks.columns:
                raise ValueError(
                    f"mfd.holdout[{i}]: column {column!r} is not in the task table ({list(tasks.columns)})"
                )
            cells = tasks[column].astype(str)
            match &= np.array([value.strip() in [v.strip() for v in cell.split(",")] for cell in cells])
        if not match.any():
            raise ValueError(f"mfd.holdout[{i}] {dict(entry)} matches no experiment of the task table")
        held |= match
    if held.all():
        raise ValueError("mfd.holdout holds out every experiment: nothing is left to train on")
    return held


def _positive_rows(table: ExampleTable, block: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """Rows (bool (N,)) with a weighted label > 0 in any task, and rows with any weight > 0 (dense or sparse)."""
    positive = np.zeros(len(table), dtype=bool)
    weighted = np.zeros(len(table), dtype=bool)
    for start in range(0, len(table), block):
        rows = np.arange(start, min(start + block, len(table)))
        labels, weights = table.label_rows(rows)
        positive[rows] = ((labels > 0) & (weights > 0)).any(axis=1)
        weighted[rows] = (weights > 0).any(axis=1)
    return positive, weighted


def split_holdout(table: ExampleTable, held: np.ndarray) -> tuple[ExampleTable, ExampleTable, int]:
    """(seen table, held-out table, dropped rows) of a table and a held-out task mask (bool (T,)).

    The seen table has the seen task columns and no train/val window that a held-out experiment alone
    put there (a peak window or its lifted homolog positive for a held-out task and for no seen task, or
    a window weighted for held-out tasks only, e.g. a held-out experiment's FASTA sets); test windows are
    all kept. The held-out table has every row and the held-out columns only.
    """
    seen_columns, held_columns = table.select_tasks(~held), table.select_tasks(held)
    (held_positive, held_weighted), (seen_positive, seen_weighted) = (
        _positive_rows(held_columns),
        _positive_rows(seen_columns),
    )
    # a peak window (or its lifted homolog) positive for a held-out experiment alone, or a window that only
    # a held-out experiment labels at all (its own FASTA sets, kind: sequences)
    from_held_peak = held_positive & ~seen_positive & table.frame["source"].isin(["peak", "lifted"]).to_numpy()
    only_held = held_weighted & ~seen_weighted
    drop = (from_held_peak | only_held) & table.frame["split"].isin(["train", "val"]).to_numpy()
    return seen_columns.subset(~drop), held_columns, int(drop.sum())


def _params(data_params: DataParams, table: ExampleTable) -> DataParams:
    return data_params.model_copy(
        update={"tasks": list(table.task_names), "task_metadata": table.tasks.to_dict("records")}
    )


# --------------------------------------------------------------------------- training


def _module(ctx: RunContext, params: DataParams) -> SupervisedModule | MfdModule:
    config = ctx.config
    train = config.train
    optim = {"learning_rate": train.learning_rate, "weight_decay": train.weight_decay, "pos_weight": train.pos_weight}
    if isinstance(config.model.head, MetadataHeadConfig):
        mfd = (config.mfd or MfdConfig()).model_dump(mode="json", exclude={"holdout", "holdout_reference"})
        return MfdModule(config.model, params.to_dict(), mfd=mfd, gradient_clip=train.gradient_clip, **optim)
    return SupervisedModule(config.model, params.to_dict(), **optim)


def fit_mfd(
    ctx: RunContext, stage: RunPaths, table: ExampleTable, params: DataParams
) -> tuple[SequenceModel, dict[str, Any]]:
    """Train the scheme's module on ``table`` (early stopping on its val split) in ``stage``; write ``model/``.

    Returns:
        The best model (eval mode, CPU) and facts for metrics.json (best checkpoint, epochs, parameters).
    """
    return fit(ctx, stage, table, _module(ctx, params))


def _split_summary(document: Mapping[str, Any], split: str = "test") -> dict[str, Any]:
    part = document.get(split, {})
    return {"auroc": part.get("auroc"), "aupr": part.get("aupr"), "per_task": part.get("per_task", {})}


def _task_means(document: Mapping[str, Any], tasks: Sequence[str], split: str = "test") -> dict[str, Any]:
    """Mean test AUROC/AUPR over ``tasks`` (NaN-skipping) and their per-task entries, from an evaluation document."""
    per_task = {t: document.get(split, {}).get("per_task", {}).get(t, {}) for t in tasks}

    def mean(key: str) -> float | None:
        values = [v.get(key) for v in per_task.values() if v.get(key) is not None and np.isfinite(v.get(key))]
        return float(np.mean(values)) if values else None

    return {"auroc": mean("auroc"), "aupr": mean("aupr"), "per_task": per_task}


def _imputation(
    ctx: RunContext, model: SequenceModel, table: ExampleTable, held: np.ndarray, mfd: MfdConfig
) -> dict[str, Any]:
    """Score the held-out experiments from their metadata; compare with the model that saw them."""
    held_table = table.select_tasks(held)
    records = held_table.tasks.to_dict("records")
    imputed = impute_model(model, records)
    document = ctx.evaluate(imputed, held_table, ctx.run.root / IMPUTATION_DIR, ("test",))
    result: dict[str, Any] = {"held_out": list(held_table.task_names), "imputed": _split_summary(document)}
    if not mfd.holdout_reference:
        result["seen"] = None
        return result
    stage = ctx.stage(SEEN_STAGE)
    seen_model, facts = fit_mfd(ctx, stage, table, ctx.data_params)
    seen_doc = ctx.evaluate(seen_model, table, stage.root, ("test",))
    result["seen"] = _task_means(seen_doc, list(held_table.task_names)) | {"epochs": facts["epochs"]}
    # the same model on the experiments both models saw: tells run-to-run differences from imputation
    others = [t for t, h in zip(table.task_names, held, strict=True) if not h]
    result["seen"]["on_seen_experiments"] = {k: v for k, v in _task_means(seen_doc, others).items() if k != "per_task"}
    result["per_task"] = {
        task: {
            "imputed_auroc": result["imputed"]["per_task"].get(task, {}).get("auroc"),
            "seen_auroc": result["seen"]["per_task"].get(task, {}).get("auroc"),
            "imputed_aupr": result["imputed"]["per_task"].get(task, {}).get("aupr"),
            "seen_aupr": result["seen"]["per_task"].get(task, {}).get("aupr"),
        }
        for task in held_table.task_names
    }
    return result


def run_mfd(ctx: RunContext) -> dict[str, Any]:
    """``train.scheme: mfd``: train on the seen experiments, evaluate, introspect, impute the held-out ones.

    Returns:
        metrics.json: ``val``/``test`` of the seen experiments, ``disentanglement`` (metadata head:
        subspace association and where each factor lands), ``imputation`` (with ``mfd.holdout``:
        ``held_out``, ``imputed`` and ``seen`` test metrics, ``per_task`` side by side), ``holdout``
        facts, and the training facts.
    """
    config = ctx.config
    mfd = config.mfd or MfdConfig()
    metadata = isinstance(config.model.head, MetadataHeadConfig)
    table = ctx.table
    held = holdout_mask(table.tasks, mfd.holdout) if mfd.holdout else np.zeros(table.n_tasks, dtype=bool)
    if metadata:
        check_task_metadata(table.tasks, config.model.head, config.data.tasks, held)
    seen_table, _, dropped = split_holdout(table, held)
    params = _params(ctx.data_params, seen_table)
    model, facts = fit_mfd(ctx, ctx.run, seen_table, params)
    metrics = ctx.evaluate(model, seen_table, ctx.run.root, ("val", "test")) | facts
    metrics["holdout"] = {"tasks": [t for t, h in zip(table.task_names, held, strict=True) if h],
                          "train_val_windows_dropped": dropped}  # fmt: skip
    health, live = model_health(model, seen_table, params.encoding)
    metrics |= health_metrics(health)
    if metadata:
        metrics["penalty"] = mfd.penalty
        metrics["disentanglement"] |= introspect_model(model, ctx.run.root, live=live)
        if held.any():
            metrics["imputation"] = _imputation(ctx, model, table, held, mfd)
    elif held.any():
        metrics["imputation"] = None  # a linear head cannot score experiments it has no weights for
    return metrics


MFD = Scheme("mfd", run_mfd, sections=("mfd",), stages=("", SEEN_STAGE))
"""``train.scheme: mfd``: the run folder, and ``seen/`` with ``mfd.holdout`` and ``mfd.holdout_reference``."""


# --------------------------------------------------------------------------- imputation and introspection API


def introspect(path: str | Path, out_dir: str | Path | None = None) -> dict[str, Any]:
    """``seqlab dna introspect``: eta² of every latent feature for every metadata factor, from a run or model folder.

    A model folder carries no test windows, so every feature counts as live here (the run's own
    ``introspection.tsv`` uses its test-window live mask).

    Args:
        path: a run folder, a model folder or a ``.ckpt`` of a model with a metadata head.
        out_dir: folder of ``introspection.tsv`` and ``introspection.png`` (default: ``path`` when a folder,
            else the checkpoint's folder).

    Returns:
        ``{"association": {group: {factor: mean eta²}}, "lands_in": {factor: group}, "table", "heatmap"}``.

    Raises:
        ValueError: the model has no metadata head.
    """
    path = Path(path)
    out = Path(out_dir) if out_dir is not None else (path if path.is_dir() else path.parent)
    model = SequenceModel.from_pretrained(path)
    try:
        return introspect_model(model, out)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
