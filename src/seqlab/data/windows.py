"""Fixed-length windows: centred on peaks (summit or centre), or tiled over chromosomes.

Every function counts what it dropped or changed (summit fall-backs, windows crossing a chromosome
end, unknown chromosomes, N-rich bins) so that the build report can say so.
Coordinates are 0-based, half-open; windows are ``[c - L//2, c - L//2 + L)`` around centre ``c``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from seqlab.io.genome import Genome

__all__ = [
    "TilingStats",
    "WindowStats",
    "center_windows",
    "make_windows",
    "sequence_content",
    "tile_genome",
]

# byte -> 1 for G/C (any case), for A/C/G/T (any case), for N-like (anything else)
_IS_GC = np.zeros(256, dtype=np.int8)
_IS_ACGT = np.zeros(256, dtype=np.int8)
for _base in b"GCgc":
    _IS_GC[_base] = 1
for _base in b"ACGTacgt":
    _IS_ACGT[_base] = 1
_IS_NOT_ACGT = (1 - _IS_ACGT).astype(np.int8)


@dataclass
class WindowStats:
    """What :func:`make_windows` did to a set of intervals."""

    n_input: int = 0
    n_summit_fallback: int = 0
    n_unknown_chrom: int = 0
    unknown_chroms: list[str] = field(default_factory=list)
    n_chrom_end: int = 0
    n_dropped_chrom_end: int = 0
    n_padded_chrom_end: int = 0
    n_output: int = 0

    def to_dict(self) -> dict[str, object]:
        """Plain-dict (JSON-able) copy."""
        return asdict(self)


@dataclass
class TilingStats:
    """What :func:`tile_genome` produced, per chromosome and in all."""

    n_bins: int = 0
    n_dropped_n: int = 0
    per_chrom: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain-dict (JSON-able) copy."""
        return asdict(self)


def sequence_content(sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction and N fraction of each sequence, vectorised over all of them at once.

    Returns:
        ``(gc, n_fraction)``, float64 arrays of shape (N,). ``gc`` is (G+C)/(A+C+G+T), NaN for a
        sequence without any A/C/G/T; ``n_fraction`` counts every non-ACGT symbol (0 for empty).
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    codes = np.frombuffer("".join(sequences).encode("ascii", errors="replace"), dtype=np.uint8)
    gc_cum = np.concatenate([[0], np.cumsum(_IS_GC[codes], dtype=np.int64)])
    acgt_cum = np.concatenate([[0], np.cumsum(_IS_ACGT[codes], dtype=np.int64)])
    gc_count = gc_cum[offsets[1:]] - gc_cum[offsets[:-1]]
    acgt_count = acgt_cum[offsets[1:]] - acgt_cum[offsets[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        gc = np.where(acgt_count > 0, gc_count / np.maximum(acgt_count, 1), np.nan)
        n_fraction = np.where(lengths > 0, (lengths - acgt_count) / np.maximum(lengths, 1), 0.0)
    return gc, n_fraction


def center_windows(
    intervals: pd.DataFrame, length: int, center: Literal["summit", "center"] = "summit"
) -> tuple[np.ndarray, int]:
    """Start of the window of ``length`` bp centred on each interval's summit or centre.

    Args:
        intervals: ``start``, ``end`` (int) and, for summit centring, ``summit`` (offset from
            ``start``, -1 = none). Without a summit column every interval uses its centre.
        length: window length L in bp.
        center: 'summit' or 'center'; the centre is ``(start + end) // 2``.

    Returns:
        ``(starts, n_fallback)``: int64 (N,) window starts ``c - L//2``, and how many intervals
        were asked for a summit but had none (centre used instead).
    """
    start = intervals["start"].to_numpy(dtype=np.int64)
    end = intervals["end"].to_numpy(dtype=np.int64)
    mid = (start + end) // 2
    if center == "summit":
        summit = (
            intervals["summit"].to_numpy(dtype=np.int64)
            if "summit" in intervals.columns
            else np.full(start.size, -1, dtype=np.int64)
        )
        has = summit >= 0
        centres = np.where(has, start + summit, mid)
        n_fallback = int((~has).sum())
    else:
        centres, n_fallback = mid, 0
    return centres - length // 2, n_fallback


def make_windows(
    intervals: pd.DataFrame,
    genome: Genome,
    length: int,
    center: Literal["summit", "center"] = "summit",
    chrom_end: Literal["drop", "pad"] = "drop",
) -> tuple[pd.DataFrame, WindowStats]:
    """Fixed-length windows around intervals, with chromosome names resolved through the genome.

    Args:
        intervals: frame from :func:`seqlab.io.intervals.read_intervals` (``chrom``, ``start``,
            ``end``, optional ``summit``).
        genome: names are resolved (``1`` -> ``chr1``) and lengths checked against it.
        length: window length in bp.
        center: centre on the narrowPeak summit (fall back to the centre when -1) or the centre.
        chrom_end: windows crossing a chromosome end are dropped, or kept ('pad': the part off the
            chromosome reads as N).

    Returns:
        ``(windows, stats)``: windows has ``chrom`` (the genome's name), ``start``, ``end`` (int64)
        in input order, minus dropped rows, indexed by the input row's position; stats counts
        fall-backs and drops. Intervals on chromosomes the genome lacks are dropped and counted
        (``unknown_chroms`` names them).
    """
    stats = WindowStats(n_input=len(intervals))
    starts, stats.n_summit_fallback = center_windows(intervals, length, center)
    mapping = genome.resolve_many(intervals["chrom"].astype(str).unique().tolist())
    sizes = genome.chrom_sizes
    chrom = intervals["chrom"].astype(str).map(mapping)
    known = chrom.notna().to_numpy()
    stats.unknown_chroms = sorted(name for name, alias in mapping.items() if alias is None)
    stats.n_unknown_chrom = int((~known).sum())
    chrom_size = chrom.map(sizes).fillna(0).to_numpy(dtype=np.int64)
    ends = starts + length
    crossing = known & ((starts < 0) | (ends > chrom_size))
    stats.n_chrom_end = int(crossing.sum())
    keep = known.copy()
    if chrom_end == "drop":
        keep &= ~crossing
        stats.n_dropped_chrom_end = stats.n_chrom_end
    else:
        stats.n_padded_chrom_end = stats.n_chrom_end
    windows = pd.DataFrame(
        {
            "chrom": chrom[keep].astype(str).to_numpy(),
            "start": starts[keep],
            "end": ends[keep],
        },
        index=np.flatnonzero(keep),
    )
    windows["chrom"] = windows["chrom"].astype(str)
    stats.n_output = len(windows)
    return windows, stats


def tile_genome(
    genome: Genome,
    bin_size: int,
    stride: int,
    chroms: Sequence[str] | None = None,
    max_n_fraction: float = 0.01,
    chunk_size: int = 1 << 22,
) -> tuple[pd.DataFrame, TilingStats]:
    """Tile chromosomes with bins ``[k*stride, k*stride + bin_size)`` that lie fully on the chromosome.

    Each chromosome is read in chunks of about ``chunk_size`` bp; N counts per bin come from a
    cumulative sum over the chunk, so no bin is fetched on its own.

    Args:
        genome: the genome to tile.
        bin_size: bin length in bp.
        stride: distance between consecutive bin starts.
        chroms: chromosomes to tile (aliases accepted; default: all, in FASTA order).
        max_n_fraction: bins with a larger fraction of non-ACGT bases are dropped (and counted).
        chunk_size: bp read per fetch.

    Returns:
        ``(bins, stats)``: bins has ``chrom``, ``start``, ``end`` (int64), sorted by chromosome
        (in the order given) and start.
    """
    names = [genome.resolve(c) for c in chroms] if chroms is not None else list(genome.chrom_sizes)
    stats = TilingStats()
    frames = []
    per_chunk = max(1, chunk_size // stride)
    for name in names:
        size = genome.chrom_sizes[name]
        bin_starts = np.arange(0, max(size - bin_size + 1, 0), stride, dtype=np.int64)
        kept = []
        for first in range(0, bin_starts.size, per_chunk):
            group = bin_starts[first : first + per_chunk]
            left, right = int(group[0]), int(group[-1]) + bin_size
            codes = np.frombuffer(genome.fetch(name, left, right).encode("ascii", errors="replace"), np.uint8)
            not_acgt = np.zeros(codes.size + 1, dtype=np.int32)  # chunks < 2 Gb; no int64 temporaries
            np.cumsum(_IS_NOT_ACGT[codes], dtype=np.int32, out=not_acgt[1:])
            offsets = group - left
            n_count = not_acgt[offsets + bin_size] - not_acgt[offsets]
            kept.append(group[n_count <= max_n_fraction * bin_size])
        chosen = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
        stats.n_dropped_n += int(bin_starts.size - chosen.size)
        stats.per_chrom[name] = int(chosen.size)
        frames.append(pd.DataFrame({"chrom": name, "start": chosen, "end": chosen + bin_size}))
    bins = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["chrom", "start", "end"])
    bins["chrom"] = bins["chrom"].astype(str)
    bins[["start", "end"]] = bins[["start", "end"]].astype(np.int64)
    stats.n_bins = len(bins)
    return bins, stats
