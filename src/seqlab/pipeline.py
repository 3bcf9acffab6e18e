"""The Python API of every DNA command: audit, train, evaluate, predict, variant effects.

Each function here is what one ``seqlab`` command runs; the CLI only parses options and prints.
The run folder layout is described in :mod:`seqlab.runs`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import pandas as pd
import torch

from seqlab.config import DataConfig, DnaRunConfig, dump_config, validate_config
from seqlab.data.audit import AuditReport, audit_examples
from seqlab.data.build import ExampleTable, build_examples, summarize
from seqlab.evaluation.evaluate import ALL, evaluate_table, fasta_sets_table
from seqlab.evaluation.predict import predict_fasta, predict_regions, write_predictions
from seqlab.evaluation.variant_effect import score_variants, write_variant_effects
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.vcf import read_vcf
from seqlab.models.data_params import DataParams
from seqlab.models.model import SequenceModel
from seqlab.models.pretrained import load_model
from seqlab.runs import RunPaths, write_json, write_text
from seqlab.training.schemes import RunContext, get_scheme

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


def _data_params(config: DnaRunConfig, table: ExampleTable) -> DataParams:
    return DataParams(
        tasks=table.task_names,
        window_length=config.data.window_length,
        encoding=config.data.encoding,
        genome_name=config.data.genome_name,
        task_metadata=table.tasks.to_dict("records"),
    )


# --------------------------------------------------------------------------- train and evaluate


def load_run_config(run_dir: str | Path) -> DnaRunConfig:
    """The resolved config a run folder recorded (``config.yaml``)."""
    import yaml

    path = RunPaths(run_dir).config
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: {path.name} is missing")
    return validate_config(yaml.safe_load(path.read_text()), DnaRunConfig, str(path), path.parent)


def _evaluate_into(
    model: SequenceModel, data_params: DataParams, table: ExampleTable, out: Path, splits: Sequence[str]
) -> dict[str, Any]:
    """``RunContext.evaluate``: the model on ``splits`` of ``table``, reports written into ``out``."""
    return evaluate_table(model.to(_device()), data_params, table, out, splits)


def train(config: DnaRunConfig, out_dir: str | Path, *, resume: bool = False) -> RunResult:
    """``seqlab train``: build examples, audit, train with the config's scheme, evaluate the best model.

    The scheme comes from ``train.scheme`` (``seqlab.training.schemes``; ``supervised`` by default).
    The run folder gets ``model/`` (the best weights as a self-describing model folder), checkpoints,
    logs, the examples, the audit and the reports.

    Args:
        config: the validated run config (paths resolved).
        out_dir: the run folder (created). With ``resume=True`` it must hold ``checkpoints/last.ckpt``.
        resume: continue an interrupted run from its last checkpoint.

    Returns:
        A :class:`RunResult`; ``metrics`` is ``metrics.json``: ``{"val": {...}, "test": {"auroc",
        "aupr", "per_task": {task: {"auroc", "aupr", "n_pos", "n_neg"}}}, "n_parameters", ...}``.
    """
    started = time.perf_counter()
    scheme = get_scheme(config.train.scheme)
    run = RunPaths(out_dir)
    if resume and not run.last_checkpoint.is_file() and not any(run.root.glob("*/checkpoints/last.ckpt")):
        raise FileNotFoundError(
            f"--resume: no checkpoint to continue from at {run.last_checkpoint}; start the run without --resume"
        )
    run.make()
    L.seed_everything(config.seed, workers=True, verbose=False)
    if config.hardware.threads is not None:
        torch.set_num_threads(config.hardware.threads)
    write_text(run.config, dump_config(config))

    table, report = prepare_examples(config)
    table.save(run.root / EXAMPLES_DIR)
    write_json(run.root / AUDIT_JSON, report.to_dict())
    log.info("examples:\n%s", summarize(table))
    for warning in report.warnings:
        log.warning("audit: %s", warning)

    context = RunContext(
        config=config,
        run=run,
        table=table,
        data_params=_data_params(config, table),
        seed=config.seed,
        evaluate=_evaluate_into,
        resume=resume,
    )
    metrics = scheme(context)
    metrics |= context.extra | {
        "scheme": config.train.scheme,
        "model": config.model.trunk.arch,
        "head": config.model.head.kind,
        "seed": config.seed,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "audit_warnings": report.warnings,
    }
    write_json(run.metrics, metrics)
    return RunResult(run.root, metrics, table)


def _parse_fasta_set(spec: str) -> tuple[Path, dict[str, float]]:
    """``PATH:TASK=LABEL[,TASK=LABEL...]`` -> (path, labels)."""
    path, sep, labels_text = spec.rpartition(":")
    if not sep or not path or "=" not in labels_text:
        raise ValueError(f"labelled FASTA set {spec!r} is not of the form PATH:TASK=LABEL[,TASK=LABEL]")
    labels: dict[str, float] = {}
    for item in labels_text.split(","):
        task, _, value = item.partition("=")
        try:
            labels[task.strip()] = float(value)
        except ValueError:
            raise ValueError(f"labelled FASTA set {spec!r}: label {value!r} of task {task!r} is not a number") from None
    return Path(path), labels


def evaluate(
    model: str | Path,
    out_dir: str | Path | None = None,
    *,
    data: DnaRunConfig | DataConfig | None = None,
    fasta_sets: Sequence[str | tuple[str | Path, Mapping[str, float]]] | None = None,
    splits: Sequence[str] | None = None,
    batch_size: int = 256,
    run_dir: str | Path | None = None,
) -> RunResult:
    """``seqlab evaluate``: a trained model on a labelled set -> metrics.json, TSVs and plots in ``out_dir``.

    The examples are, in this order of preference:

    * ``fasta_sets``: labelled FASTA files, each ``"PATH:TASK=LABEL[,TASK=LABEL]"`` or ``(path,
      {task: label})`` (records need only the model's window length; all in split ``test``);
    * ``data``: a data config (or a run config, whose ``data`` is used) whose examples are built as
      training would build them;
    * else the examples a run folder stored at training time (``model`` must be the run folder, or a
      checkpoint inside its ``checkpoints/``), so negatives are not re-sampled.

    Nothing is appended to a training log: evaluation runs no Lightning trainer.

    Args:
        model: a model folder, a run folder (its ``model/``, else ``checkpoints/best.ckpt``) or a ``.ckpt``.
        out_dir: folder for the reports (default: the run folder when evaluating its stored examples).
        data: see above.
        fasta_sets: see above.
        splits: splits to evaluate ('train', 'val', 'test', or 'all' for every example); default val
            and test for a run's stored examples, test for a data config and for FASTA sets.
        batch_size: windows per forward pass.
        run_dir: the run folder whose stored examples are used (default: the run folder ``model`` is or
            lies in).

    Returns:
        A :class:`RunResult` whose ``metrics`` is the written metrics.json: ``{split: {"auroc", "aupr",
        "per_task"}, "evaluated_model": ..., "n_examples": {split: n}}``.

    Raises:
        FileNotFoundError: no model, or no stored examples for a run-folder evaluation.
        ValueError: windows of another length than the model's, tasks the model does not predict.
    """
    model_path = Path(model)
    network, data_params = load_model(model_path, map_location=_device())
    run_root = Path(run_dir) if run_dir is not None else _run_folder_of(model_path)
    if fasta_sets:
        sets = [
            _parse_fasta_set(item) if isinstance(item, str) else (Path(item[0]), dict(item[1])) for item in fasta_sets
        ]
        table = fasta_sets_table(sets, data_params.window_length)
        default_splits: tuple[str, ...] = ("test",)
    elif data is not None:
        data_config = data.data if isinstance(data, DnaRunConfig) else data
        if data_config.window_length != data_params.window_length:
            raise ValueError(
                f"data.window_length is {data_config.window_length} but the model takes "
                f"{data_params.window_length} bp windows"
            )
        table = build_examples(data_config)
        default_splits = ("test",)
    else:
        if run_root is None or not (run_root / EXAMPLES_DIR).is_dir():
            raise FileNotFoundError(
                f"{model_path}: no labelled examples to evaluate on: give a data config or labelled FASTA sets, "
                f"or a run folder that holds {EXAMPLES_DIR}/"
            )
        table = ExampleTable.load(run_root / EXAMPLES_DIR)
        default_splits = ("val", "test")
    if out_dir is None:
        if run_root is None or fasta_sets or data is not None:
            raise ValueError("give an output folder (--out) for the evaluation reports")
        out_dir = run_root
    out = Path(out_dir)
    chosen = tuple(splits) if splits else default_splits
    previous: dict[str, Any] = {}
    if run_root is not None and out.resolve() == run_root.resolve() and RunPaths(out).metrics.is_file():
        previous = json.loads(RunPaths(out).metrics.read_text())  # keep training facts, replace the splits
    extra = {key: value for key, value in previous.items() if key not in (*chosen, "val", "test", "train", ALL)}
    extra |= {
        "evaluated_model": str(model_path),
        "n_examples": {split: int(table.split_indices(None if split == ALL else split).size) for split in chosen},
    }
    metrics = evaluate_table(network, data_params, table, out, chosen, batch_size=batch_size, extra=extra)
    return RunResult(out, metrics, table)


def _run_folder_of(path: Path) -> Path | None:
    """The run folder that ``path`` is, or holds ``path`` (its model/ or checkpoints/), or None."""
    for candidate in (path, path.parent, path.parent.parent):
        if (candidate / "config.yaml").is_file() and (candidate / EXAMPLES_DIR).is_dir():
            return candidate
    return None


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
        checkpoint: a model folder, a run folder or a seqlab checkpoint (each holds the window length,
            encoding and task names).
        out: TSV written atomically.
        bed: BED/narrowPeak regions (windows centred on each region); needs ``genome``.
        fasta: sequences of the model's window length (longer ones are centre-cropped).
        genome: genome FASTA for ``bed``.
        batch_size: windows per forward pass.
        center: ``bed`` windows on narrowPeak summits where given ('summit', as training) or on centres.
    """
    if (bed is None) == (fasta is None):
        raise ValueError("give exactly one of --bed (with --genome) or --fasta")
    model, data_params = load_model(checkpoint, map_location=_device())
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
    subspace: str | None = None,
) -> dict[str, int]:
    """``seqlab variant-effect``: reference vs alternative predictions for every VCF variant.

    ``subspace`` ('bio', 'tech', a metadata-head group; None: full): ALT changes only that subspace's
    features, the others held at the reference (``score_variants``).

    Writes ``out`` (scores), ``<out>.ref_mismatches.tsv`` (REF differs from the genome: never
    scored) and ``<out>.counts.tsv``; returns the counts (read, scored, skipped by reason).
    """
    model, data_params = load_model(checkpoint, map_location=_device())
    table = read_vcf(vcf, multiallelic=multiallelic, indels=indels)
    scores = score_variants(
        model, data_params, Genome(genome), table.variants, batch_size=batch_size, layout=layout, subspace=subspace
    )
    counts = {f"vcf_{key}": int(value) for key, value in table.counts.items()} | {
        key: int(value) for key, value in scores.counts.items()
    }
    write_variant_effects(scores.scores, scores.mismatches, counts, out)
    return counts


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
