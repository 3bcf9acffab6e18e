"""``seqlab demo ssl``: supervised vs ssl vs noisy_student on simulated species with a known answer.

Simulation (:func:`seqlab.demo.evolve.evolve_species`): a human genome with a few-peak factor
(REST, real JASPAR matrix) evolved into four species along a tree, with chain files. The demo then
writes an ordinary run config (``data.genomes``: human + the species' FASTA and chains; ``data.sources``:
``peaks`` + ``lifted``; val chr5, test chr6) and trains it three times through :func:`seqlab.pipeline.train`
(what ``seqlab dna train`` runs) with ``train.scheme`` supervised, ssl and noisy_student: every run builds
the examples, lifts every human window to every species (homologs with their origin's labels and
split), applies the leakage guard and trains the registered scheme; every model is tested on the same
human test windows. The noisy_student run's teacher is the ssl run's model (``noisy_student.teacher``).

The few-peak setting: the task table names a peak file that keeps ``train_peaks`` random peaks on the
training chromosomes and every peak on the val/test chromosomes (the other training sites stay
unlisted, as the sites a real ChIP-seq misses). Because the truth is known, the demo also counts how
many pseudo-labels are right (a homolog truly carries an intact bound site) and scores SNPs that break
planted sites on the test chromosome against random SNPs, per scheme.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from seqlab import pipeline
from seqlab.config import DnaRunConfig, validate_config
from seqlab.data.table import ExampleTable
from seqlab.demo.evolve import EvolvedGenomes, evolve_species, homolog_truth
from seqlab.demo.simulate import FactorSpec
from seqlab.evaluation.variant_effect import score_variants
from seqlab.io.genome import Genome
from seqlab.models.sequence_model import SequenceModel
from seqlab.runs import write_json, write_text

__all__ = ["DEMO_SPLIT", "demo_config", "few_peak_tasks", "pseudo_label_accuracy", "run_ssl_demo", "snp_effects"]

DEMO_SPLIT = {"val_chroms": ["chr5"], "test_chroms": ["chr6"]}
SCHEMES = ("supervised", "ssl", "noisy_student")
DEMO_CHROM_SIZES = {f"chr{i}": 300_000 for i in range(1, 7)}
DEMO_FACTORS = (FactorSpec("REST", "MA0138", sites=240, decoys=120, noise_peaks=24, biosample="K562"),)
DEMO_TRAIN_PEAKS = 40
DEMO_MIN_MATCH = 0.5


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
    max_epochs: int = 40,
    pos_weight: float | None = 3.0,
    rounds: int = 1,
    pseudo_labels: Literal["soft", "weighted"] = "weighted",
    teacher: Path | None = None,
    allow_small_splits: bool = False,
) -> dict[str, Any]:
    """The demo's run config (a plain dict, as a YAML file holds it) for ``train.scheme: <scheme>``.

    Every scheme builds the same human windows; ``supervised`` (human data only) has no ``lifted`` source,
    because a supervised run trains and tests on every row of its table, homologs included.
    """
    stage = {"max_epochs": max_epochs, "learning_rate": 0.003, "patience": 10}
    finetune = {"max_epochs": max_epochs, "learning_rate": 0.001, "patience": 10}
    genomes = {"human": {"fasta": str(evolved.human["genome"])}}
    genomes |= {
        name: {"fasta": str(evolved.genomes[name]), "chain": str(evolved.chains[name])} for name in evolved.genomes
    }
    raw: dict[str, Any] = {
        "seed": seed,
        "name": f"demo-ssl-{scheme}",
        "data": {
            "genomes": genomes,
            "tasks": str(tasks),
            "sources": [{"kind": "peaks", "negatives": {"ratio": 3.0, "gc_match": True, "seed": seed}}],
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


def _train_run(out: Path, raw: dict[str, Any]) -> pipeline.RunResult:
    """``seqlab dna train`` on a config dict: validated, written as the run's config.yaml, trained (rerun replaces)."""
    config = validate_config(raw, DnaRunConfig, raw["name"], out)
    return pipeline.train(config, out / raw["train"]["scheme"], overwrite=True)


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
    allow_small_splits: bool = False,
) -> dict[str, Any]:
    """Simulate, then ``seqlab dna train`` the three schemes on one run config; compare; return ``metrics.json``.

    Args:
        out_dir: the demo folder: ``data/`` (simulation), ``config.yaml`` (the ssl run's config),
            ``supervised/``, ``ssl/`` (pretrain/, finetune/), ``noisy_student/`` (round_k/...): ordinary
            run folders (config.yaml, examples/, model/, metrics.json) and ``metrics.json``.
        seed: seeds the simulation, the peak choice, negatives and every training stage.
        max_epochs: epochs at most of every stage.
        rounds: Noisy Student rounds (the ssl run's model is the first teacher).
        pseudo_labels: how the teacher sets the student's pseudo-labels (``noisy_student.pseudo_labels``).
        train_peaks: peaks kept per task on the training chromosomes (the few-peaks case); None keeps all.
        chrom_sizes: human chromosomes (default :data:`DEMO_CHROM_SIZES`: chr1-chr6, 300 kb each).
        factors: the simulated factor(s) (default: REST with 240 bound sites).
        pos_weight: BCE weight of positives (default 3: the negatives are 3 per positive); None for 1.
        allow_small_splits: ``data.split.allow_small_splits`` (smaller simulations than the default have
            fewer than 10 positives per split).

    Returns:
        ``{"schemes": {name: {"test": {"auroc", "aupr", "per_task"}, "val", "stages"?}}, "pseudo_labels",
        "lift", "counts", "snp_effects", "wall_time_s"}``.
    """
    started = time.perf_counter()
    out = Path(out_dir).absolute()  # written into configs that resolve relative paths against their own folder
    evolved = evolve_species(out / "data", seed=seed, chrom_sizes=chrom_sizes or DEMO_CHROM_SIZES, factors=factors)
    tasks = few_peak_tasks(evolved, train_peaks, seed)
    options = {"seed": seed, "max_epochs": max_epochs, "pos_weight": pos_weight,
               "allow_small_splits": allow_small_splits}  # fmt: skip
    raw_ssl = demo_config(evolved, tasks, "ssl", **options)
    write_text(out / "config.yaml", yaml.safe_dump(raw_ssl, sort_keys=False))
    runs = {"supervised": _train_run(out, demo_config(evolved, tasks, "supervised", **options))}
    runs["ssl"] = _train_run(out, raw_ssl)
    teacher = _model_path(runs["ssl"])
    raw_noisy = demo_config(evolved, tasks, "noisy_student", rounds=rounds, pseudo_labels=pseudo_labels,
                            teacher=teacher, **options)  # fmt: skip
    runs["noisy_student"] = _train_run(out, raw_noisy)

    table = runs["ssl"].table
    derived = table.frame["origin"].astype(str).to_numpy() != ""
    human, homologs = table.subset(~derived), table.subset(derived)
    train_rows = homologs.split_indices("train")
    human_labels, human_weights = human.label_rows(human.split_indices("train"))
    homolog_labels, _ = homologs.label_rows(train_rows)
    snps = _demo_snps(evolved, DEMO_SPLIT["test_chroms"][0], seed)
    schemes = {name: {key: run.metrics[key] for key in ("test", "val", "stages") if key in run.metrics}
               for name, run in runs.items()}  # fmt: skip
    document = {
        "simulated": True,
        "schemes": schemes,
        "counts": {
            "human_train_positive": {
                task: int(n)
                for task, n in zip(human.task_names, ((human_labels >= 0.5) & (human_weights > 0)).sum(0), strict=True)
            },  # fmt: skip
            "human_train": int(human.split_indices("train").size),
            "homologs": len(homologs),
            "homolog_train": int(train_rows.size),
            "homolog_train_positive": int((homolog_labels >= 0.5).sum()),
        },
        "lift": _lift_summary(table),
        "pseudo_labels": pseudo_label_accuracy(homologs, evolved),
        "snp_effects": {name: snp_effects(_model_path(run), evolved, snps) for name, run in runs.items()},
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_json(out / "metrics.json", document)
    return document


def _model_path(run: pipeline.RunResult) -> Path:
    """The run's final model: its best checkpoint (metrics.json's ``best_checkpoint``, run-relative or absolute)."""
    return run.run_dir / run.metrics["best_checkpoint"]


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
