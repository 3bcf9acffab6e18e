"""Downstream probe: a logistic-regression classifier on frozen features, AUROC per feature set.

``linear_probe(features, labels, ...)`` fits, for each feature set (``full``, ``biological``,
``technical``..., as :func:`seqlab.evaluation.embed.embed_windows` gives them), an L2 logistic
regression (scikit-learn, features standardised on the training rows) and reports the test AUROC:

* cross-validated: ``folds`` stratified folds (shuffled with ``seed``); AUROC mean and sd over folds;
* chromosome split (``chroms`` and ``test_chroms`` given): train on windows of the other chromosomes,
  test on ``test_chroms``; one AUROC (sd NaN).

GC content regressed out (``gc`` given): before the probe, every feature column x is replaced by its
residual from the least-squares line on GC, x - (b0 + b1 * gc), fitted on all windows (no labels
are used, so the fit leaks nothing about them). A feature that is an affine function of GC becomes
constant and carries no information. ``probe_windows`` runs a model on labelled windows and reports
both the raw and, optionally, the GC-regressed probe plus a ``gc`` row (GC content alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seqlab.models.sequence_model import SequenceModel

__all__ = ["PROBE_COLUMNS", "gc_content", "linear_probe", "probe_windows", "regress_out"]

PROBE_COLUMNS = ["feature_set", "gc_regressed", "n_features", "scheme", "auroc", "auroc_sd", "n_train", "n_test"]


def gc_content(sequences: Sequence[str]) -> np.ndarray:
    """Fraction of G/C among the A/C/G/T bases of each sequence -> float64 (N,) (0.5 without any ACGT)."""
    out = np.empty(len(sequences), dtype=np.float64)
    for i, sequence in enumerate(sequences):
        upper = sequence.upper()
        gc = upper.count("G") + upper.count("C")
        total = gc + upper.count("A") + upper.count("T")
        out[i] = gc / total if total else 0.5
    return out


def regress_out(features: np.ndarray, covariate: np.ndarray) -> np.ndarray:
    """Residuals of every column of features float (N, F) from its least-squares line on covariate (N,).

    Returns:
        float64 (N, F): x - (b0 + b1 * covariate) per column (a constant covariate removes the mean only);
        a column whose residual is rounding error (norm <= 1e-9 of the column's) is set to exactly 0, so
        that standardisation does not blow rounding noise up into a feature.
    """
    design = np.column_stack([np.ones(len(covariate)), np.asarray(covariate, dtype=np.float64)])
    x = np.asarray(features, dtype=np.float64)
    beta, *_ = np.linalg.lstsq(design, x, rcond=None)
    residual = x - design @ beta
    residual[:, np.linalg.norm(residual, axis=0) <= 1e-9 * np.maximum(np.linalg.norm(x, axis=0), 1e-300)] = 0.0
    return residual


def _fit_score(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, c: float, seed: int) -> float:
    if np.unique(y[train]).size < 2 or np.unique(y[test]).size < 2:
        return float("nan")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
    model.fit(x[train], y[train])
    return float(roc_auc_score(y[test], model.decision_function(x[test])))


def linear_probe(
    features: Mapping[str, np.ndarray] | np.ndarray,
    labels: np.ndarray,
    *,
    chroms: Sequence[str] | None = None,
    test_chroms: Sequence[str] | None = None,
    folds: int = 5,
    gc: np.ndarray | None = None,
    c: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """AUROC of a logistic-regression probe on each feature set.

    Args:
        features: feature set name -> float (N, F_s), or one array (named ``full``).
        labels: (N,) 0/1 labels.
        chroms: (N,) chromosome of each window, for a chromosome split (with ``test_chroms``).
        test_chroms: chromosomes of the test windows; None: ``folds``-fold stratified cross-validation.
        folds: number of cross-validation folds.
        gc: (N,) GC content: regress it out of every feature column first (module docstring).
        c: inverse L2 regularisation strength of the logistic regression.
        seed: fold shuffling and solver seed.

    Returns:
        One row per feature set, columns :data:`PROBE_COLUMNS` (``auroc`` NaN when a split has one class).

    Raises:
        ValueError: labels that are not 0/1, shapes that disagree, or a chromosome split without test
            or training windows.
    """
    sets = {"full": features} if isinstance(features, np.ndarray) else dict(features)
    y = np.asarray(labels).astype(np.int64)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("probe labels must be 0 or 1")
    for name, x in sets.items():
        if np.asarray(x).ndim != 2 or len(x) != len(y):
            raise ValueError(f"feature set {name!r} has shape {np.shape(x)}, expected ({len(y)}, F)")
    if test_chroms is not None:
        if chroms is None:
            raise ValueError("a chromosome split needs the windows' chromosomes")
        is_test = np.isin(np.asarray(chroms, dtype=str), list(test_chroms))
        if is_test.all() or not is_test.any():
            raise ValueError(f"test chromosomes {list(test_chroms)} leave no training or no test windows")
        splits = [(np.flatnonzero(~is_test), np.flatnonzero(is_test))]
        scheme = "chrom:" + ",".join(test_chroms)
    else:
        counts = np.bincount(y, minlength=2)
        k = int(min(folds, counts.min()))
        if k < 2:
            raise ValueError(f"cross-validation needs >= 2 windows of each class, got {counts.tolist()}")
        splits = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
        scheme = f"cv{k}"
    rows = []
    for name, x in sets.items():
        x = np.asarray(x, dtype=np.float64)
        if gc is not None:
            x = regress_out(x, gc)
        scores = np.array([_fit_score(x, y, train, test, c, seed) for train, test in splits])
        rows.append({
            "feature_set": name, "gc_regressed": gc is not None, "n_features": x.shape[1], "scheme": scheme,
            "auroc": float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan"),
            "auroc_sd": float(np.nanstd(scores)) if len(scores) > 1 else float("nan"),
            "n_train": int(np.mean([len(t) for t, _ in splits])), "n_test": int(np.mean([len(t) for _, t in splits])),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def probe_windows(
    model: SequenceModel,
    sequences: Sequence[str],
    labels: np.ndarray,
    *,
    chroms: Sequence[str] | None = None,
    test_chroms: Sequence[str] | None = None,
    folds: int = 5,
    regress_gc: bool = False,
    batch_size: int = 256,
    seed: int = 0,
) -> pd.DataFrame:
    """Embed labelled windows with a model (``embed_windows``) and probe every subspace.

    Args:
        model: the model whose features are probed.
        sequences: N windows of the model's length.
        labels: (N,) 0/1.
        chroms: (N,) chromosomes, for a chromosome split.
        test_chroms: test chromosomes (None: cross-validation).
        folds: cross-validation folds.
        regress_gc: also report every feature set with GC content regressed out, and GC alone.
        batch_size: windows per forward pass.
        seed: fold shuffling and solver seed.

    Returns:
        :data:`PROBE_COLUMNS` rows: each subspace raw, then (``regress_gc``) each subspace GC-regressed
        and a ``gc`` row (the probe on GC content alone).
    """
    from seqlab.evaluation.embed import embed_windows

    features = embed_windows(model, sequences, batch_size=batch_size)
    split = {"chroms": chroms, "test_chroms": test_chroms, "folds": folds, "seed": seed}
    frames = [linear_probe(features, labels, **split)]
    if regress_gc:
        gc = gc_content(sequences)
        frames.append(linear_probe(features, labels, gc=gc, **split))
        frames.append(linear_probe({"gc": gc[:, None]}, labels, **split))
    return pd.concat(frames, ignore_index=True)
