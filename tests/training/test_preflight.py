"""Checks before training (issue 9, item 10): an undefined monitor is an error; few steps per epoch switch
validation and patience to steps (issue 16)."""

import numpy as np
import pandas as pd
import pytest

from seqlab.config import TrainConfig
from seqlab.data.table import ExampleTable
from seqlab.objectives import build_objective
from seqlab.training.preflight import (
    check_dna_training,
    check_split_sizes,
    check_validation_labels,
    early_stopping_patience,
    steps_per_epoch,
    validation_schedule,
)

TASKS = ["CTCF", "REST"]

BINARY, REGRESSION = build_objective(), build_objective({"kind": "regression"})


def test_all_masked_or_empty_validation_is_an_error_whatever_the_monitor():
    labels = np.array([[1, 0], [0, 1]], dtype=np.float32)
    with pytest.raises(ValueError, match="val split has all 2 examples' labels masked"):
        check_validation_labels(labels, np.zeros_like(labels), TASKS, "val_loss")
    with pytest.raises(ValueError, match="val split has no examples"):
        check_validation_labels(np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32), TASKS, "val_loss")


def test_no_task_with_both_classes_is_an_error_for_ranking_monitors_only():
    labels = np.array([[0, 1], [0, 1], [0, 1]], dtype=np.float32)
    weights = np.ones_like(labels)
    with pytest.raises(ValueError, match=r"val_auroc is undefined: .*CTCF \(0 pos, 3 neg\), REST \(3 pos, 0 neg\)"):
        check_validation_labels(labels, weights, TASKS, "val_auroc")
    assert check_validation_labels(labels, weights, TASKS, "val_loss") == []
    labels[0, 0] = 1  # CTCF now has both classes: REST is left out, with a warning
    assert check_validation_labels(labels, weights, TASKS, "val_aupr") == [
        "the val split has a single class for REST (3 pos, 0 neg): left out of val_aupr"
    ]
    weights[0, 0] = 0  # a masked positive does not count
    with pytest.raises(ValueError, match="no task has both"):
        check_validation_labels(labels, weights, TASKS, "val_auroc")


def test_few_steps_per_epoch_validate_by_steps_and_patience_converts_from_steps():
    assert steps_per_epoch(100, 64) == 2 and steps_per_epoch(1000, 10, 0.5) == 50 and steps_per_epoch(1000, 10, 7) == 7
    schedule = validation_schedule(5, "validations", None, 2, max_epochs=40)  # was: per epoch, a warning only
    assert (schedule.val_check_interval, schedule.patience) == (10, 5)
    assert "only 2 optimiser step(s)" in schedule.note and "every 10 steps" in schedule.note
    assert "(50 steps)" in schedule.note and "val_check_interval" in schedule.note
    by_steps = validation_schedule(30, "steps", None, 2, max_epochs=40)  # patience in steps
    assert (by_steps.val_check_interval, by_steps.patience) == (10, 3)
    short = validation_schedule(5, "validations", None, 2, max_epochs=3)  # at least one validation in 6 steps
    assert (short.val_check_interval, short.patience) == (6, 5)
    given = validation_schedule(5, "validations", 50, 2, max_epochs=40)  # an interval given is kept
    assert (given.val_check_interval, given.patience, given.note) == (50, 5, None)
    long = validation_schedule(5, "validations", None, 40, max_epochs=40)  # 10+ steps: per epoch, as before
    assert (long.val_check_interval, long.patience, long.note) == (None, 5, None)
    assert early_stopping_patience(5, "validations", None, 2) == 5
    assert early_stopping_patience(500, "steps", 50, 2) == 10
    assert early_stopping_patience(5, "steps", None, 2) == 3  # validation per epoch of 2 steps


def _split_table(counts: dict[str, tuple[int, int]], homologs: int = 0) -> ExampleTable:
    """One task; per split (positives, negatives) reference windows, plus ``homologs`` positive test homologs."""
    rows, labels = [], []
    for split, (pos, neg) in counts.items():
        rows += [split] * (pos + neg)
        labels += [1.0] * pos + [0.0] * neg
    origin = [""] * len(rows) + ["g:c:0-10"] * homologs
    rows += ["test"] * homologs
    labels += [1.0] * homologs
    n = len(rows)
    frame = pd.DataFrame({"genome": "g", "chrom": "c", "start": np.arange(n) * 10, "end": np.arange(n) * 10 + 10,
                          "strand": "+", "split": rows, "source": "x", "origin": origin})  # fmt: skip
    return ExampleTable(frame, np.array(labels)[:, None], np.ones((n, 1)), pd.DataFrame({"task": ["JUND"]}))


def test_val_or_test_split_with_fewer_than_10_per_class_is_an_error_unless_allowed():
    check_split_sizes(_split_table({"train": (1, 1), "val": (10, 12), "test": (10, 10)}), BINARY)
    table = _split_table({"train": (30, 30), "val": (10, 40), "test": (2, 2)}, homologs=20)
    # the 20 positive test homologs are not reported on, so they do not count
    with pytest.raises(ValueError, match=r"\(test JUND: 2 pos / 2 neg\).*data\.split\.allow_small_splits: true"):
        check_split_sizes(table, BINARY)
    with pytest.raises(ValueError, match="test JUND: 2 pos / 2 neg"):
        check_dna_training(table, TrainConfig(), 8, BINARY)
    assert check_dna_training(table, TrainConfig(), 8, BINARY, allow_small_splits=True)[0] == TrainConfig().patience
    masked = _split_table({"train": (1, 1), "val": (12, 9), "test": (10, 10)})
    with pytest.raises(ValueError, match="val JUND: 12 pos / 9 neg"):
        check_split_sizes(masked, BINARY)


def test_a_tracks_table_needs_windows_with_a_target_not_classes():
    import dataclasses

    table = _split_table({"train": (0, 20), "val": (0, 12), "test": (0, 9)})  # labels all 0, as a tracks table's
    tracks = dataclasses.replace(table, targets=np.ones((table.labels.shape[0], 1, 1), dtype=np.float32))
    with pytest.raises(ValueError, match=r"fewer than 10 windows with a target per task \(test JUND: 9 windows"):
        check_split_sizes(tracks, REGRESSION)
    bigger = _split_table({"train": (0, 20), "val": (0, 12), "test": (0, 10)})
    check_split_sizes(
        dataclasses.replace(bigger, targets=np.ones((bigger.labels.shape[0], 1, 1), dtype=np.float32)), REGRESSION
    )
