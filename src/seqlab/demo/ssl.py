"""``seqlab demo ssl``: supervised vs ssl vs noisy_student on simulated species with a known answer.

Simulation (:func:`seqlab.demo.evolve.evolve_species`): a human genome with a few-peak factor
(REST, real JASPAR matrix) evolved into four species along a tree (:data:`DEMO_TREE`: 5-25 %
substitutions, so a homolog is new sequence around a conserved site, not a copy), with chain files.
The demo then writes an ordinary run config (``data.genomes``: human + the species' FASTA and chains;
``data.sources``: ``peaks`` + ``lifted``; val chr5, test chr6) and trains it through
:func:`seqlab.pipeline.train` (what ``seqlab dna train`` runs) with ``train.scheme`` supervised, ssl and
noisy_student, for each of several training seeds on the same data: every run builds the examples,
lifts every human window to every species (homologs with their origin's labels and split), applies the
leakage guard and trains the registered scheme; every model is tested on the same human test windows.
The noisy_student run's teacher is the ssl run's model (``noisy_student.teacher``). A fourth run,
``supervised_equal_steps``, is the supervised run given as many optimiser steps as the longest
semi-supervised run of its seed (the noisy student's steps counting its ssl teacher's), with no early
stopping (the best validation checkpoint is still kept), so a gain is not just more training.

The few-peak setting: the task table names a peak file that keeps ``train_peaks`` random peaks on the
training chromosomes and every peak on the val/test chromosomes (the other training sites stay
unlisted, as the sites a real ChIP-seq misses). Because the truth is known, the demo also counts how
many pseudo-labels are right (a homolog truly carries an intact bound site) and scores SNPs that break
planted sites on the test chromosome against random SNPs, per scheme.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from seqlab import pipeline
from seqlab.atomic import write_json, write_text
from seqlab.config import DnaRunConfig, validate_config
from seqlab.data.homologs import LiftOptions, TargetGenome, lift_examples
from seqlab.data.table import ExampleTable
from seqlab.demo.evolve import Branch, EvolvedGenomes, evolve_species, homolog_truth
from seqlab.demo.simulate import FactorSpec
from seqlab.evaluation.variant_effect import score_variants
from seqlab.io.genome import Genome
from seqlab.models.sequence_model import SequenceModel
from seqlab.training.preflight import steps_per_epoch

__all__ = [
    "DEMO_SPLIT",
    "DEMO_TREE",
    "demo_config",
    "few_peak_tasks",
    "homolog_identity",
    "pseudo_label_accuracy",
    "run_ssl_demo",
    "snp_effects",
]

DEMO_SPLIT = {"val_chroms": ["chr5"], "test_chroms": ["chr6"]}
SCHEMES = ("supervised", "supervised_equal_steps", "ssl", "noisy_student")
DEMO_CHROM_SIZES = {f"chr{i}": 300_000 for i in range(1, 7)}
DEMO_FACTORS = (FactorSpec("REST", "MA0138", sites=240, decoys=120, noise_peaks=24, biosample="K562"),)
DEMO_TRAIN_PEAKS = 17
DEMO_MIN_MATCH = 0.5
DEMO_SEEDS = (0, 1, 2)
DEMO_TREE: tuple[Branch, ...] = (
    Branch("chimp", "human", substitution_rate=0.05, indel_rate=0.002, inversions=1, transpositions=0),
    Branch("gorilla", "human", substitution_rate=0.08, indel_rate=0.003, inversions=1, transpositions=1),
    Branch("primate_anc", "human", substitution_rate=0.10, indel_rate=0.003, inversions=0, transpositions=0),
    Branch("macaque", "primate_anc", substitution_rate=0.08, indel_rate=0.003, inversions=2, transpositions=1),
    Branch("marmoset", "primate_anc", substitution_rate=0.15, indel_rate=0.004, inversions=2, transpositions=1),
)
"""Diverged species: 5 % (chimp) to 25 % (marmoset) substitutions from human; bound sites mutate at 0.2x."""


def few_peak_tasks(evolved: EvolvedGenomes, n: int | None, seed: int) -> Path:
    """A task table whose peak files keep ``n`` random peaks per task on the training chromosomes.

    Peaks on the val/test chromosomes are all kept (the same test set whatever ``n``); None keeps all
    peaks (the simulator's own task table).
    """
    source = Path(evolved.human["tasks"])
    if n is None:
        return source
    tasks = pd.read_csv(source, sep="\t", dtype=str)
    held_out = set(DEMO_SPLIT["val_chroms"]) | set(DEMO_SPLIT["test_chroms"])
    for i, row in tasks.iterrows():
        peaks = pd.read_csv(source.parent / row["peaks"], sep="\t", header=None)
        train = np.flatnonzero(~peaks[0].isin(held_out).to_numpy())
        rng = np.random.default_rng([seed, 11, i])
        dropped = rng.permutation(train)[n:] if train.size > n else np.zeros(0, dtype=np.int64)
        name = Path(row["peaks"]).name.replace(".narrowPeak", f".train{n}.narrowPeak")
        peaks.drop(index=dropped).to_csv(source.parent / "peaks" / name, sep="\t", header=False, index=False)
        tasks.loc[i, "peaks"] = f"peaks/{name}"
    return write_text(source.with_name(f"tasks.train{n}.tsv"), tasks.to_csv(sep="\t", index=False))


def demo_config(
    evolved: EvolvedGenomes,
    tasks: Path,
    scheme: str,
    *,
    seed: int = 0,
    data_seed: int = 0,
    max_epochs: int = 40,
    pos_weight: float | None = 3.0,
    rounds: int = 1,
    pseudo_labels: Literal["soft", "weighted"] = "weighted",
    teacher: Path | None = None,
    steps: int | None = None,
    epoch_steps: int = 1,
    allow_small_splits: bool = False,
) -> dict[str, Any]:
    """The demo's run config (a plain dict, as a YAML file holds it) for ``train.scheme: <scheme>``.

    Every scheme builds the same human windows (negatives drawn with ``data_seed``; ``seed`` seeds the
    training); ``supervised`` (human data only) has no ``lifted`` source, because a supervised run
    trains and tests on every row of its table, homologs included. ``supervised_equal_steps`` is the
    supervised run trained for ``steps`` optimiser steps at least (``ceil(steps / epoch_steps)`` epochs),
    without early stopping.
    """
    name = scheme
    if scheme == "supervised_equal_steps":
        scheme, max_epochs = "supervised", max(1, math.ceil((steps or 0) / epoch_steps))
    stage = {"max_epochs": max_epochs, "learning_rate": 0.003, "patience": 10}
    finetune = {"max_epochs": max_epochs, "learning_rate": 0.001, "patience": 10}
    genomes = {"human": {"fasta": str(evolved.human["genome"])}}
    genomes |= {
        name: {"fasta": str(evolved.genomes[name]), "chain": str(evolved.chains[name])} for name in evolved.genomes
    }
    raw: dict[str, Any] = {
        "seed": seed,
        "name": f"demo-ssl-{name}",
        "data": {
            "genomes": genomes,
            "tasks": str(tasks),
            "sources": [{"kind": "peaks", "negatives": {"ratio": 3.0, "gc_match": True, "seed": data_seed}}],
            "window_length": 200,
            "min_overlap": 100,
            "split": DEMO_SPLIT | {"allow_small_splits": allow_small_splits},
            "augment": {"max_shift": 5, "reverse_complement": True},
            "batch_size": 32,
        },
        "model": {"trunk": {"arch": "deepbind"}, "head": {"kind": "linear"}},
        "train": {
            "scheme": scheme,
            "max_epochs": max_epochs,
            "patience": 10,
            "learning_rate": 0.003,
            "pos_weight": pos_weight,
            "progress_bar": False,
        },  # fmt: skip
        "hardware": {"threads": 1, "accelerator": "cpu"},
    }
    if name == "supervised_equal_steps":  # every step is taken: patience beyond the run's validations
        raw["train"] |= {"max_epochs": max_epochs, "patience": max_epochs * epoch_steps}
    if scheme != "supervised":
        raw["data"]["sources"].append({"kind": "lifted", "min_match": DEMO_MIN_MATCH})
    if scheme == "ssl":
        raw["ssl"] = {"include_human": True, "pretrain": stage, "finetune": finetune}
    if scheme == "noisy_student":
        raw["noisy_student"] = {"rounds": rounds, "pseudo_labels": pseudo_labels, "student": stage,
                                "finetune": finetune, "teacher": str(teacher) if teacher else None}  # fmt: skip
    return raw


def pseudo_label_accuracy(homologs: ExampleTable, evolved: EvolvedGenomes) -> dict[str, dict[str, Any]]:
    """Per species and task: homologs, lifted positives, and how many lifted labels the truth confirms.

    A homolog is truly positive when it holds an intact bound site (``homolog_truth``).
    """
    result: dict[str, dict[str, Any]] = {}
    for name, path in evolved.truth.items():
        fates = pd.read_csv(path, sep="\t")
        rows = np.flatnonzero(homologs.frame["genome"].to_numpy() == name)
        frame = homologs.frame.iloc[rows]
        labels, _ = homologs.label_rows(rows)
        for t, task in enumerate(homologs.task_names):
            truth = homolog_truth(frame, fates, task)
            label = labels[:, t] >= 0.5
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


def snp_effects(model_path: Path, evolved: EvolvedGenomes, snps: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Mean predicted effect (alt - ref probability) of motif-breaking and random SNPs under a model.

    ``model_path``: a model folder, run folder or checkpoint (:meth:`SequenceModel.from_pretrained`).
    """
    model = SequenceModel.from_pretrained(model_path)
    scores = score_variants(model, Genome(evolved.human["genome"]), snps, progress=False).scores
    scores = scores.merge(snps[["id", "kind"]], on="id")
    summary = scores.groupby("kind")["delta_prob"].agg(["mean", "count"])
    return {
        kind: {"mean_delta_prob": round(float(r["mean"]), 5), "n": int(r["count"])} for kind, r in summary.iterrows()
    }


def _lift_summary(table: ExampleTable) -> dict[str, Any]:
    """Per species: windows, homologs kept, failures by reason and guard removals (the lifted source's report)."""
    reports = [table.report, *table.report.get("parts", [])]
    lift = next(report["lift"] for report in reports if "lift" in report)
    return {
        name: {
            "windows": entry["windows"],
            "kept": entry["kept"],
            "failed": entry["failed"],
            "guard_removed": entry["guard_removed"],
        }  # fmt: skip
        for name, entry in lift["genomes"].items()
    }


def homolog_identity(table: ExampleTable, evolved: EvolvedGenomes) -> dict[str, float]:
    """Per species: the mean alignment identity of the kept homologs (``weight: identity``: identical bases / L)."""
    human = table.subset((table.frame["origin"].astype(str) == "").to_numpy())
    targets = [TargetGenome(name, Path(evolved.genomes[name]), Path(evolved.chains[name])) for name in evolved.genomes]
    lifted = lift_examples(human, targets, LiftOptions(min_match=DEMO_MIN_MATCH, weight="identity"), reference="human")
    _, weights = lifted.label_rows(np.arange(len(lifted)))
    identity = weights.max(axis=1)  # the origin's weight (1) times the identity, on every labelled task
    genomes = lifted.frame["genome"].to_numpy()
    return {name: round(float(identity[genomes == name].mean()), 4) for name in evolved.genomes}


def _train_run(folder: Path, raw: dict[str, Any]) -> pipeline.RunResult:
    """``seqlab dna train`` on a config dict: validated, written as the run's config.yaml, trained (rerun replaces)."""
    config = validate_config(raw, DnaRunConfig, raw["name"], folder.parent)
    return pipeline.train(config, folder, overwrite=True)


def _seed_runs(out: Path, evolved: EvolvedGenomes, tasks: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The four runs of one training seed: supervised, ssl, noisy_student (ssl teacher), equal-steps control."""
    rounds, pseudo_labels = options.pop("rounds"), options.pop("pseudo_labels")
    runs = {"supervised": _train_run(out / "supervised", demo_config(evolved, tasks, "supervised", **options))}
    runs["ssl"] = _train_run(out / "ssl", demo_config(evolved, tasks, "ssl", **options))
    raw_noisy = demo_config(evolved, tasks, "noisy_student", rounds=rounds, pseudo_labels=pseudo_labels,
                            teacher=_model_path(runs["ssl"]), **options)  # fmt: skip
    runs["noisy_student"] = _train_run(out / "noisy_student", raw_noisy)
    steps = {name: int(run.metrics["steps"]) for name, run in runs.items()}
    steps["noisy_student"] += steps["ssl"]  # its teacher's steps count: the model needed them
    table = runs["supervised"].table
    epoch_steps = steps_per_epoch(int(table.split_indices("train").size), 32)
    raw_equal = demo_config(evolved, tasks, "supervised_equal_steps", steps=max(steps["ssl"], steps["noisy_student"]),
                            epoch_steps=epoch_steps, **options)  # fmt: skip
    runs["supervised_equal_steps"] = _train_run(out / "supervised_equal_steps", raw_equal)
    steps["supervised_equal_steps"] = int(runs["supervised_equal_steps"].metrics["steps"])
    return {"runs": {name: runs[name] for name in SCHEMES}, "steps": steps}


def _mean(values: list[Any]) -> Any:
    """Mean over seeds of numbers, recursively through dicts with the same keys; a value equal in every seed
    (e.g. ``n_pos``) stays as it is; None when values differ and one is None or not a number.
    """
    if isinstance(values[0], dict):
        return {key: _mean([v[key] for v in values]) for key in values[0]}
    if all(v == values[0] for v in values):
        return values[0]
    if any(v is None for v in values) or not isinstance(values[0], (int, float)):
        return None
    return round(float(np.mean(values)), 4)


def run_ssl_demo(
    out_dir: str | Path = "runs/demo-ssl",
    seed: int = 0,
    seeds: tuple[int, ...] = DEMO_SEEDS,
    max_epochs: int = 40,
    rounds: int = 1,
    pseudo_labels: Literal["soft", "weighted"] = "weighted",
    train_peaks: int | None = DEMO_TRAIN_PEAKS,
    chrom_sizes: dict[str, int] | None = None,
    factors: tuple[FactorSpec, ...] = DEMO_FACTORS,
    pos_weight: float | None = 3.0,
    tree: tuple[Branch, ...] = DEMO_TREE,
    allow_small_splits: bool = False,
) -> dict[str, Any]:
    """Simulate once, then ``seqlab dna train`` every scheme for every training seed; compare; return ``metrics.json``.

    Args:
        out_dir: the demo folder: ``data/`` (simulation), ``config.yaml`` (the ssl run's config) and per
            training seed ``seed_<s>/`` with ``supervised/``, ``ssl/`` (pretrain/, finetune/),
            ``noisy_student/`` (round_k/...), ``supervised_equal_steps/``: ordinary run folders
            (config.yaml, examples/, model/, metrics.json); ``metrics.json``.
        seed: seeds the simulation, the peak choice and the negatives (the data, the same for every run).
        seeds: training seeds (initialisation, shuffling, augmentation, noise).
        max_epochs: epochs at most of every stage.
        rounds: Noisy Student rounds (the ssl run's model is the first teacher).
        pseudo_labels: how the teacher sets the student's pseudo-labels (``noisy_student.pseudo_labels``).
        train_peaks: peaks kept per task on the training chromosomes (the few-peaks case); None keeps all.
        chrom_sizes: human chromosomes (default :data:`DEMO_CHROM_SIZES`: chr1-chr6, 300 kb each).
        factors: the simulated factor(s) (default: REST with 240 bound sites).
        pos_weight: BCE weight of positives (default 3: the negatives are 3 per positive); None for 1.
        tree: the species tree (default :data:`DEMO_TREE`).
        allow_small_splits: ``data.split.allow_small_splits`` (smaller simulations than the default have
            fewer than 10 positives per split).

    Returns:
        ``{"schemes": {name: {"test": {"auroc", "aupr", "per_task": {task: {"auroc", "aupr", "n_pos", ...}}}
        (means over the seeds), "val", "steps" (mean optimiser steps), "seeds": [{"seed", "test", "val",
        "steps"}], "snp_effects"}}, "pseudo_labels", "homolog_identity", "lift", "counts", "wall_time_s"}``.
    """
    started = time.perf_counter()
    out = Path(out_dir).absolute()  # written into configs that resolve relative paths against their own folder
    evolved = evolve_species(out / "data", seed=seed, chrom_sizes=chrom_sizes or DEMO_CHROM_SIZES, factors=factors,
                             tree=tree)  # fmt: skip
    tasks = few_peak_tasks(evolved, train_peaks, seed)
    write_text(out / "config.yaml", yaml.safe_dump(demo_config(evolved, tasks, "ssl", data_seed=seed), sort_keys=False))
    snps = _demo_snps(evolved, DEMO_SPLIT["test_chroms"][0], seed)
    per_seed: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMES}
    table = None
    for s in seeds:
        options = {"seed": s, "data_seed": seed, "max_epochs": max_epochs, "pos_weight": pos_weight, "rounds": rounds,
                   "pseudo_labels": pseudo_labels, "allow_small_splits": allow_small_splits}  # fmt: skip
        result = _seed_runs(out / f"seed_{s}", evolved, tasks, options)
        table = table or result["runs"]["ssl"].table
        for name, run in result["runs"].items():
            per_seed[name].append({"seed": s, "test": run.metrics["test"], "val": run.metrics["val"],
                                   "steps": result["steps"][name],
                                   "snp_effects": snp_effects(_model_path(run), evolved, snps)})  # fmt: skip
    schemes = {
        name: {
            "test": _mean([r["test"] for r in rows]),
            "val": _mean([r["val"] for r in rows]),
            "steps": _mean([r["steps"] for r in rows]),
            "snp_effects": _mean([r["snp_effects"] for r in rows]),
            "seeds": rows,
        }  # fmt: skip
        for name, rows in per_seed.items()
    }
    document = {"simulated": True, "data_seed": seed, "seeds": list(seeds), "schemes": schemes,
                **_data_summary(table, evolved), "wall_time_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    write_json(out / "metrics.json", document)
    return document


def _data_summary(table: ExampleTable, evolved: EvolvedGenomes) -> dict[str, Any]:
    """Counts, lift report, pseudo-label accuracy and homolog identity of the (seed-independent) data."""
    derived = table.frame["origin"].astype(str).to_numpy() != ""
    human, homologs = table.subset(~derived), table.subset(derived)
    train_rows = homologs.split_indices("train")
    human_labels, human_weights = human.label_rows(human.split_indices("train"))
    homolog_labels, _ = homologs.label_rows(train_rows)
    positives = ((human_labels >= 0.5) & (human_weights > 0)).sum(0)
    return {
        "counts": {
            "human_train_positive": {task: int(n) for task, n in zip(human.task_names, positives, strict=True)},
            "human_train": int(human.split_indices("train").size),
            "homologs": len(homologs),
            "homolog_train": int(train_rows.size),
            "homolog_train_positive": int((homolog_labels >= 0.5).sum()),
        },
        "lift": _lift_summary(table),
        "pseudo_labels": pseudo_label_accuracy(homologs, evolved),
        "homolog_identity": homolog_identity(table, evolved),
    }


def _model_path(run: pipeline.RunResult) -> Path:
    """The run's final model: its best checkpoint (metrics.json's ``best_checkpoint``, run-relative or absolute)."""
    return run.run_dir / run.metrics["best_checkpoint"]


def comparison_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per scheme: mean test AUROC/AUPR over seeds, optimiser steps, mean SNP effects."""
    rows = []
    for name in SCHEMES:
        entry = metrics["schemes"][name]
        effects = entry["snp_effects"]
        rows.append({"scheme": name, "auroc": entry["test"]["auroc"], "aupr": entry["test"]["aupr"],
                     "aupr_seeds": [r["test"]["aupr"] for r in entry["seeds"]], "steps": entry["steps"],
                     "motif_snp": effects.get("motif", {}).get("mean_delta_prob"),
                     "random_snp": effects.get("random", {}).get("mean_delta_prob")})  # fmt: skip
    return rows


if __name__ == "__main__":  # pragma: no cover - manual runs
    print(yaml.safe_dump(run_ssl_demo(), sort_keys=False))
