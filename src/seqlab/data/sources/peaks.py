"""``kind: peaks``: windows centred on every task's peaks (union over tasks) plus GC-matched negatives.

Every window is labelled against every task by overlap. Positive and negative windows pass the same N
filter (``max_n_fraction``; bases beyond a chromosome end padded with N count as N). ``subsample`` keeps
the ``n`` strongest (or ``n`` random) peaks per task: windows and labels come from the kept peaks, while
negatives still avoid every peak of the files. Negatives are drawn with ``negatives.seed``, so the run
seed does not change the data set.
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
from seqlab.data.splits import split_examples
from seqlab.data.table import ExampleTable, finish_frame
from seqlab.data.windows import make_windows, sequence_content
from seqlab.io.genome import Genome

__all__ = ["build_peaks", "subsample_peaks"]


def subsample_peaks(intervals: pd.DataFrame, config: SubsampleConfig) -> pd.DataFrame:
    """At most ``config.n`` rows of ``intervals``, in file order.

    ``by: signal`` keeps the rows with the highest ``signal_value`` (narrowPeak/broadPeak), else the highest
    ``score`` (BED column 5), ties broken by file order; ``by: random`` draws ``n`` rows with ``config.seed``.

    Raises:
        ValueError: ``by: signal`` on a BED without a score column.
    """
    if len(intervals) <= config.n:
        return intervals
    if config.by == "random":
        rows = np.random.default_rng(config.seed).choice(len(intervals), config.n, replace=False)
    else:
        column = "signal_value" if "signal_value" in intervals.columns else "score"
        if column not in intervals.columns:
            raise ValueError("subsample by: signal needs a narrowPeak/broadPeak signalValue or a BED score column")
        rows = np.argsort(-intervals[column].to_numpy(np.float64), kind="stable")[: config.n]
    return intervals.iloc[np.sort(rows)].reset_index(drop=True)


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


@register_source("peaks")
def build_peaks(source: PeaksSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Peak windows (``source: peak``) and background negatives (``source: negative``) on the reference genome."""
    genome, tasks = genome_and_tasks(config, "peaks")
    report: dict[str, Any] = {"kind": "peaks", "excluded_chrom_dropped": 0, "region_gap_dropped": 0}
    all_peaks = resolved_peaks(tasks, genome, report)
    peaks = all_peaks
    if source.subsample is not None:
        peaks = {task: subsample_peaks(intervals, source.subsample) for task, intervals in all_peaks.items()}
        for task, intervals in peaks.items():
            report["tasks"][task]["peaks_kept"] = int(len(intervals))
    frame = _positive_windows(source, config, genome, peaks, report)
    frame, gc = _n_filter(frame, genome, source.max_n_fraction, report)
    n_negatives = round(source.negatives.ratio * len(frame))
    if n_negatives > 0:
        chroms = list(dict.fromkeys(frame["chrom"]))
        exclude = pd.concat([p[["chrom", "start", "end"]] for p in all_peaks.values()], ignore_index=True)
        negatives, neg_report = sample_negatives(
            genome,
            gc,
            n_negatives,
            config.window_length,
            exclude,
            chroms,
            source.negatives,
            np.random.default_rng(source.negatives.seed),
            max_n_fraction=source.max_n_fraction,
        )
        report["negatives"] = neg_report.to_dict()
        negatives = negatives.assign(genome=genome.name, strand="+", source="negative")
        split, counts = split_examples(negatives, config.split, config.reference)
        report["negatives"]["split_dropped"] = int((split == "").sum())
        negatives = negatives.assign(split=split)[split != ""]
        frame = pd.concat([frame, negatives[frame.columns]], ignore_index=True)
    frame = finish_frame(frame)
    labels = label_matrix(frame, peaks, config.min_overlap)
    return ExampleTable(
        frame=frame,
        labels=labels,
        weights=np.ones_like(labels),
        tasks=tasks,
        genomes={genome.name: genome.path},
        report=report,
    )
