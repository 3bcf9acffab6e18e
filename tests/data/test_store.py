"""The window store: bytes equal the genome slices, reuse and rebuild, batched encoding and augmentation."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from seqlab.config import DataConfig
from seqlab.config.data import StoreConfig
from seqlab.data.batches import (
    StoreDataset,
    StoreSampler,
    _encode_torch,
    augment_draws,
    collate_batch,
    encode_codes,
    window_batches,
)
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.dataset import WindowDataset
from seqlab.data.encoding import encode, reverse_complement_sequence
from seqlab.data.store import WindowStore
from seqlab.data.table import ExampleTable
from seqlab.io.genome import Genome

L = 50
FLANK = 4
SOURCES = [{"kind": "sequences", "sets": [{"fasta": "x.fa", "labels": {"a": 1}}]}]


def _table(genomes: dict, rows: list[tuple], sequences: list[str] | None = None) -> ExampleTable:
    frame = pd.DataFrame(rows, columns=["genome", "chrom", "start", "strand"])
    frame["end"] = frame["start"] + L
    frame["split"] = ["train", "val", "test"] * (len(frame) // 3) + ["train"] * (len(frame) % 3)
    frame["source"] = "x"
    n = len(frame)
    labels = (np.arange(n * 2).reshape(n, 2) % 3 == 0).astype(np.float32)
    return ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["a", "b"]}), sequences, genomes)


@pytest.fixture
def two_genomes(tmp_path, fasta_writer):
    rng = np.random.default_rng(11)
    human = {"chr1": "".join(rng.choice(list("ACGTNacgtRY"), 3000)), "chr2": "".join(rng.choice(list("ACGT"), 900))}
    ape = {"chr1": "".join(rng.choice(list("ACGTacgt"), 2000))}
    return {"hs": fasta_writer(tmp_path / "hs.fa", human), "ape": fasta_writer(tmp_path / "ape.fa", ape)}


ROWS = [
    ("hs", "chr1", -10, "+"),  # off the chromosome start: N
    ("hs", "chr1", 0, "-"),
    ("hs", "chr2", 870, "+"),  # off the end
    ("ape", "chr1", 1500, "-"),  # homolog window on another genome, minus strand
    ("hs", "chr1", 2200, "+"),
    ("hs", "chr2", 3, "-"),
    ("ape", "chr1", 7, "+"),
    ("hs", "chr1", 1000, "+"),
    ("hs", "chr1", 1010, "-"),
]


def _row(store: WindowStore, i: int) -> str:
    """Example ``i`` with ``store.flank`` bases on each side, on its strand (what a shift can reach)."""
    shifts = np.arange(-store.flank, store.flank + 1)
    parts = store.windows(np.full(shifts.size, i), shifts)
    return bytes(parts[:-1, 0]).decode() + bytes(parts[-1]).decode()


def _expected(genomes, row, left, right):
    genome, chrom, start, strand = row
    text = Genome(genomes[genome]).fetch(chrom, start - left, start + L + right, pad=True)
    return reverse_complement_sequence(text) if strand == "-" else text


@pytest.mark.parametrize("block_bp", [64, 1 << 24])
def test_store_rows_equal_the_genome_slices(tmp_path, two_genomes, block_bp):
    table = _table(two_genomes, ROWS)
    store = WindowStore.open_or_build(table, tmp_path / "stores", L, FLANK, block_bp=block_bp)
    assert len(store) == len(ROWS) and store.windows(np.arange(len(ROWS))).shape == (len(ROWS), L)
    for i, row in enumerate(ROWS):
        assert _row(store, i) == _expected(two_genomes, row, FLANK, FLANK)
    assert _row(store, 0)[: FLANK + 10] == "N" * (FLANK + 10)
    # each genome base once: the widened windows of a chromosome merged (1000-1058 and 1006-1064 overlap)
    widened = [(g, c, s - FLANK, s + L + FLANK) for g, c, s, _ in ROWS]
    covered = {g: set() for g in two_genomes}
    for g, c, lo, hi in widened:
        covered[g] |= {(c, p) for p in range(lo, hi)}
    assert store.bases.size == sum(len(v) for v in covered.values()) < len(ROWS) * (L + 2 * FLANK)
    assert [p.name for p in (tmp_path / "stores").iterdir()] == [store.folder.name]  # no temporary left


def test_store_is_reused_and_rebuilt_when_the_fasta_or_coordinates_change(tmp_path, two_genomes, fasta_writer):
    table = _table(two_genomes, ROWS)
    first = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    mtime = (first.folder / "bases.u8").stat().st_mtime_ns
    again = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    assert again.folder == first.folder and (again.folder / "bases.u8").stat().st_mtime_ns == mtime
    # another window length or flank, other coordinates: other stores
    assert WindowStore.open_or_build(table, tmp_path / "s", L, 0).folder != first.folder
    moved = _table(two_genomes, [(*ROWS[0][:2], 5, "+"), *ROWS[1:]])
    assert WindowStore.open_or_build(moved, tmp_path / "s", L, FLANK).folder != first.folder
    # the FASTA changes (same path): rebuilt with the new bases
    fasta_writer(two_genomes["ape"], {"chr1": "G" * 2000})
    os.utime(two_genomes["ape"], ns=(1, 1))
    for index in (".fai",):
        (two_genomes["ape"].parent / (two_genomes["ape"].name + index)).unlink(missing_ok=True)
    rebuilt = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    assert rebuilt.folder != first.folder
    assert _row(rebuilt, 3) == "C" * (L + 2 * FLANK)  # minus strand of all-G
    assert _row(rebuilt, 4) == _row(first, 4)


def test_a_failed_build_leaves_nothing(tmp_path, two_genomes):
    table = _table(two_genomes, ROWS)
    table.frame.loc[2, "end"] += 1
    with pytest.raises(ValueError, match="example 2 .* spans 51 bp, expected window_length 50"):
        WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    assert list((tmp_path / "s").iterdir()) == []


def test_in_memory_sequences_go_through_the_store(tmp_path):
    rng = np.random.default_rng(2)
    sequences = ["".join(rng.choice(list("ACGTNacgt"), L)) for _ in range(7)]
    table = _table({}, [("toy", "chr1", 100 * i, "+") for i in range(7)], sequences)
    store = WindowStore.open_or_build(table, tmp_path / "s", L, 2)
    for i, sequence in enumerate(sequences):
        assert _row(store, i) == "NN" + sequence + "NN"
    changed = _table({}, [("toy", "chr1", 100 * i, "+") for i in range(7)], [sequences[1], *sequences[1:]])
    assert WindowStore.open_or_build(changed, tmp_path / "s", L, 2).folder != store.folder


@pytest.mark.parametrize("path", ["numpy", "torch"])
@pytest.mark.parametrize("encoding", ["onehot", "dinucleotide"])
def test_batch_encoding_equals_encode_of_each_sequence(encoding, path):
    rng = np.random.default_rng(4)
    sequences = ["".join(rng.choice(list("ACGTNacgtnRYKM"), 37)) for _ in range(9)]
    codes = torch.from_numpy(np.frombuffer("".join(sequences).encode(), dtype=np.uint8).reshape(9, 37).copy())
    channels = 4 if encoding == "onehot" else 16
    x = encode_codes(codes, encoding) if path == "numpy" else _encode_torch(codes, encoding, channels)
    assert x.dtype == torch.float32 and x.shape == (9, 4 if encoding == "onehot" else 16, 37)
    for i, sequence in enumerate(sequences):
        assert np.array_equal(x[i].numpy(), encode(sequence, encoding))


def test_store_batches_equal_the_window_dataset(tmp_path, two_genomes):
    table = _table(two_genomes, ROWS)
    store = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    rows = table.split_indices(None)
    dataset = StoreDataset(store, rows, table.labels, table.weights, "onehot")
    reference = WindowDataset(table, None, "onehot")
    items = [8, 3, 0, 5]
    batch = dataset.__getitems__(items)
    assert batch["index"].tolist() == items and batch["index"].dtype == torch.int64
    for k, item in enumerate(items):
        expected = reference[item]
        for key in ("x", "y", "weight"):
            assert torch.equal(batch[key][k], expected[key]), key


@pytest.mark.parametrize("encoding", ["onehot", "dinucleotide"])
def test_window_batches_equal_the_window_dataset_and_write_nothing(tmp_path, two_genomes, encoding):
    # prediction reads an in-memory store: the same windows as the per-window dataset, genome or sequences
    rng = np.random.default_rng(5)
    sequences = ["".join(rng.choice(list("ACGTNacgt"), L)) for _ in ROWS]
    for table in (_table(two_genomes, ROWS), _table({}, ROWS, sequences)):
        reference = WindowDataset(table, None, encoding)
        batches = list(window_batches(table, L, encoding, batch_size=4))
        assert [b.shape[0] for b in batches] == [4, 4, 1]
        x = torch.cat(batches)
        for row in range(len(ROWS)):
            assert torch.equal(x[row], reference[row]["x"]), row
    before = sorted(tmp_path.rglob("*"))  # after the FASTA indexes were written
    assert WindowStore.in_memory(_table(two_genomes, ROWS), L).meta["in_memory"]
    assert sorted(tmp_path.rglob("*")) == before


def test_augmentation_is_a_shift_and_flip_of_the_genome_window(tmp_path, two_genomes):
    table = _table(two_genomes, ROWS)
    store = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    dataset = StoreDataset(store, table.split_indices(None), table.labels, table.weights, "onehot",
                           max_shift=FLANK, reverse_complement=True, seed=9, encode=False)  # fmt: skip
    n = len(dataset)
    tokens = [3 * n + i for i in range(n)]  # epoch 3
    batch = dataset.read(tokens)
    shifts, flips = augment_draws(9, 3, np.arange(n), FLANK, True)
    assert 0 < flips.sum() < n and len(set(shifts.tolist())) > 2
    for i, row in enumerate(ROWS):
        whole = _expected(two_genomes, row, FLANK, FLANK)
        window = whole[FLANK + shifts[i] : FLANK + shifts[i] + L]
        assert bytes(batch["codes"][i]).decode() == (reverse_complement_sequence(window) if flips[i] else window)
    # the same rows give the same draws in any batch composition; another epoch gives others
    again = dataset.read(tokens[::-1][:4])
    assert np.array_equal(again["codes"], batch["codes"][::-1][:4])
    assert not np.array_equal(dataset.read([4 * n + i for i in range(n)])["codes"], batch["codes"])


def test_sampler_orders_per_epoch_and_resumes_mid_epoch():
    sampler = StoreSampler(10, seed=1)
    sampler.set_epoch(2)
    full = list(sampler)
    assert sorted(t - 20 for t in full) == list(range(10))
    iterator = iter(sampler)
    [next(iterator) for _ in range(4)]
    state = sampler.state_dict()
    assert state == {"epoch": 2, "position": 4, "seed": 1}
    resumed = StoreSampler(10, seed=1)
    resumed.load_state_dict(state)
    resumed.set_epoch(2)
    assert list(resumed) == full[4:]
    assert list(resumed) == full  # the next pass of the epoch is whole again
    resumed.set_epoch(3)
    assert list(resumed) != [t + 10 for t in full]


def test_datamodule_uses_the_store_by_default(tmp_path, two_genomes):
    table = _table(two_genomes, ROWS)
    config = DataConfig(sources=SOURCES, window_length=L, batch_size=4, augment={"max_shift": 2})
    dm = DnaDataModule(table, config, seed=0, store_dir=tmp_path / "s")
    dm.setup("fit")
    assert isinstance(dm.dataset("train"), StoreDataset) and dm.store.flank == 2
    batch = next(iter(dm.val_dataloader()))
    assert batch["x"].shape == (3, 4, L) and batch["y"].shape == (3, 2)
    plain = DnaDataModule(table, config.model_copy(update={"store": StoreConfig(enabled=False)}), seed=0)
    assert isinstance(plain.dataset("val"), WindowDataset)


def test_reading_a_large_store_keeps_memory_bounded(tmp_path):
    """An epoch over a 16 MB store with memory-mapped labels allocates a batch at a time, not the store.

    Read without encoding (the codes a GPU run transfers); tracemalloc sees numpy's allocations.
    """
    n, width = 16_000, 1000
    table = _table({}, [("toy", "chr1", i, "+") for i in range(3)], ["A" * L] * 3)
    folder = tmp_path / "big"
    folder.mkdir()
    bases = np.memmap(folder / "bases.u8", dtype=np.uint8, mode="w+", shape=(n * width,))
    bases[:] = ord("C")
    bases.flush()
    labels = np.lib.format.open_memmap(tmp_path / "labels.npy", mode="w+", dtype=np.float32, shape=(n, 4))
    store = WindowStore(folder, np.memmap(folder / "bases.u8", dtype=np.uint8, mode="r", shape=(n * width,)),
                        np.arange(n, dtype=np.int64) * width, np.zeros(n, dtype=bool), width, 0, {})  # fmt: skip
    dataset = StoreDataset(store, np.arange(n), labels, labels, "onehot", encode=False)
    sampler = StoreSampler(n, seed=0)
    del table
    tracemalloc.start()
    order = list(sampler)
    for first in range(0, n, 256):
        batch = dataset.__getitems__(order[first : first + 256])
        assert batch["codes"].shape == (len(batch["index"]), width)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_500_000  # a batch is 256 x 1000 bytes of codes; the store is 16 MB


def test_codes_are_encoded_after_the_transfer_and_workers_read_the_same(tmp_path, two_genomes):
    table = _table(two_genomes, ROWS)
    config = DataConfig(sources=SOURCES, window_length=L, batch_size=4, encoding="dinucleotide")
    dm = DnaDataModule(table, config, seed=0, store_dir=tmp_path / "s", workers=2)
    store = dm.window_store()
    raw = StoreDataset(store, np.arange(len(ROWS)), table.labels, table.weights, "dinucleotide", encode=False)
    batch = raw.__getitems__([4, 2, 7])
    assert batch["codes"].dtype == torch.uint8 and "x" not in batch
    moved = dm.on_after_batch_transfer(batch, 0)
    for k, row in enumerate([4, 2, 7]):
        assert np.array_equal(moved["x"][k].numpy(), encode(_expected(two_genomes, ROWS[row], 0, 0), "dinucleotide"))
    with_workers = [b["x"] for b in dm.test_dataloader()]  # 2 worker processes reopen the memory map
    alone = DataLoader(dm.dataset("test"), batch_size=4, collate_fn=collate_batch, num_workers=0)
    assert all(torch.equal(a, b["x"]) for a, b in zip(with_workers, alone, strict=True))


def test_sparse_labels_are_read_a_batch_at_a_time(tmp_path, two_genomes):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    table = _table(two_genomes, ROWS)
    store = WindowStore.open_or_build(table, tmp_path / "s", L, 0)
    dense = StoreDataset(store, np.arange(len(ROWS)), table.labels, table.weights).__getitems__([5, 0, 8])
    sparse = StoreDataset(store, np.arange(len(ROWS)), scipy_sparse.csr_matrix(table.labels),
                          scipy_sparse.csr_matrix(table.weights)).__getitems__([5, 0, 8])  # fmt: skip
    assert torch.equal(sparse["y"], dense["y"]) and sparse["y"].dtype == torch.float32
    assert torch.equal(sparse["y"], torch.from_numpy(table.labels[[5, 0, 8]]))


def test_a_store_finished_by_another_process_is_used(tmp_path, two_genomes, monkeypatch):
    table = _table(two_genomes, ROWS)
    real_replace = os.replace

    def late(src, dst):  # another process renames the same store into place first; ours then fails
        real_replace(src, dst)
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(os, "replace", late)
    store = WindowStore.open_or_build(table, tmp_path / "s", L, 0)
    monkeypatch.undo()
    assert bytes(store.windows([4])[0]).decode() == _expected(two_genomes, ROWS[4], 0, 0)
    assert [p.name for p in (tmp_path / "s").iterdir()] == [store.folder.name]


@pytest.mark.realdata
def test_chr22_primate_store_equals_the_bgzip_genomes(shared_data, tmp_path):
    folder = shared_data / "dna" / "chr22_primates"
    genomes = {"hg19": folder / "hg19.chr22.fa.gz", "gorilla": folder / "gorilla.chr22.fa.gz"}
    rng = np.random.default_rng(0)
    rows = [("hg19", "chr22", int(s), "+") for s in rng.integers(17_400_000, 51_000_000, 40)]
    gorilla = Genome(genomes["gorilla"])
    chrom = next(iter(gorilla.chrom_sizes))
    rows += [("gorilla", chrom, int(s), "-") for s in rng.integers(0, gorilla.chrom_sizes[chrom] - L, 20)]
    table = _table(genomes, rows)
    store = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    for i, row in enumerate(rows):
        assert _row(store, i) == _expected(genomes, row, FLANK, FLANK)


def test_a_store_another_process_finished_during_the_build_is_kept_and_used(tmp_path, two_genomes, monkeypatch):
    # two DDP ranks build the same store: the later one must not remove the one the earlier one published
    import seqlab.data.store as store_module

    table = _table(two_genomes, ROWS)
    write = store_module._write_store
    published = []

    def racing_write(*args, **kwargs):
        if not published:  # the other process finishes first, while this one is still writing
            monkeypatch.setattr(store_module, "_write_store", write)
            pid = os.getpid()
            monkeypatch.setattr(os, "getpid", lambda: pid + 1)  # another process: another temporary folder
            published.append(WindowStore.open_or_build(table, tmp_path / "s", L, FLANK))
            monkeypatch.setattr(os, "getpid", lambda: pid)
        return write(*args, **kwargs)

    monkeypatch.setattr(store_module, "_write_store", racing_write)
    mine = WindowStore.open_or_build(table, tmp_path / "s", L, FLANK)
    (other,) = published
    assert mine.folder == other.folder and other.meta == mine.meta  # the published store, not a rebuilt one
    assert _row(mine, 4) == _row(other, 4)
    assert [p.name for p in (tmp_path / "s").iterdir()] == [other.folder.name]  # no temporary left
