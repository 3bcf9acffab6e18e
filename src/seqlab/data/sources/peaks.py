"""``kind: peaks``: windows centred on every task's peaks (union over tasks) plus GC-matched negatives.

Every window is labelled against every task by overlap. Positive and negative windows pass the same N
filter (``max_n_fraction``; bases beyond a chromosome end padded with N count as N). ``subsample`` keeps
the ``n`` strongest (or ``n`` random) peaks per task among the peaks of ``subsample.splits`` (default
train; a peak's split is its window's, by the ``data.split`` rules) and every peak of the other splits:
windows of the subsampled splits are labelled against the kept peaks, the others against every peak,
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
from seqlab.data.negatives import sample_negatives
from seqlab.data.sources import SourceContext, register_source
from seqlab.data.sources.common import apply_splits, genome_and_tasks, resolved_peaks
from seqlab.data.splits import SPLITS, split_examples
from seqlab.data.table import ExampleTable, finish_frame
from seqlab.data.windows import center_windows, make_windows, sequence_content
from seqlab.io.genome import Genome

__all__ = ["build_peaks", "subsample_peaks"]


def subsample_peaks(intervals: pd.DataFrame, config: SubsampleConfig, pool: np.ndarray | None = None) -> pd.DataFrame:
    """At most ``config.n`` rows of ``intervals`` among the ``pool`` rows, plus every other row, in file order.

    ``by: signal`` keeps the rows with the highest ``signal_value`` (narrowPeak/broadPeak), else the highest
    ``score`` (BED column 5), ties broken by file order; ``by: random`` draws ``n`` rows with ``config.seed``.

    Args:
        intervals: peaks (P rows).
        config: n, by, seed.
        pool: bool (P,): the rows to choose among (default: all); the others are all kept.

    Raises:
        ValueError: ``by: signal`` on a BED without a score column.
    """
    pool_rows = np.arange(len(intervals)) if pool is None else np.flatnonzero(pool)
    if pool_rows.size <= config.n:
        return intervals
    if config.by == "random":
        chosen = np.random.default_rng(config.seed).choice(pool_rows.size, config.n, replace=False)
    else:
        column = "signal_value" if "signal_value" in intervals.columns else "score"
        if column not in intervals.columns:
            raise ValueError("subsample by: signal needs a narrowPeak/broadPeak signalValue or a BED score column")
        chosen = np.argsort(-intervals[column].to_numpy(np.float64)[pool_rows], kind="stable")[: config.n]
    keep = np.ones(len(intervals), dtype=bool)
    keep[pool_rows] = False
    keep[pool_rows[chosen]] = True
    return intervals[keep].reset_index(drop=True)


def _peak_splits(intervals: pd.DataFrame, source: PeaksSourceConfig, config: DataConfig) -> np.ndarray:
    """Split of each peak's window (object (P,) of train/val/test/''), by the rules the build applies to windows."""
    starts, _ = center_windows(intervals, config.window_length, source.center)
    windows = pd.DataFrame(
        {"genome": config.reference, "chrom": intervals["chrom"].to_numpy(), "start": starts,
         "end": starts + config.window_length}
    )  # fmt: skip
    return split_examples(windows, config.split, config.reference)[0]


def _subsampled(
    source: PeaksSourceConfig, config: DataConfig, all_peaks: dict[str, pd.DataFrame], report: dict
) -> dict[str, pd.DataFrame]:
    """Every task's peaks with those of ``subsample.splits`` subsampled (counted in ``report``)."""
    assert source.subsample is not None
    peaks = {}
    for task, intervals in all_peaks.items():
        pool = np.isin(_peak_splits(intervals, source, config), source.subsample.splits)
        peaks[task] = subsample_peaks(intervals, source.subsample, pool)
        report["tasks"][task]["peaks_kept"] = int(len(peaks[task]))
        report["tasks"][task]["peaks_subsampled_from"] = int(pool.sum())
    return peaks


def _positive_windows(
    source: PeaksSourceConfig, config: DataConfig, genome: Genome, peaks: dict[str, pd.DataFrame], report: dict
) -> pd.DataFrame:
    parts = []
    for task, intervals in peaks.items():
        windows, stats = make_windows(intervals, genome, config.window_length, source.center, config.chrom_end)
        report["tasks"][task].update(stats.to_dict())
        if windows.empty:
            raise ValueError(
                f"task {task!r}: none of its {len(intervals)} peaks gives a {config.window_length}-bp window "
                f"inside its chromosome (data.chrom_end={config.chrom_end!r})"
            )
        parts.append(windows)
    frame = pd.concat(parts, ignore_index=True).assign(genome=genome.name, strand="+", source="peak")
    frame, _ = apply_splits(frame, config, report)
    if config.deduplicate:
        before = len(frame)
        frame = frame.drop_duplicates(["chrom", "start", "end"]).reset_index(drop=True)
        report["duplicates_removed"] = int(before - len(frame))
    return frame


def _n_filter(frame: pd.DataFrame, genome: Genome, max_n: float, report: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop positive windows with more than ``max_n`` N (counted); return (frame, GC float64 of the kept)."""
    gc, n_fraction = sequence_content(genome.fetch_many(frame["chrom"], frame["start"], frame["end"], pad=True))
    n_rich = n_fraction > max_n
    report["positives_n_dropped"] = int(n_rich.sum())
    if n_rich.all():
        raise ValueError(
            f"every peak window has more than {max_n:.0%} N in genome {genome.name!r} ({genome.path}); "
            "raise data.sources[].max_n_fraction?"
        )
    if n_rich.any():
        warnings.warn(
            f"{int(n_rich.sum())} peak windows have more than {max_n:.0%} N (the negatives' limit) and were dropped",
            stacklevel=4,
        )
    return frame[~n_rich].reset_index(drop=True), gc[~n_rich]


def _negatives(
    source: PeaksSourceConfig,
    config: DataConfig,
    genome: Genome,
    frame: pd.DataFrame,
    gc: np.ndarray,
    all_peaks: dict[str, pd.DataFrame],
    report: dict,
) -> pd.DataFrame | None:
    """Negatives of every split: ``ratio`` x that split's positive windows, GC-matched to them, inside that split.

    Each split draws with its own generator (``negatives.seed``, split index) on the chromosomes of its
    positive windows, so one split's negatives do not depend on the others' positives. None when no
    negatives are requested.
    """
    exclude = pd.concat([p[["chrom", "start", "end"]] for p in all_peaks.values()], ignore_index=True)
    parts, total = [], {"requested": 0, "found": 0, "splits": {}}
    for index, name in enumerate(SPLITS):
        rows = np.flatnonzero(frame["split"].to_numpy() == name)
        n_negatives = round(source.negatives.ratio * rows.size)
        if n_negatives == 0:
            continue

        def in_split(cand: pd.DataFrame, name: str = name) -> np.ndarray:
            return split_examples(cand.assign(genome=genome.name), config.split, config.reference)[0] == name

        negatives, neg_report = sample_negatives(
            genome,
            gc[rows],
            n_negatives,
            config.window_length,
            exclude,
            list(dict.fromkeys(frame["chrom"].iloc[rows])),
            source.negatives,
            np.random.default_rng([source.negatives.seed, index]),
            max_n_fraction=source.max_n_fraction,
            keep=in_split,
        )
        total["splits"][name] = neg_report.to_dict()
        total["requested"] += neg_report.requested
        total["found"] += neg_report.found
        parts.append(negatives.assign(genome=genome.name, strand="+", source="negative", split=name))
    if not parts:
        return None
    report["negatives"] = total
    return pd.concat(parts, ignore_index=True)


@register_source("peaks")
def build_peaks(source: PeaksSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Peak windows (``source: peak``) and background negatives (``source: negative``) on the reference genome."""
    genome, tasks = genome_and_tasks(config, "peaks")
    report: dict[str, Any] = {"kind": "peaks", "excluded_chrom_dropped": 0, "region_gap_dropped": 0}
    all_peaks = resolved_peaks(tasks, genome, report)
    peaks = all_peaks if source.subsample is None else _subsampled(source, config, all_peaks, report)
    frame = _positive_windows(source, config, genome, peaks, report)
    frame, gc = _n_filter(frame, genome, source.max_n_fraction, report)
    negatives = _negatives(source, config, genome, frame, gc, all_peaks, report)
    if negatives is not None:
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
