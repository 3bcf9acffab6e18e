"""``seqlab demo dna``: the DNA spine end to end on a simulated genome with real JASPAR motifs.

The demo writes a genome FASTA, narrowPeak files and a task table to disk (``data/``), then runs
exactly what a user runs on real files: build windows and GC-matched negatives, split by
chromosome, audit, train, evaluate both strands averaged, and score variants from a VCF. The
VCF holds SNPs that break bound motif sites and SNPs at random positions of the test chromosome,
so the variant effects have a known answer: motif-breaking SNPs should lower the prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from seqlab import pipeline
from seqlab.atomic import write_text
from seqlab.config import DnaRunConfig, load_config
from seqlab.demo.simulate import simulate_dna_demo
from seqlab.io.genome import Genome

__all__ = ["DEMO_SPLIT", "run_dna_demo", "write_demo_vcf"]

DEMO_SPLIT = {"val_chroms": ["chr5"], "test_chroms": ["chr6"]}
_SNPS_PER_KIND = 40


def _demo_config(paths: dict[str, Path], seed: int, max_epochs: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "name": "demo-dna",
        "data": {
            "genomes": {"simulated": {"fasta": str(paths["genome"])}},
            "tasks": str(paths["tasks"]),
            "sources": [{"kind": "peaks", "negatives": {"ratio": 1.0, "gc_match": True, "seed": seed}}],
            "window_length": 200,
            "min_overlap": 100,
            "split": DEMO_SPLIT,
            "augment": {"max_shift": 5, "reverse_complement": True},
            "batch_size": 64,
        },
        "model": {"trunk": {"arch": "deepbind"}, "head": {"kind": "linear"}},
        # One thread: far faster for this small CNN whenever anything else runs on the machine.
        "train": {"max_epochs": max_epochs, "patience": 3, "learning_rate": 0.003},
        "hardware": {"threads": 1},
    }


def write_demo_vcf(sites: pd.DataFrame, genome: Genome, chrom: str, path: Path, seed: int) -> pd.DataFrame:
    """Write a VCF of motif-breaking SNPs (centre base of bound CTCF sites) and random SNPs on ``chrom``.

    Returns the variants with a ``kind`` column ('motif' or 'random') and a 1-based ``pos``.
    """
    rng = np.random.default_rng(seed)
    bound = sites[(sites["chrom"] == chrom) & (sites["task"] == "CTCF") & (sites["kind"] == "bound")]
    chosen = bound.iloc[rng.permutation(len(bound))[:_SNPS_PER_KIND]]
    motif_pos = ((chosen["start"] + chosen["end"]) // 2).to_numpy()
    size = genome.chrom_sizes[chrom]
    random_pos = rng.integers(10_000, size - 10_000, size=_SNPS_PER_KIND * 3)
    records = []
    for kind, positions in (("motif", motif_pos), ("random", random_pos)):
        for pos0 in positions.tolist():
            ref = genome.fetch(chrom, pos0, pos0 + 1).upper()
            if ref not in "ACGT" or (kind == "random" and len(records) >= 2 * _SNPS_PER_KIND):
                continue
            alt = "ACGT"[("ACGT".index(ref) + 2) % 4]  # transversion-like change that breaks the site
            records.append({"chrom": chrom, "pos": pos0 + 1, "id": f"{kind}_{pos0 + 1}", "ref": ref, "alt": alt,
                            "kind": kind})  # fmt: skip
    variants = pd.DataFrame(records)
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    body = "".join(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\t.\n" for r in variants.itertuples())
    write_text(path, header + body)
    return variants


def run_dna_demo(out_dir: str | Path = "runs/demo-dna", seed: int = 0, max_epochs: int = 12) -> dict[str, Any]:
    """Simulate data, train, evaluate and score variants; return metrics.json plus variant-effect means.

    Args:
        out_dir: the demo folder: ``data/`` (genome, peaks, tasks, VCF), ``config.yaml`` and the run.
        seed: seeds the simulation, negatives, training and the VCF.
        max_epochs: training epochs at most (early stopping on validation AUROC).
    """
    out = Path(out_dir).absolute()  # written into configs that resolve relative paths against their own folder
    paths = simulate_dna_demo(out / "data", seed=seed)
    config_path = write_text(out / "demo.yaml", yaml.safe_dump(_demo_config(paths, seed, max_epochs), sort_keys=False))
    config = load_config(config_path, DnaRunConfig)
    result = pipeline.train(config, out / "run", overwrite=True)  # the demo's own run: a rerun replaces it

    genome = Genome(paths["genome"])
    sites = pd.read_csv(paths["sites"], sep="\t")
    test_chrom = DEMO_SPLIT["test_chroms"][0]
    variants = write_demo_vcf(sites, genome, test_chrom, out / "data" / "demo_snps.vcf", seed)
    effects_path = out / "run" / "variant_effects.tsv"
    pipeline.variant_effect(result.run_dir / "model", out / "data" / "demo_snps.vcf", paths["genome"],
                            effects_path, overwrite=True)  # fmt: skip  # the rerun's effects replace the last run's
    effects = pd.read_csv(effects_path, sep="\t")
    effects = effects[effects["task"] == "CTCF"].merge(variants[["id", "kind"]], on="id")
    summary = effects.groupby("kind")["delta_prob"].agg(["mean", "count"])
    metrics = dict(result.metrics)
    metrics["variant_effects_ctcf"] = {
        kind: {"mean_delta_prob": float(row["mean"]), "n": int(row["count"])} for kind, row in summary.iterrows()
    }
    return metrics
