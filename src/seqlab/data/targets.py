"""Base-resolution targets on disk: a memory-mapped per-window profile store (no genome-wide matrix).

A ``tracks`` source with ``profile: true`` writes every kept window's base-resolution signal, per task,
to one raw float32 file of shape ``(n_stored, T, L)`` (C order), appended one chromosome at a time.
An :class:`~seqlab.data.table.ExampleTable` refers to it through a :class:`ProfileStore`: the file,
its shape, and which stored row and task column each table row and task is, so subsetting a table or
selecting tasks never copies the profiles. Reading rows (``store[rows]``) copies only those rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ProfileStore", "ProfileWriter"]


@dataclass
class ProfileStore:
    """Rows of a raw float32 ``(n_stored, n_stored_tasks, length)`` profile file, as a table sees them.

    Attributes:
        path: the raw file.
        n_stored: windows in the file.
        n_stored_tasks: task columns in the file.
        length: bp per window profile L.
        rows: int64 (N,) stored row of each table row.
        columns: int64 (T,) stored column of each table task.
    """

    path: Path
    n_stored: int
    n_stored_tasks: int
    length: int
    rows: np.ndarray
    columns: np.ndarray

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.rows = np.asarray(self.rows, np.int64)
        self.columns = np.asarray(self.columns, np.int64)

    def __len__(self) -> int:
        return int(self.rows.size)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(N, T, L)`` as the table sees the store."""
        return (len(self), int(self.columns.size), self.length)

    def array(self) -> np.memmap:
        """The whole file, memory-mapped read-only: float32 ``(n_stored, n_stored_tasks, length)``."""
        shape = (self.n_stored, self.n_stored_tasks, self.length)
        return np.memmap(self.path, dtype=np.float32, mode="r", shape=shape)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        """float32 (B, T, L) profiles of table rows ``rows`` (a copy)."""
        stored = self.rows[np.asarray(rows, np.int64)]
        return np.asarray(self.array()[stored][:, self.columns], dtype=np.float32)

    def take(self, rows: np.ndarray) -> ProfileStore:
        """The store of table rows ``rows`` (int64 row numbers), sharing the file."""
        return dataclasses.replace(self, rows=self.rows[np.asarray(rows, np.int64)])

    def take_columns(self, columns: np.ndarray) -> ProfileStore:
        """The store of tasks ``columns`` (int64 task numbers of the table), sharing the file."""
        return dataclasses.replace(self, columns=self.columns[np.asarray(columns, np.int64)])

    def to_meta(self) -> dict[str, Any]:
        """JSON-able description (without rows and columns, which a saved table keeps as ``.npy``)."""
        return {
            "path": str(self.path),
            "n_stored": self.n_stored,
            "n_stored_tasks": self.n_stored_tasks,
            "length": self.length,
        }


class ProfileWriter:
    """Appends float32 ``(n, T, L)`` blocks to a new raw profile file.

    Args:
        path: the file to create (an existing file is an error: nothing is silently replaced).
        n_tasks: T.
        length: L.
    """

    def __init__(self, path: str | Path, n_tasks: int, length: int) -> None:
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"profile store {self.path} exists; remove it or name another profile_dir")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.n_tasks, self.length, self.n_stored = n_tasks, length, 0
        self._handle = open(self.path, "wb")  # noqa: SIM115 - closed in finish()

    def append(self, block: np.ndarray) -> None:
        """Write float32 (n, T, L) profiles after those written so far."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.shape[1:] != (self.n_tasks, self.length):
            raise ValueError(f"profile block {block.shape}, expected (n, {self.n_tasks}, {self.length})")
        self._handle.write(block.tobytes())
        self.n_stored += block.shape[0]

    def finish(self, rows: np.ndarray | None = None) -> ProfileStore:
        """Close the file; the store of stored rows ``rows`` (default all, in order)."""
        self._handle.close()
        rows = np.arange(self.n_stored, dtype=np.int64) if rows is None else rows
        return ProfileStore(self.path, self.n_stored, self.n_tasks, self.length, rows, np.arange(self.n_tasks))
