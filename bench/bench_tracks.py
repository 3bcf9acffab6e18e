"""bigWig to quantitative targets: bins/s (one thread) and memory for chr22 at 128-bp bins x 64 tracks.

The bundle's STAT1 bigWig (hg19 chr22, 295k runs over 16.05-30 Mb) stands in for each of ``--tracks``
tasks (the same file named T times). Two measurements, each the median of ``--repeats`` untraced runs,
then one traced run for the peak (``tracemalloc``, which sees numpy's buffers):

* ``core``: per track, read the chromosome's runs (``Track.intervals``) and sum every 128-bp bin of the
  whole chromosome (``TrackIntervals.bin_sums``) into a float32 (bins, T) array: bins x T / s.
* ``source``: the ``tracks`` source (``build_tracks``) over chr22 with 1-kb windows, one 128-bp bin per
  window, tiled every 128 bp: the N filter from the FASTA, splits, targets, coverage drops.

Held bytes are those of the result (target array; for the source also frame and weights).

    .venv/bin/python bench/bench_tracks.py                      # defaults: --tracks 64 --repeats 2
"""

from __future__ import annotations

import argparse
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


def timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


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
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_header({"bigWig": args.bigwig.name, "tracks x bin": f"{args.tracks} x {args.bin_size} bp"}))
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
    header = ("build", "bins (windows)", "s (median)", "bins x tracks / s", "held MiB", "peak traced MiB")
    print("\n".join(["", *table_lines(header, rows), "", f"load average (end): {load_average()}"]))


if __name__ == "__main__":
    sys.exit(main())
