"""Metrics of single-label classification over a whole split, and the confusion-matrix plot.

Every metric is computed once over all examples of a split (never averaged over batches):
accuracy, macro-F1 (unweighted mean of per-class F1 over the classes present in the truth or the
predictions; a class never predicted scores 0), Matthews correlation coefficient (multi-class
form) and, for binary tasks, AUROC and AUPR (average precision) of the probability of class 1.
``classification_metrics`` lives in :mod:`seqlab.metrics` (re-exported here): a metric that is undefined
on the split (AUROC when only one class is present) is NaN in memory and null in JSON (``json_safe``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqlab.atomic import atomic_open
from seqlab.metrics import classification_metrics

__all__ = ["classification_metrics", "confusion_matrix", "plot_confusion_matrix"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count matrix of true class (rows) against predicted class (columns).

    Args:
        y_true: int array (N,) of true class indices in ``[0, n_classes)``.
        y_pred: int array (N,) of predicted class indices in ``[0, n_classes)``.
        n_classes: C, the number of classes (classes absent from both arrays get zero rows/columns).

    Returns:
        int64 array (n_classes, n_classes); entry ``[i, j]`` counts examples of class i predicted j.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} holds class indices outside [0, {n_classes})")
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def plot_confusion_matrix(matrix: np.ndarray, classes: list[str], path: str | Path, title: str = "") -> Path:
    """Draw a confusion matrix (rows normalised to fractions, counts written in cells) as a PNG.

    Args:
        matrix: int array (C, C) from :func:`confusion_matrix`.
        classes: the C class names, in index order.
        path: PNG written atomically (a crash leaves no partial file).
        title: optional figure title.

    Returns:
        ``path`` as a ``Path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    n = len(classes)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix shape {matrix.shape} does not match {n} class names")
    totals = matrix.sum(axis=1, keepdims=True)
    fractions = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)
    size = max(4.0, 0.6 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
        ax.set_xticks(range(n), labels=classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), labels=classes, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if title:
            ax.set_title(title)
        for i in range(n):
            for j in range(n):
                colour = "white" if fractions[i, j] > 0.5 else "black"
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour, fontsize=7)
        fig.tight_layout()
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=120)
    finally:
        plt.close(fig)
    return Path(path)
