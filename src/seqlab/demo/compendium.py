"""A simulated compendium with a known answer, for MFD (``seqlab demo mfd``): biology crossed with lab bias.

Files a user would bring (genome FASTA + ``.fai``, one narrowPeak file per experiment, a task table
with metadata) plus the planted truth. What is simulated (all from one seeded generator):

* genome: the background of :mod:`seqlab.demo.simulate` (drifting GC, CpG depletion, N gaps,
  soft-masking) on 500-bp slots;
* biology: per factor (real JASPAR matrices; default CTCF, SPI1, GATA1) ``sites`` motif instances,
  each in its own slot; per biosample an accessibility draw per site (``accessible`` probability).
  Experiment (factor f, biosample b, lab l) has a peak at every site of f accessible in b (signal
  grows with the motif's log-odds, times an experiment-wide lognormal depth), plus ``noise_peaks``
  peaks on plain slots drawn for that experiment;
* technical bias, one kind per lab (the lab's experiments only):
  ``gc``: extra peaks at ``artifact_peaks`` GC-rich slots (bases redrawn at 70 % GC, CpG kept);
  ``dropout``: peaks with signal below the experiment's ``dropout_quantile`` quantile are removed
  (the weak peaks vanish); ``kmer``: extra peaks at ``artifact_peaks`` slots carrying four copies of
  the lab's k-mer (default ``TTAGGGTTAGGG``);
* metadata: target, biosample, assay (ChIP-seq), lab, date (the lab's year with a random month);
  ``missing`` of the factor x biosample x lab experiments are never run; ``holdout`` factor x biosample
  combinations are marked ``holdout=yes`` (all their labs): never trained, used for imputation.

Written: ``genome.fa`` (+ ``.fai``), ``peaks/<task>.narrowPeak``, ``tasks.tsv`` (task, peaks, target,
biosample, assay, lab, date, holdout), ``sites.tsv`` (motif instances: chrom, start, end, strand,
factor, score, summit, one ``accessible_<biosample>`` 0/1 column per biosample), ``artifacts.tsv``
(chrom, start, end, kind gc/kmer, lab) and ``compendium.json`` (the truth: seed, labs' bias kinds,
missing and held-out combinations, per-experiment peak counts and dropout thresholds).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.atomic import write_json, write_text
from seqlab.demo.simulate import (
    _ASCII,
    _SLOT,
    _background,
    _free_slots,
    _log_odds,
    _narrowpeak,
    _pfm,
    _sample_pfm,
    _soft_mask,
    _write_fasta,
)

__all__ = ["CompendiumSpec", "LabSpec", "simulate_compendium"]

_NARROWPEAK = ["chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak"]


@dataclass(frozen=True)
class LabSpec:
    """One lab: its name, its bias kind ('gc', 'dropout', 'kmer' or 'none') and its year."""

    name: str
    bias: str
    year: int


@dataclass(frozen=True)
class CompendiumSpec:
    """Sizes of the simulated compendium (defaults: ``seqlab demo mfd``)."""

    chrom_sizes: dict[str, int] = field(
        default_factory=lambda: {"chr1": 700_000, "chr2": 600_000, "chr3": 500_000, "chr4": 400_000}
    )
    factors: dict[str, str] = field(default_factory=lambda: {"CTCF": "MA0139", "SPI1": "MA0080", "GATA1": "MA0035"})
    biosamples: tuple[str, ...] = ("GM12878", "K562", "HepG2")
    labs: tuple[LabSpec, ...] = (
        LabSpec("LabGC", "gc", 2012),
        LabSpec("LabDrop", "dropout", 2016),
        LabSpec("LabKmer", "kmer", 2020),
    )
    sites: int = 400
    accessible: float = 0.5
    noise_peaks: int = 15
    artifact_peaks: int = 200
    dropout_quantile: float = 0.5
    kmer: str = "TTAGGGTTAGGG"
    missing: float = 0.25
    holdout: int = 2


def _experiments(rng: np.random.Generator, spec: CompendiumSpec) -> tuple[list[tuple[str, str, str]], list, list]:
    """(run experiments, missing ones, held-out factor x biosample pairs); every value stays in training."""
    combos = list(itertools.product(spec.factors, spec.biosamples, [lab.name for lab in spec.labs]))
    for _ in range(1000):
        keep = rng.random(len(combos)) >= spec.missing
        run = [c for c, k in zip(combos, keep, strict=True) if k]
        pairs = sorted({(f, b) for f, b, _ in run})
        if len(pairs) <= spec.holdout:
            continue
        held = [pairs[i] for i in sorted(rng.choice(len(pairs), spec.holdout, replace=False))]
        train = [c for c in run if (c[0], c[1]) not in held]
        if all({c[i] for c in train} == {c[i] for c in combos} for i in range(3)):
            return run, [c for c, k in zip(combos, keep, strict=True) if not k], held
    raise ValueError("could not draw missing/held-out experiments that leave every metadata value in training")


def _gc_slot(rng: np.random.Generator) -> np.ndarray:
    """500 bases (ASCII) at 70 % GC."""
    u = rng.random(_SLOT)
    return _ASCII[np.where(u < 0.7, np.where(u < 0.35, 1, 2), np.where(u < 0.85, 0, 3))]


def _kmer_slot(rng: np.random.Generator, bases: np.ndarray, kmer: str) -> None:
    """Write four copies of ``kmer`` around the middle of a 500-bp slot (in place)."""
    code = np.frombuffer(kmer.encode(), dtype=np.uint8)
    for copy in range(4):
        start = 150 + copy * 50 + int(rng.integers(0, 20))
        bases[start : start + code.size] = code


def _peaks_table(rng, chroms, summits, signal, task, chrom_order) -> pd.DataFrame:
    table = pd.DataFrame({"chrom": chroms, **_narrowpeak(rng, summits, signal)})
    table["chrom_order"] = table["chrom"].map(chrom_order)
    table = table.sort_values(["chrom_order", "start"], kind="stable").reset_index(drop=True)
    table["name"] = [f"{task}_peak_{i + 1}" for i in range(len(table))]
    table["strand"] = "."
    return table


def _plant_sites(rng, spec, genome, chroms, starts) -> pd.DataFrame:
    """Motif instances (one per slot) written into the genome; the sites table with accessibility."""
    rows = []
    for index, (factor, jaspar_id) in enumerate(spec.factors.items()):
        probs, _ = _pfm(jaspar_id)
        width = probs.shape[0]
        codes = _sample_pfm(rng, probs, spec.sites)
        score = _log_odds(probs, codes)
        minus = rng.random(spec.sites) < 0.5
        codes[minus] = 3 - codes[minus, ::-1]
        part = slice(index * spec.sites, (index + 1) * spec.sites)
        site_starts = starts[part] + rng.integers(150, 351 - width, spec.sites)
        for chrom, start, code in zip(chroms[part], site_starts, codes, strict=True):
            genome[chrom][start : start + width] = _ASCII[code]
        table = pd.DataFrame(
            {
                "chrom": chroms[part],
                "start": site_starts,
                "end": site_starts + width,
                "strand": np.where(minus, "-", "+"),
                "factor": factor,
                "score": np.round(score, 3),
                "summit": site_starts + width // 2,
            }
        )
        for biosample in spec.biosamples:
            table[f"accessible_{biosample}"] = (rng.random(spec.sites) < spec.accessible).astype(int)
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def _experiment_peaks(rng, spec, experiment, sites, artifacts, noise_slots, lab_bias) -> tuple[pd.DataFrame, dict]:
    """Summits, signals and truth of one experiment (before narrowPeak formatting)."""
    factor, biosample, lab = experiment
    own = sites[(sites["factor"] == factor) & (sites[f"accessible_{biosample}"] == 1)]
    scores = own["score"].to_numpy()
    quality = (scores - scores.min()) / max(float(np.ptp(scores)), 1e-9) if scores.size else scores
    depth = rng.lognormal(0.0, 0.2)
    signal = depth * rng.lognormal(math.log(10.0), 0.3, scores.size) * (0.6 + 0.8 * quality)
    chroms, summits = list(own["chrom"]), list(own["summit"])
    signals, kinds = list(signal), ["site"] * len(own)
    truth: dict[str, Any] = {"sites": len(own)}
    if lab_bias == "dropout" and len(own):
        threshold = float(np.quantile(signal, spec.dropout_quantile))
        kept = signal >= threshold
        chroms = [c for c, k in zip(chroms, kept, strict=True) if k]
        summits = [s for s, k in zip(summits, kept, strict=True) if k]
        signals, kinds = list(signal[kept]), ["site"] * int(kept.sum())
        truth.update(dropout_threshold=round(threshold, 4), dropped=int((~kept).sum()))
    picked = rng.choice(len(noise_slots[0]), spec.noise_peaks, replace=False)
    chroms += list(noise_slots[0][picked])
    summits += list(noise_slots[1][picked] + _SLOT // 2)
    signals += list(depth * rng.lognormal(math.log(6.0), 0.4, spec.noise_peaks))
    kinds += ["noise"] * spec.noise_peaks
    if lab_bias in ("gc", "kmer"):
        mine = artifacts[artifacts["kind"] == lab_bias]
        chroms += list(mine["chrom"])
        summits += list(mine["start"] + _SLOT // 2)
        signals += list(depth * rng.lognormal(math.log(8.0), 0.3, len(mine)))
        kinds += [lab_bias] * len(mine)
    truth["artifact_peaks"] = sum(kind in ("gc", "kmer") for kind in kinds)
    frame = pd.DataFrame({"chrom": chroms, "summit": summits, "signal": signals, "kind": kinds})
    return frame, truth


def simulate_compendium(out_dir: str | Path, seed: int = 0, spec: CompendiumSpec | None = None) -> dict[str, Path]:
    """Write a simulated compendium (see the module docstring) into ``out_dir``; return its paths.

    Returns:
        Paths by key: ``genome``, ``genome_index``, ``tasks``, ``sites``, ``artifacts``, ``truth``
        (``compendium.json``); peak files are named in ``tasks.tsv`` (relative paths).

    Raises:
        ValueError: chromosomes too small for the slots needed, an unknown lab bias, or draws that
            cannot keep every metadata value in training.
    """
    spec = spec or CompendiumSpec()
    unknown = [lab.bias for lab in spec.labs if lab.bias not in ("gc", "dropout", "kmer", "none")]
    if unknown:
        raise ValueError(f"lab bias {unknown} is not one of gc, dropout, kmer, none")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    genome, gaps = {}, {}
    for chrom, length in spec.chrom_sizes.items():
        genome[chrom], gaps[chrom] = _background(rng, length)
    names = np.array(list(spec.chrom_sizes), dtype=object)
    slot_chrom, slot_start = _free_slots(gaps)
    n_sites = spec.sites * len(spec.factors)
    n_noise = max(4 * spec.noise_peaks, 200)
    needed = n_sites + 2 * spec.artifact_peaks + n_noise
    if needed > slot_chrom.size:
        raise ValueError(f"{needed} slots needed but the genome has {slot_chrom.size} free 500-bp slots")
    order = rng.permutation(slot_chrom.size)[:needed]
    chroms, starts = names[slot_chrom[order]], slot_start[order]

    sites = _plant_sites(rng, spec, genome, chroms, starts)
    artifact_rows = []
    for kind, offset in (("gc", n_sites), ("kmer", n_sites + spec.artifact_peaks)):
        lab = next((lab.name for lab in spec.labs if lab.bias == kind), "")
        for chrom, start in zip(
            chroms[offset : offset + spec.artifact_peaks], starts[offset : offset + spec.artifact_peaks], strict=True
        ):
            if kind == "gc":
                genome[chrom][start : start + _SLOT] = _gc_slot(rng)
            else:
                _kmer_slot(rng, genome[chrom][start : start + _SLOT], spec.kmer)
            artifact_rows.append(
                {"chrom": chrom, "start": int(start), "end": int(start) + _SLOT, "kind": kind, "lab": lab}
            )
    artifacts = pd.DataFrame(artifact_rows, columns=["chrom", "start", "end", "kind", "lab"])
    noise_from = n_sites + 2 * spec.artifact_peaks
    noise_slots = (chroms[noise_from:], starts[noise_from:])

    run, missing, held = _experiments(rng, spec)
    bias = {lab.name: lab.bias for lab in spec.labs}
    year = {lab.name: lab.year for lab in spec.labs}
    chrom_order = {chrom: i for i, chrom in enumerate(spec.chrom_sizes)}
    task_rows, truth_rows = [], {}
    for experiment in run:
        factor, biosample, lab = experiment
        task = f"{factor}_{biosample}_{lab}"
        frame, truth = _experiment_peaks(rng, spec, experiment, sites, artifacts, noise_slots, bias[lab])
        peaks = _peaks_table(
            rng, frame["chrom"].to_numpy(), frame["summit"].to_numpy(), frame["signal"].to_numpy(), task, chrom_order
        )
        relative = Path("peaks") / f"{task}.narrowPeak"
        write_text(
            out / relative,
            peaks[_NARROWPEAK].to_csv(sep="\t", header=False, index=False, float_format="%.5f", lineterminator="\n"),
        )
        task_rows.append(
            {
                "task": task,
                "peaks": relative.as_posix(),
                "target": factor,
                "biosample": biosample,
                "assay": "ChIP-seq",
                "lab": lab,
                "date": f"{year[lab]}-{int(rng.integers(1, 13)):02d}-15",
                "holdout": "yes" if (factor, biosample) in held else "no",
            }
        )
        truth_rows[task] = {**truth, "peaks": len(peaks), "lab_bias": bias[lab]}

    for bases in genome.values():
        _soft_mask(rng, bases)
    paths = {
        "genome": out / "genome.fa",
        "genome_index": out / "genome.fa.fai",
        "tasks": out / "tasks.tsv",
        "sites": out / "sites.tsv",
        "artifacts": out / "artifacts.tsv",
        "truth": out / "compendium.json",
    }
    _write_fasta(paths["genome"], genome)
    write_text(paths["tasks"], pd.DataFrame(task_rows).to_csv(sep="\t", index=False, lineterminator="\n"))
    write_text(paths["sites"], sites.to_csv(sep="\t", index=False, lineterminator="\n"))
    write_text(paths["artifacts"], artifacts.to_csv(sep="\t", index=False, lineterminator="\n"))
    spec_dict = {**asdict(spec), "labs": [asdict(lab) for lab in spec.labs]}
    write_json(
        paths["truth"],
        {
            "seed": seed,
            "spec": spec_dict,
            "missing": [list(c) for c in missing],
            "holdout": [list(pair) for pair in held],
            "experiments": truth_rows,
        },
    )
    return paths
