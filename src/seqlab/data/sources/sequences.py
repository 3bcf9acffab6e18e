"""``kind: sequences``: ready-made FASTA sets with one label per task and file, or per-record targets.

Tasks a file does not label get weight 0 on its records. A set's ``targets`` give a task one value per
record from a peak file (the largest value of the peaks matching the record, see
:func:`seqlab.data.labels.matched_peak_values`, optionally log1p; records matching none get 0 or are
an error); a source with targets in any set is quantitative: its table's ``targets`` (N, T, 1) hold
every set's values (labels as constant values) and its ``labels`` are 0, as a tracks source's.
Coordinates come from ``chr:start-end`` record names; all-N records are dropped (counted), and so are
records overlapping a set's ``exclude`` intervals (counted per set); duplicate windows are merged, and a
window labelled both positive and negative for a task (or given two different targets) is masked
(weight 0) and counted. With ``data.tasks`` set, the task table's metadata columns (target, biosample,
assay...; its ``peaks`` column is optional here) describe the tasks the sets label, as the metadata head
needs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig, SequenceSetConfig, SequencesSourceConfig, SetTargetConfig
from seqlab.data.labels import matched_peak_values, overlaps_any
from seqlab.data.sources.common import apply_splits
from seqlab.data.sources.registry import SourceContext
from seqlab.data.table import ExampleTable, deduplicate, finish_frame
from seqlab.data.windows import sequence_content
from seqlab.io.fasta import read_sequence_set
from seqlab.io.intervals import read_intervals
from seqlab.io.tasks import read_task_table

__all__ = ["build_sequences"]


def _read_set(entry: SequenceSetConfig, window_length: int, report: dict[str, Any]) -> pd.DataFrame:
    """Records of one set (``name, chrom, start, end, strand, sequence``), all-N records dropped."""
    records = read_sequence_set(entry.fasta)
    lengths = records["sequence"].str.len().to_numpy()
    wrong = lengths != window_length
    if wrong.any():
        row = int(np.argmax(wrong))
        raise ValueError(
            f"{entry.fasta}: record {row + 1} ({records['name'].iloc[row]!r}) has {lengths[row]} bp but "
            f"data.window_length is {window_length}"
        )
    for task, value in entry.labels.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{entry.fasta}: label {value} of task {task!r} is outside [0, 1]")
    gc, _ = sequence_content(records["sequence"].tolist())
    all_n = np.isnan(gc)
    if all_n.all():
        raise ValueError(f"{entry.fasta}: every record is all N")
    if all_n.any():
        warnings.warn(f"{entry.fasta}: {int(all_n.sum())} all-N records were dropped", stacklevel=4)
        records = records[~all_n].reset_index(drop=True)
    excluded = np.zeros(len(records), dtype=bool)
    if entry.exclude is not None:
        excluded = overlaps_any(records, read_intervals(entry.exclude))
        records = records[~excluded].reset_index(drop=True)
    report["sets"].append(
        {
            "fasta": str(entry.fasta),
            "records": int(len(records)),
            "all_n_dropped": int(all_n.sum()),
            "excluded": int(excluded.sum()),
        }
    )
    return records


def _target_peaks(target: SetTargetConfig, cache: dict[Path, pd.DataFrame]) -> pd.DataFrame:
    """The target's peak file (read once per path), checked to hold a value >= 0 in ``target.column`` everywhere."""
    if target.peaks not in cache:
        cache[target.peaks] = read_intervals(target.peaks)
    peaks = cache[target.peaks]
    if target.column not in peaks.columns:
        raise ValueError(f"{target.peaks}: a {peaks.attrs['format']} file has no column {target.column!r}")
    values = peaks[target.column].to_numpy(np.float64)
    bad = ~(values >= 0)  # NaN ('.') and negative values (narrowPeak's -1: not given)
    if bad.any():
        raise ValueError(
            f"{target.peaks}: column {target.column} has no value ('.' or negative) on {int(bad.sum()):,} of "
            f"{len(values):,} peaks (first: peak {int(np.argmax(bad)) + 1}); choose another column"
        )
    return peaks


def _set_values(
    entry: SequenceSetConfig, records: pd.DataFrame, task_names: list[str], cache: dict[Path, pd.DataFrame]
) -> tuple[np.ndarray, dict[str, int]]:
    """float32 (N, T) values of a set's records (labels; per-record targets) and, per target task, its matches."""
    values = np.tile(np.array([entry.labels.get(t, 0.0) for t in task_names], dtype=np.float32), (len(records), 1))
    matched = {}
    for task, target in entry.targets.items():
        peaks = _target_peaks(target, cache)
        found = matched_peak_values(records, peaks, peaks[target.column].to_numpy(np.float64), target.match)
        missing = np.isnan(found)
        if missing.any() and target.missing == "error":
            raise ValueError(
                f"{entry.fasta}: record {records['name'].iloc[int(np.argmax(missing))]!r} matches no peak of "
                f"{target.peaks} (targets.{task}.missing: error; {int(missing.sum()):,} records match none)"
            )
        found = np.where(missing, 0.0, np.log1p(found) if target.transform == "log1p" else found)
        values[:, task_names.index(task)] = found
        matched[task] = int((~missing).sum())
    return values, matched


def _task_frame(config: DataConfig, task_names: list[str]) -> pd.DataFrame:
    """One row per task (``task`` and, with ``data.tasks``, its metadata columns; "" where the table lacks a task)."""
    if config.tasks is None:
        return pd.DataFrame({"task": task_names}, dtype=str)
    table = read_task_table(config.tasks, config.root, peaks=False)
    table = table.drop(columns=[c for c in ("peaks", "format") if c in table.columns])
    missing = [task for task in task_names if task not in set(table["task"])]
    if missing:
        warnings.warn(f"data.tasks {config.tasks} does not describe task(s) {missing}", stacklevel=4)
    frame = pd.DataFrame({"task": task_names}).merge(table, on="task", how="left")
    return frame.fillna("").astype(str)


def build_sequences(source: SequencesSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Examples of FASTA sets (``source: fasta``), sequences carried in the table."""
    report: dict[str, Any] = {"kind": "sequences", "sets": [], "excluded_chrom_dropped": 0, "region_gap_dropped": 0}
    genome_name = source.genome or config.reference or "genome"
    task_names = list(dict.fromkeys(task for entry in source.sets for task in [*entry.labels, *entry.targets]))
    frames, label_blocks, weight_blocks = [], [], []
    peak_files: dict[Path, pd.DataFrame] = {}
    for entry in source.sets:
        records = _read_set(entry, config.window_length, report)
        values, matched = _set_values(entry, records, task_names, peak_files)
        if matched:
            report["sets"][-1]["target_matched"] = matched
        weight_row = np.array([float(t in entry.labels or t in entry.targets) for t in task_names], dtype=np.float32)
        label_blocks.append(values)
        weight_blocks.append(np.tile(weight_row, (len(records), 1)))
        frames.append(records.assign(source="fasta"))
    frame = pd.concat(frames, ignore_index=True).assign(genome=genome_name)
    sequences = frame["sequence"].tolist()
    labels, weights = np.concatenate(label_blocks), np.concatenate(weight_blocks)
    frame, keep = apply_splits(frame, config, report)
    labels, weights, sequences = labels[keep], weights[keep], [sequences[i] for i in keep.tolist()]
    if config.deduplicate:
        rows, labels, weights, info = deduplicate(frame, labels, weights)
        frame, sequences = frame.iloc[rows], [sequences[i] for i in rows.tolist()]
        report["duplicates_removed"] = info["duplicates_removed"]
        report["label_conflicts"] = dict(zip(task_names, info["label_conflicts"], strict=True))
        if any(info["label_conflicts"]):
            warnings.warn(
                f"windows labelled both positive and negative were masked (weight 0): {report['label_conflicts']}",
                stacklevel=3,
            )
    genomes = {genome_name: config.genomes[genome_name].fasta} if genome_name in config.genomes else {}
    targets = labels[:, :, None] if source.quantitative else None  # (N, T, 1): one value per window and task
    return ExampleTable(
        frame=finish_frame(frame),
        labels=np.zeros_like(labels) if source.quantitative else labels,
        weights=weights,
        targets=targets,
        tasks=_task_frame(config, task_names),
        sequences=sequences,
        genomes=genomes,
        report=report,
    )
