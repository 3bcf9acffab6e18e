"""Baselines for quantitative targets: what a sequence model must beat on binned and profile tracks.

Regression (binned targets float32 ``(N, T, B)``), fitted on the training windows only:

* ``gc``: per task and bin, ordinary least squares on the window's GC fraction (one feature);
* ``kmer``: ridge regression on the window's k-mer counts, k = 4, 5 and 6 together (2,728 sparse
  features: a k-mer and its reverse complement share one), ``alpha`` chosen on the validation windows
  by the mean Pearson over tasks (:class:`KmerRidge`).

Profiles (base-resolution targets float32 ``(N, T, L)``):

* ``average_profile``: every window gets the same profile, ``shape * counts``: shape = the mean over
  training windows with signal of their normalised profile ``p / p.sum()``; counts = ``exp(mean log(1 +
  total)) - 1``, the geometric-style mean of the training windows' total counts;
* ``control_scaled``: a window's control profile as its shape (plus a pseudocount of ``1 / L`` per base
  so an empty control gives a flat shape) and its control total times the training ratio ``sum(signal
  totals) / sum(control totals)`` as its counts.

Windows whose weight is 0 for a task (no track value) are left out of that task's fit and scores. The
scores here (:func:`score_regression`, :func:`score_profile`) use the metrics of :mod:`seqlab.metrics`:
Pearson and Spearman over all (window, bin) values of a task, count Pearson on ``log(1 + total)``, and the median
Jensen-Shannon distance (base 2) between observed and predicted profiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from seqlab.metrics import jensen_shannon_distance, weighted_pearson, weighted_spearman

if TYPE_CHECKING:
    from pathlib import Path

    from seqlab.config import DataConfig
    from seqlab.data.table import ExampleTable

__all__ = [
    "KMER_SIZES",
    "KmerRidge",
    "average_profile_baseline",
    "control_profile_baseline",
    "gc_baseline",
    "gc_fraction",
    "kmer_baseline",
    "kmer_counts",
    "run_baselines",
    "score_profile",
    "score_regression",
    "table_baselines",
    "window_sequences",
]

KMER_SIZES = (4, 5, 6)
RIDGE_ALPHAS = tuple(10.0**e for e in range(8))  # 1 ... 1e7
_CODES = np.full(256, -1, np.int8)
for _i, _base in enumerate("ACGT"):
    _CODES[ord(_base)] = _CODES[ord(_base.lower())] = _i

Sequences = Sequence[str] | np.ndarray


def _codes(sequences: Sequences) -> np.ndarray:
    """int8 (N, W) base codes 0..3 (-1: N or other) of strings, or of one-hot float (N, 4, W) / (N, W, 4).

    A one-hot array whose axis 1 has 4 entries is read as (N, 4, W), the layout of seqlab's batches.
    """
    if isinstance(sequences, np.ndarray) and sequences.ndim == 3:
        onehot = sequences if sequences.shape[1] == 4 else np.swapaxes(sequences, 1, 2)
        codes = onehot.argmax(axis=1).astype(np.int8)
        codes[onehot.max(axis=1) <= 0.5] = -1
        return codes
    lengths = {len(s) for s in sequences}
    if len(lengths) != 1:
        raise ValueError(f"sequences of one length expected, got lengths {sorted(lengths)[:5]}")
    joined = np.frombuffer("".join(sequences).encode("ascii"), np.uint8)
    return _CODES[joined].reshape(len(sequences), lengths.pop())


def gc_fraction(sequences: Sequences) -> np.ndarray:
    """float64 (N,) share of G/C among a window's A/C/G/T bases (0.5 when it has none).

    Args:
        sequences: N strings of one length, or one-hot float (N, 4, W) or (N, W, 4).
    """
    codes = _codes(sequences)
    known = (codes >= 0).sum(axis=1)
    gc = ((codes == 1) | (codes == 2)).sum(axis=1)
    return np.where(known > 0, gc / np.maximum(known, 1), 0.5)


def _canonical_columns(k: int) -> tuple[np.ndarray, int]:
    """int64 (4**k,) column of every k-mer after merging it with its reverse complement; the column count."""
    index = np.arange(4**k, dtype=np.int64)
    digits = (index[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4  # (4**k, k), most significant first
    reverse = ((3 - digits[:, ::-1]) * 4 ** np.arange(k - 1, -1, -1)).sum(axis=1)
    _, columns = np.unique(np.minimum(index, reverse), return_inverse=True)
    return columns.astype(np.int64), int(columns.max()) + 1


def kmer_counts(sequences: Sequences, sizes: Sequence[int] = KMER_SIZES, block: int = 2048) -> sp.csr_matrix:
    """float32 sparse (N, F) counts of every canonical k-mer of each size (k-mers with an N skipped).

    A k-mer and its reverse complement share a column (F = 136 + 512 + 2,080 = 2,728 for k = 4, 5, 6):
    binding does not depend on the strand a window is read from. Columns are grouped by size in
    ``sizes`` order, each group in the order of its smallest member (ACGT lexicographic). Windows are
    counted ``block`` at a time (memory: about 30 bytes per base of a block).
    """
    parts = [
        _kmer_block(_codes(sequences[i : i + block]).astype(np.int64), sizes) for i in range(0, len(sequences), block)
    ]
    if not parts:
        return sp.csr_matrix((0, sum(_canonical_columns(k)[1] for k in sizes)), dtype=np.float32)
    return sp.vstack(parts, format="csr")


def _kmer_block(codes: np.ndarray, sizes: Sequence[int]) -> sp.csr_matrix:
    """float32 sparse (n, F) canonical k-mer counts of int64 (n, W) base codes (-1: N)."""
    n, width = codes.shape
    blocks = []
    for k in sizes:
        columns, n_columns = _canonical_columns(k)
        if width < k:
            blocks.append(sp.csr_matrix((n, n_columns), dtype=np.float32))
            continue
        span = width - k + 1
        index = np.zeros((n, span), np.int64)
        valid = np.ones((n, span), bool)
        for offset in range(k):
            part = codes[:, offset : offset + span]
            index = index * 4 + np.maximum(part, 0)
            valid &= part >= 0
        rows = np.broadcast_to(np.arange(n)[:, None], index.shape)[valid]
        data = np.ones(rows.size, np.float32)
        blocks.append(sp.coo_matrix((data, (rows, columns[index[valid]])), shape=(n, n_columns)).tocsr())
    return sp.hstack(blocks, format="csr")


def _flat(targets: np.ndarray) -> np.ndarray:
    """float64 (N, T * B) of targets (N, T, B)."""
    return targets.reshape(targets.shape[0], -1).astype(np.float64)


def _task_rows(weights: np.ndarray | None, n: int, n_tasks: int) -> list[np.ndarray]:
    """Per task, the rows whose weight is positive (all rows without weights)."""
    if weights is None:
        return [np.arange(n)] * n_tasks
    return [np.flatnonzero(np.asarray(weights)[:, t] > 0) for t in range(n_tasks)]


def gc_baseline(
    train_sequences: Sequences,
    train_targets: np.ndarray,
    sequences: Sequences,
    train_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Predict targets (M, T, B) as a linear function of GC fraction, fitted per task and bin on training.

    Args:
        train_sequences: N training windows (strings or one-hot).
        train_targets: float32 (N, T, B).
        sequences: M windows to predict.
        train_weights: float32 (N, T); a task's rows with weight 0 are left out of its fit.

    Returns:
        float32 (M, T, B).
    """
    from sklearn.linear_model import LinearRegression

    n, n_tasks, n_bins = train_targets.shape
    x_train = gc_fraction(train_sequences)[:, None]
    x = gc_fraction(sequences)[:, None]
    out = np.zeros((x.shape[0], n_tasks, n_bins), np.float32)
    for t, rows in enumerate(_task_rows(train_weights, n, n_tasks)):
        if rows.size:
            model = LinearRegression().fit(x_train[rows], train_targets[rows, t].astype(np.float64))
            out[:, t] = model.predict(x).reshape(-1, n_bins)
    return out


@dataclass
class KmerRidge:
    """Ridge regression on canonical k-mer counts (intercept unpenalised), solved exactly per alpha.

    With centred counts ``X`` (N, F) and targets ``Y`` (N, K), the smaller Gram matrix is formed once:
    ``X'X`` (F, F) when N >= F (``W = (X'X + alpha I)^-1 X'Y``), else ``XX'`` (N, N) (``W = X' (XX' +
    alpha I)^-1 Y``); each alpha is then one symmetric solve. F = 2,728 for k = 4, 5, 6.

    Attributes:
        sizes: the k-mer sizes.
        x: float64 sparse (N, F) training counts (uncentred); ``mean``: float64 (F,) their column means.
        y: float64 (N, K) centred training targets; ``y_mean``: float64 (K,) their means.
        gram: float64 Gram matrix of the centred counts, (F, F) or (N, N).
    """

    sizes: tuple[int, ...]
    x: sp.csr_matrix
    mean: np.ndarray
    y: np.ndarray
    y_mean: np.ndarray
    gram: np.ndarray

    @classmethod
    def fit(cls, sequences: Sequences, targets: np.ndarray, sizes: Sequence[int] = KMER_SIZES) -> KmerRidge:
        """Count k-mers of the N training windows and form the Gram matrix for float (N, K) targets."""
        x = kmer_counts(sequences, sizes).astype(np.float64)
        n, n_features = x.shape
        mean = np.asarray(x.mean(axis=0)).ravel()
        y_mean = targets.mean(axis=0)
        if n >= n_features:
            gram = (x.T @ x).toarray() - n * np.outer(mean, mean)
        else:
            projected = x @ mean  # (N,)
            gram = (x @ x.T).toarray() - projected[:, None] - projected[None, :] + mean @ mean
        return cls(tuple(sizes), x, mean, targets - y_mean, y_mean, gram)

    def weights(self, alpha: float) -> np.ndarray:
        """float64 (F, K) ridge weights at ``alpha``."""
        from scipy.linalg import solve

        system = self.gram + alpha * np.eye(self.gram.shape[0])
        if self.gram.shape[0] == self.x.shape[1]:  # primal: (X'X + alpha I) W = X'Y
            cross = self.x.T @ self.y - np.outer(self.mean, self.y.sum(axis=0))
            return solve(system, cross, assume_a="pos")
        dual = solve(system, self.y, assume_a="pos")  # (N, K)
        return self.x.T @ dual - np.outer(self.mean, dual.sum(axis=0))

    def predict(self, sequences: Sequences, alpha: float) -> np.ndarray:
        """float64 (M, K) predictions for M windows."""
        return self.predict_counts(kmer_counts(sequences, self.sizes), self.weights(alpha))

    def predict_counts(self, counts: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
        """float64 (M, K) predictions from k-mer counts (M, F) and weights (F, K)."""
        return counts.astype(np.float64) @ weights - self.mean @ weights + self.y_mean


def kmer_baseline(
    train: tuple[Sequences, np.ndarray],
    val: tuple[Sequences, np.ndarray],
    sequences: Sequence[Sequences],
    alphas: Sequence[float] = RIDGE_ALPHAS,
    sizes: Sequence[int] = KMER_SIZES,
) -> tuple[list[np.ndarray], float]:
    """Predict targets (M, T, B) by ridge on k-mer counts; alpha chosen by mean validation Pearson.

    Every task and bin has its own weights; all rows are used (pass the rows to fit on).

    Args:
        train: (N training windows, float32 (N, T, B) targets).
        val: (V validation windows, float32 (V, T, B) targets) for the choice of alpha.
        sequences: sets of windows to predict (M_i windows each).
        alphas: the ridge penalties tried (the first of equal scores wins).
        sizes: the k-mer sizes counted.

    Returns:
        ``([float32 (M_i, T, B) per set], the chosen alpha)``.
    """
    shape = train[1].shape[1:]
    model = KmerRidge.fit(train[0], _flat(train[1]), sizes)
    x_val = kmer_counts(val[0], sizes)
    best: tuple[float, float] | None = None
    for alpha in alphas:
        predicted = model.predict_counts(x_val, model.weights(alpha)).reshape(-1, *shape)
        score = score_regression(predicted, val[1])["pearson"]
        score = -np.inf if score is None else score
        if best is None or score > best[0]:
            best = (score, alpha)
    assert best is not None
    return [model.predict(s, best[1]).reshape(-1, *shape).astype(np.float32) for s in sequences], best[1]


def average_profile_baseline(train_profiles: np.ndarray, n: int) -> np.ndarray:
    """The average training profile for ``n`` windows: float32 (n, T, L) (the same profile in every row).

    Args:
        train_profiles: float32 (N, T, L) observed training profiles (non-negative).
        n: windows to predict.
    """
    totals = train_profiles.sum(axis=2, dtype=np.float64)  # (N, T)
    shapes = train_profiles / np.where(totals > 0, totals, 1.0)[:, :, None]
    with_signal = (totals > 0).sum(axis=0)  # (T,)
    shape = shapes.sum(axis=0) / np.maximum(with_signal, 1)[:, None]  # (T, L)
    flat = np.full(shape.shape[1], 1.0 / shape.shape[1])
    shape = np.where((with_signal > 0)[:, None], shape, flat)
    counts = np.expm1(np.log1p(totals).mean(axis=0))  # (T,)
    profile = (shape * counts[:, None]).astype(np.float32)
    return np.broadcast_to(profile, (n, *profile.shape)).copy()


def control_profile_baseline(
    train_profiles: np.ndarray, train_controls: np.ndarray, controls: np.ndarray
) -> np.ndarray:
    """Each window's control profile as its shape, its control total times the training ratio as counts.

    Args:
        train_profiles: float32 (N, T, L) observed training profiles.
        train_controls: float32 (N, T, L) the control tracks over the same training windows.
        controls: float32 (M, T, L) the control tracks over the windows to predict.

    Returns:
        float32 (M, T, L): ``(c + 1/L) / (sum(c) + 1) * ratio * sum(c)`` with ``ratio = sum of training
        signal / sum of training control`` per task (1 when the training control is empty).
    """
    length = controls.shape[2]
    signal = train_profiles.sum(axis=(0, 2), dtype=np.float64)
    control = train_controls.sum(axis=(0, 2), dtype=np.float64)
    ratio = np.where(control > 0, signal / np.where(control > 0, control, 1.0), 1.0)  # (T,)
    totals = controls.sum(axis=2, dtype=np.float64, keepdims=True)  # (M, T, 1)
    shape = (controls + 1.0 / length) / (totals + 1.0)
    return (shape * totals * ratio[None, :, None]).astype(np.float32)


def _correlations(predicted: np.ndarray, observed: np.ndarray) -> tuple[float | None, float | None]:
    """Pearson and Spearman of two 1-D arrays (None when either is constant or too short)."""
    if predicted.size < 3 or np.ptp(predicted) == 0 or np.ptp(observed) == 0:
        return None, None
    return weighted_pearson(predicted, observed), weighted_spearman(predicted, observed)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def score_regression(
    predicted: np.ndarray, observed: np.ndarray, weights: np.ndarray | None = None, tasks: Sequence[str] | None = None
) -> dict:
    """Pearson and Spearman per task over all (window, bin) values, and their means over tasks.

    Args:
        predicted: float (N, T, B) predictions.
        observed: float (N, T, B) targets.
        weights: float (N, T); rows with weight 0 for a task are left out of it.
        tasks: T task names (default ``task0``...).

    Returns:
        ``{"pearson", "spearman", "per_task": {task: {"pearson", "spearman", "n"}}}``.
    """
    n, n_tasks, _ = observed.shape
    names = list(tasks) if tasks is not None else [f"task{t}" for t in range(n_tasks)]
    per_task = {}
    for t, rows in enumerate(_task_rows(weights, n, n_tasks)):
        pearson, spearman = _correlations(predicted[rows, t].ravel(), observed[rows, t].ravel())
        per_task[names[t]] = {"pearson": pearson, "spearman": spearman, "n": int(rows.size)}
    return {
        "pearson": _mean([v["pearson"] for v in per_task.values()]),
        "spearman": _mean([v["spearman"] for v in per_task.values()]),
        "per_task": per_task,
    }


def score_profile(predicted: np.ndarray, observed: np.ndarray, tasks: Sequence[str] | None = None) -> dict:
    """Count Pearson (on ``log(1 + total)``) and median Jensen-Shannon distance (base 2) per task.

    Windows with no observed signal are left out of the distance (their profile has no shape).

    Args:
        predicted: float (N, T, L) predicted profiles (negative values count as 0).
        observed: float (N, T, L) observed profiles, non-negative.
        tasks: T task names (default ``task0``...).

    Returns:
        ``{"count_pearson", "jsd", "per_task": {task: {"count_pearson", "jsd", "n"}}}``.
    """
    n_tasks = observed.shape[1]
    names = list(tasks) if tasks is not None else [f"task{t}" for t in range(n_tasks)]
    per_task = {}
    for t in range(n_tasks):
        obs, pred = observed[:, t].astype(np.float64), np.maximum(predicted[:, t].astype(np.float64), 0)
        count_pearson, _ = _correlations(np.log1p(pred.sum(axis=1)), np.log1p(obs.sum(axis=1)))
        rows = (obs.sum(axis=1) > 0) & (pred.sum(axis=1) > 0)
        distances = jensen_shannon_distance(obs[rows], pred[rows]) if rows.any() else np.array([])
        jsd = float(np.median(distances)) if distances.size else None
        per_task[names[t]] = {"count_pearson": count_pearson, "jsd": jsd, "n": int(obs.shape[0])}
    return {
        "count_pearson": _mean([v["count_pearson"] for v in per_task.values()]),
        "jsd": _mean([v["jsd"] for v in per_task.values()]),
        "per_task": per_task,
    }


def window_sequences(table: ExampleTable, rows: np.ndarray) -> list[str]:
    """The window sequences of table rows ``rows`` (read from the table's genomes; N past an end)."""
    from seqlab.io.genome import Genome

    frame = table.frame.iloc[rows]
    if table.sequences is not None:
        return [table.sequences[i] for i in rows.tolist()]
    out = [""] * len(frame)
    for name, group in frame.groupby("genome", observed=True):
        genome = Genome(table.genomes[str(name)], str(name))
        where = np.flatnonzero(frame["genome"].to_numpy() == name)
        fetched = genome.fetch_many(group["chrom"].astype(str).tolist(), group["start"], group["end"], pad=True)
        for i, sequence in zip(where.tolist(), fetched, strict=True):
            out[i] = sequence
    return out


def _regression_baselines(table: ExampleTable, rows: dict[str, np.ndarray], report: list[str]) -> dict[str, Any]:
    """``{"gc": {split: scores}, "kmer": {split: scores, "alpha"}}`` over the table's binned targets."""
    assert table.targets is not None
    from seqlab.data.sparse import to_dense

    weights = to_dense(table.weights)
    sequences = {split: window_sequences(table, index) for split, index in rows.items()}
    tasks = table.task_names
    out: dict[str, Any] = {"gc": {}, "kmer": {}}
    for split in report:
        index = rows[split]
        predicted = gc_baseline(sequences["train"], table.targets[rows["train"]], sequences[split],
                                weights[rows["train"]])  # fmt: skip
        out["gc"][split] = score_regression(predicted, table.targets[index], weights[index], tasks)
    train = (sequences["train"], table.targets[rows["train"]])
    val = (sequences["val"], table.targets[rows["val"]])
    predicted, out["kmer"]["alpha"] = kmer_baseline(train, val, [sequences[split] for split in report])
    for split, values in zip(report, predicted, strict=True):
        index = rows[split]
        out["kmer"][split] = score_regression(values, table.targets[index], weights[index], tasks)
    return out


def _profile_baselines(table: ExampleTable, rows: dict[str, np.ndarray], report: list[str]) -> dict[str, Any]:
    """``{"average_profile": {split: scores}, "control_scaled": ...}`` over the table's profile store."""
    assert table.profiles is not None
    train = table.profiles[rows["train"]]
    out: dict[str, Any] = {"average_profile": {}}
    for split in report:
        observed = table.profiles[rows[split]]
        predicted = average_profile_baseline(train, len(rows[split]))
        out["average_profile"][split] = score_profile(predicted, observed, table.task_names)
    if table.control_profiles is not None:
        train_controls = table.control_profiles[rows["train"]]
        out["control_scaled"] = {}
        for split in report:
            predicted = control_profile_baseline(train, train_controls, table.control_profiles[rows[split]])
            observed = table.profiles[rows[split]]
            out["control_scaled"][split] = score_profile(predicted, observed, table.task_names)
    return out


def table_baselines(table: ExampleTable, splits: Sequence[str] = ("val", "test")) -> dict[str, Any]:
    """Every baseline the table's targets allow, fitted on its train split, scored on ``splits``.

    Binned targets give ``gc`` and ``kmer`` (alpha chosen on val); a profile store gives
    ``average_profile`` and, with controls, ``control_scaled``.

    Returns:
        ``{name: {split: scores}}`` (see :func:`score_regression`, :func:`score_profile`), plus
        ``n_examples`` per split.

    Raises:
        ValueError: the table has no quantitative targets, or an empty train or val split.
    """
    if table.targets is None:
        raise ValueError("baselines need quantitative targets: a data.sources entry of kind tracks")
    rows = {split: table.split_indices(split) for split in ("train", "val", *splits)}
    empty = [split for split, index in rows.items() if index.size == 0]
    if empty:
        raise ValueError(f"baselines need windows in every split; none in {empty}")
    out = _regression_baselines(table, rows, list(splits))
    if table.profiles is not None:
        out.update(_profile_baselines(table, rows, list(splits)))
    out["n_examples"] = {split: int(index.size) for split, index in rows.items()}
    return out


def run_baselines(config: DataConfig, out_dir: Path, overwrite: bool = False) -> dict[str, Any]:
    """``seqlab dna baselines``: build the config's data, fit every baseline, write ``metrics.json``.

    Profile stores of ``profile: true`` sources go to ``out_dir/profiles_<i>`` (not the config's
    ``profile_dir``, which a training run owns). ``metrics.json`` is ``{"baselines": {name: {split:
    scores}}, "data": {windows kept, and those dropped for N, no coverage, split gaps}}`` (see
    :func:`table_baselines`).

    Raises:
        OutputExistsError: ``out_dir`` holds a ``metrics.json`` and not ``overwrite``.
    """
    import shutil
    from pathlib import Path

    from seqlab.atomic import write_json
    from seqlab.data.build import build_examples
    from seqlab.outputs import refuse_existing

    out = Path(out_dir)
    refuse_existing([out / "metrics.json"], overwrite)
    sources = []
    for i, source in enumerate(config.sources):
        if getattr(source, "profile", False):
            shutil.rmtree(out / f"profiles_{i}", ignore_errors=True)  # ours: made by an earlier baselines run
            source = source.model_copy(update={"profile_dir": out / f"profiles_{i}"})
        sources.append(source)
    table = build_examples(config.model_copy(update={"sources": sources}))
    counted = ("windows", "spans_n_dropped", "windows_no_coverage", "region_gap_dropped", "excluded_chrom_dropped")
    reports = [table.report, *table.report.get("parts", [])]
    data = {key: sum(int(r.get(key, 0)) for r in reports if r.get("kind") == "tracks") for key in counted}
    metrics = {"baselines": table_baselines(table), "data": data}
    write_json(out / "metrics.json", metrics)
    return metrics
