"""The Python API of every DNA command: audit, train, evaluate, predict, variant effects.

Each function here is what one ``seqlab`` command runs; the CLI only parses options and prints.
The run folder layout is described in :mod:`seqlab.runs`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import pandas as pd
import torch

from seqlab.config import DnaRunConfig, dump_config, validate_config
from seqlab.data.audit import AuditReport, audit_examples
from seqlab.data.build import ExampleTable, build_examples, summarize
from seqlab.data.datamodule import DnaDataModule
from seqlab.evaluation.metrics import SplitMetrics, SplitPredictions, compute_split_metrics, write_metrics_tsv
from seqlab.evaluation.plots import plot_pr_curves, plot_roc_curves
from seqlab.evaluation.predict import predict_fasta, predict_regions, write_predictions, write_tsv
from seqlab.evaluation.variant_effect import score_variants, write_variant_effects
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.vcf import read_vcf
from seqlab.models.model import count_parameters
from seqlab.runs import RunPaths, write_json, write_text
from seqlab.training.base import make_data_params
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import MONITOR_MODES, build_trainer, resume_checkpoint

__all__ = [
    "RunResult",
    "audit",
    "evaluate",
    "load_run_config",
    "predict",
    "prepare_examples",
    "summarize_runs",
    "train",
    "variant_effect",
]

log = logging.getLogger(__name__)

EXAMPLES_DIR = "examples"
AUDIT_JSON = "audit.json"
EVAL_SPLITS = ("val", "test")


@dataclass
class RunResult:
    """What a training or evaluation run produced.

    Attributes:
        run_dir: the run folder.
        metrics: the content of ``metrics.json``.
        table: the examples the run used.
    """

    run_dir: Path
    metrics: dict[str, Any]
    table: ExampleTable


# --------------------------------------------------------------------------- data


def prepare_examples(config: DnaRunConfig) -> tuple[ExampleTable, AuditReport]:
    """Build the examples of a run and audit them (duplicates, label conflicts, shortcuts)."""
    table = build_examples(config.data)
    return table, audit_examples(table, seed=config.seed)


def audit(config: DnaRunConfig, out_dir: str | Path | None = None) -> AuditReport:
    """``seqlab audit``: build the data set of ``config`` and report its shortcuts.

    Writes ``audit.json`` and ``audit.txt`` into ``out_dir`` when given.
    """
    _, report = prepare_examples(config)
    if out_dir is not None:
        out = Path(out_dir)
        write_json(out / AUDIT_JSON, report.to_dict())
        write_text(out / "audit.txt", report.to_text() + "\n")
    return report


def _data_params(config: DnaRunConfig, table: ExampleTable) -> dict[str, Any]:
    return make_data_params(
        tasks=table.task_names,
        window_length=config.data.window_length,
        encoding=config.data.encoding,
        genome_name=config.data.genome_name,
        task_metadata=table.tasks.to_dict("records"),
    )


# --------------------------------------------------------------------------- train and evaluate


def _store_dir(config: DnaRunConfig, run: RunPaths) -> Path:
    """Folder of the run's window stores: ``data.store.dir`` or ``<run>/store``."""
    return config.data.store.dir if config.data.store.dir is not None else run.root / "store"


def load_run_config(run_dir: str | Path) -> DnaRunConfig:
    """The resolved config a run folder recorded (``config.yaml``)."""
    import yaml

    path = RunPaths(run_dir).config
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: {path.name} is missing")
    return validate_config(yaml.safe_load(path.read_text()), DnaRunConfig, str(path), path.parent)


def _prediction_frame(table: ExampleTable, predictions: SplitPredictions) -> pd.DataFrame:
    frame = table.frame.iloc[predictions.index][["genome", "chrom", "start", "end", "split"]].reset_index(drop=True)
    for t, task in enumerate(predictions.tasks):
        frame[f"label.{task}"] = np.where(predictions.weight[:, t] > 0, predictions.y[:, t], np.nan)
        frame[f"prob.{task}"] = predictions.probs[:, t]
    return frame


def _write_reports(
    run: RunPaths, table: ExampleTable, predictions: dict[str, SplitPredictions], extra: dict[str, Any]
) -> dict[str, Any]:
    """metrics.json, metrics_per_task.tsv, ROC/PR plots and per-split prediction TSVs."""
    metrics: dict[str, SplitMetrics] = {}
    for split, split_predictions in predictions.items():
        metrics[split] = compute_split_metrics(
            split_predictions.y, split_predictions.probs, split_predictions.weight, split_predictions.tasks, split
        )
        for kind, plot in (("roc", plot_roc_curves), ("pr", plot_pr_curves)):
            plot(
                split_predictions.y,
                split_predictions.probs,
                split_predictions.weight,
                split_predictions.tasks,
                run.plots / f"{kind}_{split}.png",
                title=f"{split} ({len(split_predictions.index):,} windows, both strands averaged)",
            )
        write_tsv(_prediction_frame(table, split_predictions), run.root / f"predictions_{split}.tsv")
    document = {split: split_metrics.to_dict() for split, split_metrics in metrics.items()} | extra
    write_json(run.metrics, document)
    write_metrics_tsv(run.metrics_per_task, metrics)
    return document


def _predict_split(trainer: L.Trainer, module: SupervisedModule, dm: DnaDataModule, split: str) -> SplitPredictions:
    """Strand-averaged predictions of a whole split through the scheme's own validation/test loop."""
    if split == "val":
        trainer.validate(module, dataloaders=dm.val_dataloader(), verbose=False)
    else:
        trainer.test(module, dataloaders=dm.test_dataloader(), verbose=False)
    return module.last_predictions[split]


def train(config: DnaRunConfig, out_dir: str | Path, *, resume: bool = False) -> RunResult:
    """``seqlab train``: build examples, audit, train with early stopping, evaluate the best checkpoint.

    Args:
        config: the validated run config (paths resolved).
        out_dir: the run folder (created). With ``resume=True`` it must hold ``checkpoints/last.ckpt``.
        resume: continue an interrupted run from its last checkpoint.

    Returns:
        A :class:`RunResult`; ``metrics`` is ``metrics.json``: ``{"val": {...}, "test": {"auroc",
        "aupr", "per_task": {task: {"auroc", "aupr", "n_pos", "n_neg"}}}, "n_parameters", ...}``.
    """
    started = time.perf_counter()
    run = RunPaths(out_dir)
    ckpt_path = resume_checkpoint(run, resume)
    run.make()
    L.seed_everything(config.seed, workers=True, verbose=False)
    if config.train.threads is not None:
        torch.set_num_threads(config.train.threads)
    write_text(run.config, dump_config(config))

    table, report = prepare_examples(config)
    table.save(run.root / EXAMPLES_DIR)
    write_json(run.root / AUDIT_JSON, report.to_dict())
    log.info("examples:\n%s", summarize(table))
    for warning in report.warnings:
        log.warning("audit: %s", warning)

    dm = DnaDataModule(table, config.data, seed=config.seed, store_dir=_store_dir(config, run))
    module = SupervisedModule(
        config.model,
        _data_params(config, table),
        learning_rate=config.train.learning_rate,
        weight_decay=config.train.weight_decay,
        pos_weight=config.train.pos_weight,
    )
    n_parameters = count_parameters(module.model)
    log.info("model %s: %s parameters", config.model.arch, f"{n_parameters:,}")
    monitor = config.train.monitor
    trainer = build_trainer(
        run,
        monitor=monitor,
        mode=MONITOR_MODES[monitor],
        max_epochs=config.train.max_epochs,
        patience=config.train.patience,
        accelerator=config.train.accelerator,
        devices=config.train.devices,
        strategy=config.train.strategy,
        precision=config.train.precision,
        gradient_clip=config.train.gradient_clip,
        limit_train_batches=config.train.limit_train_batches,
        progress_bar=config.train.progress_bar,
    )
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    best = run.best_checkpoint if run.best_checkpoint.is_file() else run.last_checkpoint
    best_module = SupervisedModule.load_from_checkpoint(best, map_location="cpu")
    predictions = {split: _predict_split(trainer, best_module, dm, split) for split in EVAL_SPLITS}
    extra = {
        "best_checkpoint": str(best),
        "epochs": trainer.current_epoch,
        "n_parameters": n_parameters,
        "model": config.model.arch,
        "seed": config.seed,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "audit_warnings": report.warnings,
    }
    metrics = _write_reports(run, table, predictions, extra)
    return RunResult(run.root, metrics, table)


def evaluate(run_dir: str | Path, checkpoint: str | Path | None = None) -> RunResult:
    """``seqlab evaluate``: re-evaluate a run's checkpoint on its stored val and test examples.

    Uses the examples saved at training time (``examples/``), so negatives are not re-sampled, and
    rewrites metrics.json, metrics_per_task.tsv, plots and prediction TSVs.
    """
    run = RunPaths(run_dir)
    config = load_run_config(run.root)
    examples = run.root / EXAMPLES_DIR
    if not examples.is_dir():
        raise FileNotFoundError(f"{run.root} holds no saved examples ({EXAMPLES_DIR}/); train it first")
    table = ExampleTable.load(examples)
    ckpt = Path(checkpoint) if checkpoint is not None else run.best_checkpoint
    model, data_params = load_checkpoint(ckpt)
    module = SupervisedModule(config.model, data_params, pos_weight=config.train.pos_weight)
    module.model.load_state_dict(model.state_dict())
    dm = DnaDataModule(table, config.data, seed=config.seed, store_dir=_store_dir(config, run))
    trainer = build_trainer(
        run,
        monitor=config.train.monitor,
        mode=MONITOR_MODES[config.train.monitor],
        accelerator=config.train.accelerator,
        devices=1,
        precision=config.train.precision,
        progress_bar=config.train.progress_bar,
    )
    predictions = {split: _predict_split(trainer, module, dm, split) for split in EVAL_SPLITS}
    previous = json.loads(run.metrics.read_text()) if run.metrics.is_file() else {}
    extra = {key: value for key, value in previous.items() if key not in EVAL_SPLITS}
    extra["evaluated_checkpoint"] = str(ckpt)
    metrics = _write_reports(run, table, predictions, extra)
    return RunResult(run.root, metrics, table)


def summarize_runs(run_dirs: list[str | Path], split: str = "test") -> pd.DataFrame:
    """``seqlab report``: per-task AUROC/AUPR across runs (e.g. seeds) as mean, sd and values.

    Returns one row per task plus a ``mean`` row (the mean over tasks of each run, then over runs):
    columns task, n_runs, auroc_mean, auroc_sd, aupr_mean, aupr_sd, auroc_values, aupr_values,
    wall_time_s_mean. The sd is the sample standard deviation (ddof=1; NaN for a single run).
    """
    records = []
    for run_dir in run_dirs:
        path = RunPaths(run_dir).metrics
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir}: no metrics.json (is it a finished run folder?)")
        document = json.loads(path.read_text())
        if split not in document:
            raise ValueError(f"{path}: no {split!r} metrics")
        entries = dict(document[split]["per_task"]) | {"mean": document[split]}
        for task, values in entries.items():
            records.append({"run": str(run_dir), "task": task, "auroc": values["auroc"], "aupr": values["aupr"],
                            "wall_time_s": document.get("wall_time_s")})  # fmt: skip
    frame = pd.DataFrame(records).astype({"auroc": float, "aupr": float, "wall_time_s": float})
    rows = []
    for task, part in frame.groupby("task", sort=False):
        rows.append({
            "task": task,
            "n_runs": len(part),
            "auroc_mean": part["auroc"].mean(),
            "auroc_sd": part["auroc"].std(ddof=1),
            "aupr_mean": part["aupr"].mean(),
            "aupr_sd": part["aupr"].std(ddof=1),
            "auroc_values": ",".join(f"{v:.4f}" for v in part["auroc"]),
            "aupr_values": ",".join(f"{v:.4f}" for v in part["aupr"]),
            "wall_time_s_mean": part["wall_time_s"].mean(),
        })  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- predict and variant effects


def predict(
    checkpoint: str | Path,
    out: str | Path,
    *,
    bed: str | Path | None = None,
    fasta: str | Path | None = None,
    genome: str | Path | None = None,
    batch_size: int = 256,
    center: Literal["summit", "center"] = "summit",
) -> pd.DataFrame:
    """``seqlab predict``: per-task probabilities (both strands averaged) for BED regions or FASTA records.

    Args:
        checkpoint: a seqlab checkpoint (it holds the window length, encoding and task names).
        out: TSV written atomically.
        bed: BED/narrowPeak regions (windows centred on each region); needs ``genome``.
        fasta: sequences of the model's window length (longer ones are centre-cropped).
        genome: genome FASTA for ``bed``.
        batch_size: windows per forward pass.
        center: ``bed`` windows on narrowPeak summits where given ('summit', as training) or on centres.
    """
    if (bed is None) == (fasta is None):
        raise ValueError("give exactly one of --bed (with --genome) or --fasta")
    model, data_params = load_checkpoint(checkpoint, map_location=_device())
    if bed is not None:
        if genome is None:
            raise ValueError("--bed needs --genome to read the region sequences")
        regions = read_intervals(bed)
        frame = predict_regions(model, data_params, Genome(genome), regions, batch_size=batch_size, center=center)
    else:
        frame = predict_fasta(model, data_params, fasta, batch_size=batch_size)
    write_predictions(frame, out)
    return frame


def variant_effect(
    checkpoint: str | Path,
    vcf: str | Path,
    genome: str | Path,
    out: str | Path,
    *,
    indels: Literal["score", "skip"] = "skip",
    multiallelic: Literal["split", "skip"] = "split",
    layout: Literal["long", "wide"] = "long",
    batch_size: int = 256,
) -> dict[str, int]:
    """``seqlab variant-effect``: reference vs alternative predictions for every VCF variant.

    Writes ``out`` (scores), ``<out>.ref_mismatches.tsv`` (REF differs from the genome: never
    scored) and ``<out>.counts.tsv``; returns the counts (read, scored, skipped by reason).
    """
    model, data_params = load_checkpoint(checkpoint, map_location=_device())
    table = read_vcf(vcf, multiallelic=multiallelic, indels=indels)
    scores = score_variants(model, data_params, Genome(genome), table.variants, batch_size=batch_size, layout=layout)
    counts = {f"vcf_{key}": int(value) for key, value in table.counts.items()} | {
        key: int(value) for key, value in scores.counts.items()
    }
    write_variant_effects(scores.scores, scores.mismatches, counts, out)
    return counts


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
