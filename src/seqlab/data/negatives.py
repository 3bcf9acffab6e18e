"""Background negatives: random genome windows, GC-matched to the positives, away from every peak.

Candidates are drawn in bulk (chromosome by length, start uniform), filtered by overlap with the
exclusion intervals before any read, then fetched and filtered on N content and GC bin with
vectorised arithmetic. Rounds repeat, sized by the observed yield of the bins still short, until
every bin is filled or the round budget is spent; the report says what was requested and found.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig, NegativesConfig
from seqlab.data.labels import overlaps_any
from seqlab.data.splits import SPLITS, split_examples
from seqlab.data.windows import sequence_content
from seqlab.io.genome import Genome

__all__ = ["NegativeReport", "gc_bin", "gc_targets", "sample_negatives", "split_negatives"]


@dataclass
class NegativeReport:
    """Requested and found negatives, in all and per GC bin."""

    requested: int = 0
    found: int = 0
    n_candidates: int = 0
    rejected_overlap: int = 0
    rejected_n: int = 0
    bins: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["gc_low", "gc_high", "requested", "found"])
    )

    def to_dict(self) -> dict[str, object]:
        """JSON-able copy (bins as a list of records)."""
        return {
            "requested": self.requested,
            "found": self.found,
            "n_candidates": self.n_candidates,
            "rejected_overlap": self.rejected_overlap,
            "rejected_n": self.rejected_n,
            "bins": [
                {k: (float(v) if k.startswith("gc") else int(v)) for k, v in row.items()}
                for row in self.bins.to_dict("records")
            ],
        }


def gc_bin(gc: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin index in ``[0, n_bins)`` of GC fractions (equal-width bins over [0, 1]; 1.0 in the last)."""
    return np.clip(np.floor(np.nan_to_num(gc, nan=0.0) * n_bins), 0, n_bins - 1).astype(np.int64)


def gc_targets(positive_gc: np.ndarray, n: int, n_bins: int) -> np.ndarray:
    """How many negatives each GC bin needs so that ``n`` negatives follow the positives' histogram.

    Counts are proportional to the positives per bin (NaN GC ignored), rounded by largest
    remainder so they sum to exactly ``n``.

    Returns:
        int64 array (n_bins,).
    """
    gc = positive_gc[~np.isnan(positive_gc)]
    if gc.size == 0:
        raise ValueError("no positive window has any A/C/G/T base: cannot match GC content")
    hist = np.bincount(gc_bin(gc, n_bins), minlength=n_bins).astype(np.float64)
    exact = hist / hist.sum() * n
    targets = np.floor(exact).astype(np.int64)
    short = n - int(targets.sum())
    if short > 0:
        targets[np.argsort(-(exact - targets), kind="stable")[:short]] += 1
    return targets


def sample_negatives(
    genome: Genome,
    positive_gc: np.ndarray,
    n: int,
    length: int,
    exclude: pd.DataFrame,
    chroms: Sequence[str],
    config: NegativesConfig,
    rng: np.random.Generator,
    max_rounds: int = 12,
    max_batch: int = 100_000,
    max_n_fraction: float = 0.01,
    keep: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> tuple[pd.DataFrame, NegativeReport]:
    """Sample ``n`` background windows of ``length`` bp.

    Args:
        genome: genome to sample from.
        positive_gc: float64 (P,) GC fractions of the positive windows (the target histogram).
        n: number of negatives wanted.
        length: window length in bp.
        exclude: ``chrom``, ``start``, ``end`` of every peak (genome names); candidates within
            ``config.exclude_flank`` bp of one are rejected.
        chroms: chromosomes to sample from, weighted by length (genome names).
        config: ratio and seed are not used here; gc_match, gc_bins, exclude_flank are.
        rng: numpy Generator (seeded by the caller).
        max_rounds: bulk sampling rounds at most.
        max_batch: candidates per round at most.
        max_n_fraction: reject candidates with more N than this (the positives' limit too).
        keep: optional filter: bool (M,) of candidate windows (``chrom``, ``start``, ``end``) to keep, e.g.
            those of one split; rejected ones count as ``rejected_overlap``.

    Returns:
        ``(negatives, report)``: negatives has ``chrom``, ``start``, ``end`` (int64) and ``gc``
        (float64), no two alike; fewer than ``n`` rows when some GC bin could not be filled (a
        warning says which).
    """
    n_bins = config.gc_bins if config.gc_match else 1
    targets = gc_targets(positive_gc, n, n_bins) if config.gc_match else np.array([n], dtype=np.int64)
    edges = np.arange(n_bins + 1) / n_bins
    report = NegativeReport(requested=int(n))
    names = list(chroms)
    room = np.array([max(genome.chrom_sizes[c] - length + 1, 0) for c in names], dtype=np.int64)
    if n > 0 and room.sum() == 0:
        raise ValueError(f"no chromosome among {names[:10]} is longer than the window ({length} bp)")
    flank = config.exclude_flank
    barrier = exclude[["chrom", "start", "end"]].assign(start=exclude["start"] - flank, end=exclude["end"] + flank)
    remaining = targets.copy()
    seen_per_bin = np.zeros(n_bins, dtype=np.int64)
    used_keys = np.zeros(0, dtype=np.int64)
    picked: list[pd.DataFrame] = []
    for _ in range(max_rounds):
        if remaining.sum() == 0:
            break
        # candidates needed so that the worst-yielding short bin is likely filled (Laplace-smoothed yield)
        yield_per_bin = (seen_per_bin + 1) / (seen_per_bin.sum() + n_bins)
        need = float(np.max(remaining / yield_per_bin))
        m = int(np.clip(1.5 * need, 1000, max_batch))
        chrom_idx = rng.choice(len(names), size=m, p=room / room.sum())
        starts = np.floor(rng.random(m) * room[chrom_idx]).astype(np.int64)
        keys = chrom_idx.astype(np.int64) * (1 << 40) + starts
        _, first = np.unique(keys, return_index=True)
        fresh = np.zeros(m, dtype=bool)
        fresh[first] = True
        fresh &= ~np.isin(keys, used_keys)
        cand = pd.DataFrame({"chrom": np.asarray(names, dtype=object)[chrom_idx], "start": starts})
        cand["end"] = cand["start"] + length
        cand, keys = cand[fresh].reset_index(drop=True), keys[fresh]
        report.n_candidates += len(cand)
        clear = ~overlaps_any(cand, barrier, 1)
        if keep is not None:
            clear &= keep(cand)
        report.rejected_overlap += int((~clear).sum())
        cand, keys = cand[clear].reset_index(drop=True), keys[clear]
        gc, n_fraction = sequence_content(genome.fetch_many(cand["chrom"], cand["start"], cand["end"]))
        clean = n_fraction <= max_n_fraction
        report.rejected_n += int((~clean).sum())
        cand, keys, gc = cand[clean].reset_index(drop=True), keys[clean], gc[clean]
        bins = gc_bin(gc, n_bins)
        seen_per_bin += np.bincount(bins, minlength=n_bins)
        order = np.argsort(bins, kind="stable")
        sorted_bins = bins[order]
        rank = np.arange(order.size) - np.searchsorted(sorted_bins, sorted_bins, side="left")
        take = np.sort(order[rank < remaining[sorted_bins]])
        remaining -= np.bincount(bins[take], minlength=n_bins)
        used_keys = np.concatenate([used_keys, keys[take]])
        picked.append(cand.iloc[take].assign(gc=gc[take]))
    negatives = (
        pd.concat(picked, ignore_index=True)
        if picked
        else pd.DataFrame({"chrom": [], "start": [], "end": [], "gc": []})
    )
    negatives = negatives.astype({"chrom": str, "start": np.int64, "end": np.int64, "gc": np.float64})
    found = targets - remaining
    report.found = int(found.sum())
    report.bins = pd.DataFrame({"gc_low": edges[:-1], "gc_high": edges[1:], "requested": targets, "found": found})
    if report.found < report.requested:
        short = report.bins[report.bins["found"] < report.bins["requested"]]
        detail = ", ".join(f"GC {r.gc_low:.2f}-{r.gc_high:.2f}: {r.found}/{r.requested}" for r in short.itertuples())
        warnings.warn(f"negatives: found {report.found} of {report.requested} requested ({detail})", stacklevel=2)
    return negatives, report


def split_negatives(
    negatives: NegativesConfig,
    config: DataConfig,
    genome: Genome,
    frame: pd.DataFrame,
    gc: np.ndarray,
    exclude: pd.DataFrame,
    max_n_fraction: float,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Negatives of every split: ``ratio`` x that split's windows, GC-matched to them, inside that split.

    Each split draws with its own generator (``negatives.seed``, split index) on the chromosomes of its
    windows, so one split's negatives do not depend on the others' windows (nor on the run seed).

    Args:
        negatives: ratio, gc_match, gc_bins, exclude_flank, seed.
        config: the data section (``split`` rules, ``window_length``, ``reference``).
        genome: the reference genome.
        frame: the positive windows (``chrom``, ``split``).
        gc: float64 (N,) GC fractions of ``frame``'s windows.
        exclude: ``chrom``, ``start``, ``end`` of every peak (negatives avoid them).
        max_n_fraction: the positives' N limit, applied to the negatives too.

    Returns:
        ``(negatives, report)``: ``chrom``, ``start``, ``end``, ``gc``, ``split`` (None when none is
        requested) and ``{requested, found, splits: {split: NegativeReport.to_dict()}}``.
    """
    parts, total = [], {"requested": 0, "found": 0, "splits": {}}
    for index, name in enumerate(SPLITS):
        rows = np.flatnonzero(frame["split"].to_numpy() == name)
        n_negatives = round(negatives.ratio * rows.size)
        if n_negatives == 0:
            continue

        def in_split(cand: pd.DataFrame, name: str = name) -> np.ndarray:
            return split_examples(cand.assign(genome=genome.name), config.split, config.reference)[0] == name

        drawn, report = sample_negatives(
            genome,
            gc[rows],
            n_negatives,
            config.window_length,
            exclude,
            list(dict.fromkeys(frame["chrom"].iloc[rows])),
            negatives,
            np.random.default_rng([negatives.seed, index]),
            max_n_fraction=max_n_fraction,
            keep=in_split,
        )
        total["splits"][name] = report.to_dict()
        total["requested"] += report.requested
        total["found"] += report.found
        parts.append(drawn.assign(split=name))
    return (pd.concat(parts, ignore_index=True) if parts else None), total
