"""``kind: peaks``: windows centred on every task's peaks (union over tasks) plus GC-matched negatives.

Every window is labelled against every task by overlap. Positive and negative windows pass the same N
filter (``max_n_fraction``; bases beyond a chromosome end padded with N count as N). ``subsample`` keeps
``n`` windows per task (those of its ``n`` strongest, or ``n`` random, peaks) among the task's windows of
``subsample.splits`` (default train) that pass the filters (chromosome end, excluded chromosomes and
region gaps, the N filter; a window two peaks of the task share counts once), and every window of the
other splits: so ``n: 50`` gives 50 training windows per task (fewer only when the task has fewer).
Windows of the subsampled splits are labelled against the chosen peaks, the others against every peak,
and negatives avoid every peak of the files. Negatives are drawn per split (``ratio`` times that split's
positive windows, GC-matched to them, inside that split) with a seed derived from ``negatives.seed`` and
the split, so the run seed does not change the data set and the val/test windows do not change with the
training subsample.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig, PeaksSourceConfig, SubsampleConfig
from seqlab.data.labels import label_matrix
from seqlab.data.negatives import split_negatives
from seqlab.data.sources.common import apply_splits, genome_and_tasks, resolved_peaks
from seqlab.data.sources.registry import SourceContext
from seqlab.data.table import ExampleTable, finish_frame
from seqlab.data.windows import make_windows, sequence_content
from seqlab.io.genome import Genome

__all__ = ["build_peaks", "choose_peaks"]


def choose_peaks(intervals: pd.DataFrame, config: SubsampleConfig, pool: np.ndarray) -> np.ndarray:
    """Row numbers of the ``config.n`` peaks of ``intervals`` chosen among the ``pool`` rows (all when fewer).

    ``by: signal`` keeps the rows with the highest ``signal_value`` (narrowPeak/broadPeak), else the highest
    ``score`` (BED column 5), ties broken by file order; ``by: random`` draws ``n`` rows with ``config.seed``.

    Args:
        intervals: peaks (P rows).
        config: n, by, seed.
        pool: int64 (K,) ascending row numbers to choose among.

    Returns:
        int64 (min(n, K),) chosen row numbers, ascending.

    Raises:
        ValueError: ``by: signal`` on a BED without a score column.
    """
    pool = np.asarray(pool, dtype=np.int64)
    if pool.size <= config.n:
        return pool
    if config.by == "random":
        chosen = np.random.default_rng(config.seed).choice(pool.size, config.n, replace=False)
    else:
        column = "signal_value" if "signal_value" in intervals.columns else "score"
        if column not in intervals.columns:
            raise ValueError("subsample by: signal needs a narrowPeak/broadPeak signalValue or a BED score column")
        chosen = np.argsort(-intervals[column].to_numpy(np.float64)[pool], kind="stable")[: config.n]
    return np.sort(pool[chosen])


def _positive_windows(
    source: PeaksSourceConfig, config: DataConfig, genome: Genome, peaks: dict[str, pd.DataFrame], report: dict
) -> pd.DataFrame:
    """Every task's peak windows with their split, ``task`` (its index) and ``peak`` (row in the task's peaks)."""
    parts = []
    for index, (task, intervals) in enumerate(peaks.items()):
        windows, stats = make_windows(intervals, genome, config.window_length, source.center, config.chrom_end)
        report["tasks"][task].update(stats.to_dict())
        if windows.empty:
            raise ValueError(
                f"task {task!r}: none of its {len(intervals)} peaks gives a {config.window_length}-bp window "
                f"inside its chromosome (data.chrom_end={config.chrom_end!r})"
            )
        parts.append(windows.assign(task=index, peak=windows.index.to_numpy(dtype=np.int64)))
    frame = pd.concat(parts, ignore_index=True).assign(genome=genome.name, strand="+", source="peak")
    return apply_splits(frame, config, report)[0].reset_index(drop=True)


def _n_rich(frame: pd.DataFrame, genome: Genome, max_n: float, report: dict) -> tuple[np.ndarray, np.ndarray]:
    """(bool (N,) windows with more than ``max_n`` N, GC float64 (N,)); distinct dropped windows counted."""
    gc, n_fraction = sequence_content(genome.fetch_many(frame["chrom"], frame["start"], frame["end"], pad=True))
    n_rich = n_fraction > max_n
    distinct = int((~frame[n_rich].duplicated(["chrom", "start", "end"])).sum())
    report["positives_n_dropped"] = distinct
    if n_rich.all():
        raise ValueError(
            f"every peak window has more than {max_n:.0%} N in genome {genome.name!r} ({genome.path}); "
            "raise data.sources[].max_n_fraction?"
        )
    if n_rich.any():
        warnings.warn(
            f"{distinct} peak windows have more than {max_n:.0%} N (the negatives' limit) and were dropped",
            stacklevel=4,
        )
    return n_rich, gc


def _subsample(
    source: PeaksSourceConfig, frame: pd.DataFrame, usable: np.ndarray, peaks: dict[str, pd.DataFrame], report: dict
) -> tuple[np.ndarray, dict[str, pd.DataFrame]]:
    """Keep ``subsample.n`` windows per task among its usable windows of ``subsample.splits``.

    Args:
        source: the source (``subsample``: n, by, seed, splits).
        frame: the peak windows (``task``, ``peak``, ``split``; one row per task and peak).
        usable: bool (N,): windows that pass the filters (N content).
        peaks: every task's peaks (the ``peak`` column numbers their rows).
        report: the build report (``peaks_kept``, ``peaks_subsampled_from`` per task).

    Returns:
        ``(keep, kept_peaks)``: bool (N,) windows kept, and every task's peaks without those of the
        subsampled splits that were not chosen (the peaks windows of those splits are labelled against).
    """
    assert source.subsample is not None
    keep = usable.copy()
    kept_peaks = {}
    pooled = frame["split"].isin(source.subsample.splits).to_numpy()
    for index, (task, intervals) in enumerate(peaks.items()):
        mine = frame["task"].to_numpy() == index
        candidates = frame[mine & pooled & usable].drop_duplicates(["chrom", "start", "end"])
        chosen = choose_peaks(intervals, source.subsample, np.sort(candidates["peak"].to_numpy(dtype=np.int64)))
        dropped = np.setdiff1d(frame.loc[mine & pooled, "peak"].to_numpy(dtype=np.int64), chosen)
        keep &= ~(mine & pooled & np.isin(frame["peak"].to_numpy(), dropped))
        kept_peaks[task] = intervals.drop(index=intervals.index[dropped]).reset_index(drop=True)
        report["tasks"][task]["peaks_kept"] = int(len(kept_peaks[task]))
        report["tasks"][task]["peaks_subsampled_from"] = int(len(candidates))
    return keep, kept_peaks


def build_peaks(source: PeaksSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Peak windows (``source: peak``) and background negatives (``source: negative``) on the reference genome."""
    genome, tasks = genome_and_tasks(config, "peaks")
    report: dict[str, Any] = {"kind": "peaks", "excluded_chrom_dropped": 0, "region_gap_dropped": 0}
    all_peaks = resolved_peaks(tasks, genome, report)
    frame = _positive_windows(source, config, genome, all_peaks, report)
    n_rich, gc = _n_rich(frame, genome, source.max_n_fraction, report)
    keep, peaks = ~n_rich, all_peaks
    if source.subsample is not None:
        keep, peaks = _subsample(source, frame, keep, all_peaks, report)
    if config.deduplicate:
        rows = np.flatnonzero(keep)
        duplicate = frame.iloc[rows].duplicated(["chrom", "start", "end"]).to_numpy()
        report["duplicates_removed"] = int(duplicate.sum())
        keep[rows[duplicate]] = False
    frame, gc = frame[keep].drop(columns=["task", "peak"]).reset_index(drop=True), gc[keep]
    exclude = pd.concat([p[["chrom", "start", "end"]] for p in all_peaks.values()], ignore_index=True)
    negatives, drawn = split_negatives(source.negatives, config, genome, frame, gc, exclude, source.max_n_fraction)
    if negatives is not None:
        report["negatives"] = drawn
        negatives = negatives.assign(genome=genome.name, strand="+", source="negative")
        frame = pd.concat([frame, negatives[frame.columns]], ignore_index=True)
    frame = finish_frame(frame)
    labels = label_matrix(frame, peaks, config.min_overlap)
    if source.subsample is not None:  # windows of the splits not subsampled: labelled against every peak
        fixed = np.flatnonzero(~frame["split"].isin(source.subsample.splits).to_numpy())
        labels[fixed] = label_matrix(frame.iloc[fixed], all_peaks, config.min_overlap)
    return ExampleTable(
        frame=frame,
        labels=labels,
        weights=np.ones_like(labels),
        tasks=tasks,
        genomes={genome.name: genome.path},
        report=report,
    )
