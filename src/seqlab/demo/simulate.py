"""A simulated genome with real JASPAR motifs and ChIP-seq-like peaks, for ``seqlab demo dna``.

The files it writes are the kind a user brings (genome FASTA + ``.fai``, one narrowPeak file per
factor, a task table), so the demo runs the code path of real data. What is simulated:

* background: bases drawn independently with a GC fraction that drifts smoothly along each
  chromosome (isochore-like, anchors every 20 kb around 45 % GC), then CpG depletion: 75 % of CpG
  dinucleotides mutate to TpG or CpA as by methyl-cytosine deamination, leaving about 41 % GC and a
  CpG observed/expected ratio near 0.25, as in the human genome;
* N gaps: telomeres (0.5 % of the chromosome at each end) and one centromere-like gap (2 %);
* soft-masking: about a third of the bases lower-cased in stretches of a few hundred bp to a few kb;
* motifs: instances sampled from JASPAR position frequency matrices (pyjaspar's offline database),
  on either strand, one per 500-bp slot at least 1 kb away from gaps and chromosome ends. Per factor:
  ``sites`` bound instances, each the summit of a narrowPeak peak of 200-400 bp whose signal grows
  with the motif's match; ``decoys`` unbound instances (half from the matrix, half weaker, sampled
  from a flattened matrix) with no peak; ``noise_peaks`` peaks on plain background (no implanted
  motif). Decoys and noise peaks keep the task from being trivially separable.

Soft-masking is applied after the motifs are written, so a site inside a masked stretch is lowercase.
Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``: the same seed gives
byte-identical files.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.atomic import atomic_open, write_json, write_text
from seqlab.extras import require

__all__ = ["DEFAULT_CHROM_SIZES", "DEFAULT_FACTORS", "FactorSpec", "simulate_dna_demo"]

DEFAULT_CHROM_SIZES: dict[str, int] = {
    "chr1": 1_600_000,
    "chr2": 1_450_000,
    "chr3": 1_300_000,
    "chr4": 1_200_000,
    "chr5": 1_100_000,
    "chr6": 1_000_000,
}


@dataclass(frozen=True)
class FactorSpec:
    """One simulated ChIP-seq experiment: a JASPAR matrix and how many instances of each kind."""

    task: str
    jaspar_id: str
    sites: int
    decoys: int
    noise_peaks: int
    biosample: str = "K562"
    date: str = "2024-01-15"


DEFAULT_FACTORS: tuple[FactorSpec, ...] = (
    FactorSpec("CTCF", "MA0139", sites=1500, decoys=600, noise_peaks=200, biosample="GM12878", date="2023-06-12"),
    FactorSpec("SPI1", "MA0080", sites=1500, decoys=600, noise_peaks=200, biosample="GM12878", date="2023-09-04"),
    FactorSpec("REST", "MA0138", sites=60, decoys=30, noise_peaks=8, biosample="K562", date="2024-02-20"),
)

_ASCII = np.frombuffer(b"ACGT", dtype=np.uint8)
_N = ord("N")
_SLOT = 500
_MARGIN = 1_000
_LINE = 60


def _pfm(jaspar_id: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Probability matrix (W, 4; ACGT) of the latest version of a JASPAR matrix, and its record."""
    motif = require("pyjaspar", "the demos' JASPAR motifs").jaspardb().fetch_motif_by_id(jaspar_id)
    counts = np.array([motif.counts[base] for base in "ACGT"], dtype=np.float64).T
    freqs = counts / counts.sum(axis=1, keepdims=True) + 0.01
    info = {"jaspar_id": motif.matrix_id, "jaspar_name": motif.name, "consensus": str(motif.consensus)}
    return freqs / freqs.sum(axis=1, keepdims=True), info


def _sample_pfm(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """``n`` instances of a (W, 4) matrix as base codes 0..3, shape (n, W)."""
    cumulative = np.cumsum(probs, axis=1)
    draws = rng.random((n, probs.shape[0], 1))
    return np.minimum((draws > cumulative[None, :, :]).sum(axis=2), 3).astype(np.uint8)


def _log_odds(probs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Log-odds (natural log, uniform background) of instances (n, W) under a (W, 4) matrix."""
    scores = np.log(probs * 4.0)
    return scores[np.arange(probs.shape[0])[None, :], codes.astype(np.int64)].sum(axis=1)


def _background(rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Bases (ASCII, uint8) of one chromosome with drifting GC and CpG depletion; and its N-gap mask."""
    anchors = np.arange(0, length + 20_000, 20_000)
    drift = np.zeros(anchors.size)
    noise = rng.normal(0.0, 1.0, anchors.size)
    for i in range(1, anchors.size):  # AR(1) over a few dozen anchors: smooth isochore-like drift
        drift[i] = 0.8 * drift[i - 1] + 0.6 * noise[i]
    gc = np.clip(0.45 + 0.03 * drift, 0.33, 0.60)
    gc_at = np.interp(np.arange(length), anchors, gc)
    u = rng.random(length)
    codes = np.where(u < gc_at, np.where(u < gc_at / 2, 1, 2), np.where(u < (1 + gc_at) / 2, 0, 3)).astype(np.uint8)
    cpg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    mutate = cpg[rng.random(cpg.size) < 0.75]
    to_tpg = rng.random(mutate.size) < 0.5
    codes[mutate[to_tpg]] = 3  # C -> T
    codes[mutate[~to_tpg] + 1] = 0  # G -> A
    bases = _ASCII[codes]

    gap = np.zeros(length, dtype=bool)
    telomere = max(length // 200, 1)
    gap[:telomere] = gap[length - telomere :] = True
    centromere = max(length // 50, 1)
    middle = int(length * rng.uniform(0.3, 0.6))
    gap[middle : middle + centromere] = True
    bases[gap] = _N
    return bases, gap


def _soft_mask(rng: np.random.Generator, bases: np.ndarray, fraction: float = 0.35) -> None:
    """Lower-case about ``fraction`` of the non-N bases, in place, in stretches of ~0.1-6 kb."""
    length = bases.size
    n = max(int(fraction * length / 900), 1)
    starts = rng.integers(0, length, n)
    ends = np.minimum(starts + np.clip(rng.lognormal(math.log(600), 0.8, n), 80, 6_000).astype(np.int64), length)
    depth = np.zeros(length + 1, dtype=np.int32)
    np.add.at(depth, starts, 1)
    np.add.at(depth, ends, -1)
    masked = (np.cumsum(depth[:-1]) > 0) & (bases != _N)
    bases[masked] += 32  # ASCII upper -> lower case


def _free_slots(gaps: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(chromosome index, slot start) of every 500-bp slot at least 1 kb away from gaps and ends."""
    chrom_index, slot_starts = [], []
    for index, gap in enumerate(gaps.values()):
        blocked = np.concatenate(([0], np.cumsum(gap)))
        starts = np.arange(_MARGIN, gap.size - _SLOT - _MARGIN, _SLOT)
        clear = blocked[starts + _SLOT + _MARGIN] - blocked[starts - _MARGIN] == 0
        slot_starts.append(starts[clear])
        chrom_index.append(np.full(int(clear.sum()), index))
    return np.concatenate(chrom_index), np.concatenate(slot_starts)


def _write_fasta(path: Path, genome: dict[str, np.ndarray]) -> None:
    """FASTA with 60-bp lines and its samtools ``.fai`` index beside it (computed from the layout), both
    written atomically.
    """
    with atomic_open(path, "wb") as handle:
        for chrom, bases in genome.items():
            handle.write(f">{chrom}\n".encode())
            full = bases.size // _LINE
            lines = np.empty((full, _LINE + 1), dtype=np.uint8)
            lines[:, :_LINE] = bases[: full * _LINE].reshape(full, _LINE)
            lines[:, _LINE] = ord("\n")
            handle.write(lines.tobytes())
            if bases.size % _LINE:
                handle.write(bases[full * _LINE :].tobytes() + b"\n")
    offset, index = 0, []
    for chrom, bases in genome.items():
        offset += len(f">{chrom}\n")
        index.append(f"{chrom}\t{bases.size}\t{offset}\t{_LINE}\t{_LINE + 1}\n")
        offset += bases.size + -(-bases.size // _LINE)  # the bases and a newline per (last partial) line
    write_text(Path(f"{path}.fai"), "".join(index))


def _narrowpeak(rng: np.random.Generator, summits: np.ndarray, signal: np.ndarray) -> dict[str, np.ndarray]:
    """Peak intervals of 200-400 bp around ``summits`` with plausible narrowPeak statistics."""
    width = rng.integers(200, 401, summits.size)
    left = np.round(width * rng.uniform(0.3, 0.7, summits.size)).astype(np.int64)
    p_value = np.maximum(2.5 * signal + rng.normal(0.0, 1.0, summits.size), 2.0)
    return {
        "start": summits - left,
        "end": summits - left + width,
        "score": np.minimum(np.round(signal * 40), 1000).astype(np.int64),
        "signalValue": signal,
        "pValue": p_value,
        "qValue": np.maximum(p_value - 1.5, 1.3),
        "peak": left,
    }


def _simulate_factor(
    rng: np.random.Generator,
    factor: FactorSpec,
    genome: dict[str, np.ndarray],
    slots: tuple[np.ndarray, np.ndarray],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Write one factor's motif instances into ``genome`` (in place) and draw its peaks.

    Args:
        rng: the simulation's random generator.
        factor: the experiment to simulate.
        genome: chromosome -> bases (ASCII uint8), modified in place.
        slots: (chromosome names, slot starts) of ``sites + decoys + noise_peaks`` free slots: bound
            sites first, then decoys, then noise peaks.

    Returns:
        The factor's peaks (narrowPeak columns plus ``chrom_order``, ``source``), its instances
        (the ``sites.tsv`` columns) and its ``simulation.json`` entry.
    """
    slot_chroms, slot_starts = slots
    probs, info = _pfm(factor.jaspar_id)
    width = probs.shape[0]
    n_weak = factor.decoys // 2
    n_motif = factor.sites + factor.decoys
    weak = probs**0.4
    codes = np.concatenate(
        (
            _sample_pfm(rng, probs, n_motif - n_weak),
            _sample_pfm(rng, weak / weak.sum(axis=1, keepdims=True), n_weak),
        )
    )
    score = _log_odds(probs, codes)
    minus = rng.random(n_motif) < 0.5
    codes[minus] = 3 - codes[minus, ::-1]  # reverse complement in ACGT codes
    starts = slot_starts[:n_motif] + rng.integers(150, 351 - width, n_motif)
    site_chroms = slot_chroms[:n_motif]
    for i in range(n_motif):
        genome[site_chroms[i]][starts[i] : starts[i] + width] = _ASCII[codes[i]]
    kinds = ["bound"] * factor.sites + ["decoy"] * (factor.decoys - n_weak) + ["weak_decoy"] * n_weak

    bound = np.arange(factor.sites)
    quality = (score[bound] - score[bound].min()) / max(float(np.ptp(score[bound])), 1e-9)
    jitter = np.clip(np.round(rng.normal(0.0, 5.0, bound.size)), -20, 20).astype(np.int64)
    summits = np.concatenate((starts[bound] + width // 2 + jitter, slot_starts[n_motif:] + _SLOT // 2))
    signal = np.concatenate(
        (
            rng.lognormal(math.log(10.0), 0.4, bound.size) * (0.6 + 0.8 * quality),
            rng.lognormal(math.log(6.0), 0.4, factor.noise_peaks),
        )
    )
    chrom_order = {chrom: i for i, chrom in enumerate(genome)}
    table = pd.DataFrame(
        {
            "chrom": np.concatenate((site_chroms[bound], slot_chroms[n_motif:])),
            **_narrowpeak(rng, summits, signal),
            "source": np.arange(summits.size),  # bound site index, then noise peaks
        }
    )
    table["chrom_order"] = table["chrom"].map(chrom_order)
    table = table.sort_values(["chrom_order", "start", "source"], kind="stable").reset_index(drop=True)
    table["name"] = [f"{factor.task}_peak_{i + 1}" for i in range(len(table))]
    table["strand"] = "."

    peak_of_site = {site: name for site, name in zip(table["source"], table["name"], strict=True) if site < bound.size}
    instances = pd.DataFrame(
        {
            "chrom": site_chroms,
            "start": starts,
            "end": starts + width,
            "strand": np.where(minus, "-", "+"),
            "task": factor.task,
            "kind": kinds,
            "score": np.round(score, 3),
            "sequence": [_ASCII[c].tobytes().decode() for c in codes],
            "peak": [peak_of_site.get(i, ".") for i in range(n_motif)],
        }
    )
    entry = {**asdict(factor), **info, "motif_length": width, "peaks": len(table), "weak_decoys": n_weak}
    return table, instances, entry


def _composition(genome: dict[str, np.ndarray]) -> dict[str, float | int]:
    """Length, GC fraction (of non-N bases), CpG observed/expected, N and soft-masked fractions."""
    bases = np.concatenate(list(genome.values()))
    upper = bases & 0xDF  # ASCII lower -> upper case
    called = upper != _N
    n_called = max(int(called.sum()), 1)
    n_c, n_g = int((upper == ord("C")).sum()), int((upper == ord("G")).sum())
    cpg = int(((upper[:-1] == ord("C")) & (upper[1:] == ord("G"))).sum())
    return {
        "length": int(bases.size),
        "gc_fraction": round((n_c + n_g) / n_called, 4),
        "cpg_observed_expected": round(cpg * n_called / max(n_c * n_g, 1), 4),
        "n_fraction": round(float(1 - called.mean()), 4),
        "soft_masked_fraction": round(float((bases >= ord("a")).mean()), 4),
    }


def simulate_dna_demo(
    out_dir: str | Path,
    seed: int = 0,
    chrom_sizes: dict[str, int] | None = None,
    factors: tuple[FactorSpec, ...] = DEFAULT_FACTORS,
) -> dict[str, Path]:
    """Write a simulated genome, one narrowPeak file per factor and a task table into ``out_dir``.

    Args:
        out_dir: output folder (created).
        seed: seed of every random draw; the same seed gives byte-identical files.
        chrom_sizes: chromosome -> length (default :data:`DEFAULT_CHROM_SIZES`, 7.65 Mb, chr1-chr6).
        factors: the simulated experiments (default: CTCF and SPI1 with 1,500 sites each, REST with
            60 sites: the few-peaks case).

    Returns:
        Paths by key: ``genome`` (``genome.fa``), ``genome_index`` (``genome.fa.fai``), ``tasks``
        (``tasks.tsv``: task, peaks, target, biosample, assay, lab, date; peaks relative to it),
        ``sites`` (``sites.tsv``: every implanted motif instance: chrom, start, end, strand, task,
        kind in bound/decoy/weak_decoy, score (log-odds), sequence (+ strand, upper case), peak),
        ``simulation`` (``simulation.json``: seed, genome statistics, JASPAR ids and counts), and
        ``peaks_<task>`` (``peaks/<task>.narrowPeak``) per factor.

    Raises:
        ValueError: the chromosomes are too small for the requested number of instances.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = dict(chrom_sizes or DEFAULT_CHROM_SIZES)
    rng = np.random.default_rng(seed)

    genome: dict[str, np.ndarray] = {}
    gaps: dict[str, np.ndarray] = {}
    for chrom, length in sizes.items():
        genome[chrom], gaps[chrom] = _background(rng, length)
    chroms = np.array(list(sizes), dtype=object)

    slot_chrom, slot_start = _free_slots(gaps)
    needed = sum(f.sites + f.decoys + f.noise_peaks for f in factors)
    if needed > slot_chrom.size:
        raise ValueError(f"{needed} motif instances and noise peaks need more room than {sum(sizes.values())} bp")
    picked = rng.permutation(slot_chrom.size)[:needed]

    sites: list[pd.DataFrame] = []
    peaks: dict[str, pd.DataFrame] = {}
    factor_info: dict[str, dict[str, Any]] = {}
    used = 0
    for factor in factors:
        slots = picked[used : used + factor.sites + factor.decoys + factor.noise_peaks]
        used += slots.size
        placed = (chroms[slot_chrom[slots]], slot_start[slots])
        peaks[factor.task], site_table, factor_info[factor.task] = _simulate_factor(rng, factor, genome, placed)
        sites.append(site_table)

    for bases in genome.values():
        _soft_mask(rng, bases)

    paths = {
        "genome": out / "genome.fa",
        "genome_index": out / "genome.fa.fai",
        "tasks": out / "tasks.tsv",
        "sites": out / "sites.tsv",
        "simulation": out / "simulation.json",
    }
    _write_fasta(paths["genome"], genome)

    narrowpeak_columns = ["chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak"]
    task_rows = []
    for factor in factors:
        relative = Path("peaks") / f"{factor.task}.narrowPeak"
        paths[f"peaks_{factor.task}"] = out / relative
        text = peaks[factor.task][narrowpeak_columns].to_csv(
            sep="\t", header=False, index=False, float_format="%.5f", lineterminator="\n"
        )
        write_text(out / relative, text)
        task_rows.append(
            {
                "task": factor.task,
                "peaks": relative.as_posix(),
                "target": factor.task,
                "biosample": factor.biosample,
                "assay": "ChIP-seq",
                "lab": "seqlab simulation",
                "date": factor.date,
            }
        )
    write_text(paths["tasks"], pd.DataFrame(task_rows).to_csv(sep="\t", index=False, lineterminator="\n"))
    site_table = pd.concat(sites, ignore_index=True)
    site_table["chrom_order"] = site_table["chrom"].map({c: i for i, c in enumerate(sizes)})
    site_table = site_table.sort_values(["chrom_order", "start"], kind="stable").drop(columns="chrom_order")
    write_text(paths["sites"], site_table.to_csv(sep="\t", index=False, lineterminator="\n"))

    write_json(
        paths["simulation"],
        {
            "seed": seed,
            "chrom_sizes": sizes,
            "genome": _composition(genome),
            "factors": factor_info,
            "files": {key: path.relative_to(out).as_posix() for key, path in paths.items()},
        },
    )
    return paths
