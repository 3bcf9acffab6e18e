"""``seqlab demo ssl``: supervised vs ssl vs noisy_student on simulated species with a known answer.

Simulation (:func:`seqlab.demo.evolve.evolve_species`): a human genome with a few-peak factor
(REST, real JASPAR matrix) evolved into four species along a tree, with chain files. Then what a
user runs on real files: build the human windows (peaks + GC-matched negatives, val chr5, test chr6),
lift every window to every species (homologs with their origin's labels and split), apply the
leakage guard, and train the three schemes on the same tables; every model is tested on the same
human test windows. Because the truth is known, the demo also counts how many pseudo-labels are
right (a homolog truly carries an intact bound site) and scores SNPs that break planted sites on
the test chromosome against random SNPs, per scheme.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from seqlab.config import DnaRunConfig, dump_config, validate_config
from seqlab.config.schemes import NoisyStudentConfig, SslConfig, StageConfig
from seqlab.data.build import ExampleTable, build_examples
from seqlab.demo.evolve import EvolvedGenomes, evolve_species, homolog_truth
from seqlab.demo.homologs import leakage_guard, lift_homologs
from seqlab.demo.simulate import FactorSpec
from seqlab.evaluation.variant_effect import score_variants
from seqlab.io.genome import Genome
from seqlab.runs import write_json, write_text
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.ssl import fit_stage, run_noisy_student, run_ssl

__all__ = ["DEMO_SPLIT", "pseudo_label_accuracy", "run_ssl_demo", "snp_effects"]

DEMO_SPLIT = {"val_chroms": ["chr5"], "test_chroms": ["chr6"]}
SCHEMES = ("supervised", "ssl", "noisy_student")
DEMO_CHROM_SIZES = {f"chr{i}": 300_000 for i in range(1, 7)}
DEMO_FACTORS = (FactorSpec("REST", "MA0138", sites=240, decoys=120, noise_peaks=24, biosample="K562"),)
DEMO_TRAIN_PEAKS = 40


def _config(evolved: EvolvedGenomes, seed: int, max_epochs: int, pos_weight: float | None) -> DnaRunConfig:
    raw = {
        "seed": seed,
        "name": "demo-ssl",
        "data": {
            "genomes": {"human": {"fasta": str(evolved.human["genome"])}},
            "tasks": str(evolved.human["tasks"]),
            "sources": [{"kind": "peaks", "negatives": {"ratio": 3.0, "gc_match": True, "seed": seed}}],
            "window_length": 200,
            "min_overlap": 100,
            "split": DEMO_SPLIT,
            "augment": {"max_shift": 5, "reverse_complement": True},
            "batch_size": 32,
        },
        "model": {"trunk": {"arch": "deepbind"}, "head": {"kind": "linear"}},
        "train": {
            "max_epochs": max_epochs,
            "patience": 10,
            "learning_rate": 0.003,
            "pos_weight": pos_weight,
            "progress_bar": False,
        },  # fmt: skip
        "hardware": {"threads": 1, "accelerator": "cpu"},
    }
    return validate_config(raw, DnaRunConfig, "demo-ssl", evolved.root)


def subsample_train_positives(table: ExampleTable, n: int | None, seed: int) -> ExampleTable:
    """Keep ``n`` random training windows positive for any task (all other windows kept); None keeps all.

    The few-peaks setting: a factor with ``n`` human training peaks. Lift after subsampling, so
    that only the kept windows have homologs.
    """
    train = table.frame["split"].to_numpy() == "train"
    positive = ((table.labels >= 0.5) & (table.weights > 0)).any(axis=1)
    candidates = np.flatnonzero(train & positive)
    if n is None or n >= candidates.size:
        return table
    dropped = np.random.default_rng([seed, 11]).permutation(candidates)[n:]
    keep = np.ones(len(table), dtype=bool)
    keep[dropped] = False
    return table.subset(keep)


def pseudo_label_accuracy(homologs: ExampleTable, evolved: EvolvedGenomes) -> dict[str, dict[str, Any]]:
    """Per species and task: homologs, lifted positives, and how many lifted labels the truth confirms.

    A homolog is truly positive when it holds an intact bound site (``homolog_truth``).
    """
    result: dict[str, dict[str, Any]] = {}
    for name, path in evolved.truth.items():
        fates = pd.read_csv(path, sep="\t")
        rows = np.flatnonzero(homologs.frame["genome"].to_numpy() == name)
        frame = homologs.frame.iloc[rows]
        for t, task in enumerate(homologs.task_names):
            truth = homolog_truth(frame, fates, task)
            label = homologs.labels[rows, t] >= 0.5
            result.setdefault(name, {})[task] = {
                "homologs": int(rows.size),
                "lifted_positive": int(label.sum()),
                "truly_positive": int(truth.sum()),
                "right": int((label == truth).sum()),
                "right_fraction": round(float((label == truth).mean()), 4) if rows.size else None,
                "positives_right": int((label & truth).sum()),
            }
    return result


def _demo_snps(evolved: EvolvedGenomes, chrom: str, seed: int, n: int = 40) -> pd.DataFrame:
    """SNPs at the centre of bound sites on ``chrom`` ('motif') and at random positions ('random')."""
    rng = np.random.default_rng(seed)
    genome = Genome(evolved.human["genome"])
    sites = pd.read_csv(evolved.human["sites"], sep="\t")
    bound = sites[(sites["chrom"] == chrom) & (sites["kind"] == "bound")]
    motif = ((bound["start"] + bound["end"]) // 2).to_numpy()[:n]
    size = genome.chrom_sizes[chrom]
    random = rng.integers(5_000, size - 5_000, 3 * n)
    rows = []
    for kind, positions in (("motif", motif), ("random", random)):
        for pos0 in positions.tolist():
            ref = genome.fetch(chrom, pos0, pos0 + 1).upper()
            if ref not in "ACGT" or (kind == "random" and sum(r["kind"] == "random" for r in rows) >= n):
                continue
            rows.append({"chrom": chrom, "pos0": pos0, "ref": ref, "alt": "ACGT"[("ACGT".index(ref) + 2) % 4],
                         "id": f"{kind}_{pos0 + 1}", "kind": kind})  # fmt: skip
    return pd.DataFrame(rows)


def snp_effects(checkpoint: Path, evolved: EvolvedGenomes, snps: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Mean predicted effect (alt - ref probability) of motif-breaking and random SNPs under a checkpoint."""
    model, params = load_checkpoint(checkpoint)
    scores = score_variants(model, params, Genome(evolved.human["genome"]), snps, progress=False).scores
    scores = scores.merge(snps[["id", "kind"]], on="id")
    summary = scores.groupby("kind")["delta_prob"].agg(["mean", "count"])
    return {
        kind: {"mean_delta_prob": round(float(r["mean"]), 5), "n": int(r["count"])} for kind, r in summary.iterrows()
    }


def run_ssl_demo(
    out_dir: str | Path = "runs/demo-ssl",
    seed: int = 0,
    max_epochs: int = 40,
    rounds: int = 1,
    pseudo_labels: Literal["soft", "weighted"] = "weighted",
    train_peaks: int | None = DEMO_TRAIN_PEAKS,
    chrom_sizes: dict[str, int] | None = None,
    factors: tuple[FactorSpec, ...] = DEMO_FACTORS,
    pos_weight: float | None = 3.0,
) -> dict[str, Any]:
    """Simulate, lift, guard, train the three schemes, compare; return (and write) ``metrics.json``.

    Args:
        out_dir: the demo folder: ``data/`` (simulation), ``examples/`` (human and homolog tables),
            ``supervised/``, ``ssl/`` (pretrain/, finetune/), ``noisy_student/`` (round_k/...),
            ``config.yaml`` and ``metrics.json``.
        seed: seeds the simulation, negatives and every training stage.
        max_epochs: epochs at most of every stage.
        rounds: Noisy Student rounds (the ssl model is the first teacher).
        pseudo_labels: how the teacher sets the student's pseudo-labels (``NoisyStudentConfig``).
        train_peaks: human training windows kept positive (the few-peaks case); None keeps all.
        chrom_sizes: human chromosomes (default :data:`DEMO_CHROM_SIZES`: chr1-chr6, 300 kb each).
        factors: the simulated factor(s) (default: REST with 240 bound sites).
        pos_weight: BCE weight of positives (default 3: the negatives are 3 per positive); None for 1.

    Returns:
        ``{"schemes": {name: {"test": {"auroc", "aupr", "per_task"}, "val", "stages"?}}, "pseudo_labels",
        "lift", "leakage_guard_removed", "snp_effects", "wall_time_s"}``.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    evolved = evolve_species(out / "data", seed=seed, chrom_sizes=chrom_sizes or DEMO_CHROM_SIZES, factors=factors)
    config = _config(evolved, seed, max_epochs, pos_weight)
    write_text(out / "config.yaml", dump_config(config))
    human = subsample_train_positives(build_examples(config.data), train_peaks, seed)
    species = {name: (evolved.genomes[name], evolved.chains[name]) for name in evolved.genomes}
    lifted, lift_counts = lift_homologs(human, species)
    homologs, removed = leakage_guard(lifted)
    human.save(out / "examples" / "human")
    homologs.save(out / "examples" / "homologs")

    sections = {"model": config.model, "data": config.data, "train": config.train, "seed": seed,
                "hardware": config.hardware}  # fmt: skip
    stage = StageConfig(max_epochs=max_epochs, learning_rate=config.train.learning_rate, patience=10)
    finetune = StageConfig(max_epochs=max_epochs, learning_rate=config.train.learning_rate / 3, patience=10)
    supervised = fit_stage(out / "supervised", human, stage=stage, **sections)
    ssl_config = SslConfig(include_human=True, pretrain=stage, finetune=finetune)
    ssl = run_ssl(human, homologs, out / "ssl", ssl=ssl_config, **sections)
    noisy_config = NoisyStudentConfig(rounds=rounds, pseudo_labels=pseudo_labels, student=stage, finetune=finetune)
    noisy = run_noisy_student(human, homologs, out / "noisy_student", noisy=noisy_config,
                              teacher=Path(ssl["best_checkpoint"]), **sections)  # fmt: skip
    snps = _demo_snps(evolved, DEMO_SPLIT["test_chroms"][0], seed)
    checkpoints = {"supervised": supervised.best_checkpoint, "ssl": Path(ssl["best_checkpoint"]),
                   "noisy_student": Path(noisy["best_checkpoint"])}  # fmt: skip
    schemes = {
        "supervised": {"test": supervised.metrics["test"], "val": supervised.metrics["val"]},
        "ssl": {key: ssl[key] for key in ("test", "val", "stages")},
        "noisy_student": {key: noisy[key] for key in ("test", "val", "stages")},
    }
    document = {
        "simulated": True,
        "schemes": schemes,
        "counts": {
            "human_train_positive": supervised.metrics["n_train_positive"],
            "human_train": supervised.metrics["n_train"],
            "homologs": len(homologs),
            "homolog_train": int(homologs.split_indices("train").size),
            "homolog_train_positive": int((homologs.labels[homologs.split_indices("train")] >= 0.5).sum()),
        },
        "lift": lift_counts,
        "leakage_guard_removed": removed,
        "pseudo_labels": pseudo_label_accuracy(homologs, evolved),
        "snp_effects": {name: snp_effects(path, evolved, snps) for name, path in checkpoints.items()},
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_json(out / "metrics.json", document)
    return document


def comparison_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per scheme: test AUROC/AUPR and the mean predicted effect of motif and random SNPs."""
    rows = []
    for name in SCHEMES:
        test = metrics["schemes"][name]["test"]
        effects = metrics["snp_effects"][name]
        rows.append({"scheme": name, "auroc": test["auroc"], "aupr": test["aupr"],
                     "motif_snp": effects.get("motif", {}).get("mean_delta_prob"),
                     "random_snp": effects.get("random", {}).get("mean_delta_prob")})  # fmt: skip
    return rows


if __name__ == "__main__":  # pragma: no cover - manual runs
    print(yaml.safe_dump(run_ssl_demo(), sort_keys=False))
