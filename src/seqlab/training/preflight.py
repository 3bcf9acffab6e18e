"""Checks before a DNA training starts: a monitor that can be computed, and enough optimiser steps.

Policy (issue 9, item 10): a validation split with no labelled example, or (monitoring ``val_auroc``
or ``val_aupr``) one where no task has both positives and negatives, is an error before training,
never a chance-level model with exit code 0. A task without both classes in the validation split is
left out of the monitored mean (a warning names it); monitoring ``val_loss`` needs labels only.
An epoch of fewer than :data:`FEW_STEPS` optimiser steps validates by steps by default
(:func:`validation_schedule`): every :data:`FEW_STEPS` optimiser steps across epoch ends, patience
counted in those validations, unless ``train.val_check_interval`` is set. A validation or test split
with fewer than :data:`MIN_CLASS_COUNT` positives or negatives of a task (for a regression or profile
objective: windows with a target) among its reference windows (the windows its metrics are reported
on) is an error naming the counts, unless
``data.split.allow_small_splits`` (:func:`check_split_sizes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seqlab.config import TrainConfig
from seqlab.data.build import ExampleTable
from seqlab.objectives import Objective

__all__ = [
    "FEW_STEPS",
    "MIN_CLASS_COUNT",
    "ValidationSchedule",
    "check_dna_training",
    "check_split_sizes",
    "check_validation_labels",
    "early_stopping_patience",
    "steps_per_epoch",
    "validation_schedule",
]

FEW_STEPS = 10
"""An epoch of fewer optimiser steps than this validates every ``FEW_STEPS`` steps instead (by default)."""

MIN_CLASS_COUNT = 10
"""Fewer positives or negatives of a task than this in a val or test split are an error (see check_split_sizes)."""


def check_split_sizes(table: ExampleTable, objective: Objective, minimum: int = MIN_CLASS_COUNT) -> None:
    """Refuse validation and test splits too small to report on, by the objective's rule
    (:meth:`~seqlab.objectives.Objective.split_shortfalls`: binary, fewer than ``minimum`` positives or
    negatives per task; regression and profile, fewer than ``minimum`` windows with a target).

    Counted over the reference windows (homologs of a ``lifted`` source are left out of the reported
    metrics); a label counts when its weight is > 0.

    Raises:
        ValueError: one line naming every (split, task) under the minimum with its counts, and the key
            ``data.split.allow_small_splits`` that lets such a run train.
    """
    reference = table.subset(~table.derived) if table.derived.any() else table
    small = []
    for split in ("val", "test"):
        labels, weights = reference.label_rows(reference.split_indices(split))
        small += objective.split_shortfalls(labels, weights, table.task_names, split, minimum)
    if small:
        more = f"; and {len(small) - 8} more" if len(small) > 8 else ""
        raise ValueError(
            f"split(s) too small to report on, fewer than {minimum} {objective.shortfall_unit} per task "
            f"({'; '.join(small[:8])}{more}): move more chromosomes/regions into val/test (data.split) or set "
            "data.split.allow_small_splits: true"
        )


def check_validation_labels(
    labels: np.ndarray, weights: np.ndarray, tasks: list[str], monitor: str, split: str = "val"
) -> list[str]:
    """Refuse a validation split that cannot drive early stopping; return warnings about single-class tasks.

    Args:
        labels: float32 (N, T) 0/1 labels of the split's examples.
        weights: float32 (N, T); 0 masks a label.
        tasks: the T task names.
        monitor: ``train.monitor`` (``val_auroc``, ``val_aupr`` or ``val_loss``).
        split: the split's name for messages.

    Raises:
        ValueError: the split has no labelled example, or the monitor is a ranking metric and no task has
            both classes in it.
    """
    labelled = weights > 0
    if labels.shape[0] == 0 or not labelled.any():
        what = "no examples" if labels.shape[0] == 0 else f"all {labels.shape[0]:,} examples' labels masked"
        raise ValueError(
            f"the {split} split has {what}: nothing to validate or stop early on; check data.split "
            "(val_chroms / val_regions) and the task labels"
        )
    positives = (labelled & (labels > 0.5)).sum(axis=0)
    negatives = (labelled & (labels <= 0.5)).sum(axis=0)
    one_class = [f"{task} ({int(p)} pos, {int(n)} neg)" for task, p, n in zip(tasks, positives, negatives, strict=True)
                 if p == 0 or n == 0]  # fmt: skip
    if monitor in ("val_auroc", "val_aupr") and len(one_class) == len(tasks):
        raise ValueError(
            f"train.monitor={monitor} is undefined: no task has both positives and negatives in the {split} split "
            f"({', '.join(one_class)}); move chromosomes/regions into the {split} split (data.split) or use "
            "train.monitor: val_loss"
        )
    if one_class and monitor in ("val_auroc", "val_aupr"):
        return [f"the {split} split has a single class for {', '.join(one_class)}: left out of {monitor}"]
    return []


def steps_per_epoch(n_train: int, batch_size: int, limit_train_batches: int | float | None = None) -> int:
    """Optimiser steps of one epoch: batches of ``n_train`` examples, cut by ``limit_train_batches``."""
    batches = math.ceil(n_train / batch_size)
    if isinstance(limit_train_batches, float) and limit_train_batches <= 1.0:
        batches = int(batches * limit_train_batches)
    elif limit_train_batches is not None:
        batches = min(batches, int(limit_train_batches))
    return batches


def early_stopping_patience(patience: int, unit: str, val_check_interval: int | None, epoch_steps: int) -> int:
    """Patience in validations: ``patience`` itself, or ``patience`` steps over the steps between validations."""
    if unit != "steps":
        return patience
    between = val_check_interval if val_check_interval is not None else max(epoch_steps, 1)
    return max(1, math.ceil(patience / between))


@dataclass(frozen=True)
class ValidationSchedule:
    """When a stage validates and how long it waits: the trainer's ``val_check_interval`` and patience."""

    val_check_interval: int | None
    """Optimiser steps between validations, across epoch ends; None: at each epoch's end."""
    patience: int
    """Validations without gain before early stopping."""
    note: str | None = None
    """Why validation switched to steps (shown to the user), else None."""


def validation_schedule(
    patience: int, unit: str, val_check_interval: int | None, epoch_steps: int, max_epochs: int
) -> ValidationSchedule:
    """Validation every epoch, or every :data:`FEW_STEPS` optimiser steps when an epoch is shorter.

    Args:
        patience: ``train.patience`` (or a stage's), in ``unit``.
        unit: ``validations`` or ``steps``.
        val_check_interval: ``train.val_check_interval``; when set it is kept as given.
        epoch_steps: optimiser steps of one epoch (:func:`steps_per_epoch`).
        max_epochs: epochs at most (the interval never exceeds the run's steps, so it validates at least once).

    Returns:
        The schedule; with epochs under :data:`FEW_STEPS` steps and no interval given, validation runs
        every ``min(FEW_STEPS, max_epochs * epoch_steps)`` steps and ``patience`` counts those validations
        (a patience in steps is divided by the interval).
    """
    if val_check_interval is not None or epoch_steps >= FEW_STEPS:
        return ValidationSchedule(val_check_interval, early_stopping_patience(patience, unit, val_check_interval,
                                                                              epoch_steps))  # fmt: skip
    interval = max(1, min(FEW_STEPS, max_epochs * epoch_steps))
    waits = early_stopping_patience(patience, unit, interval, epoch_steps)
    note = (
        f"an epoch is only {epoch_steps} optimiser step(s): validating every {interval} steps across epoch ends, "
        f"early stopping after {waits} validations without gain ({waits * interval} steps); set "
        "train.val_check_interval to choose"
    )
    return ValidationSchedule(interval, waits, note)


def check_dna_training(
    table: ExampleTable,
    train: TrainConfig,
    batch_size: int,
    objective: Objective,
    allow_small_splits: bool = False,
) -> tuple[int, list[str]]:
    """All checks of a DNA run before training: returns (patience in validations, warnings and notes to show).

    ``objective`` (the run's ``model.objective``) decides when a validation or test split is too small.

    Raises:
        ValueError: see :func:`check_validation_labels` and (unless ``allow_small_splits``)
            :func:`check_split_sizes`; an empty training split.
    """
    train_rows = table.split_indices("train")
    if len(train_rows) == 0:
        raise ValueError("the train split has no examples; check data.split and the data sources")
    val_rows = table.split_indices("val")
    labels, weights = table.label_rows(val_rows)  # dense (n, T) even when the table holds them sparse
    warnings = check_validation_labels(labels, weights, table.task_names, train.monitor)
    if not allow_small_splits:
        check_split_sizes(table, objective)
    epoch_steps = steps_per_epoch(len(train_rows), batch_size, train.limit_train_batches)
    schedule = validation_schedule(
        train.patience, train.patience_unit, train.val_check_interval, epoch_steps, train.max_epochs
    )
    return schedule.patience, warnings + ([schedule.note] if schedule.note else [])
