"""From a :class:`~seqlab.config.DataConfig` to an :class:`ExampleTable` (see docs/architecture.md).

Three modes:

* ``peaks``: windows centred on every task's peaks (union over tasks), plus GC-matched background
  negatives; every window is labelled against every task by overlap.
* ``tiling``: bins tiled over chromosomes, labelled by overlap with every task's peaks; the input
  window is ``window_length`` bp centred on the bin.
* ``sequences``: ready-made FASTA sets with one label per task and file; tasks a file does not
  label get weight 0 on its records.

Every step counts what it dropped (off-chromosome windows, unknown chromosomes, all-N windows,
duplicates, label conflicts, negatives short of the request) into ``ExampleTable.report``.
"""

from __future__ import annotations

import gzip
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig
from seqlab.data.labels import label_matrix
from seqlab.data.negatives import sample_negatives
from seqlab.data.splits import SPLITS, assign_splits, check_splits, split_counts
from seqlab.data.windows import make_windows, sequence_content, tile_genome
from seqlab.io.fasta import read_sequence_set
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.tasks import read_task_table
from seqlab.runs import atomic_open, write_json

__all__ = ["FRAME_COLUMNS", "ExampleTable", "build_examples", "deduplicate", "summarize"]

log = logging.getLogger(__name__)

FRAME_COLUMNS = ["genome", "chrom", "start", "end", "strand", "split", "source"]
_FRAME_DTYPES: dict[str, Any] = {
    "genome": str,
    "chrom": str,
    "start": np.int64,
    "end": np.int64,
    "strand": str,
    "split": str,
    "source": str,
}


@dataclass
class ExampleTable:
    """Examples with their origin, labels and loss weights (the data contract of every model).

    Attributes:
        frame: one row per example: ``genome, chrom, start, end, strand, split, source``.
        labels: float32 (N, T) in [0, 1].
        weights: float32 (N, T) loss weights (0 masks a label).
        tasks: task table, column ``task`` plus metadata columns, T rows in label-column order.
        sequences: N window sequences when examples come from FASTA sets, else None.
        genomes: genome name -> FASTA path, for lazy reading.
        report: JSON-able build statistics (what was dropped, deduplicated, sampled).
    """

    frame: pd.DataFrame
    labels: np.ndarray
    weights: np.ndarray
    tasks: pd.DataFrame
    sequences: list[str] | None = None
    genomes: dict[str, Path] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in FRAME_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"ExampleTable.frame lacks column(s) {missing}")
        if "task" not in self.tasks.columns:
            raise ValueError("ExampleTable.tasks needs a 'task' column")
        self.labels = np.asarray(self.labels, dtype=np.float32)
        self.weights = np.asarray(self.weights, dtype=np.float32)
        shape = (len(self.frame), len(self.tasks))
        for name in ("labels", "weights"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"ExampleTable.{name} has shape {getattr(self, name).shape}, expected {shape}")
        if self.sequences is not None and len(self.sequences) != shape[0]:
            raise ValueError(f"ExampleTable.sequences has {len(self.sequences)} entries for {shape[0]} examples")
        self.genomes = {name: Path(path) for name, path in self.genomes.items()}

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def task_names(self) -> list[str]:
        """Task names in label-column order."""
        return self.tasks["task"].astype(str).tolist()

    @property
    def n_tasks(self) -> int:
        """Number of tasks T."""
        return len(self.tasks)

    def split_indices(self, split: str | None) -> np.ndarray:
        """int64 row numbers of the examples in ``split`` (all rows for None)."""
        if split is None:
            return np.arange(len(self.frame), dtype=np.int64)
        return np.flatnonzero(self.frame["split"].to_numpy() == split).astype(np.int64)

    def counts(self) -> pd.DataFrame:
        """Examples, positives and negatives per split and task (see :func:`split_counts`)."""
        return split_counts(self.frame["split"], self.labels, self.weights, self.task_names)

    def subset(self, mask: np.ndarray | pd.Series) -> ExampleTable:
        """A new table of the rows selected by a boolean mask (N,) or an array of row numbers.

        Rows are renumbered from 0; tasks, genomes and report are shared copies.
        """
        index = np.asarray(mask)
        if index.dtype == bool:
            if index.shape != (len(self.frame),):
                raise ValueError(f"subset mask has shape {index.shape}, expected ({len(self.frame)},)")
            index = np.flatnonzero(index)
        return ExampleTable(
            frame=self.frame.iloc[index].reset_index(drop=True),
            labels=self.labels[index],
            weights=self.weights[index],
            tasks=self.tasks.copy(),
            sequences=[self.sequences[i] for i in index.tolist()] if self.sequences is not None else None,
            genomes=dict(self.genomes),
            report=dict(self.report),
        )

    def save(self, path: str | Path) -> Path:
        """Write the table to a folder (each file atomically) and return the folder.

        Files: ``examples.tsv.gz`` (frame), ``labels.npy``, ``weights.npy``, ``tasks.tsv``,
        ``sequences.txt.gz`` (one per line, only when sequences exist) and ``meta.json``
        (genomes, report).
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / "examples.tsv.gz", "wb") as handle:
            self.frame.to_csv(handle, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
        for name in ("labels", "weights"):
            with atomic_open(folder / f"{name}.npy", "wb") as handle:
                np.save(handle, getattr(self, name))
        with atomic_open(folder / "tasks.tsv", "w") as handle:
            self.tasks.to_csv(handle, sep="\t", index=False)
        sequences_path = folder / "sequences.txt.gz"
        if self.sequences is not None:
            with atomic_open(sequences_path, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz:
                gz.write(("\n".join(self.sequences) + "\n").encode("ascii"))
        else:
            sequences_path.unlink(missing_ok=True)
        meta = {
            "format": 1,
            "n_examples": len(self.frame),
            "tasks": self.task_names,
            "genomes": {name: str(p) for name, p in self.genomes.items()},
            "has_sequences": self.sequences is not None,
            "report": self.report,
        }
        write_json(folder / "meta.json", meta)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> ExampleTable:
        """Read a table written by :meth:`save`."""
        folder = Path(path)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{folder} is not a saved example table (no meta.json)")
        meta = json.loads(meta_path.read_text())
        frame = pd.read_csv(folder / "examples.tsv.gz", sep="\t", dtype=_FRAME_DTYPES, keep_default_na=False)
        tasks = pd.read_csv(folder / "tasks.tsv", sep="\t", dtype=str, keep_default_na=False)
        sequences = None
        if meta.get("has_sequences"):
            with gzip.open(folder / "sequences.txt.gz", "rt") as handle:
                sequences = handle.read().splitlines()
        return cls(
            frame=frame,
            labels=np.load(folder / "labels.npy"),
            weights=np.load(folder / "weights.npy"),
            tasks=tasks,
            sequences=sequences,
            genomes={name: Path(p) for name, p in meta.get("genomes", {}).items()},
            report=meta.get("report", {}),
        )


# --------------------------------------------------------------------------- helpers


def deduplicate(
    frame: pd.DataFrame, labels: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Merge rows with the same (genome, chrom, start, end), keeping the first row of each group.

    Per task, the labels of the rows that carry weight are combined: equal labels are kept; when
    they disagree (e.g. a window in both a positive and a negative FASTA) the merged label is their
    mean and its weight is 0 (masked), and the conflict is counted.

    Args:
        frame: examples (N rows) with ``genome, chrom, start, end``.
        labels: float32 (N, T).
        weights: float32 (N, T).

    Returns:
        ``(keep, labels, weights, info)``: int64 (G,) row numbers of the kept rows in input order,
        float32 (G, T) merged labels and weights, and ``{"duplicates_removed": int,
        "label_conflicts": [int per task]}``.
    """
    group = frame.groupby(["genome", "chrom", "start", "end"], sort=False).ngroup().to_numpy()
    n_groups = int(group.max()) + 1 if group.size else 0
    _, keep = np.unique(group, return_index=True)
    weighted = pd.DataFrame(np.where(weights > 0, labels, np.nan))
    grouped = weighted.groupby(group, sort=True)
    low, high, mean = grouped.min().to_numpy(), grouped.max().to_numpy(), grouped.mean().to_numpy()
    weight_max = pd.DataFrame(weights).groupby(group, sort=True).max().to_numpy()
    conflict = high > low
    merged_labels = np.where(np.isnan(mean), labels[keep], mean).astype(np.float32)
    merged_weights = np.where(conflict, 0.0, weight_max).astype(np.float32)
    info = {
        "duplicates_removed": int(len(frame) - n_groups),
        "label_conflicts": conflict.sum(axis=0).astype(int).tolist(),
    }
    return keep.astype(np.int64), merged_labels, merged_weights, info


def _finish_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[FRAME_COLUMNS].reset_index(drop=True)
    return frame.astype(_FRAME_DTYPES)


def _apply_splits(frame: pd.DataFrame, config: DataConfig, report: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """Assign splits and drop examples on excluded chromosomes; return (frame, kept row numbers)."""
    split = assign_splits(frame["chrom"], config.split)
    keep = np.flatnonzero(split != "")
    report["excluded_chrom_dropped"] = int(len(frame) - keep.size)
    frame = frame.iloc[keep].assign(split=split[keep])
    return frame, keep


def _check_and_report(table: ExampleTable) -> ExampleTable:
    counts = table.counts()
    table.report["split_warnings"] = check_splits(counts)
    table.report["counts"] = counts.to_dict("records")
    log.info("built %d examples\n%s", len(table), summarize(table))
    return table


def _resolved_peaks(tasks: pd.DataFrame, genome: Genome, report: dict[str, Any]) -> dict[str, pd.DataFrame]:
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


# --------------------------------------------------------------------------- modes


def _genome_and_tasks(config: DataConfig) -> tuple[Genome, pd.DataFrame]:
    if config.genome is None or config.tasks is None:
        raise ValueError(f"data.mode={config.mode!r} needs data.genome and data.tasks")
    return Genome(config.genome, config.genome_name), read_task_table(config.tasks)


def _build_peaks(config: DataConfig, seed: int) -> ExampleTable:
    genome, tasks = _genome_and_tasks(config)
    report: dict[str, Any] = {"mode": "peaks"}
    peaks = _resolved_peaks(tasks, genome, report)
    parts = []
    for task, intervals in peaks.items():
        windows, stats = make_windows(intervals, genome, config.window_length, config.center, config.chrom_end)
        report["tasks"][task].update(stats.to_dict())
        if windows.empty:
            raise ValueError(
                f"task {task!r}: none of its {len(intervals)} peaks gives a {config.window_length}-bp window "
                f"inside its chromosome (data.chrom_end={config.chrom_end!r})"
            )
        parts.append(windows)
    frame = pd.concat(parts, ignore_index=True).assign(genome=genome.name, strand="+", source="peak")
    frame, _ = _apply_splits(frame, config, report)
    if config.deduplicate:
        before = len(frame)
        frame = frame.drop_duplicates(["chrom", "start", "end"]).reset_index(drop=True)
        report["duplicates_removed"] = int(before - len(frame))
    sequences = genome.fetch_many(frame["chrom"], frame["start"], frame["end"], pad=True)
    gc, _ = sequence_content(sequences)
    all_n = np.isnan(gc)
    report["all_n_dropped"] = int(all_n.sum())
    if all_n.all():
        raise ValueError(f"every peak window is all N in genome {genome.name!r} ({genome.path})")
    if all_n.any():
        warnings.warn(f"{int(all_n.sum())} peak windows are all N in the genome and were dropped", stacklevel=3)
        frame, gc = frame[~all_n].reset_index(drop=True), gc[~all_n]

    n_negatives = round(config.negatives.ratio * len(frame))
    if n_negatives > 0:
        chroms = list(dict.fromkeys(frame["chrom"]))
        exclude = pd.concat([p[["chrom", "start", "end"]] for p in peaks.values()], ignore_index=True)
        negatives, neg_report = sample_negatives(
            genome,
            gc,
            n_negatives,
            config.window_length,
            exclude,
            chroms,
            config.negatives,
            np.random.default_rng(seed),
        )
        report["negatives"] = neg_report.to_dict()
        negatives = negatives.assign(genome=genome.name, strand="+", source="negative")
        negatives["split"] = assign_splits(negatives["chrom"], config.split)
        frame = pd.concat([frame, negatives[frame.columns]], ignore_index=True)
    frame = _finish_frame(frame)
    labels = label_matrix(frame, peaks, config.min_overlap)
    table = ExampleTable(
        frame=frame,
        labels=labels,
        weights=np.ones_like(labels),
        tasks=tasks,
        genomes={genome.name: genome.path},
        report=report,
    )
    return _check_and_report(table)


def _build_tiling(config: DataConfig) -> ExampleTable:
    genome, tasks = _genome_and_tasks(config)
    report: dict[str, Any] = {"mode": "tiling"}
    peaks = _resolved_peaks(tasks, genome, report)
    tiling = config.tiling
    chroms = [genome.resolve(c) for c in tiling.chroms] if tiling.chroms else list(genome.chrom_sizes)
    chroms = [c for c, s in zip(chroms, assign_splits(chroms, config.split), strict=True) if s != ""]
    bins, stats = tile_genome(genome, tiling.bin_size, tiling.stride, chroms, tiling.max_n_fraction)
    report["tiling"] = stats.to_dict()
    if bins.empty:
        raise ValueError(
            f"tiling produced no bins: chromosomes {chroms[:10]} have no {tiling.bin_size}-bp bin with at most "
            f"{tiling.max_n_fraction:.0%} N"
        )
    labels = label_matrix(bins, peaks, config.min_overlap)
    # the input window is window_length bp centred on the labelled bin
    sizes = bins["chrom"].map(genome.chrom_sizes).to_numpy(dtype=np.int64)
    starts = (bins["start"].to_numpy() + bins["end"].to_numpy()) // 2 - config.window_length // 2
    ends = starts + config.window_length
    crossing = (starts < 0) | (ends > sizes)
    report["windows_crossing_chrom_end"] = int(crossing.sum())
    kept = np.flatnonzero(~crossing) if config.chrom_end == "drop" else np.arange(len(bins))
    frame = pd.DataFrame({"chrom": bins["chrom"].to_numpy()[kept], "start": starts[kept], "end": ends[kept]})
    frame = frame.assign(genome=genome.name, strand="+", source="tiling")
    frame["split"] = assign_splits(frame["chrom"], config.split)
    table = ExampleTable(
        frame=_finish_frame(frame),
        labels=labels[kept],
        weights=np.ones((kept.size, len(tasks)), dtype=np.float32),
        tasks=tasks,
        genomes={genome.name: genome.path},
        report=report,
    )
    return _check_and_report(table)


def _build_sequences(config: DataConfig) -> ExampleTable:
    report: dict[str, Any] = {"mode": "sequences", "sets": []}
    task_names = list(dict.fromkeys(task for entry in config.sequences for task in entry.labels))
    frames, label_blocks, weight_blocks, sequences = [], [], [], []
    for entry in config.sequences:
        records = read_sequence_set(entry.fasta)
        lengths = records["sequence"].str.len().to_numpy()
        wrong = lengths != config.window_length
        if wrong.any():
            row = int(np.argmax(wrong))
            raise ValueError(
                f"{entry.fasta}: record {row + 1} ({records['name'].iloc[row]!r}) has {lengths[row]} bp but "
                f"data.window_length is {config.window_length}"
            )
        for task, value in entry.labels.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{entry.fasta}: label {value} of task {task!r} is outside [0, 1]")
        gc, _ = sequence_content(records["sequence"].tolist())
        all_n = np.isnan(gc)
        if all_n.all():
            raise ValueError(f"{entry.fasta}: every record is all N")
        if all_n.any():
            warnings.warn(f"{entry.fasta}: {int(all_n.sum())} all-N records were dropped", stacklevel=3)
            records = records[~all_n].reset_index(drop=True)
        label_row = np.array([entry.labels.get(t, 0.0) for t in task_names], dtype=np.float32)
        weight_row = np.array([1.0 if t in entry.labels else 0.0 for t in task_names], dtype=np.float32)
        label_blocks.append(np.tile(label_row, (len(records), 1)))
        weight_blocks.append(np.tile(weight_row, (len(records), 1)))
        frames.append(records.assign(source="fasta"))
        sequences.extend(records["sequence"].tolist())
        report["sets"].append(
            {"fasta": str(entry.fasta), "records": int(len(records)), "all_n_dropped": int(all_n.sum())}
        )
    frame = pd.concat(frames, ignore_index=True).assign(genome=config.genome_name)
    labels, weights = np.concatenate(label_blocks), np.concatenate(weight_blocks)
    frame, keep = _apply_splits(frame, config, report)
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
    genomes = {config.genome_name: config.genome} if config.genome is not None else {}
    table = ExampleTable(
        frame=_finish_frame(frame),
        labels=labels,
        weights=weights,
        tasks=pd.DataFrame({"task": task_names}, dtype=str),
        sequences=sequences,
        genomes=genomes,
        report=report,
    )
    return _check_and_report(table)


def build_examples(config: DataConfig, seed: int = 0) -> ExampleTable:
    """Build the examples that ``config`` describes (mode peaks, tiling or sequences).

    Args:
        config: the data section of a run.
        seed: seeds the negative sampling (numpy Generator).

    Returns:
        The :class:`ExampleTable`; ``report`` records counts of every drop and the per-split counts.

    Raises:
        ValueError: empty peak sets, windows all off chromosome or all N, an empty train/val/test split.
        KeyError: peaks whose chromosomes are all missing from the genome.
        FileNotFoundError: a missing genome, task table, peak or FASTA file.
    """
    if config.mode == "sequences":
        return _build_sequences(config)
    if config.mode == "tiling":
        return _build_tiling(config)
    return _build_peaks(config, seed)


def summarize(table: ExampleTable) -> str:
    """Short human summary: examples per source and split, positives/negatives per split and task."""
    frame = table.frame
    sources = ", ".join(f"{k} {v:,}" for k, v in frame["source"].value_counts(sort=False).items())
    genomes = ", ".join(sorted(frame["genome"].unique())) or "-"
    lines = [f"{len(frame):,} examples ({sources}); genome {genomes}; {table.n_tasks} task(s)"]
    counts = table.counts()
    if not counts.empty:
        counts["pos/neg"] = counts["positives"].map("{:,}".format) + " / " + counts["negatives"].map("{:,}".format)
        grid = counts.pivot(index="task", columns="split", values="pos/neg")
        grid = grid[[s for s in SPLITS if s in grid.columns]].reindex(table.task_names)
        examples = counts.groupby("split")["examples"].first()
        header = "  ".join(f"{s} {int(examples.get(s, 0)):,}" for s in SPLITS)
        lines.append(f"examples per split: {header}")
        lines.append("positives / negatives per task and split:")
        lines.append(grid.to_string())
    per_task = table.report.get("tasks", {}).values()
    for key, label in (
        ("n_dropped_chrom_end", "windows crossing a chromosome end, dropped"),
        ("n_padded_chrom_end", "windows crossing a chromosome end, padded with N"),
        ("n_summit_fallback", "peaks without a summit (centred on the interval)"),
        ("peaks_unknown_chrom", "peaks on chromosomes missing from the genome, dropped"),
    ):
        total = sum(int(task.get(key, 0)) for task in per_task)
        if total:
            lines.append(f"{label}: {total:,}")
    for key, label in (
        ("duplicates_removed", "duplicates removed"),
        ("excluded_chrom_dropped", "on excluded chromosomes, dropped"),
        ("all_n_dropped", "all-N windows dropped"),
    ):
        if table.report.get(key):
            lines.append(f"{label}: {table.report[key]:,}")
    negatives = table.report.get("negatives")
    if negatives:
        lines.append(f"negatives: {negatives['found']:,} of {negatives['requested']:,} requested")
    return "\n".join(lines)
