"""Windows per second delivered by the window store against WindowDataset, and against what training consumes.

Data paths (each yields float32 (256, 4, 200) one-hot batches of the same N random 200-bp windows on
hg19 chr22, inside the covered range 17.4-51.2 Mb; checked equal before timing):

* ``WindowDataset``: one pyfaidx read + encode per window, torch DataLoader, 0 workers, on the bgzip
  FASTA and on an uncompressed copy.
* ``store``: ``DnaDataModule``'s default path: ``StoreDataset`` over a ``WindowStore`` built from
  the bgzip FASTA (genome bases stored once, windows as offsets: one gather per batch from the
  memory map, one-hot by lookup table), a shuffled ``StoreSampler``, DataLoader with 0 workers; also
  with shift (+-3 bp) and reverse-complement augmentation.
* ``per-window layout (before)``: the same reads from the layout the store had before issue 18
  (every window with its flanks in its own row of an (N, L + 2 flank) memory map, shift by a
  per-row gather), rebuilt here from the same bases so before and after run in one process.

Training consumption: bare training steps (forward, weighted BCE, backward, AdamW) of the DeepBind
``default`` preset on batches of 128 one-hot windows, on one torch thread (as bench_training.py),
in the same process and interleaved with the data paths.

Store build: the time and size of the store of chr22 tiled every 128 bp with 1 kb windows (the
covered range; built from bgzip and from the uncompressed copy): bytes on disk per genome base the
windows cover, against the per-window layout, and the extrapolation to a 3.1 Gb genome tiled alike.

    .venv/bin/python bench/bench_store.py             # defaults: --n 3000 --store-n 60000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from bench_windows import (
    BATCH,
    CHROM,
    COVERED,
    DEFAULT_GENOME,
    WINDOW,
    example_table,
    machine_header,
    random_windows,
    write_uncompressed,
)
from common import load_average
from torch.utils.data import DataLoader

from seqlab.config import DeepBindConfig
from seqlab.data.batches import StoreDataset, StoreSampler, collate_batch
from seqlab.data.dataset import WindowDataset
from seqlab.data.store import WindowStore, complement_bytes
from seqlab.data.table import ExampleTable
from seqlab.losses import weighted_bce_with_logits
from seqlab.models.sequence_model import build_model
from seqlab.training.base import make_data_params

GENOME_BP = 3.1e9
TILE_STRIDE, TILE_WINDOW = 128, 1000


class PerWindowLayout:
    """The store's layout before issue 18: codes uint8 (N, L + 2 flank), one row per window, in a memory map.

    Built from a :class:`WindowStore`'s bases (the same bytes); ``windows`` is the old read: one fancy
    index of whole rows, a per-row gather for shifts, then the reverse complement of flipped rows.
    """

    def __init__(self, store: WindowStore, folder: Path) -> None:
        self.window_length, self.flank = store.window_length, store.flank
        width = self.window_length + 2 * self.flank
        rows = np.arange(len(store))
        whole = np.lib.stride_tricks.sliding_window_view(store.bases, width)[np.asarray(store.offsets) - self.flank]
        minus = np.asarray(store.minus)
        whole[minus] = complement_bytes(whole[minus][:, ::-1])
        codes = np.memmap(folder / "per_window.u8", dtype=np.uint8, mode="w+", shape=(rows.size, width))
        codes[:] = whole
        codes.flush()
        self.codes = np.memmap(folder / "per_window.u8", dtype=np.uint8, mode="r", shape=(rows.size, width))

    @property
    def nbytes(self) -> int:
        """Bytes of the code array (N * (L + 2 flank))."""
        return int(self.codes.size)

    def windows(
        self, rows: np.ndarray, shifts: np.ndarray | None = None, flips: np.ndarray | None = None
    ) -> np.ndarray:
        """uint8 (B, L) windows of ``rows`` shifted along their strand and flipped, as the old store read them."""
        if shifts is None or self.flank == 0:
            out = np.asarray(self.codes[rows, self.flank : self.flank + self.window_length])
        else:
            block = np.asarray(self.codes[rows])
            index = (self.flank + shifts)[:, None] + np.arange(self.window_length, dtype=np.int64)[None, :]
            out = np.take_along_axis(block, index, axis=1)
        if flips is not None and flips.any():
            out[flips] = complement_bytes(out[flips][:, ::-1])
        return out


def window_dataset_path(table: ExampleTable) -> Callable[[], int]:
    def run() -> int:
        loader = DataLoader(WindowDataset(table, split=None), batch_size=BATCH, shuffle=False, num_workers=0)
        return sum(len(batch["x"]) for batch in loader)

    return run


def store_path(table: ExampleTable, store: Any, augment: bool, epoch: list[int]) -> Callable[[], int]:
    dataset = StoreDataset(store, table.split_indices(None), table.labels, table.weights, "onehot",
                           max_shift=3 if augment else 0, reverse_complement=augment)  # fmt: skip
    sampler = StoreSampler(len(dataset), seed=0, shuffle=True)

    def run() -> int:
        epoch[0] += 1
        sampler.set_epoch(epoch[0])
        loader = DataLoader(dataset, batch_size=BATCH, sampler=sampler, collate_fn=collate_batch, num_workers=0)
        return sum(len(batch["x"]) for batch in loader)

    return run


def training_steps(steps: int) -> Callable[[], int]:
    torch.manual_seed(0)
    model = build_model(DeepBindConfig(preset="default"), make_data_params(["bench"], WINDOW, "onehot", "random"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    codes = torch.randint(0, 4, (128, WINDOW))
    x = torch.nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()
    y = (torch.rand(128, 1) < 0.5).float()
    weight = torch.ones_like(y)

    def run() -> int:
        for _ in range(steps):
            loss = weighted_bce_with_logits(model(x), y, weight, None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return steps * 128

    return run


def tiling_table(genome: Path) -> ExampleTable:
    starts = np.arange(COVERED[0], COVERED[1] - TILE_WINDOW, TILE_STRIDE, dtype=np.int64)
    frame = pd.DataFrame({"genome": "hg19", "chrom": CHROM, "start": starts, "end": starts + TILE_WINDOW,
                          "strand": "+", "split": "train", "source": "tiling"})  # fmt: skip
    n = len(frame)
    return ExampleTable(frame, np.zeros((n, 1), np.float32), np.ones((n, 1), np.float32),
                        pd.DataFrame({"task": ["bench"]}), genomes={"hg19": genome})  # fmt: skip


def build_report(label: str, genome: Path, root: Path) -> list[str]:
    table = tiling_table(genome)
    t0 = time.perf_counter()
    store = WindowStore.open_or_build(table, root, TILE_WINDOW, 0, progress=False)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    WindowStore.open_or_build(table, root, TILE_WINDOW, 0)
    reopen = time.perf_counter() - t0
    n, size = len(store), store.nbytes
    frame = table.frame
    covered = int(frame["end"].max() - frame["start"].min())  # one chromosome, windows overlapping: one span
    per_window = n * TILE_WINDOW
    scale = GENOME_BP / covered
    return [
        f"store build, chr22 {COVERED[0] / 1e6:.1f}-{COVERED[1] / 1e6:.1f} Mb tiled every {TILE_STRIDE} bp with "
        f"{TILE_WINDOW} bp windows, {label}: {n:,} windows over {covered:,} bp, {size / 1e6:,.1f} MB "
        f"(bases {store.bases.size / 1e6:,.1f} MB + offsets/strands {(size - store.bases.size) / 1e6:,.1f} MB) = "
        f"{size / covered:.3f} bytes per base (per-window layout: {per_window / 1e6:,.0f} MB, "
        f"{per_window / covered:.2f} bytes per base), built in {seconds:.1f} s; reopened (key check) in {reopen:.2f} s",
        f"  extrapolated to a {GENOME_BP / 1e9:.1f} Gb genome tiled alike: {n * scale / 1e6:,.1f} M windows, "
        f"{size * scale / 1e9:,.1f} GB (per-window layout {per_window * scale / 1e9:,.1f} GB), "
        f"~{seconds * scale / 60:,.0f} min to build at this rate",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="windows per WindowDataset run (default 3000)")
    parser.add_argument("--store-n", type=int, default=60000, help="windows per store run (default 60000)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per run (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME, help="bgzip FASTA with .fai/.gzi")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the uncompressed copy and the stores")
    parser.add_argument("--no-build", action="store_true", help="skip the chr22 tiling store builds")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    print("# bench_store: window store vs WindowDataset vs DeepBind training consumption, 1 torch thread")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(machine_header({"genome": args.genome, "windows per run (WindowDataset / store)": f"{args.n} / "
                          f"{args.store_n}", "repeats": args.repeats, "batch": BATCH}))  # fmt: skip
    tmp_ctx = tempfile.TemporaryDirectory(prefix="seqlab_bench_store_") if args.tmp is None else None
    folder = Path(tmp_ctx.name) if tmp_ctx is not None else args.tmp
    folder.mkdir(parents=True, exist_ok=True)
    plain = write_uncompressed(args.genome, folder)
    notes = []
    table = example_table(random_windows(args.store_n, 1), args.genome)
    t0 = time.perf_counter()
    store = WindowStore.open_or_build(table, folder / "stores", WINDOW, 3, progress=False)
    notes.append(f"store of the {args.store_n:,} random windows (flank 3), bgzip: built in "
                 f"{time.perf_counter() - t0:.2f} s, {store.nbytes / 1e6:.1f} MB")  # fmt: skip
    before = PerWindowLayout(store, folder)
    notes.append(f"per-window layout (before) of the same windows: {before.nbytes / 1e6:.1f} MB")
    genomes = {"bgzip": args.genome, "uncompressed": plain}
    small = {label: example_table(random_windows(args.n, 1), genome) for label, genome in genomes.items()}
    # same batches: store (no augmentation, table order) vs WindowDataset on the first 600 windows
    check = StoreDataset(store, np.arange(600), table.labels, table.weights).__getitems__(list(range(600)))
    reference = torch.cat([b["x"] for b in DataLoader(WindowDataset(table.subset(np.arange(600)), None),
                                                      batch_size=BATCH)])  # fmt: skip
    if not torch.equal(check["x"], reference):
        raise SystemExit("store batches differ from WindowDataset batches")
    notes.append("check: store batches equal WindowDataset batches on 600 windows (torch.equal)")
    augmented = {
        name: StoreDataset(
            layout,
            np.arange(len(table)),
            table.labels,
            table.weights,
            "onehot",
            max_shift=3,
            reverse_complement=True,
            seed=5,
        )  # fmt: skip
        for name, layout in (("after", store), ("before", before))
    }
    tokens = list(range(7 * len(table), 7 * len(table) + 2000))
    if not torch.equal(augmented["after"].__getitems__(tokens)["x"], augmented["before"].__getitems__(tokens)["x"]):
        raise SystemExit("augmented batches of the store differ from those of the per-window layout")
    notes.append("check: augmented store batches equal the per-window layout's on 2,000 windows (torch.equal)")

    epochs = [0]
    variants: dict[str, tuple[Callable[[], int], str]] = {
        "WindowDataset, bgzip": (window_dataset_path(small["bgzip"]), "data"),
        "WindowDataset, uncompressed": (window_dataset_path(small["uncompressed"]), "data"),
        "store, shuffled": (store_path(table, store, False, epochs), "data"),
        "store, shuffled + shift/RC augmentation": (store_path(table, store, True, epochs), "data"),
        "per-window layout (before), shuffled": (store_path(table, before, False, epochs), "data"),
        "per-window layout (before), shuffled + shift/RC": (store_path(table, before, True, epochs), "data"),
        "training consumption: DeepBind default, batch 128": (training_steps(args.steps), "train"),
    }
    names = list(variants)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in order:
            t0 = time.perf_counter()
            count = variants[name][0]()
            rates[name].append(count / (time.perf_counter() - t0))
        print(f"done: repeat {repeat + 1}/{args.repeats} (load average now {load_average()})", flush=True)
    for note in notes:
        print(note)
    train = statistics.median(rates[names[-1]])
    width = max(len(n) for n in names)
    print()
    print(f"{'path':<{width}}  {'windows/s':>10}  {'min..max':>19}  {'x training':>10}")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 19}  {'-' * 10}")
    for name in names:
        median = statistics.median(rates[name])
        span = f"{min(rates[name]):,.0f}..{max(rates[name]):,.0f}"
        print(f"{name:<{width}}  {median:>10,.0f}  {span:>19}  {median / train:>9.1f}x")
    print()
    if not args.no_build:
        for label, genome in (("bgzip", args.genome), ("uncompressed", plain)):
            for line in build_report(label, genome, folder / "tiling"):
                print(line, flush=True)
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    print(f"load average (end, 1/5/15 min)  {load_average()}")
    if tmp_ctx is not None:
        tmp_ctx.cleanup()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
