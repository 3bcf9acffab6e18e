"""``kind: tiling``: bins tiled over chromosomes, labelled by overlap with every task's peaks.

The input window is ``window_length`` bp centred on the labelled bin; bins with more N than
``max_n_fraction`` are dropped (counted per chromosome).

The build runs one chromosome at a time: its bins are filtered for N from the FASTA in chunks
(:func:`~seqlab.data.windows.tile_genome`), labelled sparsely (:func:`~seqlab.data.labels.bin_overlap_labels`)
and split; no dense (N, T) array is made and no sequence is kept. The table holds labels as CSR and
weights as :class:`~seqlab.data.sparse.SparseWeights` (all 1) unless the labels are dense enough that
a dense matrix is smaller; the frame's string columns are categoricals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from seqlab.config import DataConfig, TilingSourceConfig
from seqlab.data.labels import bin_overlap_labels
from seqlab.data.sources.common import apply_splits, genome_and_tasks, resolved_peaks
from seqlab.data.sources.registry import SourceContext
from seqlab.data.sparse import SparseWeights, as_labels, sparse_pays
from seqlab.data.splits import SPLITS, assign_splits
from seqlab.data.table import FRAME_COLUMNS, ExampleTable
from seqlab.data.windows import TilingStats, tile_genome
from seqlab.io.genome import Genome

__all__ = ["build_tiling", "peaks_by_chrom"]


def peaks_by_chrom(peaks: dict[str, pd.DataFrame]) -> dict[str, list[tuple[np.ndarray, np.ndarray] | None]]:
    """Chromosome -> per task (in ``peaks`` order) the int64 ``(starts, ends)`` of its peaks there, or None."""
    out: dict[str, list[tuple[np.ndarray, np.ndarray] | None]] = {}
    for t, frame in enumerate(peaks.values()):
        for chrom, group in frame.groupby(frame["chrom"].astype(str), sort=False):
            entry = out.setdefault(str(chrom), [None] * len(peaks))
            entry[t] = (group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64))
    return out


_SPLIT_BLOCK = 1 << 16  # rows split at once (splitting makes per-row strings)


def _chrom_part(
    genome: Genome,
    chrom: str,
    source: TilingSourceConfig,
    config: DataConfig,
    intervals: list[tuple[np.ndarray, np.ndarray] | None],
    report: dict[str, Any],
    stats: TilingStats,
) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """int64 (n,) window starts, int8 (n,) split codes (index in :data:`SPLITS`) and CSR labels of one chromosome."""
    bins, part = tile_genome(genome, source.bin_size, source.stride, [chrom], source.max_n_fraction, 1 << 19)
    stats.n_bins += part.n_bins
    stats.n_dropped_n += part.n_dropped_n
    stats.per_chrom.update(part.per_chrom)
    bin_starts = bins["start"].to_numpy(np.int64)
    del bins
    labels = bin_overlap_labels(bin_starts, source.bin_size, intervals, config.min_overlap)
    starts = bin_starts + source.bin_size // 2 - config.window_length // 2  # window centred on the bin
    crossing = (starts < 0) | (starts + config.window_length > genome.chrom_sizes[chrom])
    report["windows_crossing_chrom_end"] += int(crossing.sum())
    kept = np.flatnonzero(~crossing) if config.chrom_end == "drop" else np.arange(bin_starts.size)
    rows, codes = [], []
    for first in range(0, kept.size, _SPLIT_BLOCK):
        block = starts[kept[first : first + _SPLIT_BLOCK]]
        frame = pd.DataFrame(
            {"genome": genome.name, "chrom": chrom, "start": block, "end": block + config.window_length}
        )
        split, taken = apply_splits(frame, config, report)
        rows.append(kept[first + taken])
        codes.append(pd.Categorical(split["split"], categories=list(SPLITS)).codes.astype(np.int8))
    chosen = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return starts[chosen], np.concatenate(codes) if codes else np.zeros(0, np.int8), labels[chosen]


def _frame(
    starts: list[np.ndarray], splits: list[np.ndarray], chroms: list[str], genome: str, length: int
) -> pd.DataFrame:
    """The table frame of every chromosome's windows, string columns categorical (1 byte a row)."""
    start = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    chrom = np.repeat(np.arange(len(chroms), dtype=np.int16), [s.size for s in starts])

    def constant(value: str) -> pd.Categorical:
        return pd.Categorical.from_codes(np.zeros(start.size, dtype=np.int8), categories=[value])

    columns = {
        "genome": constant(genome),
        "chrom": pd.Categorical.from_codes(chrom, categories=chroms),
        "start": start,
        "end": start + length,
        "strand": constant("+"),
        "split": pd.Categorical.from_codes(np.concatenate(splits) if splits else np.zeros(0, np.int8), list(SPLITS)),
        "source": constant("tiling"),
        "origin": constant(""),
    }
    return pd.DataFrame(columns)[FRAME_COLUMNS]


def build_tiling(source: TilingSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Tiling bins of the reference genome (``source: tiling``), one window per bin, built per chromosome."""
    genome, tasks = genome_and_tasks(config, "tiling")
    report: dict[str, Any] = {
        "kind": "tiling",
        "excluded_chrom_dropped": 0,
        "region_gap_dropped": 0,
        "windows_crossing_chrom_end": 0,
    }
    peaks = resolved_peaks(tasks, genome, report)
    by_chrom = peaks_by_chrom(peaks)
    chroms = [genome.resolve(c) for c in source.chroms] if source.chroms else list(genome.chrom_sizes)
    chroms = [c for c, s in zip(chroms, assign_splits(chroms, config.split), strict=True) if s != ""]
    stats = TilingStats()
    starts, splits, blocks = [], [], []
    empty: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(tasks)
    for chrom in chroms:
        start, split, labels = _chrom_part(genome, chrom, source, config, by_chrom.get(chrom, empty), report, stats)
        starts.append(start)
        splits.append(split)
        blocks.append(labels)
    report["tiling"] = stats.to_dict()
    if stats.n_bins == 0:
        raise ValueError(
            f"tiling produced no bins: chromosomes {chroms[:10]} have no {source.bin_size}-bp bin with at most "
            f"{source.max_n_fraction:.0%} N"
        )
    frame = _frame(starts, splits, chroms, genome.name, config.window_length)
    labels = as_labels(sp.vstack(blocks, format="csr"))
    report["label_density"] = float(labels.nnz / max(labels.shape[0] * labels.shape[1], 1))
    sparse = sparse_pays(labels)
    return ExampleTable(
        frame=frame,
        labels=labels if sparse else labels.toarray(),
        weights=SparseWeights.ones(len(frame), len(tasks)) if sparse else np.ones(labels.shape, np.float32),
        tasks=tasks,
        genomes={genome.name: genome.path},
        report=report,
    )
