"""Evaluate a trained model on any labelled example table and write the standard reports.

The same outputs for every evaluation (after training, of a run's checkpoint, or of a model trained
on one data set and tested on another): ``metrics.json`` (one entry per split: the model objective's
metrics, ``auroc``, ``aupr``, ``per_task`` for binary; ``pearson``, ``spearman``, ``per_task`` for
regression), ``metrics_per_task.tsv``, ``predictions_<split>.tsv`` and plots in ``plots/`` (ROC/PR
curves for binary, ``scatter_<split>.png`` observed vs predicted for regression). A table with
quantitative targets (tracks) is scored on them (``ExampleTable.with_targets_as_labels``).
Predictions come from :func:`~seqlab.models.inference.predict_table` (strand-averaged), never
from a training module's state, and nothing is appended to a training log.

Tasks are matched by name: every task the examples label must be one of the model's tasks (the
model's other outputs are ignored); a one-task model on a one-task set is matched whatever the names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.atomic import write_json
from seqlab.data.table import ExampleTable, finish_frame
from seqlab.evaluation.metrics import write_metrics_tsv
from seqlab.evaluation.plots import plot_pr_curves, plot_profile_examples, plot_roc_curves, plot_scatter
from seqlab.evaluation.predict import write_tsv
from seqlab.io.fasta import read_sequence_set
from seqlab.metrics import ProfileMetrics, RegressionMetrics, SplitMetrics, SplitPredictions, json_safe
from seqlab.models.inference import predict_table
from seqlab.models.sequence_model import SequenceModel
from seqlab.objectives import Objective, build_objective
from seqlab.runs import RunPaths

__all__ = [
    "ALL",
    "evaluate_table",
    "fasta_sets_table",
    "predict_splits",
    "prediction_frame",
    "task_columns",
    "write_reports",
]

ALL = "all"
"""Split name meaning every example of the table."""


def task_columns(model_tasks: Sequence[str], data_tasks: Sequence[str]) -> np.ndarray:
    """int64 (T_data,) column of the model's output for every task the data labels.

    Raises:
        ValueError: a data task the model does not predict (both task lists are named).
    """
    model_tasks, data_tasks = [str(t) for t in model_tasks], [str(t) for t in data_tasks]
    if len(model_tasks) == 1 and len(data_tasks) == 1:
        return np.zeros(1, dtype=np.int64)
    missing = [task for task in data_tasks if task not in model_tasks]
    if missing:
        raise ValueError(
            f"the examples label task(s) {missing} that the model does not predict; "
            f"model tasks: {model_tasks}, example tasks: {data_tasks}"
        )
    return np.array([model_tasks.index(task) for task in data_tasks], dtype=np.int64)


def predict_splits(
    model: SequenceModel,
    table: ExampleTable,
    splits: Sequence[str],
    batch_size: int = 256,
) -> dict[str, SplitPredictions]:
    """Strand-averaged predictions of each split (``ALL``: every example), aligned with the table's tasks.

    Returns:
        split -> ``SplitPredictions`` with ``tasks`` = the table's tasks, ``y``/``weight`` from the
        table and ``probs`` float32 (N, T_table) from the model's matching outputs. Empty splits are
        left out. A profile model: ``y`` the observed profiles (N, T, L_out) (the split's rows read from the
        table's profile store) and ``probs`` the expected counts per base (N, T, L_out).
    """
    profiles = model.objective.kind == "profile"
    if profiles and table.profiles is None:
        raise ValueError("a profile model is evaluated on base-resolution targets: a tracks source with profile: true")
    table = table if profiles else table.with_targets_as_labels()
    columns = task_columns(model.tasks, table.task_names)
    predictions: dict[str, SplitPredictions] = {}
    for split in splits:
        which = None if split == ALL else split
        index = table.split_indices(which)
        if index.size == 0:
            continue
        probs = predict_table(model, table, batch_size=batch_size, split=which)
        y, weight = table.label_rows(index)  # dense (n, T) even when the table holds them sparse
        if profiles:  # observed profiles (n, T, L_out): the split's rows read from the memory map
            y = table.profiles[index]
        predictions[split] = SplitPredictions(
            split=split,
            tasks=list(table.task_names),
            index=index,
            y=y,
            probs=np.ascontiguousarray(probs[:, columns]),
            weight=weight,
        )
    if not predictions:
        raise ValueError(f"no examples in split(s) {list(splits)} (the table has {len(table)} examples)")
    return predictions


def prediction_frame(table: ExampleTable, predictions: SplitPredictions, kind: str = "binary") -> pd.DataFrame:
    """Coordinates, then per task the observed and predicted value of every example of a split.

    Binary: ``label.<task>`` (NA where masked) and ``prob.<task>``; other objectives (``kind``):
    ``target.<task>`` (NA where masked) and ``pred.<task>``; a profile objective's are the total counts over
    the target span (observed, and predicted: the sum of the expected counts per base).
    """
    frame = table.frame.iloc[predictions.index][["genome", "chrom", "start", "end", "split"]].reset_index(drop=True)
    observed, predicted = ("label", "prob") if kind == "binary" else ("target", "pred")
    columns: dict[str, np.ndarray] = {}
    y, probs = predictions.y, predictions.probs
    if kind == "profile":
        y, probs = y.sum(axis=-1), probs.sum(axis=-1)
    for t, task in enumerate(predictions.tasks):
        columns[f"{observed}.{task}"] = np.where(predictions.weight[:, t] > 0, y[:, t], np.nan)
        columns[f"{predicted}.{task}"] = probs[:, t]
    return pd.concat([frame, pd.DataFrame(columns)], axis=1)  # one join: no fragmented frame with many tasks


_PLOTS = {
    "binary": (("roc", plot_roc_curves), ("pr", plot_pr_curves)),
    "regression": (("scatter", plot_scatter),),
    "profile": (("profiles", plot_profile_examples),),
}
"""The plots of each objective kind: (file prefix, function(y, predictions, weight, tasks, path, title)); a
profile plot also takes the control profiles of the split's windows (``control=``)."""


def write_reports(
    out: str | Path,
    table: ExampleTable,
    predictions: Mapping[str, SplitPredictions],
    extra: Mapping[str, Any],
    objective: Objective | None = None,
) -> dict[str, Any]:
    """Write metrics.json, metrics_per_task.tsv, plots and per-split prediction TSVs into ``out``.

    Args:
        out: the report folder.
        table: the examples the predictions index.
        predictions: split -> its strand-averaged predictions.
        extra: further keys of metrics.json.
        objective: the model's objective (None: binary), which picks metrics, plots and TSV columns.

    Returns:
        The metrics.json document: ``{split: metrics.to_dict()}`` followed by ``extra``.
    """
    objective = objective or build_objective()
    run = RunPaths(out)
    metrics: dict[str, SplitMetrics | RegressionMetrics | ProfileMetrics] = {}
    for split, split_predictions in predictions.items():
        p = split_predictions
        metrics[split] = objective.split_metrics(p.y, p.probs, p.weight, p.tasks, split)
        controls = table.control_profiles
        extra_plot = {"control": controls[p.index]} if objective.kind == "profile" and controls is not None else {}
        for kind, plot in _PLOTS[objective.kind]:
            plot(  # type: ignore[operator]
                p.y,
                p.probs,
                p.weight,
                p.tasks,
                run.plots / f"{kind}_{split}.png",
                title=f"{split} ({len(p.index):,} windows, both strands averaged)",
                **extra_plot,
            )
        write_tsv(prediction_frame(table, p, objective.kind), run.root / f"predictions_{split}.tsv")
    document = {split: split_metrics.to_dict() for split, split_metrics in metrics.items()} | json_safe(dict(extra))
    write_json(run.metrics, document)
    write_metrics_tsv(run.metrics_per_task, metrics)
    return document


def evaluate_table(
    model: SequenceModel,
    table: ExampleTable,
    out: str | Path,
    splits: Sequence[str] = ("test",),
    batch_size: int = 256,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Predict the examples of ``splits`` and write the reports into ``out``; return metrics.json's content.

    Raises:
        ValueError: windows of another length than the model's, tasks the model does not predict, or
            no example in the splits.
    """
    predictions = predict_splits(model, table, splits, batch_size=batch_size)
    return write_reports(out, table, predictions, dict(extra or {}), model.objective)


def fasta_sets_table(
    sets: Sequence[tuple[str | Path, Mapping[str, float]]], window_length: int, split: str = "test"
) -> ExampleTable:
    """An example table of labelled FASTA files (every record of a file gets that file's labels).

    Records need no coordinates in their names; a task a file does not label gets weight 0 there.

    Args:
        sets: (FASTA path, {task: label in [0, 1]}) per file.
        window_length: every record must have this length (the model's window).
        split: the split every example is put in.

    Raises:
        ValueError: a record of another length (named), a label outside [0, 1], no sets.
    """
    if not sets:
        raise ValueError("no labelled FASTA sets given")
    tasks = list(dict.fromkeys(str(task) for _, labels in sets for task in labels))
    frames, labels, weights, sequences = [], [], [], []
    for path, set_labels in sets:
        records = read_sequence_set(path, require_coordinates=False)
        lengths = records["sequence"].str.len().to_numpy()
        wrong = np.flatnonzero(lengths != window_length)
        if wrong.size:
            row = int(wrong[0])
            raise ValueError(
                f"{path}: record {row + 1} ({records['name'].iloc[row]!r}) has {lengths[row]} bp but the model's "
                f"window is {window_length} bp"
            )
        for task, value in set_labels.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{path}: label {value} of task {task!r} is outside [0, 1]")
        n = len(records)
        labels.append(np.tile([float(set_labels.get(t, 0.0)) for t in tasks], (n, 1)))
        weights.append(np.tile([1.0 if t in set_labels else 0.0 for t in tasks], (n, 1)))
        frames.append(records.assign(genome=Path(path).name, split=split, source="fasta"))
        sequences.extend(records["sequence"].tolist())
    return ExampleTable(
        frame=finish_frame(pd.concat(frames, ignore_index=True)),
        labels=np.concatenate(labels).astype(np.float32),
        weights=np.concatenate(weights).astype(np.float32),
        tasks=pd.DataFrame({"task": tasks}, dtype=str),
        sequences=sequences,
        genomes={},
        report={"mode": "fasta_sets", "sets": [{"fasta": str(p), "labels": dict(lab)} for p, lab in sets]},
    )
