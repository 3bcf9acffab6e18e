import json
import math

import numpy as np
import pytest

from seqlab.evaluation.classification import classification_metrics, confusion_matrix, plot_confusion_matrix
from seqlab.metrics import json_safe

# Hand-computed example: 3 classes.
#   true: 0 0 0 1 1 2      confusion (rows true, cols predicted): [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
#   pred: 0 0 1 1 2 2
# accuracy = 4/6; F1 per class = 0.8, 0.5, 2/3 -> macro 59/90;
# MCC = (c*s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)) = (24 - 12) / sqrt(24 * 22)
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])


def _one_hot(pred: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)[pred]


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    assert confusion_matrix(Y_TRUE, Y_PRED, 3).dtype == np.int64


def test_multiclass_metrics_by_hand():
    metrics = classification_metrics(Y_TRUE, _one_hot(Y_PRED, 3))
    assert metrics["n"] == 6
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["macro_f1"] == pytest.approx(59 / 90)
    assert metrics["mcc"] == pytest.approx(12 / math.sqrt(24 * 22))
    assert "auroc" not in metrics


def test_binary_metrics_by_hand():
    # Scores 0.1 (neg), 0.6 (neg), 0.4 (pos), 0.9 (pos): 3 of 4 pos/neg pairs ranked right -> AUROC 0.75;
    # AP = 0.5 * 1 + 0.5 * 2/3. Argmax predictions 0 1 0 1: accuracy 0.5, MCC 0, F1 0.5 per class.
    p1 = np.array([0.1, 0.6, 0.4, 0.9])
    metrics = classification_metrics(np.array([0, 0, 1, 1]), np.stack([1 - p1, p1], axis=1))
    assert metrics == pytest.approx(
        {"n": 4, "accuracy": 0.5, "macro_f1": 0.5, "mcc": 0.0, "auroc": 0.75, "aupr": 5 / 6}
    )


def test_binary_with_one_class_gives_nan_in_memory_and_null_in_json():
    metrics = classification_metrics(np.array([1, 1]), np.array([[0.2, 0.8], [0.7, 0.3]]))
    assert math.isnan(metrics["auroc"]) and math.isnan(metrics["aupr"])  # NaN in memory
    assert json_safe(metrics)["auroc"] is None and json_safe(metrics)["aupr"] is None  # null in JSON
    assert json.loads(json.dumps(json_safe(metrics), allow_nan=False))["auroc"] is None


def test_errors():
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(Y_TRUE, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(Y_TRUE, Y_PRED, 2)


def test_plot_is_a_png(tmp_path):
    path = plot_confusion_matrix(confusion_matrix(Y_TRUE, Y_PRED, 3), ["a", "b", "c"], tmp_path / "p" / "cm.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["cm.png"]
