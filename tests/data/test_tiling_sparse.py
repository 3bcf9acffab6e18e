"""Genome tiling with sparse labels and weights: exact against the dense path, and memory far below it."""

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from seqlab.config import DataConfig
from seqlab.data.audit import audit_examples
from seqlab.data.build import ExampleTable, build_examples, deduplicate
from seqlab.data.labels import bin_overlap_labels, label_matrix
from seqlab.data.sparse import (
    SparseWeights,
    dense_rows,
    label_counts,
    labelled_rows,
    scale_rows,
    task_column,
    to_dense,
    to_sparse_weights,
)
from seqlab.data.splits import split_counts
from seqlab.data.windows import tile_genome
from seqlab.io.genome import Genome

ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)


def _genome(path: Path, sizes: dict[str, int], seed: int = 0, n_runs: int = 3) -> Path:
    """A random FASTA (80 columns) with a few runs of N per chromosome."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as handle:
        for chrom, size in sizes.items():
            codes = ACGT[rng.integers(0, 4, size)]
            for start in rng.integers(0, size - 5000, n_runs):
                codes[start : start + int(rng.integers(100, 5000))] = ord("N")
            handle.write(f">{chrom}\n".encode())
            lines = codes[: size - size % 80].reshape(-1, 80)
            body = np.concatenate([lines, np.full((lines.shape[0], 1), ord("\n"), np.uint8)], axis=1)
            handle.write(body.tobytes())
            if size % 80:
                handle.write(codes[size - size % 80 :].tobytes() + b"\n")
    return path


def _tasks(folder: Path, sizes: dict[str, int], n_tasks: int, n_peaks: int, seed: int = 1) -> Path:
    """``n_tasks`` BED files of ``n_peaks`` random peaks (50-1500 bp) each, and the task table."""
    rng = np.random.default_rng(seed)
    chroms = list(sizes)
    rows = ["task\tpeaks"]
    for t in range(n_tasks):
        chrom = rng.choice(chroms, n_peaks)
        length = rng.integers(50, 1500, n_peaks)
        start = np.array([rng.integers(0, sizes[c] - 1500) for c in chrom])
        bed = pd.DataFrame({"chrom": chrom, "start": start, "end": start + length})
        bed.to_csv(folder / f"t{t}.bed", sep="\t", header=False, index=False)
        rows.append(f"t{t}\tt{t}.bed")
    (folder / "tasks.tsv").write_text("\n".join(rows) + "\n")
    return folder / "tasks.tsv"


def _config(tmp_path: Path, sizes: dict[str, int], n_tasks: int, n_peaks: int, **tiling) -> DataConfig:
    fasta = _genome(tmp_path / "g.fa", sizes)
    return DataConfig(
        genomes={"g": {"fasta": fasta}},
        tasks=_tasks(tmp_path, sizes, n_tasks, n_peaks),
        split={"test_chroms": ["chr3"], "val_chroms": ["chr2"]},
        window_length=tiling.pop("window_length", 1000),
        min_overlap=tiling.pop("min_overlap", 1),
        sources=[{"kind": "tiling", **tiling}],
    )


@pytest.mark.parametrize("k", [1, 30, 200])
def test_bin_overlap_labels_equal_the_dense_overlap_rule(k):
    rng = np.random.default_rng(k)
    starts = np.sort(rng.choice(np.arange(0, 100_000, 100), 600, replace=False)).astype(np.int64)
    windows = pd.DataFrame({"chrom": "c", "start": starts, "end": starts + 128})
    peaks = {}
    for t in range(5):
        s = rng.integers(0, 100_000, 40)
        peaks[f"t{t}"] = pd.DataFrame({"chrom": "c", "start": s, "end": s + rng.integers(1, 600, 40)})
    intervals = [(p["start"].to_numpy(), p["end"].to_numpy()) for p in peaks.values()] + [None]
    sparse = bin_overlap_labels(starts, 128, intervals, k)
    assert sparse.shape == (600, 6) and sp.isspmatrix_csr(sparse)
    dense = label_matrix(windows, peaks, k)
    np.testing.assert_array_equal(sparse.toarray()[:, :5], dense)
    assert sparse[:, 5].nnz == 0 and (dense.sum() > 20 or k > 128)  # a 128-bp bin never overlaps by 200


def test_tiling_table_equals_the_dense_path(tmp_path):
    sizes = {"chr1": 60_000, "chr2": 30_000, "chr3": 30_000}
    config = _config(tmp_path, sizes, n_tasks=4, n_peaks=30, bin_size=128, stride=64, min_overlap=20)
    table = build_examples(config)
    assert table.sparse and isinstance(table.weights, SparseWeights)
    assert isinstance(table.frame["chrom"].dtype, pd.CategoricalDtype)
    # the dense reference: every bin at once, label_matrix, the same windows and splits
    bins, _ = tile_genome(Genome(config.genomes["g"].fasta, "g"), 128, 64, list(sizes), 0.01)
    peaks = {f"t{t}": pd.read_csv(tmp_path / f"t{t}.bed", sep="\t", names=["chrom", "start", "end"]) for t in range(4)}
    dense = label_matrix(bins, peaks, 20)
    starts = bins["start"].to_numpy() + 64 - 500
    inside = (starts >= 0) & (starts + 1000 <= bins["chrom"].map(sizes).to_numpy())
    assert len(table) == int(inside.sum()) and table.report["windows_crossing_chrom_end"] == int((~inside).sum())
    np.testing.assert_array_equal(table.frame["start"].to_numpy(), starts[inside])
    np.testing.assert_array_equal(table.labels.toarray(), dense[inside])
    assert table.labels.nnz > 100 and (to_dense(table.weights) == 1).all()
    expected = split_counts(table.frame["split"], dense[inside], np.ones_like(dense[inside]), table.task_names)
    pd.testing.assert_frame_equal(table.counts(), expected)
    assert audit_examples(table).to_dict() == audit_examples(table.to_dense()).to_dict()
    assert table.frame["split"].astype(str).tolist() == [
        {"chr1": "train", "chr2": "val", "chr3": "test"}[c] for c in table.frame["chrom"].astype(str)
    ]


def test_sparse_table_round_trips_and_matches_dense_consumers(tmp_path):
    rng = np.random.default_rng(0)
    n, t = 50, 3
    labels = (rng.random((n, t)) < 0.2).astype(np.float32)
    weights = np.ones((n, t), np.float32)
    weights[3, 1] = 0.0
    weights[7] = 0.5
    frame = pd.DataFrame(
        {
            "genome": "g",
            "chrom": "chr1",
            "start": np.arange(n) * 10 % 300,
            "end": 0,
            "strand": "+",
            "split": rng.choice(["train", "val", "test"], n),
            "source": "tiling",
        }  # fmt: skip
    )
    frame["end"] = frame["start"] + 100  # rows 30.. repeat rows 0..19 (start wraps at 300)
    dense = ExampleTable(frame=frame, labels=labels, weights=weights, tasks=pd.DataFrame({"task": ["a", "b", "c"]}))
    sparse = dense.to_sparse()
    assert sp.isspmatrix_csr(sparse.labels) and sparse.weights.nnz == 1 + 3
    pd.testing.assert_frame_equal(sparse.counts(), dense.counts())
    loaded = ExampleTable.load(sparse.save(tmp_path / "t"))
    assert (tmp_path / "t" / "labels.npz").is_file() and not (tmp_path / "t" / "labels.npy").exists()
    assert loaded.sparse and isinstance(loaded.frame["split"].dtype, pd.CategoricalDtype)
    np.testing.assert_array_equal(to_dense(loaded.weights), weights)
    np.testing.assert_array_equal(to_dense(loaded.labels), labels)
    rows = np.array([5, 3, 7, 7])
    np.testing.assert_array_equal(dense_rows(sparse.weights, rows), weights[rows])
    factor = np.linspace(0, 1, n).astype(np.float32)  # homolog weights scale rows
    np.testing.assert_array_equal(to_dense(scale_rows(sparse.weights, factor)), weights * factor[:, None])
    for t in range(3):
        np.testing.assert_array_equal(task_column(sparse.weights, t), weights[:, t])
        np.testing.assert_array_equal(task_column(sparse.labels, t), labels[:, t])
    masked = sparse.weights.toarray()
    masked[9] = 0.0
    np.testing.assert_array_equal(labelled_rows(to_sparse_weights(masked)), (masked > 0).any(axis=1))
    np.testing.assert_array_equal(to_dense(sparse.subset(rows).labels), labels[rows])
    # deduplicate: the sparse path merges exactly like the dense one
    keep_d, lab_d, w_d, info_d = deduplicate(dense.frame, dense.labels, dense.weights)
    keep_s, lab_s, w_s, info_s = deduplicate(sparse.frame, sparse.labels, sparse.weights)
    assert info_d == info_s and info_d["duplicates_removed"] == 20 and sum(info_d["label_conflicts"]) > 0
    np.testing.assert_array_equal(keep_d, keep_s)
    np.testing.assert_array_equal(to_dense(lab_s), lab_d)
    np.testing.assert_array_equal(to_dense(w_s), w_d)
    # concat: a task one table lacks gets weight 0 in the sparse result as in the dense one
    other = dense.subset(np.arange(5))
    other.tasks = pd.DataFrame({"task": ["c", "b", "d"]})
    both_dense = ExampleTable.concat([dense, other])
    both_sparse = ExampleTable.concat([sparse, other])
    assert both_sparse.sparse and not both_dense.sparse
    np.testing.assert_array_equal(to_dense(both_sparse.labels), both_dense.labels)
    np.testing.assert_array_equal(to_dense(both_sparse.weights), both_dense.weights)
    used, positive = label_counts(both_sparse.labels, both_sparse.weights)
    np.testing.assert_array_equal(used, (both_dense.weights > 0).sum(axis=0))
    np.testing.assert_array_equal(positive, ((both_dense.labels >= 0.5) & (both_dense.weights > 0)).sum(axis=0))


def test_genome_scale_tiling_stays_far_below_the_dense_memory(tmp_path):
    sizes = {"chr1": 20_000_000, "chr2": 10_000_000, "chr3": 10_000_000}  # 40 Mb
    n_tasks = 64
    config = _config(tmp_path, sizes, n_tasks=n_tasks, n_peaks=800, bin_size=128, stride=128, window_length=1024)
    assert sum(Genome(config.genomes["g"].fasta, "g").chrom_sizes.values()) == 40_000_000  # .fai built here
    tracemalloc.start()
    try:
        table = build_examples(config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n = len(table)
    assert 300_000 < n < 312_500 and table.n_tasks == n_tasks
    dense_bytes = 2 * n * n_tasks * 4  # float32 labels and weights
    assert table.sparse and 0 < table.labels.nnz < 0.05 * n * n_tasks
    assert peak < dense_bytes / 5, f"peak {peak / 2**20:.1f} MiB vs dense {dense_bytes / 2**20:.1f} MiB"
    counts = table.counts()
    assert counts["positives"].sum() == table.labels.nnz
    assert counts.groupby("split")["examples"].first().sum() == n


def test_sparse_tiling_batches_equal_the_dense_table(tmp_path):
    from seqlab.data.batches import StoreDataset
    from seqlab.data.dataset import WindowDataset
    from seqlab.data.store import WindowStore

    sizes = {"chr1": 20_000, "chr2": 10_000, "chr3": 10_000}
    config = _config(tmp_path, sizes, n_tasks=3, n_peaks=15, bin_size=100, stride=100, window_length=200)
    table = build_examples(config)
    dense = table.to_dense()
    assert table.sparse and not dense.sparse and table.labels.nnz > 10
    store = WindowStore.open_or_build(table, tmp_path / "stores", 200, 0)
    rows = table.split_indices("train")
    tokens = [int(i) for i in np.flatnonzero(dense.labels[rows].any(axis=1))[:5]] + [0, 1]
    got = StoreDataset(store, rows, table.labels, table.weights).__getitems__(tokens)
    want = StoreDataset(store, rows, dense.labels, dense.weights).__getitems__(tokens)
    for key in ("x", "y", "weight", "index"):
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())
    assert got["y"].sum() > 0
    one, other = WindowDataset(table, "train")[tokens[0]], WindowDataset(dense, "train")[tokens[0]]
    np.testing.assert_array_equal(one["y"].numpy(), other["y"].numpy())
    np.testing.assert_array_equal(one["weight"].numpy(), other["weight"].numpy())
    picked = table.select_tasks(["t2", "t0"])
    assert picked.task_names == ["t2", "t0"] and picked.sparse
    np.testing.assert_array_equal(to_dense(picked.labels), dense.labels[:, [2, 0]])
