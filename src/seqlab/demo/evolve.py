"""Simulated species with a known answer, for the semi-supervised (cross-species) wing of seqlab.

:func:`evolve_species` writes what a user of ``seqlab ssl`` brings from real data: a reference
("human") genome with a few-peak factor's narrowPeak file, several other genomes, and one UCSC
chain file per genome mapping human coordinates to it. Because every base's history is simulated,
it also writes the truth: where each human base went, and which planted binding sites survive in
each species (so a pseudo-label can be checked).

The model of evolution:

* the human genome is the DNA demo's simulated genome (:func:`seqlab.demo.simulate.simulate_dna_demo`,
  real JASPAR matrices planted as bound sites, decoys and noise peaks); it is the root of the tree
  (branch length 0), so the human peaks and sites are those of the ancestor;
* every other node evolves from its parent along one branch (:class:`Branch`): substitutions at
  ``substitution_rate`` per base (bound-site bases at ``substitution_rate * site_conservation``:
  sites are conserved more than background), small insertions and deletions (1-10 bp; none inside
  bound sites) at ``indel_rate`` events per base, then ``inversions`` blocks reverse-complemented in
  place (chains to those blocks map to the '-' strand) and ``transpositions`` pairs of adjacent
  blocks swapped (chain breaks). Chromosomes keep their names and never exchange material;
* inner nodes (named as a parent of another branch) are not written; leaves are.

Chains follow the UCSC chain format (https://genome.ucsc.edu/goldenPath/help/chain.html): the
human genome is the target (``t``, always '+'), the species the query (``q``); a '-' chain gives
query coordinates on the reverse-complemented query chromosome (``qSize - 1 - forward position``);
block lines are ``size dt dq`` and the last block of a chain is ``size`` alone.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives the same files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.atomic import write_json, write_text
from seqlab.demo.simulate import FactorSpec, _write_fasta, simulate_dna_demo
from seqlab.io.genome import Genome

__all__ = [
    "DEFAULT_SSL_CHROM_SIZES",
    "DEFAULT_SSL_FACTORS",
    "DEFAULT_TREE",
    "Branch",
    "EvolvedGenomes",
    "OriginMap",
    "evolve_species",
    "homolog_truth",
    "write_chain",
]

DEFAULT_SSL_CHROM_SIZES: dict[str, int] = {f"chr{i}": 240_000 for i in range(1, 7)}
DEFAULT_SSL_FACTORS: tuple[FactorSpec, ...] = (
    FactorSpec("REST", "MA0138", sites=90, decoys=45, noise_peaks=9, biosample="K562", date="2024-02-20"),
)


@dataclass(frozen=True)
class Branch:
    """One branch of the tree: ``name`` evolves from ``parent`` ('human' is the root)."""

    name: str
    parent: str = "human"
    substitution_rate: float = 0.02
    indel_rate: float = 0.001
    inversions: int = 1
    transpositions: int = 1
    site_conservation: float = 0.2


DEFAULT_TREE: tuple[Branch, ...] = (
    Branch("chimp", "human", substitution_rate=0.012, indel_rate=0.0005, inversions=1, transpositions=0),
    Branch("gorilla", "human", substitution_rate=0.02, indel_rate=0.0008, inversions=1, transpositions=1),
    Branch("primate_anc", "human", substitution_rate=0.03, indel_rate=0.001, inversions=0, transpositions=0),
    Branch("macaque", "primate_anc", substitution_rate=0.03, indel_rate=0.001, inversions=2, transpositions=1),
    Branch("marmoset", "primate_anc", substitution_rate=0.05, indel_rate=0.0015, inversions=2, transpositions=1),
)

_COMPLEMENT = np.arange(256, dtype=np.uint8)
for _a, _b in ("AT", "CG", "at", "cg"):
    _COMPLEMENT[ord(_a)], _COMPLEMENT[ord(_b)] = ord(_b), ord(_a)
_ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)
_N = ord("N")


@dataclass
class OriginMap:
    """Where every base of one human chromosome is in another genome (same chromosome name).

    Attributes:
        pos: int64 (L,) 0-based forward-strand position in the other genome, -1 where deleted.
        minus: bool (L,) True where the base sits on the other genome's '-' strand (inverted).
    """

    pos: np.ndarray
    minus: np.ndarray


@dataclass
class _Node:
    genome: dict[str, np.ndarray]
    constraint: dict[str, np.ndarray]
    origin: dict[str, OriginMap]
    events: dict[str, int] = field(default_factory=dict)


@dataclass
class EvolvedGenomes:
    """Paths of a simulation written by :func:`evolve_species` (and the truth maps, in memory).

    Attributes:
        root: the output folder.
        human: human files from the DNA simulator (``genome``, ``tasks``, ``sites``, ``peaks_<task>``...).
        genomes: species name -> FASTA (with ``.fai``), leaves of the tree only.
        chains: species name -> human-to-species chain file.
        truth: species name -> TSV of every bound human site and its fate in the species.
        origin: species name -> human chromosome -> :class:`OriginMap` (not written: large).
        summary: ``evolution.json`` content.
    """

    root: Path
    human: dict[str, Path]
    genomes: dict[str, Path]
    chains: dict[str, Path]
    truth: dict[str, Path]
    origin: dict[str, dict[str, OriginMap]]
    summary: dict[str, Any]


# --------------------------------------------------------------------------- one branch


def _substitute(rng: np.random.Generator, bases: np.ndarray, constraint: np.ndarray, branch: Branch) -> int:
    """Substitute bases in place (case kept; N never changes); return the number substituted."""
    rate = np.where(constraint, branch.substitution_rate * branch.site_conservation, branch.substitution_rate)
    hit = np.flatnonzero((rng.random(bases.size) < rate) & ((bases & 0xDF) != _N))
    upper = bases[hit] & 0xDF
    codes = np.searchsorted(_ACGT, upper)
    new = _ACGT[(codes + rng.integers(1, 4, hit.size)) % 4]  # a different base
    bases[hit] = np.where(bases[hit] >= ord("a"), new | 0x20, new)
    return int(hit.size)


def _indels(
    rng: np.random.Generator, bases: np.ndarray, constraint: np.ndarray, branch: Branch
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Small insertions and deletions; returns new bases, new constraint, old->new map (-1 deleted), events."""
    length = bases.size
    n_events = rng.poisson(branch.indel_rate * length)
    where = rng.integers(1, length - 11, n_events)
    sizes = rng.integers(1, 11, n_events)
    is_deletion = rng.random(n_events) < 0.5
    covered = np.concatenate(([0], np.cumsum(constraint)))
    clear = covered[where + sizes + 1] - covered[where - 1] == 0  # no bound-site base touched
    keep = np.ones(length, dtype=bool)
    inserted = np.zeros(length, dtype=np.int64)  # bases inserted just before each old base
    for start, size in zip(where[is_deletion & clear], sizes[is_deletion & clear], strict=True):
        keep[start : start + size] = False
    np.add.at(inserted, where[~is_deletion & clear], sizes[~is_deletion & clear])
    inserted[~keep] = 0
    new_pos = np.cumsum(keep) - keep + np.cumsum(inserted)
    new_length = int(keep.sum() + inserted.sum())
    new_bases = _ACGT[rng.integers(0, 4, new_length)]
    new_bases[new_pos[keep]] = bases[keep]
    new_constraint = np.zeros(new_length, dtype=bool)
    new_constraint[new_pos[keep]] = constraint[keep]
    return new_bases, new_constraint, np.where(keep, new_pos, -1), int(clear.sum())


def _rearrange(
    rng: np.random.Generator, bases: np.ndarray, constraint: np.ndarray, branch: Branch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inversions and transpositions of blocks (one per equal part of the chromosome), in place.

    Returns the old->new position map (a permutation) and the bool flip (True where reverse-complemented).
    """
    length = bases.size
    kinds = ["inversion"] * branch.inversions + ["transposition"] * branch.transpositions
    order = np.arange(length)
    flipped = np.zeros(length, dtype=bool)
    if not kinds:
        return order, flipped
    part = length // len(kinds)
    for i, kind in enumerate(rng.permutation(kinds)):
        block = int(rng.integers(part // 8, part // 4))
        start = i * part + int(rng.integers(part // 8, part - 2 * block - part // 8))
        if kind == "inversion":
            region = slice(start, start + block)
            bases[region] = _COMPLEMENT[bases[region][::-1]]
            constraint[region] = constraint[region][::-1].copy()
            order[region] = order[region][::-1].copy()
            flipped[region] = ~flipped[region]
        else:
            first, second = slice(start, start + block), slice(start + block, start + 2 * block)
            for array in (bases, constraint, order, flipped):
                array[first], array[second] = array[second].copy(), array[first].copy()
    new_of_old = np.empty(length, dtype=np.int64)
    new_of_old[order] = np.arange(length)
    return new_of_old, flipped[new_of_old]


def _evolve(rng: np.random.Generator, parent: _Node, branch: Branch) -> _Node:
    """The genome of ``branch.name`` from its parent's (copies; the parent is unchanged)."""
    genome, constraint, origin = {}, {}, {}
    events = {"substitutions": 0, "indels": 0, "inversions": 0, "transpositions": 0}
    for chrom, parent_bases in parent.genome.items():
        bases, sites = parent_bases.copy(), parent.constraint[chrom].copy()
        events["substitutions"] += _substitute(rng, bases, sites, branch)
        bases, sites, moved, n_indels = _indels(rng, bases, sites, branch)
        rearranged, flipped = _rearrange(rng, bases, sites, branch)
        events["indels"] += n_indels
        events["inversions"] += branch.inversions
        events["transpositions"] += branch.transpositions
        genome[chrom], constraint[chrom] = bases, sites
        human = parent.origin[chrom]
        mapped = human.pos >= 0
        after_indel = np.full(human.pos.size, -1, dtype=np.int64)
        after_indel[mapped] = moved[human.pos[mapped]]
        alive = after_indel >= 0
        pos = np.full(human.pos.size, -1, dtype=np.int64)
        pos[alive] = rearranged[after_indel[alive]]
        minus = human.minus.copy()
        minus[alive] ^= flipped[after_indel[alive]]
        origin[chrom] = OriginMap(pos, minus & alive)
    return _Node(genome, constraint, origin, events)


# --------------------------------------------------------------------------- chains


def _blocks(origin: OriginMap, query_size: int) -> pd.DataFrame:
    """Ungapped blocks (t_start, size, q_start in strand coordinates, strand) of one origin map."""
    pos, minus = origin.pos, origin.minus
    valid = pos >= 0
    step = np.where(minus[:-1], -1, 1)
    continues = valid[:-1] & valid[1:] & (minus[:-1] == minus[1:]) & (np.diff(pos) == step)
    starts = np.flatnonzero(valid & ~np.concatenate(([False], continues)))
    ends = np.flatnonzero(valid & ~np.concatenate((continues, [False]))) + 1
    block_minus = minus[starts]
    q_start = np.where(block_minus, query_size - 1 - pos[starts], pos[starts])
    return pd.DataFrame({"t_start": starts, "size": ends - starts, "q_start": q_start, "minus": block_minus})


def _chain_record(chrom: str, blocks: list[np.ndarray], t_size: int, q_size: int) -> tuple[int, str, list[str]]:
    """(score, header without id, block lines) of one chain of consecutive blocks."""
    first, last = blocks[0], blocks[-1]
    score = int(sum(int(b[1]) for b in blocks))
    strand = "-" if first[3] else "+"
    header = (
        f"chain {score} {chrom} {t_size} + {first[0]} {last[0] + last[1]} {chrom} "
        f"{q_size} {strand} {first[2]} {last[2] + last[1]}"
    )
    lines = [
        f"{b[1]}\t{n[0] - b[0] - b[1]}\t{n[2] - b[2] - b[1]}" for b, n in zip(blocks[:-1], blocks[1:], strict=True)
    ]
    return score, header, [*lines, str(last[1])]


def write_chain(
    path: str | Path,
    origin: dict[str, OriginMap],
    target_sizes: dict[str, int],
    query_sizes: dict[str, int],
    max_gap: int = 20_000,
) -> int:
    """Write the UCSC chain file of a target (human) -> query (species) base mapping; return the chain count.

    Consecutive ungapped blocks (in target order) join one chain while they are on the same query
    chromosome and strand, move forward in both genomes, and leave gaps of at most ``max_gap`` bp;
    chains are written by decreasing score (the aligned bases), ids 1, 2, ...

    Args:
        path: output chain file (written atomically).
        origin: target chromosome -> :class:`OriginMap` (same chromosome name in the query).
        target_sizes: target chromosome lengths.
        query_sizes: query chromosome lengths.
        max_gap: the largest gap (bp, on either side) inside one chain.
    """
    chains: list[tuple[int, str, list[str]]] = []
    for chrom, mapping in origin.items():
        blocks = _blocks(mapping, query_sizes[chrom]).to_numpy()
        current: list[np.ndarray] = []

        for block in blocks:
            if current:
                last = current[-1]
                dt, dq = block[0] - last[0] - last[1], block[2] - last[2] - last[1]
                if block[3] != last[3] or dq < 0 or dt > max_gap or dq > max_gap:
                    chains.append(_chain_record(chrom, current, target_sizes[chrom], query_sizes[chrom]))
                    current = []
            current.append(block)
        if current:
            chains.append(_chain_record(chrom, current, target_sizes[chrom], query_sizes[chrom]))
    chains.sort(key=lambda chain: -chain[0])
    text = "".join(
        f"{header} {i}\n" + "".join(line + "\n" for line in lines) + "\n"
        for i, (_, header, lines) in enumerate(chains, start=1)
    )
    write_text(path, text)
    return len(chains)


# --------------------------------------------------------------------------- truth


def _site_fates(sites: pd.DataFrame, node: _Node, max_mismatches: int) -> pd.DataFrame:
    """Each bound human site's position in the species and whether it is intact there."""
    rows = []
    for site in sites.itertuples(index=False):
        mapping = node.origin[site.chrom]
        pos = mapping.pos[site.start : site.end]
        minus = mapping.minus[site.start : site.end]
        width = site.end - site.start
        contiguous = bool((pos >= 0).all()) and (minus.all() or not minus.any())
        if contiguous:
            contiguous = bool((np.diff(pos) == (-1 if minus[0] else 1)).all())
        chrom, start, end, strand, mismatches = site.chrom, -1, -1, ".", width
        if contiguous:
            start = int(pos.min())
            end = start + width
            bases = node.genome[site.chrom][start:end] & 0xDF
            strand_flip = bool(minus[0])
            if strand_flip:
                bases = _COMPLEMENT[bases[::-1]]
            human = np.frombuffer(site.sequence.upper().encode(), dtype=np.uint8)  # human '+' strand bases
            mismatches = int((bases != human).sum())
            site_strand = site.strand if not strand_flip else {"+": "-", "-": "+"}[site.strand]
            strand = site_strand
        rows.append(
            {
                "human_chrom": site.chrom,
                "human_start": site.start,
                "human_end": site.end,
                "task": site.task,
                "peak": site.peak,
                "chrom": chrom if contiguous else ".",
                "start": start,
                "end": end,
                "strand": strand,
                "mismatches": mismatches,
                "intact": bool(contiguous and mismatches <= max_mismatches),
            }
        )
    return pd.DataFrame(rows)


def homolog_truth(windows: pd.DataFrame, fates: pd.DataFrame, task: str) -> np.ndarray:
    """Whether each window truly carries an intact bound site of ``task`` (bool (N,)).

    Args:
        windows: columns ``chrom, start, end`` (0-based, half-open) in the species genome.
        fates: the species' truth table (``truth/<species>.sites.tsv``).
        task: the factor.
    """
    intact = fates[(fates["task"] == task) & fates["intact"].astype(bool)]
    result = np.zeros(len(windows), dtype=bool)
    for chrom, part in intact.groupby("chrom"):
        starts = np.sort(part["start"].to_numpy())
        ends = part["end"].to_numpy()[np.argsort(part["start"].to_numpy())]
        rows = np.flatnonzero(windows["chrom"].to_numpy() == chrom)
        w_start = windows["start"].to_numpy()[rows]
        w_end = windows["end"].to_numpy()[rows]
        first = np.searchsorted(starts, w_start, side="left")  # first site starting inside the window
        inside = (first < starts.size) & (ends[np.minimum(first, starts.size - 1)] <= w_end)
        result[rows] = inside
    return result


# --------------------------------------------------------------------------- driver


def _read_genome(path: Path) -> dict[str, np.ndarray]:
    genome = Genome(path)
    return {
        chrom: np.frombuffer(genome.fetch(chrom, 0, size).encode(), dtype=np.uint8).copy()
        for chrom, size in genome.chrom_sizes.items()
    }


def evolve_species(
    out_dir: str | Path,
    seed: int = 0,
    chrom_sizes: dict[str, int] | None = None,
    factors: tuple[FactorSpec, ...] = DEFAULT_SSL_FACTORS,
    tree: tuple[Branch, ...] = DEFAULT_TREE,
    max_mismatches: int = 1,
) -> EvolvedGenomes:
    """Simulate the human genome, evolve it along ``tree`` and write genomes, chains and truth.

    Files under ``out_dir``: ``human/`` (the DNA simulator's files: genome.fa, peaks/<task>.narrowPeak,
    tasks.tsv, sites.tsv), ``<species>/genome.fa`` (+ .fai) per leaf, ``chains/human_to_<species>.chain``,
    ``truth/<species>.sites.tsv`` (every bound human site: human_chrom, human_start, human_end, task,
    peak, chrom, start, end, strand in the species (-1 / '.' when broken up), mismatches against the
    human site, intact = contiguous and at most ``max_mismatches`` substitutions) and ``evolution.json``.

    Args:
        out_dir: output folder (created).
        seed: seeds the human simulation and the evolution.
        chrom_sizes: human chromosome lengths (default :data:`DEFAULT_SSL_CHROM_SIZES`, 6 x 240 kb).
        factors: simulated factors (default: REST with 90 bound sites, the few-peaks case).
        tree: branches; a parent must be 'human' or an earlier branch.
        max_mismatches: substitutions a surviving site may carry and still count as bound.

    Raises:
        ValueError: a branch whose parent is unknown.
    """
    out = Path(out_dir)
    human_paths = simulate_dna_demo(out / "human", seed=seed, chrom_sizes=chrom_sizes or DEFAULT_SSL_CHROM_SIZES,
                                    factors=factors)  # fmt: skip
    rng = np.random.default_rng([seed, 7])
    human = _read_genome(human_paths["genome"])
    sizes = {chrom: bases.size for chrom, bases in human.items()}
    sites = pd.read_csv(human_paths["sites"], sep="\t")
    bound = sites[sites["kind"] == "bound"].reset_index(drop=True)
    constraint = {chrom: np.zeros(size, dtype=bool) for chrom, size in sizes.items()}
    for site in bound.itertuples(index=False):
        constraint[site.chrom][site.start : site.end] = True
    identity = {
        chrom: OriginMap(np.arange(size, dtype=np.int64), np.zeros(size, dtype=bool)) for chrom, size in sizes.items()
    }
    nodes = {"human": _Node(human, constraint, identity)}
    for branch in tree:
        if branch.parent not in nodes:
            raise ValueError(f"branch {branch.name!r}: parent {branch.parent!r} is not 'human' or an earlier branch")
        nodes[branch.name] = _evolve(rng, nodes[branch.parent], branch)
    parents = {branch.parent for branch in tree}
    leaves = [branch.name for branch in tree if branch.name not in parents]

    genomes, chains, truth, origin, summary_species = {}, {}, {}, {}, {}
    for name in leaves:
        node = nodes[name]
        genomes[name] = out / name / "genome.fa"
        _write_fasta(genomes[name], node.genome)
        query_sizes = {chrom: bases.size for chrom, bases in node.genome.items()}
        chains[name] = out / "chains" / f"human_to_{name}.chain"
        n_chains = write_chain(chains[name], node.origin, sizes, query_sizes)
        fates = _site_fates(bound, node, max_mismatches)
        truth[name] = write_text(out / "truth" / f"{name}.sites.tsv", fates.to_csv(sep="\t", index=False))
        origin[name] = node.origin
        aligned = sum(int((m.pos >= 0).sum()) for m in node.origin.values())
        summary_species[name] = {
            "length": sum(query_sizes.values()),
            "aligned_human_bases": aligned,
            "minus_strand_bases": sum(int(m.minus.sum()) for m in node.origin.values()),
            "chains": n_chains,
            "bound_sites_intact": int(fates["intact"].sum()),
            "bound_sites": len(fates),
        }
    lineage = {branch.name: asdict(branch) for branch in tree}
    summary = {"seed": seed, "human_length": sum(sizes.values()), "tree": lineage, "species": summary_species,
               "events": {name: nodes[name].events for name in lineage}}  # fmt: skip
    write_json(out / "evolution.json", summary)
    return EvolvedGenomes(out, human_paths, genomes, chains, truth, origin, summary)
