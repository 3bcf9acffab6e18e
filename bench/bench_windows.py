"""Windows per second from a FASTA to one-hot tensors: seqlab's real data path against the obvious alternatives.

seqlab path: a ``WindowDataset`` over an ``ExampleTable`` of N random 200-bp windows on hg19 chr22
(inside the covered range 17.4-51.2 Mb), iterated by a torch ``DataLoader`` (batch 256, 0 and 2
workers). Every variant yields the same float32 (256, 4, 200) batches (checked once before timing).

Alternatives:

* ``pyfaidx + naive``: ``pyfaidx.Fasta(path)[chrom][start:end]`` and a per-base Python one-hot
  ``np.array([[b == c for c in "ACGT"] for b in seq.upper()])`` (``upper`` because hg19 is
  soft-masked and seqlab encodes lowercase bases like uppercase).
* ``pyfaidx + seqlab one_hot``: the same slicing, seqlab's vectorised encoder.
* ``gzip in memory``: a plain gzip FASTA cannot be read at random (pyfaidx and seqlab refuse it), so
  the whole chromosome is decompressed into a string, then sliced (load time counted).

Variants run interleaved (every repeat runs every variant, in a rotated order), so load from other
jobs on the machine affects all alike; the table shows the median windows/s and its ratio to the
seqlab baseline (bgzip, 0 workers).

    .venv/bin/python bench/bench_windows.py            # defaults: --n 5000 --repeats 5
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import torch
from common import cpu_model, header_text, load_average
from torch.utils.data import DataLoader

from seqlab.data.build import ExampleTable
from seqlab.data.dataset import WindowDataset
from seqlab.data.encoding import one_hot
from seqlab.io.genome import Genome

DEFAULT_GENOME = Path("/work/shared/data/dna/chr22_primates/hg19.chr22.fa.gz")
CHROM = "chr22"
COVERED = (17_400_000, 51_200_000)
WINDOW = 200
BATCH = 256


# --------------------------------------------------------------------------- machine notes






def machine_header(extra: dict[str, object]) -> str:
    rows = {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch threads": torch.get_num_threads(),
        "pyfaidx": pyfaidx.__version__,
        "load average (start, 1/5/15 min)": load_average(),
        **extra,
    }
    return header_text(rows)


# --------------------------------------------------------------------------- data


def random_windows(n: int, seed: int) -> np.ndarray:
    """``n`` random window starts inside the covered part of chr22 (unsorted, like a shuffled epoch)."""
    rng = np.random.default_rng(seed)
    return rng.integers(COVERED[0], COVERED[1] - WINDOW, size=n, dtype=np.int64)


def example_table(starts: np.ndarray, genome: Path) -> ExampleTable:
    n = len(starts)
    frame = pd.DataFrame(
        {
            "genome": "hg19",
            "chrom": CHROM,
            "start": starts,
            "end": starts + WINDOW,
            "strand": "+",
            "split": "train",
            "source": "tiling",
        }
    )
    return ExampleTable(
        frame=frame,
        labels=np.zeros((n, 1), dtype=np.float32),
        weights=np.ones((n, 1), dtype=np.float32),
        tasks=pd.DataFrame({"task": ["bench"]}),
        genomes={"hg19": genome},
    )


def naive_one_hot(sequence: str) -> np.ndarray:
    """The per-base Python one-hot a reader would write first: (L, 4) -> float32 (4, L)."""
    return np.array([[b == c for c in "ACGT"] for b in sequence.upper()], dtype=np.float32).T


def batches(starts: np.ndarray) -> list[np.ndarray]:
    return [starts[i : i + BATCH] for i in range(0, len(starts), BATCH)]


def write_uncompressed(source: Path, folder: Path) -> Path:
    """An uncompressed copy of the bgzip FASTA (and its .fai, built by pyfaidx)."""
    target = folder / "hg19.chr22.fa"
    if not target.is_file():
        with gzip.open(source, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
    pyfaidx.Fasta(str(target)).close()
    return target


def write_plain_gzip(uncompressed: Path, folder: Path) -> Path:
    """A plain (not block) gzip copy, level 6 as ``gzip`` writes it."""
    target = folder / "hg19.chr22.plain.fa.gz"
    if not target.is_file():
        with open(uncompressed, "rb") as src, gzip.open(target, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
    return target


def read_whole_gzip(path: Path) -> dict[str, str]:
    """Every record of a (plain gzip) FASTA as one string per chromosome."""
    records: dict[str, list[str]] = {}
    lines: list[str] = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                lines = records.setdefault(line[1:].split()[0], [])
            else:
                lines.append(line.rstrip())
    return {name: "".join(parts) for name, parts in records.items()}


# --------------------------------------------------------------------------- variants
# Each variant takes the window starts and returns the float32 (B, 4, L) batches it produced.


def seqlab_loader(genome: Path, workers: int) -> Callable[[np.ndarray], list[torch.Tensor]]:
    def run(starts: np.ndarray) -> list[torch.Tensor]:
        dataset = WindowDataset(example_table(starts, genome), split=None)
        loader = DataLoader(dataset, batch_size=BATCH, shuffle=False, num_workers=workers)
        return [batch["x"] for batch in loader]

    return run


def pyfaidx_variant(genome: Path, encoder: Callable[[str], np.ndarray]) -> Callable[[np.ndarray], list[torch.Tensor]]:
    def run(starts: np.ndarray) -> list[torch.Tensor]:
        fasta = pyfaidx.Fasta(str(genome))
        record = fasta[CHROM]
        out = []
        for chunk in batches(starts):
            seqs = [record[int(s) : int(s) + WINDOW].seq for s in chunk]
            out.append(torch.from_numpy(np.stack([encoder(s) for s in seqs])))
        fasta.close()
        return out

    return run


def gzip_in_memory(genome: Path) -> Callable[[np.ndarray], list[torch.Tensor]]:
    def run(starts: np.ndarray) -> list[torch.Tensor]:
        chrom = read_whole_gzip(genome)[CHROM]
        out = []
        for chunk in batches(starts):
            out.append(torch.from_numpy(np.stack([one_hot(chrom[int(s) : int(s) + WINDOW]) for s in chunk])))
        return out

    return run


def fetch_only(genome: Path) -> Callable[[np.ndarray], list[torch.Tensor]]:
    """seqlab ``Genome.fetch`` alone (no encoding, no DataLoader): the reading share of the time."""

    def run(starts: np.ndarray) -> list[torch.Tensor]:
        g = Genome(genome, "hg19")
        for s in starts.tolist():
            g.fetch(CHROM, s, s + WINDOW, pad=True)
        g.close()
        return []

    return run


def encode_only(
    sequences: list[str], encoder: Callable[[str], np.ndarray] = one_hot
) -> Callable[[np.ndarray], list[torch.Tensor]]:
    """An encoder + stack alone, on sequences read beforehand: the encoding share."""

    def run(starts: np.ndarray) -> list[torch.Tensor]:
        return [
            torch.from_numpy(np.stack([encoder(s) for s in sequences[i : i + BATCH]]))
            for i in range(0, len(sequences), BATCH)
        ]

    return run


# --------------------------------------------------------------------------- main


def same_batches(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="windows per run (default 5000)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default 5)")
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME, help="bgzip FASTA with .fai/.gzi")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the uncompressed/plain-gzip copies")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--no-compression", action="store_true", help="skip the uncompressed/plain-gzip cases")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print("# bench_windows: FASTA -> one-hot float32 (256, 4, 200) batches")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(machine_header({"genome": args.genome, "windows per run": args.n, "repeats": args.repeats, "batch": BATCH}))

    starts = random_windows(args.n, args.seed)
    variants: dict[str, Callable[[np.ndarray], list[torch.Tensor]]] = {
        "seqlab WindowDataset+DataLoader, bgzip, 0 workers": seqlab_loader(args.genome, 0),
        "seqlab WindowDataset+DataLoader, bgzip, 2 workers": seqlab_loader(args.genome, 2),
        "pyfaidx slice + naive one-hot, bgzip": pyfaidx_variant(args.genome, naive_one_hot),
        "pyfaidx slice + seqlab one_hot, bgzip": pyfaidx_variant(args.genome, one_hot),
    }
    setup_notes: list[str] = []
    tmp_ctx = None
    if not args.no_compression:
        if args.tmp is None:
            tmp_ctx = tempfile.TemporaryDirectory(prefix="seqlab_bench_")
            folder = Path(tmp_ctx.name)
        else:
            folder = args.tmp
            folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        plain = write_uncompressed(args.genome, folder)
        t1 = time.perf_counter()
        plain_gz = write_plain_gzip(plain, folder)
        t2 = time.perf_counter()
        mb = plain.stat().st_size / 1e6, plain_gz.stat().st_size / 1e6
        setup_notes.append(f"uncompressed copy {plain} ({mb[0]:.1f} MB) written in {t1 - t0:.1f} s")
        setup_notes.append(f"plain gzip copy {plain_gz} ({mb[1]:.1f} MB, level 6) written in {t2 - t1:.1f} s")
        t0 = time.perf_counter()
        read_whole_gzip(plain_gz)
        setup_notes.append(f"plain gzip: reading the whole chr22 into memory takes {time.perf_counter() - t0:.2f} s")
        try:
            Genome(plain_gz, "hg19")
            setup_notes.append("seqlab Genome opened the plain gzip FASTA (unexpected)")
        except ValueError as err:
            setup_notes.append(f"seqlab Genome on plain gzip refuses it: {str(err)[:110]}...")
        variants["seqlab WindowDataset+DataLoader, uncompressed, 0 workers"] = seqlab_loader(plain, 0)
        variants["pyfaidx slice + seqlab one_hot, uncompressed"] = pyfaidx_variant(plain, one_hot)
        variants["plain gzip: whole chrom in memory + one_hot (load counted)"] = gzip_in_memory(plain_gz)
        variants["  breakdown: seqlab Genome.fetch only, uncompressed"] = fetch_only(plain)
    sequences = [Genome(args.genome, "hg19").fetch(CHROM, s, s + WINDOW) for s in starts.tolist()]
    variants["  breakdown: seqlab Genome.fetch only, bgzip"] = fetch_only(args.genome)
    variants["  breakdown: seqlab one_hot + stack only (no reading)"] = encode_only(sequences)
    variants["  breakdown: naive one-hot + stack only (no reading)"] = encode_only(sequences, naive_one_hot)

    # Same output everywhere (checked on 600 windows before timing).
    check = starts[:600]
    reference = variants["seqlab WindowDataset+DataLoader, bgzip, 0 workers"](check)
    for name, run in variants.items():
        if "breakdown" in name:
            continue
        if not same_batches(reference, run(check)):
            raise SystemExit(f"variant {name!r} does not give the same batches as seqlab")
    for note in setup_notes:
        print(note)
    print("check: every variant gives the same batches as seqlab on 600 windows (torch.equal)")

    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in order:
            t0 = time.perf_counter()
            variants[name](starts)
            times[name].append(time.perf_counter() - t0)
    load_end = load_average()

    base = statistics.median(args.n / t for t in times[names[0]])
    width = max(len(n) for n in names)
    print()
    print(f"{'variant':<{width}}  {'windows/s':>10}  {'min..max':>17}  {'vs seqlab 0w':>12}")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 17}  {'-' * 12}")
    for name in names:
        rates = [args.n / t for t in times[name]]
        median = statistics.median(rates)
        span = f"{min(rates):,.0f}..{max(rates):,.0f}"
        print(f"{name:<{width}}  {median:>10,.0f}  {span:>17}  {median / base:>11.2f}x")
    print()
    print(f"load average (end, 1/5/15 min)  {load_end}")
    if tmp_ctx is not None:
        tmp_ctx.cleanup()


if __name__ == "__main__":
    main()
