"""The example table: every example's coordinates, origin, split, labels and loss weights.

Example ids are ``"{genome}:{chrom}:{start}-{end}"`` (:func:`example_ids`). An example derived from
another (a homolog in another genome, a lifted window) names that example's id in ``origin`` and takes
its split (:func:`inherit_splits`), so a homolog of a test window never trains.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.data.splits import split_counts
from seqlab.runs import atomic_open, write_json

__all__ = ["FRAME_COLUMNS", "ExampleTable", "deduplicate", "example_ids", "finish_frame", "inherit_splits"]

FRAME_COLUMNS = ["genome", "chrom", "start", "end", "strand", "split", "source", "origin"]
_FRAME_DTYPES: dict[str, Any] = {
    "genome": str,
    "chrom": str,
    "start": np.int64,
    "end": np.int64,
    "strand": str,
    "split": str,
    "source": str,
    "origin": str,
}


@dataclass
class ExampleTable:
    """Examples with their origin, labels and loss weights (the data contract of every model).

    Attributes:
        frame: one row per example: ``genome, chrom, start, end, strand, split, source, origin``
            (origin: id of the example this one was derived from, "" for original examples).
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
        if "origin" not in self.frame.columns:
            self.frame = self.frame.assign(origin="")
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

    @property
    def ids(self) -> np.ndarray:
        """Example ids (N,) ``genome:chrom:start-end`` (see :func:`example_ids`)."""
        return example_ids(self.frame)

    @classmethod
    def concat(cls, tables: list[ExampleTable]) -> ExampleTable:
        """One table of the rows of ``tables`` in order.

        Task columns are aligned by task name (union, in order of first appearance; metadata columns
        merged, a task's first row wins); a task a table does not label gets label 0 and weight 0 on its
        rows. Genomes are merged (one name must mean one path). Sequences are kept only when every table
        has them. The report keeps each table's report under ``"parts"``.

        Raises:
            ValueError: no tables, a genome name with two paths, or sequences in some tables only.
        """
        if not tables:
            raise ValueError("ExampleTable.concat needs at least one table")
        tasks = pd.concat([t.tasks for t in tables], ignore_index=True)
        tasks = tasks.drop_duplicates("task", keep="first").reset_index(drop=True)
        names = tasks["task"].astype(str).tolist()
        column = {name: i for i, name in enumerate(names)}
        n = sum(len(t) for t in tables)
        labels = np.zeros((n, len(names)), dtype=np.float32)
        weights = np.zeros((n, len(names)), dtype=np.float32)
        genomes: dict[str, Path] = {}
        row = 0
        for table in tables:
            columns = [column[name] for name in table.task_names]
            labels[row : row + len(table), columns] = table.labels
            weights[row : row + len(table), columns] = table.weights
            row += len(table)
            for name, path in table.genomes.items():
                if name in genomes and genomes[name] != Path(path):
                    raise ValueError(f"genome {name!r} is {genomes[name]} in one table and {path} in another")
                genomes[name] = Path(path)
        with_sequences = [t.sequences is not None for t in tables]
        if any(with_sequences) and not all(with_sequences):
            raise ValueError("ExampleTable.concat: some tables carry sequences and others do not")
        sequences = [s for t in tables for s in t.sequences] if all(with_sequences) else None  # type: ignore[union-attr]
        frame = pd.concat([t.frame[FRAME_COLUMNS] for t in tables], ignore_index=True)
        return cls(
            frame=finish_frame(frame),
            labels=labels,
            weights=weights,
            tasks=tasks.fillna(""),
            sequences=sequences,
            genomes=genomes,
            report={"parts": [t.report for t in tables]},
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
        if "origin" not in frame.columns:  # tables saved before the origin column
            frame["origin"] = ""
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


def finish_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's :data:`FRAME_COLUMNS` in order with their dtypes (``origin`` "" when absent), rows renumbered."""
    if "origin" not in frame.columns:
        frame = frame.assign(origin="")
    return frame[FRAME_COLUMNS].reset_index(drop=True).astype(_FRAME_DTYPES)


def example_ids(frame: pd.DataFrame) -> np.ndarray:
    """Example ids ``"{genome}:{chrom}:{start}-{end}"`` of every row.

    Args:
        frame: examples (N rows) with ``genome, chrom, start, end``.

    Returns:
        object array of str (N,).
    """
    parts = [frame[c].astype(str) for c in ("genome", "chrom", "start", "end")]
    return (parts[0] + ":" + parts[1] + ":" + parts[2] + "-" + parts[3]).to_numpy(dtype=object)


def inherit_splits(table: ExampleTable) -> ExampleTable:
    """Give every example with an origin its origin's split; drop those whose origin is not in the table.

    An origin that is itself derived is followed to the original example. The number of dropped
    examples is recorded as ``report["origin_missing_dropped"]``.

    Returns:
        A new table (or ``table`` itself when no example has an origin).
    """
    origin = table.frame["origin"].to_numpy(dtype=object)
    derived = origin != ""
    if not derived.any():
        return table
    split_of = dict(zip(table.ids, table.frame["split"].to_numpy(dtype=object), strict=True))
    origin_of = dict(zip(table.ids, origin, strict=True))
    splits = table.frame["split"].to_numpy(dtype=object).copy()
    for row in np.flatnonzero(derived):
        source, seen = origin[row], 0
        while origin_of.get(source, "") != "" and seen < len(origin_of):  # a chain of derivations
            source, seen = origin_of[source], seen + 1
        splits[row] = split_of.get(source, "") if origin_of.get(source) == "" else ""
    keep = splits != ""
    result = table.subset(keep)
    result.frame["split"] = splits[keep]
    result.report["origin_missing_dropped"] = int((~keep).sum())
    return result
