"""Reads to a signal track: pile up single-end reads (BED with strand, as MACS ships them) per base.

Each read becomes a fragment, strand-aware: with ``extend=N`` (fragment extension, MACS's ``--extsize``)
a ``+`` read ``[s, e)`` covers ``[s, s + N)`` and a ``-`` read covers ``[e - N, e)``; with ``five_prime``
only its 5' base (``s`` on ``+``, ``e - 1`` on ``-``). Fragments are clipped to the chromosome. The track
value of a base is the number of fragments covering it; every chromosome of the genome is written in
full (0 where no fragment lies), so a missing value always means "not measured", never "no reads".
``keep_dup=K`` keeps at most K reads with the same chromosome, strand and 5' end (MACS's
``--keep-dup``; default all).

The reads of one chromosome are turned into runs from the sorted fragment ends (no per-base array):
memory is a few arrays of the read count.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.io.errors import InputError
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.tracks import TrackIntervals, write_track

__all__ = ["coverage_runs", "five_prime_ends", "pileup", "pileup_file", "read_reads"]


def read_reads(path: str | Path, genome: Genome) -> pd.DataFrame:
    """Reads of a BED file (chrom, start, end, name, score, strand) with genome chromosome names.

    Args:
        path: BED6 (plain or gzip).
        genome: names are resolved through it (``1``/``chr1`` aliases) and read ends checked against it.

    Returns:
        ``chrom`` (genome names), ``start``, ``end`` (int64), ``strand`` (``+``/``-``), in file order.

    Raises:
        InputError: fewer than 6 columns, a strand other than +/-, a chromosome not in the genome or a read
            past its end (naming the read: its number among the file's reads).
    """
    reads = read_intervals(path, "bed")
    if "strand" not in reads.columns:
        raise InputError("reads need 6 BED columns (chrom, start, end, name, score, strand)", file=path, line=1)
    strand = reads["strand"].astype(str).to_numpy()
    bad = ~np.isin(strand, ["+", "-"])
    if bad.any():
        k = int(bad.argmax())
        raise InputError(f"read {k + 1}: strand {strand[k]!r}; a read needs + or -", file=path, field="strand")
    chrom_sizes = genome.chrom_sizes
    chrom = reads["chrom"].astype(str).map(genome.resolve_many(reads["chrom"].astype(str).unique().tolist()))
    unknown = chrom.isna().to_numpy()
    if unknown.any():
        k = int(unknown.argmax())
        raise InputError(
            f"read {k + 1}: chromosome {reads['chrom'].iloc[k]!r} is not in the genome "
            f"({', '.join(list(chrom_sizes)[:8])})",
            file=path,
            field="chrom",
        )
    past = reads["end"].to_numpy() > chrom.map(chrom_sizes).to_numpy(np.int64)
    if past.any():
        k = int(past.argmax())
        raise InputError(
            f"read {k + 1} ({reads['chrom'].iloc[k]}:{reads['start'].iloc[k]}-{reads['end'].iloc[k]}) runs past "
            f"the chromosome end ({chrom_sizes[chrom.iloc[k]]:,} bp; another genome build?)",
            file=path,
        )
    return pd.DataFrame({"chrom": chrom.to_numpy(), "start": reads["start"], "end": reads["end"], "strand": strand})


def coverage_runs(starts: np.ndarray, ends: np.ndarray, size: int) -> TrackIntervals:
    """Runs of the number of intervals ``[starts, ends)`` covering each base of ``[0, size)``.

    Args:
        starts: int64 (R,) fragment starts inside ``[0, size]``.
        ends: int64 (R,) fragment ends inside ``[0, size]``.
        size: chromosome length.

    Returns:
        Runs covering ``[0, size)`` with no gap, neighbours with equal counts merged.
    """
    edges = np.concatenate([starts, ends, [0, size]]).astype(np.int64)
    steps = np.concatenate([np.ones(starts.size), -np.ones(ends.size), [0, 0]])
    positions, inverse = np.unique(edges, return_inverse=True)
    depth = np.cumsum(np.bincount(inverse, weights=steps, minlength=positions.size))[:-1]
    change = np.concatenate([[True], depth[1:] != depth[:-1]])
    run_starts = positions[:-1][change]
    run_ends = np.concatenate([run_starts[1:], [positions[-1]]])
    return TrackIntervals(run_starts, run_ends, depth[change].astype(np.float32))


def five_prime_ends(reads: pd.DataFrame, keep_dup: int | None = None) -> pd.DataFrame:
    """``chrom``, ``plus`` (bool) and ``five`` (int64 5' base) of every read, at most ``keep_dup`` per position."""
    plus = reads["strand"].to_numpy() == "+"
    five = np.where(plus, reads["start"].to_numpy(np.int64), reads["end"].to_numpy(np.int64) - 1)
    frame = pd.DataFrame({"chrom": reads["chrom"].to_numpy(), "plus": plus, "five": five})
    if keep_dup is not None:
        frame = frame[frame.groupby(["chrom", "plus", "five"], sort=False).cumcount() < keep_dup]
    return frame


def pileup(
    reads: pd.DataFrame,
    chrom_sizes: Mapping[str, int],
    *,
    extend: int | None = 200,
    keep_dup: int | None = None,
) -> Iterator[tuple[str, TrackIntervals]]:
    """Fragment coverage of ``reads`` per chromosome, in ``chrom_sizes`` order.

    Args:
        reads: ``chrom`` (the genome's names), ``start``, ``end``, ``strand`` (``+``/``-``); see :func:`read_reads`.
        chrom_sizes: every chromosome to write and its length.
        extend: fragment length N from the 5' end along the strand; None: the 5' base only.
        keep_dup: keep at most this many reads per (chromosome, strand, 5' end); None keeps all.

    Yields:
        ``(chrom, runs)`` covering the whole chromosome.
    """
    if extend is not None and extend < 1:
        raise ValueError(f"extend must be >= 1 bp, not {extend}")
    frame = five_prime_ends(reads, keep_dup)
    groups = dict(tuple(frame.groupby("chrom", sort=False)))
    for chrom, size in chrom_sizes.items():
        part = groups.get(chrom)
        if part is None:
            yield chrom, coverage_runs(np.zeros(0, np.int64), np.zeros(0, np.int64), int(size))
            continue
        p, f = part["plus"].to_numpy(), part["five"].to_numpy(np.int64)
        length = 1 if extend is None else extend
        start = np.where(p, f, f + 1 - length)
        yield chrom, coverage_runs(np.clip(start, 0, size), np.clip(start + length, 0, size), int(size))


def pileup_file(
    reads_path: str | Path,
    out: str | Path,
    genome: Genome,
    *,
    extend: int | None = 200,
    keep_dup: int | None = None,
) -> dict[str, int]:
    """Pile up the reads of a BED file into a bigWig or bedGraph (``out``'s name picks; see :func:`pileup`).

    Returns:
        ``{"reads": read count, "reads_kept": after keep_dup, "runs": runs written}``.
    """
    reads = read_reads(reads_path, genome)
    chrom_sizes = genome.chrom_sizes
    runs = list(pileup(reads, chrom_sizes, extend=extend, keep_dup=keep_dup))
    kept = len(reads) if keep_dup is None else len(five_prime_ends(reads, keep_dup))
    counts = {"reads": len(reads), "reads_kept": kept, "runs": sum(len(r) for _, r in runs)}
    write_track(out, chrom_sizes, runs)
    return counts
