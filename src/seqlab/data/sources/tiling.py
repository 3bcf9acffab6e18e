"""``kind: tiling``: bins tiled over chromosomes, labelled by overlap with every task's peaks.

The input window is ``window_length`` bp centred on the labelled bin; bins with more N than
``max_n_fraction`` are dropped (counted per chromosome).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig, TilingSourceConfig
from seqlab.data.labels import label_matrix
from seqlab.data.sources import SourceContext, register_source
from seqlab.data.sources.common import apply_splits, genome_and_tasks, resolved_peaks
from seqlab.data.splits import assign_splits
from seqlab.data.table import ExampleTable, finish_frame
from seqlab.data.windows import tile_genome

__all__ = ["build_tiling"]


@register_source("tiling")
def build_tiling(source: TilingSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Tiling bins of the reference genome (``source: tiling``), one window per bin."""
    genome, tasks = genome_and_tasks(config, "tiling")
    report: dict[str, Any] = {"kind": "tiling", "excluded_chrom_dropped": 0, "region_gap_dropped": 0}
    peaks = resolved_peaks(tasks, genome, report)
    chroms = [genome.resolve(c) for c in source.chroms] if source.chroms else list(genome.chrom_sizes)
    chroms = [c for c, s in zip(chroms, assign_splits(chroms, config.split), strict=True) if s != ""]
    bins, stats = tile_genome(genome, source.bin_size, source.stride, chroms, source.max_n_fraction)
    report["tiling"] = stats.to_dict()
    if bins.empty:
        raise ValueError(
            f"tiling produced no bins: chromosomes {chroms[:10]} have no {source.bin_size}-bp bin with at most "
            f"{source.max_n_fraction:.0%} N"
        )
    labels = label_matrix(bins, peaks, config.min_overlap)
    # the input window is window_length bp centred on the labelled bin
    sizes = bins["chrom"].map(genome.chrom_sizes).to_numpy(dtype=np.int64)
    starts = (bins["start"].to_numpy() + bins["end"].to_numpy()) // 2 - config.window_length // 2
    ends = starts + config.window_length
    crossing = (starts < 0) | (ends > sizes)
    report["windows_crossing_chrom_end"] = int(crossing.sum())
    kept = np.flatnonzero(~crossing) if config.chrom_end == "drop" else np.arange(len(bins))
    frame = pd.DataFrame({"chrom": bins["chrom"].to_numpy()[kept], "start": starts[kept], "end": ends[kept]})
    frame = frame.assign(genome=genome.name, strand="+", source="tiling")
    frame, rows = apply_splits(frame, config, report)
    return ExampleTable(
        frame=finish_frame(frame),
        labels=labels[kept][rows],
        weights=np.ones((rows.size, len(tasks)), dtype=np.float32),
        tasks=tasks,
        genomes={genome.name: genome.path},
        report=report,
    )
