"""The example table: every example's coordinates, origin, split, labels and loss weights.

Example ids are ``"{genome}:{chrom}:{start}-{end}"`` (:func:`example_ids`). An example derived from
another (a homolog in another genome, a lifted window) names that example's id in ``origin`` and takes
its split (:func:`inherit_splits`), so a homolog of a test window never trains.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api.types import union_categoricals

from seqlab.atomic import atomic_open, write_json
from seqlab.data.sparse import (
    as_labels,
    as_weights,
    dense_rows,
    is_sparse,
    load_sparse,
    place_columns,
    save_sparse,
    stack_rows,
    take_columns,
    take_rows,
    to_dense,
    to_sparse_labels,
    to_sparse_weights,
)
from seqlab.data.splits import split_counts
from seqlab.data.targets import ProfileStore

__all__ = ["FRAME_COLUMNS", "ExampleTable", "deduplicate", "example_ids", "finish_frame", "inherit_splits"]

FRAME_COLUMNS = ["genome", "chrom", "start", "end", "strand", "split", "source", "origin"]
# string columns with few distinct values are categoricals (1-2 bytes a row instead of an object pointer)
_FRAME_DTYPES: dict[str, Any] = {
    "genome": "category",
    "chrom": "category",
    "start": np.int64,
    "end": np.int64,
    "strand": "category",
    "split": "category",
    "source": "category",
    "origin": "category",
}
_STORES = ("profiles", "control_profiles")  # the ExampleTable fields that are ProfileStores
_CATEGORICAL = [name for name, kind in _FRAME_DTYPES.items() if kind == "category"]
_READ_DTYPES: dict[str, Any] = {name: (str if kind == "category" else kind) for name, kind in _FRAME_DTYPES.items()}


@dataclass
class ExampleTable:
    """Examples with their origin, labels and loss weights (the data contract of every model).

    Attributes:
        frame: one row per example: ``genome, chrom, start, end, strand, split, source, origin``
            (origin: id of the example this one was derived from, "" for original examples).
        labels: float32 (N, T) in [0, 1]: a numpy array, or a ``scipy.sparse.csr_matrix`` when most
            labels are 0 (genome tiling; see :mod:`seqlab.data.sparse`).
        weights: float32 (N, T) loss weights (0 masks a label): a numpy array, or
            :class:`~seqlab.data.sparse.SparseWeights` (1 except for stored exceptions).
        tasks: task table, column ``task`` plus metadata columns, T rows in label-column order.
        sequences: N window sequences when examples come from FASTA sets, else None.
        genomes: genome name -> FASTA path, for lazy reading.
        report: JSON-able build statistics (what was dropped, deduplicated, sampled).
        targets: quantitative targets (``tracks`` sources), float32 (N, T, B): B bins of each window's
            target span, or None for a binary table. ``labels`` are then all 0 and unused; ``weights``
            mask a task whose track has no value over a window.
        profiles: base-resolution targets (``tracks`` with ``profile: true``), float32 (N, T, L) on disk
            behind a :class:`~seqlab.data.targets.ProfileStore` (memory-mapped; rows read on demand), or None.
        control_profiles: the same for each task's control track (the ``control`` column), or None.
    """

    frame: pd.DataFrame
    labels: np.ndarray
    weights: np.ndarray
    tasks: pd.DataFrame
    sequences: list[str] | None = None
    genomes: dict[str, Path] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    targets: np.ndarray | None = None
    profiles: ProfileStore | None = None
    control_profiles: ProfileStore | None = None

    def __post_init__(self) -> None:
        if "origin" not in self.frame.columns:
            self.frame = self.frame.assign(origin="")
        missing = [c for c in FRAME_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"ExampleTable.frame lacks column(s) {missing}")
        if "task" not in self.tasks.columns:
            raise ValueError("ExampleTable.tasks needs a 'task' column")
        self.labels = as_labels(self.labels)
        self.weights = as_weights(self.weights)
        shape = (len(self.frame), len(self.tasks))
        for name in ("labels", "weights"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"ExampleTable.{name} has shape {getattr(self, name).shape}, expected {shape}")
        if self.targets is not None and self.targets.shape[:2] != shape:
            raise ValueError(f"ExampleTable.targets has shape {self.targets.shape}, expected {shape} + (bins,)")
        for name in _STORES:
            store = getattr(self, name)
            if store is not None and store.shape[:2] != shape:
                raise ValueError(f"ExampleTable.{name} has shape {store.shape}, expected {shape} + (length,)")
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

    @property
    def derived(self) -> np.ndarray:
        """Bool (N,): rows derived from another example (homologs of a ``lifted`` source: a non-empty origin)."""
        return self.frame["origin"].astype(str).to_numpy() != ""

    @property
    def sparse(self) -> bool:
        """Whether labels or weights are held sparse."""
        return is_sparse(self.labels) or is_sparse(self.weights)

    def to_sparse(self) -> ExampleTable:
        """The same table with CSR labels and :class:`~seqlab.data.sparse.SparseWeights` weights."""
        return dataclasses.replace(self, labels=to_sparse_labels(self.labels), weights=to_sparse_weights(self.weights))

    def to_dense(self) -> ExampleTable:
        """The same table with dense float32 labels and weights."""
        return dataclasses.replace(self, labels=to_dense(self.labels), weights=to_dense(self.weights))

    def with_targets_as_labels(self) -> ExampleTable:
        """The table whose labels are its quantitative targets, one value per window and task (regression).

        A table without targets is returned as it is. The targets must have one bin per window
        (``bin_size`` = ``target_length`` in the tracks source): labels become ``targets[:, :, 0]``
        float32 (N, T), the weights stay.

        Raises:
            ValueError: targets of more than one bin per window.
        """
        if self.targets is None:
            return self
        if self.targets.shape[2] != 1:
            raise ValueError(
                f"the tracks targets have {self.targets.shape[2]} bins per window; a regression model predicts one "
                "value per window and task: set the tracks source's bin_size to its target_length"
            )
        return dataclasses.replace(self, labels=np.ascontiguousarray(self.targets[:, :, 0], dtype=np.float32))

    def label_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense float32 (B, T) labels and weights of table rows ``rows`` (dense or sparse storage)."""
        return dense_rows(self.labels, rows), dense_rows(self.weights, rows)

    def select_tasks(self, tasks: list[str] | np.ndarray) -> ExampleTable:
        """A table of the same rows with only ``tasks`` (names, or a bool mask / column numbers over T).

        Labels and weights keep their kind (dense or sparse).
        """
        index = np.asarray(tasks)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        elif index.dtype.kind in "OUS":
            position = {name: i for i, name in enumerate(self.task_names)}
            unknown = [str(name) for name in index if name not in position]
            if unknown:
                raise KeyError(f"select_tasks: unknown task(s) {unknown} (tasks: {self.task_names})")
            index = np.array([position[name] for name in index], dtype=np.int64)
        return dataclasses.replace(
            self,
            labels=take_columns(self.labels, index),
            weights=take_columns(self.weights, index),
            tasks=self.tasks.iloc[index].reset_index(drop=True),
            targets=None if self.targets is None else self.targets[:, index],
            **{
                name: None if getattr(self, name) is None else getattr(self, name).take_columns(index)
                for name in _STORES
            },
        )

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
            labels=take_rows(self.labels, index),
            weights=take_rows(self.weights, index),
            tasks=self.tasks.copy(),
            sequences=[self.sequences[i] for i in index.tolist()] if self.sequences is not None else None,
            genomes=dict(self.genomes),
            report=dict(self.report),
            targets=None if self.targets is None else self.targets[index],
            **{name: None if getattr(self, name) is None else getattr(self, name).take(index) for name in _STORES},
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
        has them. Quantitative targets concatenate when every table has them over the same tasks and bins;
        profiles when every table's rows lie in one store. Labels and weights are sparse when any table's
        are. The report keeps each table's report under ``"parts"``.

        Raises:
            ValueError: no tables, a genome name with two paths, or sequences in some tables only.
        """
        if not tables:
            raise ValueError("ExampleTable.concat needs at least one table")
        tasks = pd.concat([t.tasks for t in tables], ignore_index=True)
        tasks = tasks.drop_duplicates("task", keep="first").reset_index(drop=True)
        names = tasks["task"].astype(str).tolist()
        column = {name: i for i, name in enumerate(names)}
        placed = [[column[name] for name in table.task_names] for table in tables]
        labels = place_columns([(t.labels, c) for t, c in zip(tables, placed, strict=True)], len(names), weights=False)
        weights = place_columns([(t.weights, c) for t, c in zip(tables, placed, strict=True)], len(names), weights=True)
        genomes: dict[str, Path] = {}
        for table in tables:
            for name, path in table.genomes.items():
                if name in genomes and genomes[name] != Path(path):
                    raise ValueError(f"genome {name!r} is {genomes[name]} in one table and {path} in another")
                genomes[name] = Path(path)
        with_sequences = [t.sequences is not None for t in tables]
        if any(with_sequences) and not all(with_sequences):
            raise ValueError("ExampleTable.concat: some tables carry sequences and others do not")
        sequences = [s for t in tables for s in t.sequences] if all(with_sequences) else None  # type: ignore[union-attr]
        frame = _concat_frames([t.frame for t in tables])
        targets = _concat_targets(tables)
        return cls(
            frame=finish_frame(frame),
            labels=labels,
            weights=weights,
            tasks=tasks.fillna(""),
            sequences=sequences,
            genomes=genomes,
            report={"parts": [t.report for t in tables]},
            targets=targets,
            **{name: _concat_store([getattr(t, name) for t in tables], name) for name in _STORES},
        )

    def save(self, path: str | Path) -> Path:
        """Write the table to a folder (each file atomically) and return the folder.

        Files: ``examples.tsv.gz`` (frame), ``labels.npy`` and ``weights.npy`` (dense) or
        ``labels.npz`` and ``weights.npz`` (sparse: CSR arrays; weights also ``scale``), ``tasks.tsv``,
        ``sequences.txt.gz`` (one per line, only when sequences exist), ``targets.npy`` (quantitative
        targets), ``{profiles,control_profiles}_{rows,columns}.npy`` (which rows of a profile store the
        table holds; the store's file stays where it is, named in the meta) and ``meta.json``.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / "examples.tsv.gz", "wb") as handle:
            self.frame.to_csv(handle, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
        for name in ("labels", "weights"):
            matrix = getattr(self, name)
            suffix, stale = (".npz", ".npy") if is_sparse(matrix) else (".npy", ".npz")
            with atomic_open(folder / f"{name}{suffix}", "wb") as handle:
                save_sparse(handle, matrix) if is_sparse(matrix) else np.save(handle, matrix)
            (folder / f"{name}{stale}").unlink(missing_ok=True)
        with atomic_open(folder / "tasks.tsv", "w") as handle:
            self.tasks.to_csv(handle, sep="\t", index=False)
        sequences_path = folder / "sequences.txt.gz"
        if self.sequences is not None:
            with atomic_open(sequences_path, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz:
                gz.write(("\n".join(self.sequences) + "\n").encode("ascii"))
        else:
            sequences_path.unlink(missing_ok=True)
        _save_targets(folder, self.targets, {name: getattr(self, name) for name in _STORES})
        meta = {
            "format": 1,
            "n_examples": len(self.frame),
            "tasks": self.task_names,
            "genomes": {name: str(p) for name, p in self.genomes.items()},
            "has_sequences": self.sequences is not None,
            "sparse": {"labels": is_sparse(self.labels), "weights": is_sparse(self.weights)},
            "report": self.report,
            **{name: None if getattr(self, name) is None else getattr(self, name).to_meta() for name in _STORES},
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
        frame = pd.read_csv(folder / "examples.tsv.gz", sep="\t", dtype=_READ_DTYPES, keep_default_na=False)
        if "origin" not in frame.columns:  # tables saved before the origin column
            frame["origin"] = ""
        frame = frame.astype({k: v for k, v in _FRAME_DTYPES.items() if k in frame.columns})
        tasks = pd.read_csv(folder / "tasks.tsv", sep="\t", dtype=str, keep_default_na=False)
        sequences = None
        if meta.get("has_sequences"):
            with gzip.open(folder / "sequences.txt.gz", "rt") as handle:
                sequences = handle.read().splitlines()
        return cls(
            frame=frame,
            labels=_load_matrix(folder, "labels"),
            weights=_load_matrix(folder, "weights"),
            tasks=tasks,
            sequences=sequences,
            genomes={name: Path(p) for name, p in meta.get("genomes", {}).items()},
            report=meta.get("report", {}),
            targets=np.load(folder / "targets.npy") if (folder / "targets.npy").is_file() else None,
            **{name: _load_store(folder, name, meta.get(name)) for name in _STORES},
        )


def _concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of ``frames`` (:data:`FRAME_COLUMNS`) in order; categorical columns stay categorical (union)."""
    columns = {}
    for name in FRAME_COLUMNS:
        parts = [frame[name] for frame in frames]
        if name in _CATEGORICAL:
            parts = [p if isinstance(p.dtype, pd.CategoricalDtype) else p.astype(str).astype("category") for p in parts]
            columns[name] = union_categoricals(parts, ignore_order=True)
        else:
            columns[name] = np.concatenate([p.to_numpy() for p in parts])
    return pd.DataFrame(columns)


def _concat_targets(tables: list[ExampleTable]) -> np.ndarray | None:
    """The concatenated quantitative targets of ``tables`` (None when no table has them).

    Raises:
        ValueError: some tables have targets and others not, or over other tasks or bins.
    """
    have = [t.targets is not None for t in tables]
    if not any(have):
        return None
    shapes = {(tuple(t.task_names), t.targets.shape[2]) for t in tables if t.targets is not None}
    if not all(have) or len(shapes) > 1:
        raise ValueError("ExampleTable.concat: quantitative targets need every table with the same tasks and bins")
    return np.concatenate([t.targets for t in tables])  # type: ignore[misc]


def _concat_store(stores: list[ProfileStore | None], name: str) -> ProfileStore | None:
    """One store of the rows of ``stores`` in order (None when none has one).

    Raises:
        ValueError: some tables have one and others not, or their rows lie in different stores.
    """
    if all(p is None for p in stores):
        return None
    files = {(p.path, tuple(p.columns)) for p in stores if p is not None}
    if any(p is None for p in stores) or len(files) > 1:
        raise ValueError(f"ExampleTable.concat: {name} need every table's rows in one profile store")
    first = stores[0]
    assert first is not None
    return dataclasses.replace(first, rows=np.concatenate([p.rows for p in stores if p is not None]))


def _save_targets(folder: Path, targets: np.ndarray | None, stores: dict[str, ProfileStore | None]) -> None:
    """``targets.npy`` and each store's ``{name}_rows.npy`` / ``{name}_columns.npy`` (stale ones removed)."""
    arrays: dict[str, np.ndarray | None] = {"targets": targets}
    for name, store in stores.items():
        arrays[f"{name}_rows"] = None if store is None else store.rows
        arrays[f"{name}_columns"] = None if store is None else store.columns
    for name, array in arrays.items():
        if array is None:
            (folder / f"{name}.npy").unlink(missing_ok=True)
            continue
        with atomic_open(folder / f"{name}.npy", "wb") as handle:
            np.save(handle, array)


def _load_store(folder: Path, name: str, meta: dict[str, Any] | None) -> ProfileStore | None:
    """The profile store ``name`` a saved table refers to (its file must still exist)."""
    if meta is None:
        return None
    if not Path(meta["path"]).is_file():
        raise FileNotFoundError(f"{folder}: the table's {name} store {meta['path']} is missing")
    rows, columns = np.load(folder / f"{name}_rows.npy"), np.load(folder / f"{name}_columns.npy")
    return ProfileStore(Path(meta["path"]), meta["n_stored"], meta["n_stored_tasks"], meta["length"], rows, columns)


def _load_matrix(folder: Path, name: str) -> Any:
    """``name.npz`` (sparse) or ``name.npy`` (dense) of a saved table."""
    if (folder / f"{name}.npz").is_file():
        return load_sparse(folder / f"{name}.npz")
    return np.load(folder / f"{name}.npy")


def deduplicate(frame: pd.DataFrame, labels: Any, weights: Any) -> tuple[np.ndarray, Any, Any, dict[str, Any]]:
    """Merge rows with the same (genome, chrom, start, end), keeping the first row of each group.

    Per task, the labels of the rows that carry weight are combined: equal labels are kept; when
    they disagree (e.g. a window in both a positive and a negative FASTA) the merged label is their
    mean and its weight is 0 (masked), and the conflict is counted. Sparse labels and weights stay
    sparse: only the rows of repeated windows are densified.

    Args:
        frame: examples (N rows) with ``genome, chrom, start, end``.
        labels: float32 (N, T), dense or CSR.
        weights: float32 (N, T), dense or :class:`~seqlab.data.sparse.SparseWeights`.

    Returns:
        ``(keep, labels, weights, info)``: int64 (G,) row numbers of the kept rows in input order,
        float32 (G, T) merged labels and weights (of the input's kind), and ``{"duplicates_removed":
        int, "label_conflicts": [int per task]}``.
    """
    group = frame.groupby(["genome", "chrom", "start", "end"], sort=False, observed=True).ngroup().to_numpy()
    n_groups = int(group.max()) + 1 if group.size else 0
    _, keep = np.unique(group, return_index=True)
    keep = keep.astype(np.int64)
    info: dict[str, Any] = {"duplicates_removed": int(len(frame) - n_groups), "label_conflicts": [0] * labels.shape[1]}
    if n_groups == len(frame):
        return keep, take_rows(labels, keep), take_rows(weights, keep), info
    if not is_sparse(labels) and not is_sparse(weights):
        merged_labels, merged_weights, conflict = _merge_groups(group, np.asarray(labels), np.asarray(weights), keep)
        info["label_conflicts"] = conflict.sum(axis=0).astype(int).tolist()
        return keep, merged_labels, merged_weights, info
    sizes = np.bincount(group, minlength=n_groups)
    repeated_rows = np.flatnonzero(sizes[group] > 1)  # rows of repeated windows, the only ones densified
    repeated_groups = np.flatnonzero(sizes > 1)
    local = np.searchsorted(repeated_groups, group[repeated_rows])
    _, local_keep = np.unique(local, return_index=True)
    merged_labels, merged_weights, conflict = _merge_groups(
        local, dense_rows(labels, repeated_rows), dense_rows(weights, repeated_rows), local_keep
    )
    info["label_conflicts"] = conflict.sum(axis=0).astype(int).tolist()
    order = np.arange(n_groups)
    order[repeated_groups] = n_groups + np.arange(repeated_groups.size)  # merged rows replace the groups' rows
    labels_out = sp.vstack([to_sparse_labels(take_rows(labels, keep)), to_sparse_labels(merged_labels)], format="csr")
    weights_out = stack_rows(
        [to_sparse_weights(take_rows(weights, keep)), to_sparse_weights(merged_weights)], weights=True
    )
    return keep, as_labels(labels_out[order]), weights_out[order], info


def _merge_groups(
    group: np.ndarray, labels: np.ndarray, weights: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged float32 (G, T) labels and weights and bool (G, T) conflicts of rows numbered by ``group`` (0..G-1)."""
    weighted = pd.DataFrame(np.where(weights > 0, labels, np.nan))
    grouped = weighted.groupby(group, sort=True)
    low, high, mean = grouped.min().to_numpy(), grouped.max().to_numpy(), grouped.mean().to_numpy()
    weight_max = pd.DataFrame(weights).groupby(group, sort=True).max().to_numpy()
    conflict = high > low
    merged_labels = np.where(np.isnan(mean), labels[keep], mean).astype(np.float32)
    merged_weights = np.where(conflict, 0.0, weight_max).astype(np.float32)
    return merged_labels, merged_weights, conflict


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
    ids = table.ids
    split_of = dict(zip(ids, table.frame["split"].to_numpy(dtype=object), strict=True))
    origin_of = dict(zip(ids, origin, strict=True))
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
