"""Checks before training (issue 9, item 10): an undefined monitor is an error, few steps a warning."""

import numpy as np
import pytest

from seqlab.training.preflight import (
    check_validation_labels,
    early_stopping_patience,
    step_warnings,
    steps_per_epoch,
)

TASKS = ["CTCF", "REST"]


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


def test_few_steps_per_epoch_warn_and_patience_converts_from_steps():
    assert steps_per_epoch(100, 64) == 2 and steps_per_epoch(1000, 10, 0.5) == 50 and steps_per_epoch(1000, 10, 7) == 7
    (warning,) = step_warnings(2, 5, None)
    assert "only 2 optimiser step(s)" in warning and "after 12 steps" in warning and "val_check_interval" in warning
    assert step_warnings(2, 5, 50) == [] and step_warnings(40, 5, None) == []
    assert early_stopping_patience(5, "validations", None, 2) == 5
    assert early_stopping_patience(500, "steps", 50, 2) == 10
    assert early_stopping_patience(5, "steps", None, 2) == 3  # validation per epoch of 2 steps
