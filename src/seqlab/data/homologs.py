"""Homolog windows in other genomes and their pseudo-labels (cross-species pseudo-labelling).

For every window of an :class:`~seqlab.data.build.ExampleTable` (positives and negatives) and every
target genome (a FASTA and the UCSC chain reference -> target):

1. the window's centre (``start + L // 2``) is lifted as a point (:func:`~seqlab.data.liftover.lift_points`);
   0 hits fail as ``unmapped``, several as ``multiple``;
2. the window itself is lifted with liftOver's ``minMatch`` rule
   (:func:`~seqlab.data.liftover.lift_intervals`); failures keep liftOver's reason (``deleted``,
   ``partially_deleted``, ``split``, ``duplicated``) or ``length_ratio``; a window whose interval maps
   through another chain than its centre fails as ``inconsistent``;
3. a window of the same length L is cut around the lifted centre ``p``: ``[p - L//2, p - L//2 + L)`` on
   a ``+`` chain; on a ``-`` chain ``[p - (L - L//2) + 1, p + L//2 + 1)``, read reverse-complemented
   (``strand -``), so that base i of the homolog aligns with base i of the human window;
4. windows running off the target chromosome fail as ``off_chrom``, windows with more than
   ``max_n_fraction`` N as ``mostly_n``.

A kept homolog records genome, target coordinates and strand, ``source = "lifted"``, ``origin`` = the
id ``genome:chrom:start-end`` of its human window, and the origin's split. Its pseudo-label is the
origin's label per task; its weight the origin's weight (``weight: one``) or that times the window's
alignment identity (``weight: identity``: aligned bases identical in the target / L).

Leakage guard (:func:`guard_leakage`): a homolog is in its origin's split; a train homolog that
overlaps a val or test homolog in the same genome is removed even when it has another origin (two
human windows can lift to the same place), and a val homolog overlapping a test homolog likewise. The
places a val/test window lifts to guard even when its homolog is dropped: a failed interval lift marks
its centre's place, and a window failing as ``multiple`` (its centre lifts to paralogs) marks every place.
Every failure and removal is counted in the report; nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.data.encoding import reverse_complement_sequence
from seqlab.data.liftover import lift_intervals, lift_points
from seqlab.data.sparse import scale_rows, take_rows, task_column
from seqlab.data.table import ExampleTable, example_ids
from seqlab.data.windows import sequence_content
from seqlab.io.chain import ChainFile, read_chain
from seqlab.io.genome import Genome

__all__ = [
    "FAILURE_REASONS",
    "LiftError",
    "LiftOptions",
    "TargetGenome",
    "check_chain_genome",
    "guard_leakage",
    "lift_examples",
    "lift_report_rows",
    "lift_windows",
    "paralog_windows",
]

log = logging.getLogger(__name__)

FAILURE_REASONS = (
    "unmapped",
    "multiple",
    "deleted",
    "partially_deleted",
    "split",
    "duplicated",
    "length_ratio",
    "inconsistent",
    "off_chrom",
    "mostly_n",
)
_SPLIT_RANK = {"train": 0, "val": 1, "test": 2}


class LiftError(ValueError):
    """Lifting cannot proceed: a chain that does not fit its target FASTA, or a genome with no homolog."""


@dataclass(frozen=True)
class TargetGenome:
    """A genome to lift to: name, FASTA and the UCSC chain reference -> this genome."""

    name: str
    fasta: Path
    chain: Path


@dataclass(frozen=True)
class LiftOptions:
    """What :func:`lift_windows` keeps (the fields of :class:`seqlab.config.lift.LiftedSourceConfig`)."""

    min_match: float = 0.95
    max_length_ratio: float | None = 1.5
    max_n_fraction: float = 0.5
    weight: str = "one"
    guard: bool = True
    guard_gap: int = 0
    """bp a training (val) homolog must keep from a held-out homolog (``data.split.gap``, as for human windows)."""


def check_chain_genome(chain: ChainFile, genome: Genome) -> None:
    """Raise :class:`LiftError` when the chain's query chromosomes do not fit the target FASTA.

    An error when no query chromosome of the chain is in the FASTA (the message lists both), or
    when a shared chromosome has another length in the chain than in the FASTA (another assembly).
    """
    query = chain.query_sizes
    present = {name: genome.resolve(name) for name in query if name in genome}
    if not present:
        theirs = list(genome.chrom_sizes)
        raise LiftError(
            f"chain {chain.path} lifts to chromosomes {_show(list(query))} but the target FASTA {genome.path} "
            f"has {_show(theirs)}: no name matches (wrong chain or FASTA?)"
        )
    sizes = genome.chrom_sizes
    for name, own in present.items():
        if query[name] != sizes[own]:
            raise LiftError(
                f"chain {chain.path} says {name} is {query[name]:,} bp but the target FASTA {genome.path} has "
                f"{own} of {sizes[own]:,} bp: the chain was made for another assembly"
            )
    missing = sorted(set(query) - set(present))
    if missing:
        warnings.warn(
            f"{len(missing)} query chromosome(s) of chain {chain.path} are not in {genome.path} "
            f"({_show(missing)}); windows lifted there fail as off_chrom",
            stacklevel=2,
        )


def _show(names: list[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def lift_windows(
    frame: pd.DataFrame, chain: ChainFile, genome: Genome, options: LiftOptions = LiftOptions()
) -> pd.DataFrame:
    """Lift windows (rows ``chrom, start, end`` on the reference) to same-length homolog windows.

    Args:
        frame: N windows on the chain's reference genome.
        chain: the chain reference -> target.
        genome: the target genome FASTA.
        options: ``min_match``, ``max_length_ratio``, ``max_n_fraction``.

    Returns:
        One row per input window: ``status`` (``"kept"`` or one of :data:`FAILURE_REASONS`), ``chrom``,
        ``start``, ``end``, ``strand`` of the homolog (on the target's forward strand; meaningful from
        ``off_chrom`` on), ``chain`` (row in ``chain.chains``, -1 if none) and ``n_fraction``.
    """
    starts = frame["start"].to_numpy(dtype=np.int64)
    ends = frame["end"].to_numpy(dtype=np.int64)
    chroms = frame["chrom"].to_numpy(dtype=object)
    length = ends - starts
    points = lift_points(chain, chroms, starts + length // 2).unique()
    spans = lift_intervals(chain, chroms, starts, ends, options.min_match, options.max_length_ratio)
    status = np.full(len(frame), "kept", dtype=object)
    status[points["n_hits"].to_numpy() == 0] = "unmapped"
    status[points["n_hits"].to_numpy() > 1] = "multiple"
    failed_span = (status == "kept") & (spans["status"] != "ok").to_numpy()
    status[failed_span] = spans["status"].to_numpy()[failed_span]
    other_chain = (status == "kept") & (spans["chain"].to_numpy() != points["chain"].to_numpy())
    status[other_chain] = "inconsistent"

    minus = (points["strand"] == "-").to_numpy()
    out_start = _cut(points["pos"].to_numpy(), length, minus)
    out = pd.DataFrame(
        {
            "status": status,
            "chrom": points["chrom"].to_numpy(dtype=object),
            "start": out_start,
            "end": out_start + length,
            "strand": np.where(minus, "-", "+").astype(object),
            "chain": points["chain"].to_numpy(),
            "n_fraction": np.full(len(frame), np.nan),
            "sequence": np.full(len(frame), "", dtype=object),
        }
    )
    _check_target_windows(out, genome, options.max_n_fraction)
    return out


def _cut(centre: np.ndarray, length: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """Start (int64 (N,)) of the length-L window around lifted centres, strand-aware (module doc, step 3)."""
    return np.where(minus, centre - (length - length // 2) + 1, centre - length // 2)


def paralog_windows(frame: pd.DataFrame, chain: ChainFile) -> pd.DataFrame:
    """Every place a window's centre lifts to, as a same-length window (for windows failing as ``multiple``).

    Args:
        frame: N windows (``chrom, start, end``) on the chain's reference.
        chain: the chain reference -> target.

    Returns:
        One row per hit (H >= 0): ``row`` (0-based position of its window in ``frame``), ``chrom``
        (the chain's name), ``start``, ``end`` on the target's forward strand.
    """
    starts = frame["start"].to_numpy(dtype=np.int64)
    length = frame["end"].to_numpy(dtype=np.int64) - starts
    hits = lift_points(chain, frame["chrom"].to_numpy(dtype=object), starts + length // 2)
    out_start = _cut(hits.pos, length[hits.index], hits.strand == "-")
    return pd.DataFrame(
        {"row": hits.index, "chrom": hits.chrom, "start": out_start, "end": out_start + length[hits.index]}
    )


def _check_target_windows(out: pd.DataFrame, genome: Genome, max_n_fraction: float) -> None:
    """Mark windows off the target chromosome, and windows with too many N, in place.

    The kept windows are read once: their forward-strand sequences stay in column ``sequence``.
    """
    kept = np.flatnonzero((out["status"] == "kept").to_numpy())
    names = out["chrom"].to_numpy(dtype=object)[kept]
    mapping = genome.resolve_many(list(dict.fromkeys(names)))
    sizes = genome.chrom_sizes
    size = np.array([sizes[mapping[n]] if mapping[n] is not None else -1 for n in names], dtype=np.int64)
    starts, ends = out["start"].to_numpy()[kept], out["end"].to_numpy()[kept]
    off = (size < 0) | (starts < 0) | (ends > size)
    out.loc[kept[off], "status"] = "off_chrom"
    kept = kept[~off]
    if kept.size == 0:
        return
    own = [mapping[n] for n in out["chrom"].to_numpy(dtype=object)[kept]]
    out.loc[kept, "chrom"] = own
    sequences = genome.fetch_many(own, out["start"].to_numpy()[kept], out["end"].to_numpy()[kept])
    _, n_fraction = sequence_content(sequences)
    out.loc[kept, "n_fraction"] = n_fraction
    column = out["sequence"].to_numpy(dtype=object)
    column[kept] = sequences
    out["sequence"] = column
    out.loc[kept[n_fraction > max_n_fraction], "status"] = "mostly_n"


def _identity(
    frame: pd.DataFrame, lifted: pd.DataFrame, rows: np.ndarray, chain: ChainFile, human: list[str], target: list[str]
) -> np.ndarray:
    """Fraction of each window's L bases aligned (in its chain) and identical in the homolog: float32 (K,).

    ``rows`` (K,) index ``frame`` (the human windows) and ``lifted`` (their lifts); ``human[k]`` and
    ``target[k]`` are the two sequences of window ``rows[k]``, the homolog read on the chain's query
    strand (so base i of the homolog string is query-strand coordinate ``origin + i``). Vectorised over
    (window, block) pairs and over the compared bases.
    """
    start = frame["start"].to_numpy(dtype=np.int64)[rows]
    end = frame["end"].to_numpy(dtype=np.int64)[rows]
    owner = lifted["chain"].to_numpy(dtype=np.int64)[rows]
    minus = lifted["strand"].to_numpy(dtype=object)[rows] == "-"
    q_size = chain.chains["q_size"].to_numpy(dtype=np.int64)[owner]
    origin = np.where(minus, q_size - lifted["end"].to_numpy(dtype=np.int64)[rows], lifted["start"].to_numpy()[rows])
    h_bases, h_offset, _ = _joined(human)
    t_bases, t_offset, t_length = _joined(target)
    same = np.zeros(rows.size, dtype=np.int64)
    names = chain.chains["t_name"].to_numpy(dtype=object)[owner]
    for name in dict.fromkeys(names.tolist()):
        blocks, ks = chain.blocks[name], np.flatnonzero(names == name)
        # only blocks in [lo, hi) can overlap a window (t_start ascending, max_end its running max end)
        lo = np.searchsorted(blocks.max_end, start[ks], side="right")
        hi = np.searchsorted(blocks.t_start, end[ks], side="left")
        pair, step = _ranges(np.maximum(hi - lo, 0))
        j = lo[pair] + step
        k = ks[pair]
        ours = (blocks.chain[j] == owner[k]) & (blocks.t_end[j] > start[k])
        j, k = j[ours], k[ours]
        left, right = np.maximum(start[k], blocks.t_start[j]), np.minimum(end[k], blocks.t_end[j])
        q = blocks.q_start[j] + (left - blocks.t_start[j]) - origin[k]
        first, last = np.maximum(q, 0), np.minimum(q + right - left, t_length[k])
        segment, step = _ranges(np.maximum(last - first, 0))
        h = h_bases[(h_offset[k] + left - start[k] + first - q)[segment] + step]
        t = t_bases[(t_offset[k] + first)[segment] + step]
        same += np.bincount(k[segment][(h == t) & (h != ord("N"))], minlength=rows.size)
    return (same / (end - start)).astype(np.float32)


def _joined(sequences: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-case bytes of the concatenated sequences uint8 (sum len,), each one's offset and length int64 (K,)."""
    length = np.fromiter((len(q) for q in sequences), dtype=np.int64, count=len(sequences))
    bases = np.frombuffer("".join(sequences).upper().encode("ascii"), dtype=np.uint8)
    return bases, np.cumsum(length) - length, length


def _ranges(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand counts (N,) into (owner, step): owner i repeated counts[i] times, step 0..counts[i]-1."""
    owner = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    return owner, np.arange(owner.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def _overlaps(starts: np.ndarray, ends: np.ndarray, ref_starts: np.ndarray, ref_ends: np.ndarray) -> np.ndarray:
    """Mask (N,) bool: does ``[starts, ends)`` overlap any reference interval (same chromosome)? O((N + R) log R)."""
    if ref_starts.size == 0:
        return np.zeros(starts.size, dtype=bool)
    order = np.argsort(ref_starts, kind="stable")
    ref_starts, max_end = ref_starts[order], np.maximum.accumulate(ref_ends[order])
    last = np.searchsorted(ref_starts, ends, side="left") - 1  # last reference starting before the end
    return (last >= 0) & (max_end[np.maximum(last, 0)] > starts)


def guard_leakage(
    frame: pd.DataFrame, held_out: pd.DataFrame | None = None, gap: int = 0
) -> tuple[np.ndarray, dict[str, int]]:
    """Which derived examples may stay: none overlaps an example of a stricter split in its genome.

    A derived example (``origin != ""``) of split train is removed when it overlaps (same genome and
    chromosome, >= 1 bp) any val or test example widened by ``gap`` bp on both sides, and one of split
    val when it overlaps a (widened) test example, whatever their origins. ``held_out`` adds intervals
    that count as val/test examples without being in ``frame`` (e.g. where a test window lifted but its
    homolog was dropped).

    Args:
        frame: examples with ``genome, chrom, start, end, split, origin``.
        held_out: optional extra rows ``genome, chrom, start, end, split``.
        gap: bp kept between a derived example and a stricter split's examples (``data.split.gap``).

    Returns:
        ``(keep, removed)``: bool (N,) and counts ``{"train_overlapping_val": n, "train_overlapping_test": n,
        "val_overlapping_test": n}`` (a train example overlapping both counts under test).
    """
    frame = frame.reset_index(drop=True)
    columns = ["genome", "chrom", "start", "end", "split"]
    reference = pd.concat([frame[columns], held_out[columns]]) if held_out is not None else frame[columns]
    keep = np.ones(len(frame), dtype=bool)
    removed = {"train_overlapping_val": 0, "train_overlapping_test": 0, "val_overlapping_test": 0}
    derived = (frame["origin"] != "").to_numpy() if "origin" in frame else np.ones(len(frame), dtype=bool)
    for (genome, chrom), group in frame[derived].groupby(["genome", "chrom"], sort=False):
        ref = reference[(reference["genome"] == genome) & (reference["chrom"] == chrom)]
        rows = group.index.to_numpy()
        split = group["split"].to_numpy()
        for strict, weaker in (("test", ("train", "val")), ("val", ("train",))):
            strict_ref = ref[ref["split"] == strict]
            candidates = np.isin(split, weaker) & keep[rows]
            hit = np.zeros(len(group), dtype=bool)
            hit[candidates] = _overlaps(
                group["start"].to_numpy()[candidates],
                group["end"].to_numpy()[candidates],
                strict_ref["start"].to_numpy() - gap,
                strict_ref["end"].to_numpy() + gap,
            )
            for name in weaker:
                removed[f"{name}_overlapping_{strict}"] += int((hit & (split == name)).sum())
            keep[rows[hit]] = False
    return keep, removed


def _targets(targets: Mapping[str, Any] | list[TargetGenome]) -> list[TargetGenome]:
    """Target genomes from a list of :class:`TargetGenome` or a mapping name -> object/dict with fasta, chain."""
    if isinstance(targets, Mapping):
        out = []
        for name, spec in targets.items():
            get = spec.get if isinstance(spec, Mapping) else lambda key, s=spec: getattr(s, key, None)
            if get("chain") is None:
                raise LiftError(f"genome {name!r} has no chain file (genomes.{name}.chain)")
            out.append(TargetGenome(str(name), Path(get("fasta")), Path(get("chain"))))
        return out
    return list(targets)


def _human_sequences(table: ExampleTable, rows: np.ndarray) -> list[str]:
    if table.sequences is not None:
        return [table.sequences[i] for i in rows.tolist()]
    frame = table.frame.iloc[rows]
    out = [""] * rows.size
    for name, group in frame.groupby("genome", sort=False):
        if name not in table.genomes:
            raise LiftError(
                f"weight 'identity' needs the FASTA of genome {name!r}; the table has {list(table.genomes)}"
            )
        genome = Genome(table.genomes[name], str(name))
        positions = frame.index.get_indexer(group.index)
        for k, seq in zip(positions, genome.fetch_many(group["chrom"], group["start"], group["end"]), strict=True):
            out[k] = seq
    return out


def _positive(labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks (N,) or (N, T) bool of the positives and negatives among labelled (weight > 0) entries."""
    labelled = weights > 0
    return labelled & (labels >= 0.5), labelled & (labels < 0.5)


def _genome_report(
    table: ExampleTable, rows: np.ndarray, lifted: pd.DataFrame, final: np.ndarray, removed: dict[str, int]
) -> dict[str, Any]:
    """Counts for one target genome: windows, failures by reason, kept, guard removals; per task the same
    over the windows labelled for it, with positives and negatives before (human) and after (homologs).

    ``rows``: table rows lifted; ``final``: bool over ``rows``, kept after the guard.
    """
    status = lifted["status"].to_numpy()
    failed = {reason: int((status == reason).sum()) for reason in FAILURE_REASONS}
    labels, weights = take_rows(table.labels, rows), take_rows(table.weights, rows)  # dense or sparse
    tasks = {}
    for t, task in enumerate(table.task_names):  # one dense column at a time
        pos, neg = _positive(task_column(labels, t), task_column(weights, t))
        labelled = pos | neg
        mine = status[labelled]
        tasks[task] = {
            "windows": int(labelled.sum()),
            "lifted": int((mine == "kept").sum()),
            "failed": {reason: int((mine == reason).sum()) for reason in FAILURE_REASONS},
            "kept": int((labelled & final).sum()),
            "positives": {"human": int(pos.sum()), "homologs": int((pos & final).sum())},
            "negatives": {"human": int(neg.sum()), "homologs": int((neg & final).sum())},
        }
    return {
        "windows": int(rows.size),
        "lifted": int((status == "kept").sum()),
        "failed": failed,
        "guard_removed": removed,
        "kept": int(final.sum()),
        "kept_by_split": {s: int((final & (table.frame["split"].to_numpy()[rows] == s)).sum()) for s in _SPLIT_RANK},
        "tasks": tasks,
    }


def _lift_one(
    table: ExampleTable, rows: np.ndarray, target: TargetGenome, options: LiftOptions
) -> tuple[pd.DataFrame, ChainFile, Genome]:
    chain = read_chain(target.chain)
    genome = Genome(target.fasta, target.name)
    check_chain_genome(chain, genome)
    lifted = lift_windows(table.frame.iloc[rows], chain, genome, options)
    kept = (lifted["status"] == "kept").to_numpy()
    if not kept.any():
        reasons = ", ".join(f"{r} {n}" for r, n in lifted["status"].value_counts().items())
        raise LiftError(
            f"genome {target.name!r}: none of the {rows.size} windows has a homolog ({reasons}); "
            f"chain {target.chain} and FASTA {target.fasta} (min_match {options.min_match})"
        )
    return lifted, chain, genome


def lift_examples(
    table: ExampleTable,
    targets: Mapping[str, Any] | list[TargetGenome],
    options: LiftOptions = LiftOptions(),
    reference: str | None = None,
) -> ExampleTable:
    """Homolog windows of every original example of ``table`` in every target genome, pseudo-labelled.

    Args:
        table: the labelled reference-genome examples (their ``split`` is set; rows with an ``origin``
            are themselves derived and are not lifted again).
        targets: target genomes: :class:`TargetGenome` list, or mapping name -> {fasta, chain}.
        options: filters, weights and the leakage guard (see module doc).
        reference: lift only the rows of this genome (the chains' reference); None: every original row.

    Returns:
        A table of homologs only (``source = "lifted"``, ``origin`` set, the origin's split, labels and
        weights), its ``genomes`` the target FASTAs; ``report["lift"]`` holds the counts per genome and
        task (see :func:`lift_report_rows`). Sequences are stored when ``table`` has sequences.
        Concatenate with ``table`` (``ExampleTable.concat``) for training.

    Raises:
        LiftError: no target genome, a chain that does not fit its FASTA, a genome with no homolog.
        ChainFormatError: a malformed chain file.
    """
    targets = _targets(targets)
    if not targets:
        raise LiftError("no target genome to lift to (give genomes: {NAME: {fasta, chain}})")
    origins = table.frame["origin"].to_numpy(dtype=object) if "origin" in table.frame else None
    original = origins == "" if origins is not None else np.ones(len(table), dtype=bool)
    if reference is not None:
        original &= (table.frame["genome"] == reference).to_numpy()
    rows = np.flatnonzero(original)
    if rows.size == 0:
        raise LiftError(f"no example of the reference genome {reference!r} to lift (the table has {len(table)} rows)")
    human = _human_sequences(table, rows) if options.weight == "identity" else None  # read once for all genomes
    parts = [_homologs_of(table, rows, target, options, human) for target in targets]
    report = {target.name: part.report for target, part in zip(targets, parts, strict=True)}
    origin_rows = np.concatenate([part.rows for part in parts])
    frame = pd.concat([part.frame for part in parts], ignore_index=True)[_FRAME_COLUMNS]
    return ExampleTable(
        frame=frame.astype({"start": np.int64, "end": np.int64}),
        labels=take_rows(table.labels, origin_rows),
        weights=scale_rows(take_rows(table.weights, origin_rows), np.concatenate([part.weight for part in parts])),
        tasks=table.tasks.copy(),
        sequences=[q for part in parts for q in part.sequences] if table.sequences is not None else None,
        genomes={t.name: t.fasta for t in targets},
        report={"lift": {"options": dataclasses.asdict(options), "genomes": report, "totals": _totals(report)}},
    )


@dataclass
class _Part:
    """The homologs of one target genome: frame rows, their origin rows, weight factors, sequences, report."""

    frame: pd.DataFrame
    rows: np.ndarray
    weight: np.ndarray
    sequences: list[str] | None
    report: dict[str, Any]


def _homologs_of(
    table: ExampleTable, rows: np.ndarray, target: TargetGenome, options: LiftOptions, human: list[str] | None
) -> _Part:
    """Lift ``table`` rows to one genome, filter, guard, weigh and count (see :func:`lift_examples`).

    ``human``: the sequences of ``rows`` (needed for ``weight: identity``).
    """
    lifted, chain, genome = _lift_one(table, rows, target, options)
    splits = table.frame["split"].to_numpy(dtype=object)[rows]
    kept = np.flatnonzero((lifted["status"] == "kept").to_numpy())
    part = lifted.iloc[kept][["chrom", "start", "end", "strand"]].assign(
        genome=target.name, split=splits[kept], source="lifted", origin=example_ids(table.frame.iloc[rows[kept]])
    )
    keep, removed = (
        guard_leakage(part, _held_out(table, rows, lifted, chain, genome), options.guard_gap)
        if options.guard
        else (np.ones(kept.size, dtype=bool), {})
    )
    final = np.zeros(rows.size, dtype=bool)
    final[kept[keep]] = True
    report = _genome_report(table, rows, lifted, final, removed)
    report.update(chain=str(target.chain), fasta=str(target.fasta))
    _warn_empty_tasks(target.name, report)
    kept, part = kept[keep], part[keep]
    weight = np.ones(kept.size, dtype=np.float32)
    sequences = None
    if table.sequences is not None or options.weight == "identity":
        forward = lifted["sequence"].to_numpy(dtype=object)[kept]  # read once, by the N check
        strands = part["strand"].to_numpy(dtype=object)
        sequences = [reverse_complement_sequence(q) if m == "-" else q for q, m in zip(forward, strands, strict=True)]
        if options.weight == "identity" and human is not None:
            own = [human[k] for k in kept.tolist()]
            weight = _identity(table.frame.iloc[rows].reset_index(drop=True), lifted, kept, chain, own, sequences)
    return _Part(frame=part, rows=rows[kept], weight=weight, sequences=sequences, report=report)


def _held_out(
    table: ExampleTable, rows: np.ndarray, lifted: pd.DataFrame, chain: ChainFile, genome: Genome
) -> pd.DataFrame:
    """Target places of val/test windows that guard training homologs, whether or not their lift is kept.

    A window whose centre lifted once marks that place (kept or not: a failed interval lift still has a
    homolog there); a window failing as ``multiple`` (paralogs) marks every place its centre lifts to.
    Rows ``genome, chrom, start, end, split`` with chromosomes named as the target FASTA names them.
    """
    splits = table.frame["split"].to_numpy(dtype=object)[rows]
    strict = np.isin(splits, ["val", "test"])
    single = strict & (lifted["chrom"] != "").to_numpy()
    held_out = lifted[single][["chrom", "start", "end"]].assign(split=splits[single])
    several = np.flatnonzero(strict & (lifted["status"] == "multiple").to_numpy())
    if several.size:
        paralogs = paralog_windows(table.frame.iloc[rows[several]], chain)
        paralogs["split"] = splits[several][paralogs.pop("row").to_numpy()]
        held_out = pd.concat([held_out, paralogs], ignore_index=True)
    # failed lifts keep the chain's chromosome names, kept ones the FASTA's: compare them under the FASTA's
    names = genome.resolve_many(list(dict.fromkeys(held_out["chrom"])))
    held_out["chrom"] = [names.get(c) or c for c in held_out["chrom"]]
    return held_out.assign(genome=genome.name)


_FRAME_COLUMNS = ["genome", "chrom", "start", "end", "strand", "split", "source", "origin"]


def _warn_empty_tasks(genome: str, report: dict[str, Any]) -> None:
    empty = [
        task
        for task, counts in report["tasks"].items()
        if counts["positives"]["human"] and not counts["positives"]["homologs"]
    ]
    if empty:
        warnings.warn(f"genome {genome!r}: no positive homolog for task(s) {', '.join(empty)}", stacklevel=3)


def _totals(report: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per task: human positives, homolog positives over all genomes, and their sum (the published table)."""
    totals: dict[str, dict[str, int]] = {}
    for genome in report.values():
        for task, counts in genome["tasks"].items():
            entry = totals.setdefault(task, {"positives_human": counts["positives"]["human"], "positives_homologs": 0})
            entry["positives_homologs"] += counts["positives"]["homologs"]
    for entry in totals.values():
        entry["positives_total"] = entry["positives_human"] + entry["positives_homologs"]
    return totals


def lift_report_rows(report: dict[str, Any]) -> pd.DataFrame:
    """The lift report (``table.report["lift"]``) as one row per genome and task (for a TSV).

    Columns: genome, task, windows, lifted, failed_<reason> for each of :data:`FAILURE_REASONS`,
    kept, positives_human, positives_homologs, negatives_human, negatives_homologs.
    """
    rows = []
    for genome, entry in report["genomes"].items():
        for task, counts in entry["tasks"].items():
            rows.append(
                {
                    "genome": genome,
                    "task": task,
                    "windows": counts["windows"],
                    "lifted": counts["lifted"],
                    **{f"failed_{reason}": counts["failed"][reason] for reason in FAILURE_REASONS},
                    "kept": counts["kept"],
                    "positives_human": counts["positives"]["human"],
                    "positives_homologs": counts["positives"]["homologs"],
                    "negatives_human": counts["negatives"]["human"],
                    "negatives_homologs": counts["negatives"]["homologs"],
                }
            )
    return pd.DataFrame(rows)
