"""Paired-allele benchmarks: does a model score the allele that binds above the one that does not?

Input is two FASTA files of paired sequences, ``A`` and ``B``, with the same record IDs in the same
order (for example the binding and the non-binding allele of allele-specific-binding SNVs), and
optionally a TSV of measured effects (``id`` and ``effect``: positive when allele A binds more).

For each scorer (a model's task, the ensemble of several models, or a JASPAR PWM) and each pair the
predicted effect is ``score(A) - score(B)`` (a model's raw outputs averaged over both strands: logits of
a binary model, predicted values of a regression model with MSE, log rates of one with the Poisson loss;
the best log-odds hit for the PWM). The figures per scorer and task:

* ``fraction_a_above_b``: the share of pairs with a positive predicted effect, ties counted as one
  half, with a 95 % Clopper-Pearson interval (``ci_low``, ``ci_high``; computed on the tie-halved count,
  which the beta quantiles accept) and ``chance`` = 0.5, the expected share of a scorer that knows
  nothing (ties count one half, so a constant scorer also sits at 0.5).
* with measured effects: ``sign_agreement`` (share of pairs whose predicted and measured effects have
  the same sign, ties one half) with its interval, ``sign_chance`` = the label balance
  ``max(p, 1 - p)`` (p = share of positive measured effects: what always guessing the majority sign
  gets), and ``spearman`` with a 95 % percentile bootstrap interval over pairs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from seqlab.data.encoding import one_hot
from seqlab.io.errors import InputError
from seqlab.io.fasta import read_fasta
from seqlab.models.sequence_model import SequenceModel

__all__ = [
    "ALLELE_COLUMNS",
    "AllelePairs",
    "agreement",
    "allele_table",
    "jaspar_log_odds",
    "model_scorer",
    "pwm_best_scores",
    "read_allele_pairs",
    "shifted",
]

ALLELE_COLUMNS = ["model", "task", "n_pairs", "fraction_a_above_b", "ci_low", "ci_high", "chance"]
MEASURED_COLUMNS = [
    "sign_agreement",
    "sign_ci_low",
    "sign_ci_high",
    "sign_chance",
    "spearman",
    "spearman_ci_low",
    "spearman_ci_high",
]


@dataclass(frozen=True)
class AllelePairs:
    """Paired sequences: ``a[i]`` and ``b[i]`` are the two alleles of pair ``ids[i]``.

    ``measured`` is float64 (N,) (allele A's measured effect over B, by ID) or None.
    """

    ids: list[str]
    a: list[str]
    b: list[str]
    measured: np.ndarray | None = None


def read_allele_pairs(path_a: str | Path, path_b: str | Path, measured: str | Path | None = None) -> AllelePairs:
    """Read two FASTA files of paired alleles (same IDs, same order) and optional measured effects.

    Args:
        path_a: FASTA of allele A (plain or gzip).
        path_b: FASTA of allele B, the same record IDs in the same order.
        measured: TSV with columns ``id`` and ``effect`` (one row per pair, any order), or None.

    Raises:
        InputError: an empty file, unequal record counts, the first ID that differs, a measured-effect
            table lacking a column, a pair, or holding a non-numeric effect.
    """
    ids_a, seqs_a = read_fasta(path_a)
    ids_b, seqs_b = read_fasta(path_b)
    if len(ids_a) != len(ids_b):
        raise InputError(
            f"{len(ids_a)} records here but {len(ids_b)} in {path_b}: pairs need equal counts", file=path_a
        )
    for i, (id_a, id_b) in enumerate(zip(ids_a, ids_b, strict=True)):
        if id_a != id_b:
            raise InputError(
                f"record {i + 1} is {id_b!r} but {id_a!r} in {path_a}: pairs need the same IDs in the same order",
                file=path_b,
            )
    effects = None if measured is None else _read_measured(Path(measured), ids_a)
    return AllelePairs(ids_a, seqs_a, seqs_b, effects)


def _read_measured(path: Path, ids: list[str]) -> np.ndarray:
    try:
        table = pd.read_csv(path, sep="\t", dtype={"id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"not a readable TSV ({error})", file=path) from None
    missing = [column for column in ("id", "effect") if column not in table.columns]
    if missing:
        raise InputError(f"needs columns 'id' and 'effect'; missing {missing}", file=path)
    effect = pd.to_numeric(table["effect"], errors="coerce")
    if effect.isna().any():
        row = int(np.flatnonzero(effect.isna().to_numpy())[0])
        raise InputError(f"effect {table['effect'].iloc[row]!r} is not a number", file=path, line=row + 2)
    by_id = dict(zip(table["id"].astype(str), effect.to_numpy(dtype=np.float64), strict=True))
    absent = [pair for pair in ids if pair not in by_id]
    if absent:
        raise InputError(f"no measured effect for {len(absent)} pair(s), first {absent[0]!r}", file=path)
    return np.array([by_id[pair] for pair in ids], dtype=np.float64)


def _fraction_ci(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a (possibly tie-halved, so fractional) success count."""
    alpha = 1.0 - level
    low = 0.0 if successes <= 0 else float(stats.beta.ppf(alpha / 2, successes, n - successes + 1))
    high = 1.0 if successes >= n else float(stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return low, high


def _halved_ties(values: np.ndarray) -> float:
    """Count of positive values, zeros counting one half."""
    return float((values > 0).sum() + 0.5 * (values == 0).sum())


def agreement(
    effect: np.ndarray, measured: np.ndarray | None = None, n_boot: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Figures of one scorer's predicted effects (see the module docstring).

    Args:
        effect: float (N,) predicted ``score(A) - score(B)``.
        measured: float (N,) measured effects of A over B, or None.
        n_boot: bootstrap resamples for the Spearman interval.
        seed: seed of the bootstrap.

    Returns:
        ``n_pairs``, ``fraction_a_above_b``, ``ci_low``, ``ci_high``, ``chance`` and, with measured
        effects, the ``MEASURED_COLUMNS`` figures.
    """
    effect = np.asarray(effect, dtype=np.float64)
    n = int(effect.size)
    if n == 0:
        raise ValueError("no pairs to score")
    above = _halved_ties(effect)
    low, high = _fraction_ci(above, n)
    row: dict[str, float] = {"n_pairs": n, "fraction_a_above_b": above / n, "ci_low": low, "ci_high": high}
    row["chance"] = 0.5
    if measured is None:
        return row
    agree = _halved_ties(np.sign(effect) * np.sign(measured))  # a zero on either side: one half
    sign_low, sign_high = _fraction_ci(agree, n)
    positive = float((measured > 0).mean())
    row.update(sign_agreement=agree / n, sign_ci_low=sign_low, sign_ci_high=sign_high)
    row["sign_chance"] = max(positive, 1.0 - positive)
    rho, rho_low, rho_high = _spearman_ci(effect, measured, n_boot, seed)
    row.update(spearman=rho, spearman_ci_low=rho_low, spearman_ci_high=rho_high)
    return row


def _spearman_ci(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> tuple[float, float, float]:
    rho = float(stats.spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, x.size, size=(n_boot, x.size))
    with warnings.catch_warnings():  # a resample with a constant side has no rank correlation: dropped below
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        boot = np.array([stats.spearmanr(x[rows], y[rows]).statistic for rows in draws], dtype=np.float64)
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return rho, float("nan"), float("nan")
    return rho, float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))


def jaspar_log_odds(motif_id: str, pseudocount: float = 0.8) -> np.ndarray:
    """The log2-odds matrix of a JASPAR motif from pyjaspar's local database, uniform background.

    Args:
        motif_id: a JASPAR matrix ID such as ``MA0139.2``.
        pseudocount: added to each base's count at every position before normalising.

    Returns:
        float64 (4, K) in A, C, G, T order: ``log2(((count + pseudocount) / (total + 4 pseudocount)) / 0.25)``.

    Raises:
        ValueError: the ID is not in the local database (offline: nothing is downloaded).
    """
    from seqlab.extras import require

    jaspardb = require("pyjaspar", "seqlab dna alleles --jaspar").jaspardb
    with warnings.catch_warnings():  # pyjaspar warns, then returns None, for an unknown ID: the error says it
        warnings.simplefilter("ignore")
        motif = jaspardb().fetch_motif_by_id(motif_id)
    if motif is None:
        raise ValueError(f"--jaspar: {motif_id!r} is not in pyjaspar's local JASPAR database")
    counts = np.array([motif.counts[base] for base in "ACGT"], dtype=np.float64)
    probabilities = (counts + pseudocount) / (counts.sum(axis=0, keepdims=True) + 4 * pseudocount)
    return np.log2(probabilities / 0.25)


def pwm_best_scores(sequences: Sequence[str], log_odds: np.ndarray) -> np.ndarray:
    """Best PWM hit of each sequence over every position of both strands.

    Args:
        sequences: N sequences at least K long (any lengths); N and IUPAC codes score 0 at their position.
        log_odds: float (4, K) A, C, G, T log-odds (e.g. :func:`jaspar_log_odds`).

    Returns:
        float64 (N,): the maximum over offsets and strands of the summed log-odds.
    """
    width = log_odds.shape[1]
    reverse = log_odds[::-1, ::-1]  # the reverse complement's matrix: complement rows, reverse columns
    scores = np.empty(len(sequences), dtype=np.float64)
    for i, sequence in enumerate(sequences):
        if len(sequence) < width:
            raise ValueError(f"sequence {i} has {len(sequence)} bp, shorter than the motif's {width}")
        onehot = one_hot(sequence).astype(np.float64)  # (4, L)
        windows = np.lib.stride_tricks.sliding_window_view(onehot, width, axis=1)  # (4, L-K+1, K)
        forward = np.einsum("cpk,ck->p", windows, log_odds)
        backward = np.einsum("cpk,ck->p", windows, reverse)
        scores[i] = max(forward.max(), backward.max())
    return scores


def allele_table(
    scorers: dict[str, Callable[[list[str]], tuple[np.ndarray, list[str]]]],
    pairs: AllelePairs,
    jaspar: str | None = None,
    ensemble: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every pair with every model (and their ensemble, and a JASPAR PWM).

    Args:
        scorers: model name -> function mapping N sequences to ``(logits float (N, T), task names)``.
        pairs: the allele pairs.
        jaspar: a JASPAR matrix ID for the PWM baseline, or None.
        ensemble: add ``ensemble`` rows (mean logit over models, per task) when there are several models.

    Returns:
        ``(summary, per_pair)``: one summary row per scorer and task (``ALLELE_COLUMNS`` then, with
        measured effects, ``MEASURED_COLUMNS``); and one row per pair, scorer and task with ``id``,
        ``model``, ``task``, ``score_a``, ``score_b``, ``effect``.

    Raises:
        ValueError: models with different task lists asked for an ensemble.
    """
    scored: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
    for name, score in scorers.items():
        logits_a, tasks = score(pairs.a)
        logits_b, _ = score(pairs.b)
        scored[name] = (np.asarray(logits_a, np.float64), np.asarray(logits_b, np.float64), list(tasks))
    if ensemble and len(scored) > 1:
        task_lists = {tuple(tasks) for _, _, tasks in scored.values()}
        if len(task_lists) > 1:
            raise ValueError(f"an ensemble needs models with the same tasks; got {sorted(task_lists)}")
        stack_a = np.stack([a for a, _, _ in scored.values()])
        stack_b = np.stack([b for _, b, _ in scored.values()])
        scored["ensemble"] = (stack_a.mean(axis=0), stack_b.mean(axis=0), list(task_lists.pop()))
    if jaspar is not None:
        log_odds = jaspar_log_odds(jaspar)
        pwm_a, pwm_b = pwm_best_scores(pairs.a, log_odds), pwm_best_scores(pairs.b, log_odds)
        scored["jaspar"] = (pwm_a[:, None], pwm_b[:, None], [jaspar])
    summary, per_pair = [], []
    for name, (score_a, score_b, tasks) in scored.items():
        for t, task in enumerate(tasks):
            effect = score_a[:, t] - score_b[:, t]
            summary.append({"model": name, "task": task, **agreement(effect, pairs.measured)})
            per_pair.append(
                pd.DataFrame(
                    {"id": pairs.ids, "model": name, "task": task, "score_a": score_a[:, t], "score_b": score_b[:, t]}
                ).assign(effect=effect)
            )
    columns = ALLELE_COLUMNS + (MEASURED_COLUMNS if pairs.measured is not None else [])
    return pd.DataFrame(summary, columns=columns), pd.concat(per_pair, ignore_index=True)


def shifted(sequence: str, offset: int, length: int) -> str | None:
    """``sequence`` placed ``offset`` bp right of centre in a ``length``-bp window (by N padding), or None.

    ``SequenceModel.predict`` centres a sequence in its window; padding ``2 |offset|`` N on one side
    moves it ``offset`` bp. None when the sequence has no room to move that far (it would be cropped).
    """
    if len(sequence) + 2 * abs(offset) > length:
        return None if offset else sequence
    return "N" * (2 * offset) + sequence if offset > 0 else sequence + "N" * (-2 * offset)


def model_scorer(
    model: SequenceModel, batch_size: int = 256, shifts: int = 0
) -> Callable[[list[str]], tuple[np.ndarray, list[str]]]:
    """A scorer for :func:`allele_table`: the model's logits, both strands (and shifts) averaged.

    Sequences of another length than the model's window follow ``SequenceModel.predict``'s rule
    (centred: padded with N when shorter, centre-cropped when longer).

    Args:
        model: the model.
        batch_size: windows per forward pass.
        shifts: also average over placements -k..k bp off centre; a placement a sequence has no room
            for (it would be cropped) is left out of its average, so a sequence as long as the window
            is scored centred only.

    Returns:
        sequences (N) -> (float64 (N, T) logits, task names).
    """

    def score(sequences: list[str]) -> tuple[np.ndarray, list[str]]:
        total = np.zeros((len(sequences), model.n_tasks), dtype=np.float64)
        counts = np.zeros(len(sequences), dtype=np.float64)
        for offset in range(-shifts, shifts + 1):
            placed = [shifted(sequence, offset, model.window_length) for sequence in sequences]
            rows = [i for i, window in enumerate(placed) if window is not None]
            if rows:
                logits = model.predict([placed[i] for i in rows], batch_size=batch_size).logits
                total[rows] += logits
                counts[rows] += 1
        return total / counts[:, None], model.tasks

    return score
