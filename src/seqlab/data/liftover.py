"""Vectorised liftover of points and intervals through a UCSC chain (:mod:`seqlab.io.chain`).

Points map exactly as UCSC liftOver and the ``liftover`` package map them: a position inside an
ungapped block ``[tStart, tStart + size)`` of a chain maps to ``qStart + (pos - tStart)``, which on a
``qStrand -`` chain is a reverse-strand coordinate and becomes ``qSize - 1 - that`` on the forward
strand. A position in no block (a gap, or outside every chain) does not map; a position in blocks of
several chains maps to each (multiple hits, counted in ``n_hits``).

Intervals map with liftOver's ``minMatch`` rule (``remapRange`` of UCSC ``liftOver.c``): for every chain
with blocks inside ``[start, end)``, the aligned bases inside the interval are counted; a chain
holding at least ``min_match * (end - start)`` of them is a hit. One hit maps the interval to the
query span from the first to the last aligned base of that chain inside the interval (both ends on
the same chromosome and strand by construction); zero hits is ``deleted`` (no aligned base),
``partially_deleted`` (one chain with some) or ``split`` (several chains with some); several hits is
``duplicated``. seqlab adds an optional ``max_length_ratio``: a mapped span longer or shorter than
the interval by more than this factor fails as ``length_ratio``.

Lookups use ``np.searchsorted`` over block starts and the running maximum of block ends, so a
million summits lift in about a second (see bench/bench_liftover.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqlab.io.chain import ChainBlocks, ChainFile
from seqlab.io.genome import canonical_chrom

__all__ = ["INTERVAL_STATUSES", "PointLift", "lift_intervals", "lift_points", "resolve_targets"]

INTERVAL_STATUSES = ("ok", "deleted", "partially_deleted", "split", "duplicated", "length_ratio")


@dataclass
class PointLift:
    """Every hit of a point lift, plus per-point hit counts.

    Attributes:
        n_hits: int64 (N,) number of chain blocks holding each input point (0 = unmapped, > 1 = multiple).
        index: int64 (H,) input row of each hit, ascending (hits of one point in target-block order).
        chrom: object (H,) query chromosome of each hit.
        pos: int64 (H,) 0-based query position on the forward strand.
        strand: '<U1' (H,) ``+`` or ``-`` (the chain's query strand).
        chain: int64 (H,) row of the hit's chain in ``ChainFile.chains``.
    """

    n_hits: np.ndarray
    index: np.ndarray
    chrom: np.ndarray
    pos: np.ndarray
    strand: np.ndarray
    chain: np.ndarray

    def unique(self) -> pd.DataFrame:
        """One row per input point: ``chrom, pos, strand, chain`` of its hit when it has exactly one.

        Points with 0 or several hits get ``chrom ""``, ``pos -1``, ``strand ""``, ``chain -1``; see ``n_hits``.
        """
        n = self.n_hits.size
        out = pd.DataFrame(
            {
                "chrom": np.full(n, "", dtype=object),
                "pos": np.full(n, -1, dtype=np.int64),
                "strand": np.full(n, "", dtype=object),
                "chain": np.full(n, -1, dtype=np.int64),
                "n_hits": self.n_hits,
            }
        )
        single = self.n_hits[self.index] == 1
        rows = self.index[single]
        out.loc[rows, "chrom"] = self.chrom[single]
        out.loc[rows, "pos"] = self.pos[single]
        out.loc[rows, "strand"] = self.strand[single]
        out.loc[rows, "chain"] = self.chain[single]
        return out


def resolve_targets(chain: ChainFile, names: Sequence[str]) -> dict[str, str | None]:
    """Chain target chromosome of each name: exact, else by alias (``1``/``chr1``, ``MT``/``chrM``), else None."""
    aliases: dict[str, str] = {}
    for target in chain.blocks:
        aliases.setdefault(canonical_chrom(target), target)
    out: dict[str, str | None] = {}
    for name in names:
        out[name] = name if name in chain.blocks else aliases.get(canonical_chrom(str(name)))
    return out


def _chain_arrays(chain: ChainFile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chain row: query-minus flag (bool), query size (int64), query name (object)."""
    chains = chain.chains
    return (
        (chains["q_strand"] == "-").to_numpy(),
        chains["q_size"].to_numpy(dtype=np.int64),
        chains["q_name"].to_numpy(dtype=object),
    )


def _candidates(blocks: ChainBlocks, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand block ranges ``[lo_i, hi_i]`` into (query row, block) pairs; empty ranges give none."""
    count = np.maximum(hi - lo + 1, 0)
    rows = np.repeat(np.arange(lo.size, dtype=np.int64), count)
    offsets = np.arange(rows.size, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return rows, np.repeat(lo, count) + offsets


def _groups(chain: ChainFile, chroms: Sequence[str] | np.ndarray) -> list[tuple[ChainBlocks, np.ndarray]]:
    """(blocks, input rows) per distinct input chromosome that the chain has."""
    codes, names = pd.factorize(np.asarray(chroms, dtype=object))
    mapping = resolve_targets(chain, [str(n) for n in names])
    out = []
    for code, name in enumerate(names):
        target = mapping[str(name)]
        if target is not None:
            out.append((chain.blocks[target], np.flatnonzero(codes == code)))
    return out


def _input_order(index: np.ndarray, n: int) -> np.ndarray:
    """Permutation putting hits in input order, keeping the order of each input's hits (O(H), no sort).

    The hits of one input row are contiguous in ``index`` (candidate expansion), which this relies on.
    """
    if index.size == 0:
        return np.zeros(0, dtype=np.int64)
    counts = np.bincount(index, minlength=n)
    step = np.arange(index.size, dtype=np.int64)
    run_start = np.maximum.accumulate(np.where(np.r_[True, index[1:] != index[:-1]], step, 0))
    dest = (np.cumsum(counts) - counts)[index] + (step - run_start)
    order = np.empty(index.size, dtype=np.int64)
    order[dest] = step
    return order


def lift_points(
    chain: ChainFile, chroms: Sequence[str] | np.ndarray, positions: Sequence[int] | np.ndarray
) -> PointLift:
    """Lift 0-based positions through a chain, exactly as UCSC liftOver / the ``liftover`` package.

    Args:
        chain: a parsed chain file (:func:`seqlab.io.chain.read_chain`).
        chroms: (N,) reference chromosome names (``chr1`` and ``1`` both match a chain's ``chr1``).
        positions: int (N,) 0-based positions.

    Returns:
        A :class:`PointLift` with every hit; ``PointLift.unique()`` gives one row per point.
        Chromosomes absent from the chain give 0 hits. Runs in O((N + H) log B) with numpy.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if len(chroms) != positions.size:
        raise ValueError(f"lift_points: {len(chroms)} chromosomes for {positions.size} positions")
    q_minus, q_size, q_name = _chain_arrays(chain)
    indexes, raws, chain_rows = [], [], []
    for blocks, rows in _groups(chain, chroms):
        rows = rows[np.argsort(positions[rows])]  # sorted needles make searchsorted several times faster
        p = positions[rows]
        hi = np.searchsorted(blocks.t_start, p, side="right") - 1  # last block starting at or before p
        lo = np.searchsorted(blocks.max_end, p, side="right")  # first block whose running max end passes p
        which, cand = _candidates(blocks, lo, hi)
        inside = blocks.t_end[cand] > p[which]
        which, cand = which[inside], cand[inside]
        indexes.append(rows[which])
        raws.append(blocks.q_start[cand] + (p[which] - blocks.t_start[cand]))
        chain_rows.append(blocks.chain[cand])
    empty = [np.zeros(0, dtype=np.int64)]
    index, raw, chain_row = (np.concatenate(part or empty) for part in (indexes, raws, chain_rows))
    order = _input_order(index, positions.size)
    index, raw, chain_row = index[order], raw[order], chain_row[order]
    minus = q_minus[chain_row]
    pos = np.where(minus, q_size[chain_row] - 1 - raw, raw)
    return PointLift(
        n_hits=np.bincount(index, minlength=positions.size).astype(np.int64),
        index=index,
        chrom=q_name[chain_row],
        pos=pos.astype(np.int64),
        strand=np.where(minus, "-", "+"),
        chain=chain_row,
    )


def _interval_hits(
    blocks: ChainBlocks, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (interval, chain) with aligned bases inside ``[s, e)``: row, chain, aligned bp, query span start/end.

    The query span is on the chain's query strand: from the first to the last aligned base inside.
    """
    hi = np.searchsorted(blocks.t_start, e, side="left") - 1  # last block starting before e
    lo = np.searchsorted(blocks.max_end, s, side="right")  # first block whose running max end passes s
    which, cand = _candidates(blocks, lo, hi)
    keep = blocks.t_end[cand] > s[which]
    which, cand = which[keep], cand[keep]
    left = np.maximum(s[which], blocks.t_start[cand])
    right = np.minimum(e[which], blocks.t_end[cand])
    q_left = blocks.q_start[cand] + (left - blocks.t_start[cand])
    q_right = q_left + (right - left)
    chain_row = blocks.chain[cand]
    size = right - left
    order = np.lexsort((chain_row, which))
    which, chain_row, q_left, q_right, size = (a[order] for a in (which, chain_row, q_left, q_right, size))
    if which.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    first = np.flatnonzero(np.r_[True, (which[1:] != which[:-1]) | (chain_row[1:] != chain_row[:-1])])
    aligned = np.add.reduceat(size, first)
    q_first, q_last = np.minimum.reduceat(q_left, first), np.maximum.reduceat(q_right, first)
    return which[first], chain_row[first], aligned, q_first, q_last


def _place_single_hits(out: pd.DataFrame, hits: dict[str, np.ndarray], single: np.ndarray, chain: ChainFile) -> None:
    """Write the query span of every interval with exactly one passing chain into ``out`` (in place).

    ``hits``: per (interval, chain) rows ``which, chain, q_left, q_right`` (query-strand coordinates);
    ``single``: bool mask of those rows that are an interval's only passing chain.
    """
    q_minus, q_size, q_name = _chain_arrays(chain)
    rows, chain_row = hits["which"][single], hits["chain"][single]
    left, right = hits["q_left"][single], hits["q_right"][single]
    minus = q_minus[chain_row]
    out.loc[rows, "start"] = np.where(minus, q_size[chain_row] - right, left)
    out.loc[rows, "end"] = np.where(minus, q_size[chain_row] - left, right)
    out.loc[rows, "chrom"] = q_name[chain_row]
    out.loc[rows, "strand"] = np.where(minus, "-", "+")
    out.loc[rows, "chain"] = chain_row
    out.loc[rows, "status"] = "ok"


def lift_intervals(
    chain: ChainFile,
    chroms: Sequence[str] | np.ndarray,
    starts: Sequence[int] | np.ndarray,
    ends: Sequence[int] | np.ndarray,
    min_match: float = 0.95,
    max_length_ratio: float | None = None,
) -> pd.DataFrame:
    """Lift ``[start, end)`` intervals (on the reference ``+`` strand) with liftOver's ``minMatch`` rule.

    Args:
        chain: a parsed chain file.
        chroms: (N,) reference chromosome names.
        starts: int (N,) 0-based starts.
        ends: int (N,) exclusive ends (> start).
        min_match: fraction of the interval's bases that must align inside one chain (liftOver ``-minMatch``).
        max_length_ratio: fail a mapping whose query span is more than this factor longer or shorter
            than the interval (None: no limit, as liftOver).

    Returns:
        One row per interval: ``status`` (one of :data:`INTERVAL_STATUSES`), ``chrom``, ``start``,
        ``end``, ``strand`` (query side; ``""``/-1 unless mapped), ``chain`` (row of the single
        hit chain, else -1), ``aligned`` (most bases aligned inside one chain), ``n_hits`` (chains
        passing ``min_match``), ``n_partial`` (chains with some but too few aligned bases).
    """
    if not 0 < min_match <= 1:
        raise ValueError(f"min_match must be in (0, 1], got {min_match}")
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if not len(chroms) == starts.size == ends.size:
        raise ValueError(f"lift_intervals: {len(chroms)} chromosomes, {starts.size} starts, {ends.size} ends")
    if (ends <= starts).any():
        row = int(np.argmax(ends <= starts))
        raise ValueError(f"lift_intervals: interval {row} [{starts[row]}, {ends[row]}) is empty or reversed")
    n = starts.size
    columns = {"which": [], "chain": [], "aligned": [], "q_left": [], "q_right": []}
    for blocks, rows in _groups(chain, chroms):
        which, chain_row, aligned, q_left, q_right = _interval_hits(blocks, starts[rows], ends[rows])
        for key, value in zip(columns, (rows[which], chain_row, aligned, q_left, q_right), strict=True):
            columns[key].append(value)
    hits = {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in columns.items()}
    length = ends - starts
    passes = hits["aligned"] >= min_match * length[hits["which"]]
    n_hits = np.bincount(hits["which"][passes], minlength=n)
    n_partial = np.bincount(hits["which"][~passes], minlength=n)
    best = np.zeros(n, dtype=np.int64)
    np.maximum.at(best, hits["which"], hits["aligned"])
    status = np.full(n, "deleted", dtype=object)
    status[(n_hits == 0) & (n_partial == 1)] = "partially_deleted"
    status[(n_hits == 0) & (n_partial > 1)] = "split"
    status[n_hits > 1] = "duplicated"
    out = pd.DataFrame(
        {
            "status": status,
            "chrom": np.full(n, "", dtype=object),
            "start": np.full(n, -1, dtype=np.int64),
            "end": np.full(n, -1, dtype=np.int64),
            "strand": np.full(n, "", dtype=object),
            "chain": np.full(n, -1, dtype=np.int64),
            "aligned": best,
            "n_hits": n_hits.astype(np.int64),
            "n_partial": n_partial.astype(np.int64),
        }
    )
    _place_single_hits(out, hits, passes & (n_hits[hits["which"]] == 1), chain)
    if max_length_ratio is not None:
        span = (out["end"] - out["start"]).to_numpy()
        bad = (out["status"] == "ok").to_numpy() & (
            (span > max_length_ratio * length) | (span * max_length_ratio < length)
        )
        out.loc[bad, "status"] = "length_ratio"
    return out
