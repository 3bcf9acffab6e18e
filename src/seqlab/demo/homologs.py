"""SEAM: homolog windows, pseudo-labels and the leakage guard for ``seqlab demo ssl``.

This module stands in for ssl-lift's homolog-window code (issue 7: ``seqlab ssl lift``), which was
not on main when the demo was written. It uses ssl-lift's chain reader and point liftover
(``seqlab.io.chain.read_chain``, ``seqlab.data.liftover.lift_points``) when they are importable and
otherwise a small reader of its own (:func:`_lift_points_fallback`, correct for the chains that
:mod:`seqlab.demo.evolve` writes: one block per target base at most). Replace
:func:`lift_homologs` and :func:`leakage_guard` by ssl-lift's functions once they are on main.

Rules (those of the issue): the homolog of a human window is the window of the same length around
the lifted centre, reverse-complemented on a '-' chain; both window ends must lift to the same
chromosome and strand with a span of 0.5-2x the window (a coarse stand-in for ``minMatch``);
windows off the target chromosome or with more than ``max_n_fraction`` N are dropped; every drop
is counted by reason. The homolog takes its origin's labels, weights and split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.build import ExampleTable
from seqlab.io.genome import Genome

__all__ = ["example_ids", "leakage_guard", "lift_homologs", "lift_points_table"]


def example_ids(frame: pd.DataFrame) -> np.ndarray:
    """Example ids ``"{genome}:{chrom}:{start}-{end}"`` (object (N,)). SEAM: seqlab.data.table.example_ids."""
    return (
        frame["genome"].astype(str) + ":" + frame["chrom"].astype(str) + ":"
        + frame["start"].astype(str) + "-" + frame["end"].astype(str)
    ).to_numpy(dtype=object)  # fmt: skip


def _lift_points_fallback(chain_path: Path, chroms: np.ndarray, positions: np.ndarray) -> pd.DataFrame:
    """Point lift through a chain whose blocks do not overlap on the target (each base in one block)."""
    records = []
    header: list[str] = []
    t_pos = q_pos = 0
    for line in Path(chain_path).read_text().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "chain":
            header, t_pos, q_pos = words, int(words[5]), int(words[10])
            continue
        size = int(words[0])
        records.append((header[2], t_pos, t_pos + size, q_pos, header[9] == "-", int(header[8]), header[7]))
        t_pos += size + (int(words[1]) if len(words) > 1 else 0)
        q_pos += size + (int(words[2]) if len(words) > 1 else 0)
    blocks = pd.DataFrame(records, columns=["t", "t_start", "t_end", "q_start", "minus", "q_size", "q"])
    out = pd.DataFrame({"chrom": "", "pos": np.full(len(positions), -1, dtype=np.int64), "strand": "", "n_hits": 0})
    for chrom, part in blocks.sort_values("t_start").groupby("t"):
        rows = np.flatnonzero(chroms == chrom)
        block = np.searchsorted(part["t_start"].to_numpy(), positions[rows], side="right") - 1
        ok = (block >= 0) & (positions[rows] < part["t_end"].to_numpy()[np.maximum(block, 0)])
        rows, block = rows[ok], block[ok]
        raw = part["q_start"].to_numpy()[block] + positions[rows] - part["t_start"].to_numpy()[block]
        minus = part["minus"].to_numpy()[block]
        out.loc[rows, "pos"] = np.where(minus, part["q_size"].to_numpy()[block] - 1 - raw, raw)
        out.loc[rows, "strand"] = np.where(minus, "-", "+")
        out.loc[rows, "chrom"] = part["q"].to_numpy()[block]
        out.loc[rows, "n_hits"] = 1
    return out


def lift_points_table(chain_path: Path, chroms: np.ndarray, positions: np.ndarray) -> pd.DataFrame:
    """One row per point: ``chrom, pos`` (forward strand, -1 unmapped), ``strand``, ``n_hits``."""
    try:  # ssl-lift's vectorised liftover, when it is on main
        from seqlab.data.liftover import lift_points
        from seqlab.io.chain import read_chain
    except ImportError:
        return _lift_points_fallback(chain_path, chroms, positions)
    unique = lift_points(read_chain(chain_path), chroms, positions).unique()
    return unique[["chrom", "pos", "strand", "n_hits"]]


def lift_homologs(
    human: ExampleTable, species: dict[str, tuple[Path, Path]], max_n_fraction: float = 0.1
) -> tuple[ExampleTable, dict[str, dict[str, int]]]:
    """Homolog windows of every human window in every species (see the module docstring).

    Args:
        human: the human windows (strand '+', one genome).
        species: name -> (FASTA, human-to-species chain).
        max_n_fraction: drop homologs with more N than this.

    Returns:
        The homolog table (frame gains ``origin`` = the human window's id; labels, weights and split
        of the origin) and counts per species: windows, kept, and each reason of a drop.
    """
    frame = human.frame
    length = (frame["end"] - frame["start"]).to_numpy()
    centre = frame["start"].to_numpy() + length // 2
    chroms = frame["chrom"].to_numpy(dtype=object)
    origin = example_ids(frame)
    parts, counts = [], {}
    for name, (fasta, chain) in species.items():
        genome = Genome(fasta, name)
        mid = lift_points_table(chain, chroms, centre)
        left = lift_points_table(chain, chroms, frame["start"].to_numpy())
        right = lift_points_table(chain, chroms, frame["end"].to_numpy() - 1)
        minus = mid["strand"].to_numpy() == "-"
        start = np.where(minus, mid["pos"] - (length - 1 - length // 2), mid["pos"] - length // 2)
        sizes = np.array([genome.chrom_sizes.get(c, 0) for c in mid["chrom"]])
        span = np.abs(right["pos"].to_numpy() - left["pos"].to_numpy()) + 1
        ends_ok = (
            (left["chrom"] == mid["chrom"]) & (right["chrom"] == mid["chrom"])
            & (left["strand"] == mid["strand"]) & (right["strand"] == mid["strand"])
        ).to_numpy() & (span >= length // 2) & (span <= 2 * length)  # fmt: skip
        reasons = {
            "unmapped_centre": (mid["n_hits"] == 0).to_numpy(),
            "multiple_hits": (mid["n_hits"] > 1).to_numpy(),
        }
        mapped = ~(reasons["unmapped_centre"] | reasons["multiple_hits"])
        reasons["ends_not_colinear"] = mapped & ~ends_ok
        reasons["off_chromosome"] = mapped & ends_ok & ((start < 0) | (start + length > sizes))
        fine = mapped & ends_ok & ~reasons["off_chromosome"]
        n_fraction = np.ones(len(frame))
        for row in np.flatnonzero(fine):
            sequence = genome.fetch(mid["chrom"].iat[row], int(start[row]), int(start[row] + length[row])).upper()
            n_fraction[row] = sequence.count("N") / len(sequence)
        reasons["mostly_n"] = fine & (n_fraction > max_n_fraction)
        keep = np.flatnonzero(fine & ~reasons["mostly_n"])
        part = human.subset(keep)
        part.frame = pd.DataFrame({
            "genome": name, "chrom": mid["chrom"].to_numpy()[keep].astype(str), "start": start[keep],
            "end": start[keep] + length[keep], "strand": mid["strand"].to_numpy()[keep].astype(str),
            "split": frame["split"].to_numpy()[keep], "source": "homolog", "origin": origin[keep],
        })  # fmt: skip
        part.genomes = {name: Path(fasta)}
        parts.append(part)
        counts[name] = {"windows": len(frame), "kept": int(keep.size)} | {k: int(v.sum()) for k, v in reasons.items()}
    table = ExampleTable(
        frame=pd.concat([p.frame for p in parts], ignore_index=True),
        labels=np.concatenate([p.labels for p in parts]),
        weights=np.concatenate([p.weights for p in parts]),
        tasks=human.tasks.copy(),
        genomes={name: Path(fasta) for name, (fasta, _) in species.items()},
        report={"lift": counts},
    )
    return table, counts


def leakage_guard(homologs: ExampleTable) -> tuple[ExampleTable, dict[str, int]]:
    """Drop training homologs that overlap (same genome and chromosome) a homolog of a val/test window.

    Homologs of val/test windows keep their origin's split and never train. Returns the guarded
    table and the number of training homologs removed per genome.
    """
    frame = homologs.frame
    drop = np.zeros(len(frame), dtype=bool)
    removed: dict[str, int] = {}
    for (genome, _chrom), part in frame.groupby(["genome", "chrom"]):
        held = part[part["split"] != "train"]
        train = part[part["split"] == "train"]
        if held.empty or train.empty:
            continue
        starts = np.sort(held["start"].to_numpy())
        ends = held["end"].to_numpy()[np.argsort(held["start"].to_numpy())]
        max_end = np.maximum.accumulate(ends)
        last = np.searchsorted(starts, train["end"].to_numpy(), side="left") - 1  # held starting before end
        overlaps = (last >= 0) & (max_end[np.maximum(last, 0)] > train["start"].to_numpy())
        drop[train.index.to_numpy()[overlaps]] = True
        removed[genome] = removed.get(genome, 0) + int(overlaps.sum())
    guarded = homologs.subset(~drop)
    guarded.report = dict(homologs.report) | {"leakage_guard_removed": removed}
    return guarded, removed
