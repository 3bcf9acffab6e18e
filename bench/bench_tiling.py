"""Genome tiling at compendium scale: bins/s and memory of the sparse, per-chromosome tiling build.

hg19 chr22 (bgzip) tiled every 128 bp with 1 kb windows, labelled by overlap with the GM12878 peak sets
(CTCF, H3K4me3, POL2). To stand in for a compendium of T experiments the three peak files are repeated
(``--replicas R``: T = 3 R tasks; each copy's peaks shifted by a different multiple of 97 bp so that
the columns differ). For each T, in the same process and interleaved:

* ``sparse``: ``build_tiling`` (per chromosome; N filtering in 512-kb chunks; CSR labels,
  ``SparseWeights``; categorical frame), the builder behind ``data.sources: [{kind: tiling}]``;
* ``dense``: the dense reference: every bin at once (``tile_genome``), ``label_matrix`` (N, T) float32
  and dense weights (N, T) (what the builder did before), with the same windows.

Reported: median wall time and bins/s over ``--repeats`` untraced runs, the peak traced memory
(``tracemalloc``, one extra run each), and the bytes the table holds (frame + labels + weights).
The extrapolation to a 3.1 Gb genome scales bins, time and held bytes by the sequence outside N
(the bins kept here x bin size; hg19 2.86 Gb) and the transient peak (one chromosome at a time) by the
largest chromosome (chr1, 249 Mb).

    .venv/bin/python bench/bench_tiling.py                      # defaults: --replicas 1 16 --repeats 2
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
import pandas as pd
from bench_windows import DEFAULT_GENOME, machine_header
from common import load_average, table_lines

from seqlab.config import DataConfig
from seqlab.data.labels import label_matrix
from seqlab.data.sources import SourceContext
from seqlab.data.sources.common import genome_and_tasks, resolved_peaks
from seqlab.data.sources.tiling import build_tiling
from seqlab.data.sparse import matrix_nbytes
from seqlab.data.table import ExampleTable
from seqlab.data.windows import tile_genome

DEFAULT_PEAKS = Path("/work/shared/data/dna/gm12878_hg19/peaks")
HG19_ACGT_BP = 2_861_343_702  # non-N bases of hg19 (chr1-22, X, Y)
HG19_LARGEST = 249_250_621  # chr1


def write_tasks(folder: Path, peaks: Path, replicas: int) -> Path:
    """A task table of ``3 * replicas`` BED files (each replica's peaks shifted by replica * 97 bp)."""
    rows = ["task\tpeaks\tformat"]
    for path in sorted(peaks.glob("*.narrowPeak.gz")):
        frame = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], names=["chrom", "start", "end"])
        frame = frame[frame["chrom"] == "chr22"]
        name = path.name.split("_")[0]
        for r in range(replicas):
            shifted = frame.assign(start=frame["start"] + 97 * r, end=frame["end"] + 97 * r)
            out = folder / f"{name}_{r}.bed"
            shifted.to_csv(out, sep="\t", header=False, index=False)
            rows.append(f"{name}_{r}\t{out}\tbed")
    (folder / f"tasks_{replicas}.tsv").write_text("\n".join(rows) + "\n")
    return folder / f"tasks_{replicas}.tsv"


def config_for(genome: Path, tasks: Path, bin_size: int, window: int) -> DataConfig:
    return DataConfig(
        genomes={"hg19": {"fasta": genome}},
        tasks=tasks,
        window_length=window,
        sources=[{"kind": "tiling", "bin_size": bin_size, "stride": bin_size, "chroms": ["chr22"]}],
    )


def build_sparse(config: DataConfig) -> tuple[int, int]:
    """(bins, bytes held) of the sparse builder's table."""
    table = build_tiling(config.sources[0], config, SourceContext())
    return len(table), held_bytes(table)


def build_dense(config: DataConfig) -> tuple[int, int]:
    """(bins, bytes held) of the dense reference: all bins, dense (N, T) labels and weights."""
    source = config.sources[0]
    genome, tasks = genome_and_tasks(config, "tiling")
    peaks = resolved_peaks(tasks, genome, {})
    bins, _ = tile_genome(genome, source.bin_size, source.stride, ["chr22"], source.max_n_fraction)
    labels = label_matrix(bins, peaks, config.min_overlap)
    starts = bins["start"].to_numpy() + source.bin_size // 2 - config.window_length // 2
    inside = (starts >= 0) & (starts + config.window_length <= genome.chrom_sizes["chr22"])
    frame = pd.DataFrame(
        {
            "genome": "hg19",
            "chrom": bins["chrom"].to_numpy()[inside],
            "start": starts[inside],
            "end": starts[inside] + config.window_length,
            "strand": "+",
            "split": "train",
            "source": "tiling",
            "origin": "",
        }  # fmt: skip
    )
    labels = labels[inside]
    weights = np.ones_like(labels)
    return len(frame), int(frame.memory_usage().sum()) + labels.nbytes + weights.nbytes


def held_bytes(table: ExampleTable) -> int:
    """Bytes of the frame's columns (object columns: their pointers) and of labels and weights."""
    return int(table.frame.memory_usage().sum()) + matrix_nbytes(table.labels) + matrix_nbytes(table.weights)


def traced_peak(run, config: DataConfig) -> int:
    tracemalloc.start()
    try:
        run(config)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def extrapolation(n_tasks: int, bins: int, bin_size: int, seconds: float, peak: int, held: int) -> str:
    """One line: bins, build time, table and transient memory of a 3.1 Gb genome tiled alike."""
    covered = bins * bin_size  # bp of the FASTA in bins kept (outside N)
    scale = HG19_ACGT_BP / covered
    return (
        f"T={n_tasks}: 3.1 Gb genome ~ {bins * scale / 1e6:,.1f} M bins, build ~ {seconds * scale / 60:,.1f} min on "
        f"one core, table ~ {held * scale / 2**30:,.2f} GiB held (dense labels+weights alone: "
        f"{bins * scale * n_tasks * 8 / 2**30:,.1f} GiB), transient peak ~ "
        f"{(peak - held) * HG19_LARGEST / covered / 2**20:,.0f} MiB above the table (chr1)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME)
    parser.add_argument("--peaks", type=Path, default=DEFAULT_PEAKS)
    parser.add_argument("--bin-size", type=int, default=128)
    parser.add_argument("--window", type=int, default=1024)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # peaks on other chromosomes are dropped with a warning
    print(machine_header({"genome": args.genome, "bin / window": f"{args.bin_size} / {args.window} bp"}))
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for replicas in args.replicas:
            config = config_for(args.genome, write_tasks(Path(tmp), args.peaks, replicas), args.bin_size, args.window)
            times: dict[str, list[float]] = {"sparse": [], "dense": []}
            result: dict[str, tuple[int, int]] = {}
            for repeat in range(args.repeats):
                order = [("sparse", build_sparse), ("dense", build_dense)][:: 1 if repeat % 2 == 0 else -1]
                for name, run in order:
                    start = time.perf_counter()
                    result[name] = run(config)
                    times[name].append(time.perf_counter() - start)
            n_tasks = 3 * replicas
            for name, run in (("sparse", build_sparse), ("dense", build_dense)):
                seconds = statistics.median(times[name])
                bins, held = result[name]
                peak = traced_peak(run, config)
                rows.append((name, str(n_tasks), f"{bins:,}", f"{seconds:.2f}", f"{bins / seconds:,.0f}",
                             f"{peak / 2**20:,.1f}", f"{held / 2**20:,.1f}"))  # fmt: skip
                if name == "sparse":
                    notes.append(extrapolation(n_tasks, bins, args.bin_size, seconds, peak, held))
    header = ("path", "tasks", "bins", "seconds", "bins/s", "peak MiB (traced)", "table MiB")
    print("\n".join(["", *table_lines(header, rows), "", *notes, f"load average (end): {load_average()}"]))


if __name__ == "__main__":
    sys.exit(main())
