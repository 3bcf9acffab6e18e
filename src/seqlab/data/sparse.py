"""Label and weight matrices that are dense numpy arrays or sparse, behind one set of helpers.

At genome scale (tiling bins x tens to hundreds of tasks) almost every label is 0 and almost every
weight is 1, so :class:`~seqlab.data.table.ExampleTable` may hold:

- labels as a numpy array float32 (N, T) or a ``scipy.sparse.csr_matrix`` float32 (N, T) (the stored
  entries are the non-zero labels);
- weights as a numpy array float32 (N, T) or a :class:`SparseWeights`: ``w[i, t] = scale[i] * (1 -
  deficit[i, t])`` with ``scale`` float32 (N,) (a per-row factor, e.g. the weight of a homolog) and
  ``deficit`` a CSR float32 (N, T) holding only the exceptions (``1`` masks a label: weight 0).

Every consumer goes through these helpers (:func:`dense_rows`, :func:`take_rows`, :func:`task_column`,
:func:`label_counts`, ...) and works with both kinds; a batch of rows is always densified (B, T).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp

__all__ = [
    "SparseWeights",
    "as_labels",
    "as_weights",
    "dense_rows",
    "is_sparse",
    "label_counts",
    "labelled_rows",
    "load_sparse",
    "matrix_nbytes",
    "place_columns",
    "save_sparse",
    "scale_rows",
    "sparse_pays",
    "stack_rows",
    "take_columns",
    "take_rows",
    "task_column",
    "to_dense",
    "to_sparse_labels",
    "to_sparse_weights",
]

#: stored entries above this fraction of all cells: a dense matrix is smaller (8 bytes per entry vs 4 per cell)
SPARSE_DENSITY_LIMIT = 0.25


class SparseWeights:
    """Loss weights ``scale[:, None] * (1 - deficit)``: 1 everywhere except a few stored exceptions.

    Args:
        scale: float32 (N,) row factors.
        deficit: CSR float32 (N, T); ``1`` at an entry gives weight 0 (a masked label).

    Indexing with rows (``weights[rows]``) returns a :class:`SparseWeights` of those rows, like a
    scipy matrix; ``toarray()`` gives the dense float32 (N, T) matrix.
    """

    def __init__(self, scale: np.ndarray, deficit: Any) -> None:
        self.scale = np.asarray(scale, dtype=np.float32).reshape(-1)
        self.deficit = sp.csr_matrix(deficit, dtype=np.float32)
        if self.deficit.shape[0] != self.scale.size:
            raise ValueError(f"SparseWeights: scale has {self.scale.size} rows, deficit {self.deficit.shape[0]}")

    @classmethod
    def ones(cls, n: int, t: int) -> SparseWeights:
        """Weight 1 everywhere, (n, t)."""
        return cls(np.ones(n, dtype=np.float32), sp.csr_matrix((n, t), dtype=np.float32))

    @property
    def shape(self) -> tuple[int, int]:
        """(N, T)."""
        return (int(self.deficit.shape[0]), int(self.deficit.shape[1]))

    @property
    def dtype(self) -> np.dtype:
        """float32."""
        return np.dtype(np.float32)

    @property
    def nnz(self) -> int:
        """Number of stored exceptions."""
        return int(self.deficit.nnz)

    @property
    def nbytes(self) -> int:
        """Bytes held (scale and the CSR arrays)."""
        return int(self.scale.nbytes) + matrix_nbytes(self.deficit)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> SparseWeights:
        if isinstance(rows, tuple):
            raise TypeError("SparseWeights supports row indexing only; use toarray() for cells")
        return SparseWeights(self.scale[rows], self.deficit[rows])

    def toarray(self) -> np.ndarray:
        """Dense float32 (N, T)."""
        return (self.scale[:, None] * (1.0 - self.deficit.toarray())).astype(np.float32)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.toarray()
        return dense if dtype is None else dense.astype(dtype)

    def zero_mask(self) -> sp.csr_matrix:
        """CSR bool (N, T) of the entries that are 0 because of their deficit (rows with scale 0 aside)."""
        deficit = self.deficit.tocsr()
        return sp.csr_matrix((deficit.data >= 1.0, deficit.indices, deficit.indptr), shape=deficit.shape, dtype=bool)


def is_sparse(matrix: Any) -> bool:
    """Whether ``matrix`` is a scipy sparse matrix or :class:`SparseWeights`."""
    return isinstance(matrix, SparseWeights) or sp.issparse(matrix)


def as_labels(matrix: Any) -> np.ndarray | sp.csr_matrix:
    """Labels as float32: a numpy array, or a CSR matrix when given any scipy sparse matrix."""
    if sp.issparse(matrix):
        out = sp.csr_matrix(matrix, dtype=np.float32)
        out.eliminate_zeros()
        return out
    return np.asarray(matrix, dtype=np.float32)


def as_weights(matrix: Any) -> np.ndarray | SparseWeights:
    """Weights as float32: a numpy array or :class:`SparseWeights` (a scipy matrix is taken as the weights)."""
    if isinstance(matrix, SparseWeights):
        return matrix
    if sp.issparse(matrix):  # a sparse matrix of weights: mostly 0, rarely useful, but exact
        return to_sparse_weights(np.asarray(matrix.toarray(), dtype=np.float32))
    return np.asarray(matrix, dtype=np.float32)


def to_dense(matrix: Any) -> np.ndarray:
    """Dense float32 (N, T) copy (or the array itself)."""
    if is_sparse(matrix):
        return np.asarray(matrix.toarray(), dtype=np.float32)
    return np.asarray(matrix, dtype=np.float32)


def to_sparse_labels(labels: Any) -> sp.csr_matrix:
    """CSR float32 labels (zeros not stored)."""
    return as_labels(sp.csr_matrix(labels) if not sp.issparse(labels) else labels)


def to_sparse_weights(weights: Any) -> SparseWeights:
    """:class:`SparseWeights` equal to ``weights`` (dense float32 (N, T) or SparseWeights)."""
    if isinstance(weights, SparseWeights):
        return weights
    dense = np.asarray(weights, dtype=np.float32)
    deficit = sp.csr_matrix(1.0 - dense, dtype=np.float32)
    deficit.eliminate_zeros()
    return SparseWeights(np.ones(dense.shape[0], dtype=np.float32), deficit)


def matrix_nbytes(matrix: Any) -> int:
    """Bytes held by a dense array, a CSR matrix or :class:`SparseWeights`."""
    if isinstance(matrix, SparseWeights):
        return matrix.nbytes
    if sp.issparse(matrix):
        csr = matrix.tocsr()
        return int(csr.data.nbytes + csr.indices.nbytes + csr.indptr.nbytes)
    return int(np.asarray(matrix).nbytes)


def sparse_pays(matrix: Any) -> bool:
    """Whether a (N, T) matrix of labels has few enough non-zero entries to be stored as CSR."""
    n, t = matrix.shape
    cells = max(n * t, 1)
    nnz = matrix.nnz if is_sparse(matrix) else int(np.count_nonzero(matrix))
    return nnz <= SPARSE_DENSITY_LIMIT * cells


def take_rows(matrix: Any, rows: np.ndarray) -> Any:
    """Rows of ``matrix`` in the same kind (dense, CSR or SparseWeights)."""
    rows = np.asarray(rows)
    if is_sparse(matrix):
        return matrix[rows]
    return np.asarray(matrix)[rows]


def dense_rows(matrix: Any, rows: np.ndarray) -> np.ndarray:
    """float32 (B, T) rows of a numpy array, memory map, CSR matrix or :class:`SparseWeights`."""
    part = matrix[np.asarray(rows)]
    if hasattr(part, "toarray"):
        part = part.toarray()
    return np.asarray(part, dtype=np.float32)


def task_column(matrix: Any, t: int) -> np.ndarray:
    """Dense float32 (N,) column ``t``."""
    if isinstance(matrix, SparseWeights):
        return (matrix.scale * (1.0 - matrix.deficit[:, [t]].toarray().ravel())).astype(np.float32)
    if sp.issparse(matrix):
        return np.asarray(matrix[:, [t]].toarray(), dtype=np.float32).ravel()
    return np.asarray(matrix[:, t], dtype=np.float32)


def labelled_rows(weights: Any) -> np.ndarray:
    """Rows with at least one weight > 0: bool (N,)."""
    if isinstance(weights, SparseWeights):
        masked = np.asarray(weights.zero_mask().sum(axis=1)).ravel()
        return (weights.scale > 0) & (masked < weights.shape[1])
    return (np.asarray(weights) > 0).any(axis=1)


def take_columns(matrix: Any, columns: np.ndarray) -> Any:
    """Columns (tasks) of ``matrix`` in the same kind (dense, CSR or SparseWeights)."""
    columns = np.asarray(columns)
    if isinstance(matrix, SparseWeights):
        return SparseWeights(matrix.scale, matrix.deficit[:, columns])
    if sp.issparse(matrix):
        return as_labels(matrix.tocsr()[:, columns])
    return np.asarray(matrix)[:, columns]


def scale_rows(weights: Any, factor: np.ndarray) -> Any:
    """Weights with row ``i`` multiplied by ``factor[i]`` (same kind)."""
    factor = np.asarray(factor, dtype=np.float32)
    if isinstance(weights, SparseWeights):
        return SparseWeights(weights.scale * factor, weights.deficit)
    return np.asarray(weights, dtype=np.float32) * factor[:, None]


def label_counts(labels: Any, weights: Any, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Labelled (weight > 0) and positive (label >= 0.5 and labelled) entries per task over ``rows``.

    Args:
        labels: float32 (N, T), dense or CSR.
        weights: float32 (N, T), dense or :class:`SparseWeights`.
        rows: int64 row numbers (None: all rows).

    Returns:
        ``(labelled, positives)``: int64 (T,) each.
    """
    if rows is not None:
        labels, weights = take_rows(labels, rows), take_rows(weights, rows)
    if not is_sparse(labels) and not is_sparse(weights):
        used = np.asarray(weights) > 0
        positive = (np.asarray(labels) >= 0.5) & used
        return used.sum(axis=0).astype(np.int64), positive.sum(axis=0).astype(np.int64)
    labels_csr = to_sparse_labels(labels)
    weights_sparse = to_sparse_weights(weights)
    live = weights_sparse.scale > 0
    zero = weights_sparse.zero_mask()
    zero = sp.diags(live.astype(np.float32)) @ zero.astype(np.float32)  # zeros of rows whose scale is > 0
    used = (live.sum() - np.asarray(zero.sum(axis=0)).ravel()).astype(np.int64)
    positive = sp.csr_matrix(
        (labels_csr.data >= 0.5, labels_csr.indices, labels_csr.indptr), shape=labels_csr.shape, dtype=np.float32
    )
    positive = sp.diags(live.astype(np.float32)) @ positive
    positive = positive - positive.multiply(zero > 0)
    return used, np.rint(np.asarray(positive.sum(axis=0)).ravel()).astype(np.int64)


def place_columns(parts: list[tuple[Any, list[int]]], n_columns: int, *, weights: bool) -> Any:
    """Stack matrices of rows whose columns map into ``n_columns`` output columns; missing cells get 0.

    Args:
        parts: ``(matrix (n_i, T_i), output column of each of its T_i columns)`` in row order.
        n_columns: T of the result.
        weights: the parts are weights (dense or :class:`SparseWeights`), else labels (dense or CSR).

    Returns:
        (sum n_i, n_columns): dense when every part is dense, else CSR labels / :class:`SparseWeights`.
    """
    n = sum(m.shape[0] for m, _ in parts)
    if not any(is_sparse(m) for m, _ in parts):
        out = np.zeros((n, n_columns), dtype=np.float32)
        row = 0
        for matrix, columns in parts:
            out[row : row + matrix.shape[0], columns] = matrix
            row += matrix.shape[0]
        return out
    blocks, scales = [], []
    for matrix, columns in parts:
        spread = sp.csr_matrix(
            (np.ones(len(columns), dtype=np.float32), (np.arange(len(columns)), columns)),
            shape=(len(columns), n_columns),
        )
        if weights:
            part = to_sparse_weights(matrix)
            absent = np.ones(n_columns, dtype=np.float32)
            absent[columns] = 0.0  # a task the part does not label: weight 0 (deficit 1)
            filler = sp.csr_matrix(np.ones((part.shape[0], 1), dtype=np.float32)) @ sp.csr_matrix(absent[None, :])
            blocks.append(part.deficit @ spread + filler)
            scales.append(part.scale)
        else:
            blocks.append(to_sparse_labels(matrix) @ spread)
    stacked = sp.vstack(blocks, format="csr", dtype=np.float32) if blocks else sp.csr_matrix((0, n_columns))
    if weights:
        stacked.eliminate_zeros()
        return SparseWeights(np.concatenate(scales) if scales else np.zeros(0, np.float32), stacked)
    return as_labels(stacked)


def stack_rows(blocks: list[Any], *, weights: bool) -> Any:
    """Row-wise concatenation of blocks of one kind with the same columns (CSR labels or SparseWeights)."""
    if weights:
        return SparseWeights(
            np.concatenate([b.scale for b in blocks]), sp.vstack([b.deficit for b in blocks], format="csr")
        )
    return as_labels(sp.vstack(blocks, format="csr"))


def save_sparse(handle: BinaryIO, matrix: Any) -> None:
    """Write CSR labels or :class:`SparseWeights` (deficit and scale) as ``.npz`` into an open binary file."""
    if isinstance(matrix, SparseWeights):
        csr = matrix.deficit
        extra = {"scale": matrix.scale}
    else:
        csr, extra = matrix.tocsr(), {}
    np.savez(handle, data=csr.data, indices=csr.indices, indptr=csr.indptr, shape=np.asarray(csr.shape), **extra)


def load_sparse(path: Path) -> Any:
    """Read what :func:`save_sparse` wrote."""
    with np.load(path) as stored:
        csr = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"]))
        if "scale" in stored:
            return SparseWeights(stored["scale"], csr)
    return as_labels(csr)
