"""The Python API of every DNA command: audit, train, evaluate, predict, variant effects.

Each function here is what one ``seqlab`` command runs; the CLI only parses options and prints.
The run folder layout is described in :mod:`seqlab.runs`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import torch

from seqlab.atomic import write_json, write_text
from seqlab.config import DataConfig, DnaRunConfig, validate_config
from seqlab.data.audit import AuditReport, audit_examples
from seqlab.data.build import ExampleTable, build_examples
from seqlab.evaluation.predict import predict_fasta, predict_regions, write_predictions
from seqlab.evaluation.variant_effect import (
    score_paired,
    score_variants,
    variant_effect_paths,
    write_variant_effects,
)
from seqlab.io.errors import InputError
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals
from seqlab.io.vcf import read_vcf
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import SequenceModel
from seqlab.objectives import build_objective
from seqlab.outputs import new_files, new_folder, refuse_existing, refuse_existing_folder
from seqlab.reports import summarize_runs
from seqlab.runs import RunPaths, locked, start_run

if TYPE_CHECKING:  # the schemes load lazily: predict and report start fast
    from seqlab.training.schemes import EvaluateFn

__all__ = [
    "RunResult",
    "alleles",
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
    """``seqlab dna audit``: build the data set of ``config`` and report its shortcuts.

    Writes ``audit.json`` and ``audit.txt`` into ``out_dir`` when given.
    """
    _, report = prepare_examples(config)
    if out_dir is not None:
        out = Path(out_dir)
        write_json(out / AUDIT_JSON, report.to_dict())
        write_text(out / "audit.txt", report.to_text() + "\n")
    return report


def _data_params(config: DnaRunConfig, table: ExampleTable) -> DataParams:
    tracks = [source for source in config.data.sources if source.kind == "tracks"]
    return DataParams(
        tasks=table.task_names,
        window_length=config.data.window_length,
        encoding=config.data.encoding,
        genome_name=config.data.genome_name,
        task_metadata=table.tasks.to_dict("records"),
        bin_size=(tracks[0].target_length or config.data.window_length) if tracks else None,
        target_length=table.profiles.length if config.model.objective.kind == "profile" and table.profiles else None,
    )


# --------------------------------------------------------------------------- train and evaluate


def load_run_config(run_dir: str | Path) -> DnaRunConfig:
    """The resolved config a run folder recorded (``config.yaml``)."""
    import yaml

    path = RunPaths(run_dir).config
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: {path.name} is missing")
    return validate_config(yaml.safe_load(path.read_text()), DnaRunConfig, str(path), path.parent)


def _evaluator(accelerator: str) -> EvaluateFn:
    """``RunContext.evaluate`` on the run's ``hardware.accelerator``: reports of ``splits`` written into ``out``."""
    from seqlab.evaluation.evaluate import evaluate_table

    device = _device(accelerator)

    def evaluate_into(model: SequenceModel, table: ExampleTable, out: Path, splits: Sequence[str]) -> dict[str, Any]:
        return evaluate_table(model.to(device), table, out, splits)

    return evaluate_into


def train(config: DnaRunConfig, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False) -> RunResult:
    """``seqlab dna train``: build examples, audit, train with the config's scheme, evaluate the best model.

    The scheme comes from ``train.scheme`` (``seqlab.training.schemes``; ``supervised`` by default).
    The run folder gets ``model/`` (the best weights as a self-describing model folder), checkpoints,
    logs, the examples, the audit and the reports.

    Args:
        config: the validated run config (paths resolved).
        out_dir: the run folder (created).
        resume: continue an interrupted run from its last checkpoint (the config must match the stored one
            apart from :data:`seqlab.runs.RESUMABLE_KEYS`); a folder without one (a run stopped before its
            first checkpoint) starts from the beginning, with a warning.
        overwrite: replace a run already in ``out_dir`` (without it, such a folder is refused).

    Returns:
        A :class:`RunResult`; ``metrics`` is ``metrics.json``: ``{"val": {...}, "test": {"auroc",
        "aupr", "per_task": {task: {"auroc", "aupr", "n_pos", "n_neg"}}}, "n_parameters", ...}``.
    """
    import seqlab.training.builtin  # noqa: F401  (registers the built-in schemes)
    from seqlab.training.schemes import get_scheme

    scheme = get_scheme(config.train.scheme)
    with start_run(out_dir, config, resume=resume, overwrite=overwrite) as started:
        return _train(config, started.paths, scheme, started.resume)


def _train(config: DnaRunConfig, run: RunPaths, scheme: Any, resume: bool) -> RunResult:
    from seqlab.training.preflight import check_dna_training
    from seqlab.training.schemes import RunContext

    started = time.perf_counter()
    table, report = prepare_examples(config)
    table.save(run.root / EXAMPLES_DIR)
    write_json(run.root / AUDIT_JSON, report.to_dict())
    for warning in report.warnings:
        log.warning("audit: %s", warning)
    objective = build_objective(config.model.objective)
    for warning in check_dna_training(table, config.train, config.data.batch_size, objective,
                                      config.data.split.allow_small_splits)[1]:  # fmt: skip
        log.warning("%s", warning)

    context = RunContext(
        config=config,
        run=run,
        table=table,
        data_params=_data_params(config, table),
        seed=config.seed,
        evaluate=_evaluator(config.hardware.accelerator),
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
    threads: int | None = None,
    overwrite: bool = False,
) -> RunResult:
    """``seqlab dna evaluate``: a trained model on a labelled set -> metrics.json, TSVs and plots in ``out_dir``.

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
        threads: CPU threads of torch while evaluating (None: torch's default, every core).
        overwrite: replace an existing ``out_dir`` that holds an earlier evaluation (``metrics.json``);
            without it a non-empty ``out_dir`` is refused (:class:`~seqlab.outputs.OutputExistsError`).
            The run folder itself (the default ``out_dir``) is updated in place: its metrics.json keeps
            the training facts and gets the evaluated splits.

    Returns:
        A :class:`RunResult` whose ``metrics`` is the written metrics.json: ``{split: {"auroc", "aupr",
        "per_task"}, "evaluated_model": ..., "n_examples": {split: n}}``, plus ``"homologs_left_out":
        {split: {genome: n}}`` when the examples hold homologs: those are not scored (as in training,
        the metrics are those of the reference windows).

    Raises:
        FileNotFoundError: no model, or no stored examples for a run-folder evaluation.
        ValueError: windows of another length than the model's, tasks the model does not predict.
    """
    from seqlab.evaluation.evaluate import ALL, evaluate_table, fasta_sets_table

    model_path = Path(model)
    if out_dir is not None and not (Path(out_dir) / "config.yaml").is_file():
        refuse_existing_folder(out_dir, overwrite, "metrics.json")  # before any work
    network = SequenceModel.from_pretrained(model_path, map_location=_device())
    window_length = network.window_length
    run_root = Path(run_dir) if run_dir is not None else _run_folder_of(model_path)
    if fasta_sets:
        sets = [
            _parse_fasta_set(item) if isinstance(item, str) else (Path(item[0]), dict(item[1])) for item in fasta_sets
        ]
        table = fasta_sets_table(sets, window_length)
        default_splits: tuple[str, ...] = ("test",)
    elif data is not None:
        data_config = data.data if isinstance(data, DnaRunConfig) else data
        if data_config.window_length != window_length:
            raise ValueError(
                f"data.window_length is {data_config.window_length} but the model takes {window_length} bp windows"
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
    table, left_out = _reference_rows(table, chosen)
    in_run = RunPaths(out).config.is_file()
    # into a run folder: in place, not while a training run writes there (its lock); elsewhere a new folder
    with locked(out) if in_run else new_folder(out, overwrite, "metrics.json") as target, torch_threads(threads):
        previous: dict[str, Any] = {}
        if run_root is not None and out.resolve() == run_root.resolve() and RunPaths(out).metrics.is_file():
            previous = json.loads(RunPaths(out).metrics.read_text())  # keep training facts, replace the splits
        extra = {key: value for key, value in previous.items() if key not in (*chosen, "val", "test", "train", ALL)}
        extra |= {
            "evaluated_model": _run_relative(model_path, out),
            "n_examples": {split: int(table.split_indices(None if split == ALL else split).size) for split in chosen},
        }
        if left_out:
            extra["homologs_left_out"] = left_out
        folder = target.root if in_run else target
        metrics = evaluate_table(network, table, folder, chosen, batch_size=batch_size, extra=extra)
    return RunResult(out, metrics, table)


def _reference_rows(table: ExampleTable, splits: Sequence[str]) -> tuple[ExampleTable, dict[str, dict[str, int]]]:
    """The reference windows of ``table`` and, per split, the homolog windows left out, per genome.

    Homologs (rows with an origin: a ``lifted`` source) carry their origin's split and labels; every
    scheme reports its val/test metrics on the reference windows alone, and so does evaluation.
    """
    derived = table.derived
    if not derived.any():
        return table, {}
    homologs = table.frame[derived]
    left_out = {}
    for split in splits:
        rows = homologs if split == "all" else homologs[homologs["split"] == split]
        left_out[split] = {str(k): int(v) for k, v in rows["genome"].astype(str).value_counts(sort=False).items()}
    return table.subset(~derived), left_out


def _run_relative(path: str | Path, root: Path) -> str:
    """``path`` relative to the run folder when inside it (metrics.json moves with its folder), else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _run_folder_of(path: Path) -> Path | None:
    """The run folder that ``path`` is, or holds ``path`` (its model/ or checkpoints/), or None."""
    for candidate in (path, path.parent, path.parent.parent):
        if (candidate / "config.yaml").is_file() and (candidate / EXAMPLES_DIR).is_dir():
            return candidate
    return None


# --------------------------------------------------------------------------- predict and variant effects


def predict(
    checkpoint: str | Path | SequenceModel,
    out: str | Path | None,
    *,
    bigwig_out: str | Path | None = None,
    bed: str | Path | None = None,
    fasta: str | Path | None = None,
    genome: str | Path | None = None,
    batch_size: int = 256,
    center: Literal["summit", "center"] = "summit",
    allow_all_n: bool = False,
    metadata: Sequence[Mapping[str, Any]] | None = None,
    threads: int | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """``seqlab dna predict``: per-task predictions (both strands averaged) for BED regions or FASTA records.

    A binary model gives probabilities and logits, a regression model values (no probabilities), a profile
    model the predicted total counts over its target span (with ``bigwig_out``: the predicted profile per base).

    Args:
        checkpoint: a model folder, a run folder or a seqlab checkpoint (each holds the window length,
            encoding and task names), or a loaded ``SequenceModel``.
        out: TSV written atomically, floats at full precision; an existing file is refused
            (:class:`~seqlab.outputs.OutputExistsError`) unless ``overwrite``. None: no TSV (with ``bigwig_out``).
        bigwig_out: with ``bed``: one bigWig per task of the predictions over the regions, binned at the
            model's ``bin_size`` (:mod:`seqlab.evaluation.bigwig_out`; several tasks: ``<stem>.<task>.bw``);
            the TSV (``out``, when given) then holds the bins.
        bed: BED/narrowPeak regions (windows centred on each region); needs ``genome``. An empty
            file is an error.
        fasta: sequences, scored on the window centred on each (longer ones centre-cropped, shorter
            ones padded with N; both counted in a warning).
        genome: genome FASTA for ``bed``.
        batch_size: windows per forward pass.
        center: ``bed`` windows on narrowPeak summits where given ('summit', as training) or on centres.
        allow_all_n: predict windows that are all N (else an error).
        metadata: imputation with a metadata-head model: one metadata row per experiment to predict
            (``seqlab.training.mfd_scheme.parse_metadata`` / ``read_metadata_table``); the output columns are
            these experiments (named by ``task``, else their values) instead of the training ones.
        threads: CPU threads of torch while predicting (None: torch's default, every core).
        overwrite: replace an existing ``out``.
    """
    if (bed is None) == (fasta is None):
        raise ValueError("give exactly one of --bed (with --genome) or --fasta")
    if bigwig_out is not None and bed is None:
        raise ValueError("--bigwig-out needs --bed regions (and --genome)")
    if out is None and bigwig_out is None:
        raise ValueError("give an output: --out TSV and/or --bigwig-out")
    refuse_existing([out] if out is not None else [], overwrite)  # before any work; again when moved into place
    if bed is not None:  # inputs are read before the model is loaded: bad input fails fast
        if genome is None:
            raise ValueError("--bed needs --genome to read the region sequences")
        regions = read_intervals(bed)
        if regions.empty:
            raise InputError("no regions to predict (the file has no data lines)", file=bed)
        reference = Genome(genome)
    model = _load(checkpoint)
    if metadata is not None:
        from seqlab.models.impute import impute_model

        model = impute_model(model, metadata)
    with torch_threads(threads):
        if bigwig_out is not None:
            from seqlab.evaluation.bigwig_out import predict_bigwig

            _, frame = predict_bigwig(model, reference, regions, bigwig_out, batch_size=batch_size,
                                      allow_all_n=allow_all_n, overwrite=overwrite)  # fmt: skip
        elif bed is not None:
            frame = predict_regions(
                model, reference, regions, batch_size=batch_size, center=center, allow_all_n=allow_all_n
            )
        else:
            frame = predict_fasta(model, fasta, batch_size=batch_size, allow_all_n=allow_all_n)
    if out is not None:
        write_predictions(frame, out, overwrite=overwrite)
    return frame


def variant_effect(
    checkpoint: str | Path | SequenceModel,
    vcf: str | Path | None,
    genome: str | Path | None,
    out: str | Path,
    *,
    indels: Literal["score", "skip"] = "skip",
    multiallelic: Literal["split", "skip"] = "split",
    layout: Literal["long", "wide"] = "long",
    batch_size: int = 256,
    shifts: int = 0,
    ref_fasta: str | Path | None = None,
    alt_fasta: str | Path | None = None,
    subspace: str | None = None,
    overwrite: bool = False,
    explain: int = 0,
) -> dict[str, int]:
    """``seqlab dna variant-effect``: reference vs alternative predictions for every VCF variant or FASTA pair.

    ``checkpoint``: a model folder, a run folder, a ``.ckpt`` or a loaded ``SequenceModel``. Either
    ``vcf`` with ``genome``, or ``ref_fasta`` with ``alt_fasta`` (records paired in file order, see
    :func:`~seqlab.evaluation.variant_effect.score_paired`). Writes ``out`` (scores),
    ``<out>.ref_mismatches.tsv`` (REF differs from the genome: never scored) and
    ``<out>.counts.tsv``; returns the counts (read, scored, skipped by reason). A VCF without data
    lines is an error. ``shifts`` averages over windows shifted by -shifts..shifts bp. ``subspace``
    ('bio', 'tech', a metadata-head group; None: full): ALT changes only that subspace's features.
    The three files appear together or not at all; an existing one is refused
    (:class:`~seqlab.outputs.OutputExistsError`) unless ``overwrite``. ``explain`` > 0 also writes
    ``<out stem>.explain/``: reference and alternative attribution logos around the variant for the
    ``explain`` largest ``|delta_logit|`` (:mod:`seqlab.evaluation.interpret.explain`).
    """
    explain_dir = Path(out).with_name(f"{Path(out).name.removesuffix('.tsv')}.explain")
    refuse_existing(list(variant_effect_paths(out).values()), overwrite)
    if explain:
        from seqlab.evaluation.interpret.explain import EXPLAIN_INDEX

        refuse_existing_folder(explain_dir, overwrite, EXPLAIN_INDEX)
    paired = ref_fasta is not None or alt_fasta is not None
    if paired == (vcf is not None) or (paired and (ref_fasta is None or alt_fasta is None)):
        raise ValueError("give either --vcf with --genome, or --ref-fasta with --alt-fasta")
    if not paired and genome is None:
        raise ValueError("--vcf needs --genome (the genome the VCF refers to)")
    if not paired:  # inputs are read before the model is loaded: bad input fails fast
        table = read_vcf(vcf, multiallelic=multiallelic, indels=indels)
        if table.counts["data_lines"] == 0:
            raise InputError("no variants to score (the file has no data lines)", file=vcf)
        reference = Genome(genome)
    model = _load(checkpoint)
    if paired:
        scores = score_paired(
            model,
            ref_fasta,
            alt_fasta,
            batch_size=batch_size,
            layout=layout,
            shifts=shifts,
            subspace=subspace,
        )
        counts = {key: int(value) for key, value in scores.counts.items()}
    else:
        scores = score_variants(
            model,
            reference,
            table.variants,
            batch_size=batch_size,
            layout=layout,
            shifts=shifts,
            subspace=subspace,
        )
        counts = {f"vcf_{key}": int(value) for key, value in table.counts.items()} | {
            key: int(value) for key, value in scores.counts.items()
        }
    write_variant_effects(scores.scores, scores.mismatches, counts, out, overwrite=overwrite)
    if explain:
        from seqlab.extras import require

        require("captum", "seqlab dna variant-effect --explain")
        from seqlab.evaluation.interpret.explain import explain_effects

        source = (ref_fasta, alt_fasta) if paired else reference
        explain_effects(model, scores.scores, explain, explain_dir, source, overwrite=overwrite)
    return counts


def _load(source: str | Path | SequenceModel) -> SequenceModel:
    """The model itself, or the model of a folder or checkpoint loaded onto the GPU when there is one."""
    return source if isinstance(source, SequenceModel) else SequenceModel.from_pretrained(source, _device())


def alleles(
    models: Sequence[str | Path],
    pairs_a: str | Path,
    pairs_b: str | Path,
    out_dir: str | Path,
    *,
    measured: str | Path | None = None,
    jaspar: str | None = None,
    tasks: Sequence[str] | None = None,
    shifts: int = 0,
    batch_size: int = 256,
    overwrite: bool = False,
) -> pd.DataFrame:
    """``seqlab dna alleles``: how often each model scores allele A above allele B (paired FASTA files).

    Writes ``out_dir/alleles.tsv`` (one row per model, ``ensemble`` and ``jaspar``, and task; columns
    in :mod:`seqlab.evaluation.alleles`) and ``out_dir/pairs.tsv`` (one row per pair, scorer and task),
    both or neither; an existing one is refused unless ``overwrite``. Sequences of another length than
    a model's window are centred and padded with N, or centre-cropped (``SequenceModel.predict``).
    Returns the summary table.
    """
    from seqlab.evaluation.alleles import allele_table, model_scorer, read_allele_pairs

    outputs = [Path(out_dir) / "pairs.tsv", Path(out_dir) / "alleles.tsv"]
    refuse_existing(outputs, overwrite)  # before any work
    pairs = read_allele_pairs(pairs_a, pairs_b, measured)
    scorers = {
        name: model_scorer(_load(path), batch_size=batch_size, shifts=shifts)
        for name, path in zip(_model_names(models), models, strict=True)
    }
    summary, per_pair = allele_table(scorers, pairs, jaspar=jaspar)
    if tasks:
        unknown = sorted(set(tasks) - set(summary["task"]))
        if unknown:
            raise ValueError(f"--task {unknown[0]!r}: the models' tasks are {sorted(set(summary['task']) - {jaspar})}")
        summary = summary[summary["task"].isin(list(tasks)) | (summary["model"] == "jaspar")]
        per_pair = per_pair[per_pair["task"].isin(list(tasks)) | (per_pair["model"] == "jaspar")]
    with new_files(outputs, overwrite) as (pairs_tmp, summary_tmp):  # both or neither; the summary last
        per_pair.to_csv(pairs_tmp, sep="\t", index=False, float_format="%.9g")
        summary.to_csv(summary_tmp, sep="\t", index=False, float_format="%.6g")
    return summary


def _model_names(models: Sequence[str | Path]) -> list[str]:
    """Short unique names of model paths: the folder name (its parent's too for ``model``), numbered if repeated."""
    names = []
    for path in map(Path, models):
        name = f"{path.parent.name}/{path.name}" if path.name in ("model", "best.ckpt", "last.ckpt") else path.name
        names.append(name)
    counts = {name: names.count(name) for name in names}
    return [f"{name}#{i}" if counts[name] > 1 else name for i, name in enumerate(names)]


def _device(accelerator: str = "auto") -> torch.device:
    """The torch device of a ``hardware.accelerator`` ('auto': CUDA when present, else the CPU)."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("mps" if accelerator == "mps" else "cpu")


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` CPU threads of torch (None: leave torch's setting), then restore it.

    Raises:
        ValueError: ``threads`` below 1.
    """
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
