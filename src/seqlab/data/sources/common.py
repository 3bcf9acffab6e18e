"""What the genome-based sources share: the reference genome, the task table and its resolved peaks, splits."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig
from seqlab.data.splits import split_examples
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.tasks import read_task_table

__all__ = ["apply_splits", "genome_and_tasks", "resolved_peaks"]


def genome_and_tasks(config: DataConfig, kind: str) -> tuple[Genome, pd.DataFrame]:
    """The reference genome (first of ``data.genomes``) and the task table."""
    if config.reference is None or config.tasks is None:
        raise ValueError(f"a {kind} source needs data.genomes and data.tasks")
    return Genome(config.genomes[config.reference].fasta, config.reference), read_task_table(config.tasks, config.root)


def resolved_peaks(tasks: pd.DataFrame, genome: Genome, report: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Read every task's peaks; chromosome names mapped to the genome's, unknown ones dropped and counted."""
    peaks: dict[str, pd.DataFrame] = {}
    report["tasks"] = {}
    for task, path, fmt in zip(tasks["task"], tasks["peaks"], tasks["format"], strict=True):
        intervals = read_intervals(path, fmt)
        if intervals.empty:
            raise ValueError(f"task {task!r}: peak file {path} has no intervals")
        mapping = genome.resolve_many(intervals["chrom"].unique().tolist())
        chrom = intervals["chrom"].map(mapping)
        known = chrom.notna().to_numpy()
        unknown = sorted(k for k, v in mapping.items() if v is None)
        if not known.any():
            raise KeyError(
                f"task {task!r}: no chromosome of {path} ({', '.join(unknown[:10])}) is in genome "
                f"{genome.name!r} ({', '.join(list(genome.chrom_sizes)[:10])}...); wrong genome build?"
            )
        if unknown:
            warnings.warn(
                f"task {task!r}: {int((~known).sum())} peaks on chromosomes not in genome {genome.name!r} "
                f"were dropped ({', '.join(unknown[:10])})",
                stacklevel=3,
            )
        resolved = intervals[known].assign(chrom=chrom[known].astype(str)).reset_index(drop=True)
        peaks[str(task)] = resolved
        report["tasks"][str(task)] = {"peaks": int(len(intervals)), "peaks_unknown_chrom": int((~known).sum())}
    return peaks


def apply_splits(frame: pd.DataFrame, config: DataConfig, report: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """Assign splits (chromosomes, regions, gap); drop excluded and near-boundary rows, counted in ``report``.

    Returns:
        ``(frame with a split column, int64 kept row numbers)``.
    """
    split, counts = split_examples(frame, config.split, config.reference)
    for key, value in counts.items():
        report[key] = report.get(key, 0) + value
    keep = np.flatnonzero(split != "")
    return frame.iloc[keep].assign(split=split[keep]), keep
