"""bigWig to quantitative targets: bins/s (one thread) and memory for chr22 at 128-bp bins x 64 tracks.

The bundle's STAT1 bigWig (hg19 chr22, 295k runs over 16.05-30 Mb) stands in for each of ``--tracks``
tasks (the same file named T times). Two measurements, each the median of ``--repeats`` untraced runs,
then one traced run for the peak (``tracemalloc``, which sees numpy's buffers):

* ``core``: per track, read the chromosome's runs (``Track.intervals``) and sum every 128-bp bin of the
  whole chromosome (``TrackIntervals.bin_sums``) into a float32 (bins, T) array: bins x T / s.
* ``source``: the ``tracks`` source (``build_tracks``) over chr22 with 1-kb windows, one 128-bp bin per
  window, tiled every 128 bp: the N filter from the FASTA, splits, targets, coverage drops.

Held bytes are those of the result (target array; for the source also frame and weights).

Then the comparison the issue asks for, in the same process:

* ``batches``: the source build plus cutting its targets into shuffled float32 (batch, T, B) torch
  batches, as a training loader hands them over: bins x T / s from bigWig to batches;
* ``deepbind``: a regression DeepBind (default DeepBind trunk + one linear layer to T x B outputs, MSE,
  Adam) forward + backward + step on (batch, 4, window) one-hot batches, one thread: the bins x T / s it
  consumes. The ratio batches / deepbind is the supply margin (goal >= 10).

Every time is CPU time of this process (``time.process_time``; one thread, so it is the work done), not
wall time: on a shared machine the wall time of two measurements a minute apart depends on what else
runs, and the ratio with it.

The process runs with glibc's malloc keeping freed memory (``seqlab.memory.keep_freed_memory``), as a
training run does by default (``hardware.keep_freed_memory``); ``--plain-malloc`` measures without it.

The process's peak RSS (``ru_maxrss``) closes the report.

    .venv/bin/python bench/bench_tracks.py                      # defaults: --tracks 64 --repeats 2 --batch-size 128
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_windows import machine_header
from common import load_average, table_lines

from seqlab.config import DataConfig
from seqlab.data.sources import SourceContext
from seqlab.data.sources.tracks import build_tracks
from seqlab.io.tracks import Track
from seqlab.memory import keep_freed_memory

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dna"
BIGWIG = DATA / "tracks_chr22" / "GM12878_Stat1.chr22_1-30000000.bigWig"
GENOME = DATA / "chr22_primates" / "hg19.chr22.fa.gz"


def core(bigwig: Path, n_tracks: int, bin_size: int) -> np.ndarray:
    """float32 (bins, T): every ``bin_size`` bin of chr22, per track, from its bigWig runs."""
    track = Track(bigwig)
    size = track.chrom_sizes["chr22"]
    starts = np.arange(0, size - bin_size + 1, bin_size, dtype=np.int64)
    out = np.empty((starts.size, n_tracks), np.float32)
    for t in range(n_tracks):
        sums, _ = Track(bigwig).intervals("chr22").bin_sums(starts, 1, bin_size)
        out[:, t] = sums[:, 0] / bin_size
    return out


def source_build(folder: Path, bigwig: Path, genome: Path, n_tracks: int, bin_size: int):
    """The ``tracks`` source's table over chr22 (T tasks naming ``bigwig``)."""
    tasks = folder / "tasks.tsv"
    tasks.write_text("task\ttrack\n" + "".join(f"T{i}\t{bigwig}\n" for i in range(n_tracks)))
    config = DataConfig.model_validate(
        {
            "genomes": {"hg19": {"fasta": str(genome)}},
            "tasks": str(tasks),
            "window_length": 1000,
            "split": {"val_chroms": [], "test_chroms": []},
            "sources": [{"kind": "tracks", "bin_size": bin_size}],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_tracks(config.sources[0], config, SourceContext())


def batches(folder: Path, bigwig: Path, genome: Path, n_tracks: int, bin_size: int, batch_size: int) -> int:
    """Build the source's table and cut its targets into shuffled torch batches; the windows batched."""
    table = source_build(folder, bigwig, genome, n_tracks, bin_size)
    order = np.random.default_rng(0).permutation(len(table))
    for first in range(0, order.size, batch_size):
        rows = np.sort(order[first : first + batch_size])
        targets = torch.from_numpy(table.targets[rows])
        weights = torch.from_numpy(np.asarray(table.weights[rows], np.float32))
        assert targets.shape[1] == weights.shape[1] == n_tracks
    return len(table)


def deepbind_rate(n_tracks: int, n_bins: int, window: int, batch_size: int, steps: int) -> float:
    """Bins x T per second a regression DeepBind consumes (forward, backward, Adam step; median step)."""
    from seqlab.models.trunks import build_trunk

    trunk = build_trunk({"arch": "deepbind"}, 4, window)
    model = torch.nn.Sequential(trunk, torch.nn.Linear(trunk.out_features, n_tracks * n_bins))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (batch_size, window)), 4).permute(0, 2, 1).float()
    y = torch.rand(batch_size, n_tracks * n_bins)
    times = []
    for _ in range(steps + 2):
        start = time.process_time()
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        times.append(time.process_time() - start)
    return batch_size * n_tracks * n_bins / statistics.median(times[2:])


def timed(run) -> tuple[float, object]:
    """CPU seconds of ``run()`` in this process, and its result."""
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def traced_peak(run) -> int:
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bigwig", type=Path, default=BIGWIG)
    parser.add_argument("--genome", type=Path, default=GENOME)
    parser.add_argument("--tracks", type=int, default=64)
    parser.add_argument("--bin-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="DeepBind steps timed")
    parser.add_argument("--plain-malloc", action="store_true", help="leave glibc's malloc as it is")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    kept = False if args.plain_malloc else keep_freed_memory()
    print(
        machine_header(
            {
                "bigWig": args.bigwig.name,
                "tracks x bin": f"{args.tracks} x {args.bin_size} bp",
                "malloc keeps freed memory": str(kept),
            }
        )
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "core": lambda: core(args.bigwig, args.tracks, args.bin_size),
            "source": lambda: source_build(Path(tmp), args.bigwig, args.genome, args.tracks, args.bin_size),
        }
        for name, run in runs.items():
            results = [timed(run) for _ in range(args.repeats)]
            seconds = statistics.median(s for s, _ in results)
            result = results[-1][1]
            if name == "core":
                bins, held = result.shape[0], result.nbytes
            else:
                bins = len(result)
                held = result.targets.nbytes + result.weights.nbytes + int(result.frame.memory_usage(deep=True).sum())
            peak = traced_peak(run)
            rate = bins * args.tracks / seconds
            rows.append(
                (
                    name,
                    f"{bins:,}",
                    f"{seconds:.2f}",
                    f"{rate / 1e6:.2f} M",
                    f"{held / 2**20:.0f}",
                    f"{peak / 2**20:.0f}",
                )
            )
        supply = comparison(Path(tmp), args)
    header = ("build", "bins (windows)", "s (median)", "bins x tracks / s", "held MiB", "peak traced MiB")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print("\n".join(["", *table_lines(header, rows), "", *supply, f"peak RSS (process): {peak_rss:.0f} MiB",
                     f"load average (end): {load_average()}"]))  # fmt: skip


def comparison(folder: Path, args: argparse.Namespace) -> list[str]:
    """Lines: bins x T / s into batches, consumed by a regression DeepBind (1 kb windows, one bin), ratio."""
    seconds, windows = timed(
        lambda: batches(folder, args.bigwig, args.genome, args.tracks, args.bin_size, args.batch_size)
    )
    supply = windows * args.tracks / seconds
    demand = deepbind_rate(args.tracks, 1, 1000, args.batch_size, args.steps)
    return [
        f"bigWig -> batches: {windows:,} windows x {args.tracks} tracks in {seconds:.2f} s "
        f"= {supply / 1e6:.3f} M bins/s",
        f"regression DeepBind consumes (batch {args.batch_size}, 1 kb, fwd+bwd+step): {demand / 1e6:.4f} M bins/s",
        f"supply / demand: {supply / demand:.1f}x",
    ]


if __name__ == "__main__":
    sys.exit(main())
