"""Cross-species semi-supervised schemes: ``ssl`` (pre-train on homologs, fine-tune) and ``noisy_student``.

Inputs are two :class:`~seqlab.data.build.ExampleTable` objects with the same tasks:

* ``human``: the labelled reference windows, split train/val/test;
* ``homologs``: windows of other genomes lifted from human windows (column ``origin`` = the human
  window's id), labelled with their origin's labels (pseudo-labels) and carrying their origin's
  split, after the leakage guard (no homolog of a val/test window is a training example).

Every stage is a run folder of its own (``RunPaths`` layout: checkpoints/, logs/, metrics.json with
``val`` and ``test``) and every stage is tested on the same rows: the human test windows. So the
run's ``metrics.json`` compares all stages on identical examples.

``ssl`` (:func:`run_ssl`)::

    pretrain/   train: homologs of human train windows (+ human train windows if include_human)
                val:   homologs of human val windows     test: human test windows
    finetune/   human train / val / test; trunk (and head unless head='reinit') from pretrain/best

``noisy_student`` (:func:`run_noisy_student`), for k = 1..rounds::

    round_k/student/   the teacher relabels the training homologs (:func:`teacher_pseudo_labels`); a fresh
                       student trains on them (+ human train) with noise: Gaussian noise on the
                       one-hot input, dropout, random shift and reverse complement; it is selected on
                       the homologs of val windows with their lifted labels
    round_k/finetune/  the student fine-tuned on the human windows; it is the next teacher
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch

from seqlab.config import AugmentConfig, DataConfig, ModelConfig, TrainConfig
from seqlab.config.hardware import HardwareConfig
from seqlab.config.schemes import NoisyStudentConfig, SslConfig, StageConfig
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.table import ExampleTable
from seqlab.models.inference import predict_table
from seqlab.models.model import load_trunk
from seqlab.models.pretrained import RUN_MODEL_DIR
from seqlab.models.sequence_model import SequenceModel, parse_model_config
from seqlab.runs import RunPaths, write_json
from seqlab.training.base import make_data_params
from seqlab.training.losses import weighted_bce_with_logits
from seqlab.training.preflight import steps_per_epoch, validation_schedule
from seqlab.training.schemes import RunContext, register_scheme
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import MONITOR_MODES, build_trainer

__all__ = [
    "NoisyModule",
    "StageResult",
    "fit_stage",
    "noisy_student_scheme",
    "relabel_homologs",
    "run_noisy_student",
    "run_ssl",
    "split_homologs",
    "ssl_scheme",
    "stage_table",
    "teacher_pseudo_labels",
]

log = logging.getLogger(__name__)


class NoisyModule(SupervisedModule):
    """Supervised training with Gaussian noise added to the input of every training batch.

    ``NoisyModule(model_config, data_params, noise_sigma=0.1, learning_rate=...)``: the loss is the
    weighted BCE of ``model(x + noise_sigma * N(0, 1))``; validation and test see clean inputs.
    ``noise_sigma=0`` is plain supervised training.
    """

    def __init__(self, *args: Any, noise_sigma: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, noise_sigma=noise_sigma, **kwargs)

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss of a batch: x float32 (B, C, L) (+ noise), y float32 (B, T) in [0, 1], weight float32 (B, T)."""
        x = batch["x"]
        sigma = float(self.hparams["noise_sigma"])
        if sigma > 0:
            x = x + sigma * torch.randn_like(x)
        logits = self.model(x)
        loss = weighted_bce_with_logits(logits, batch["y"], batch["weight"], self.hparams["pos_weight"])
        self.log_train_loss(loss, batch_size=len(logits))
        return loss


@dataclass
class StageResult:
    """A finished stage: its folder, best checkpoint and metrics document (``val``, ``test``, counts)."""

    name: str
    root: Path
    best_checkpoint: Path
    metrics: dict[str, Any]


# --------------------------------------------------------------------------- tables


def stage_table(parts: list[tuple[ExampleTable, str, str]]) -> ExampleTable:
    """A stage's table from (table, split in that table, split in the stage) parts.

    Example: ``[(homologs, 'train', 'train'), (homologs, 'val', 'val'), (human, 'test', 'test')]``.
    Rows keep their order; tasks are aligned by name and labels/weights keep their storage
    (:meth:`ExampleTable.concat`: sparse when any part is sparse).
    """
    pieces = []
    for table, source, target in parts:
        piece = table.subset(table.split_indices(source))
        piece.frame = piece.frame.assign(split=target)
        pieces.append(piece)
    return ExampleTable.concat(pieces)


# --------------------------------------------------------------------------- one stage


def _data_params(table: ExampleTable, data: DataConfig) -> dict[str, Any]:
    return make_data_params(table.task_names, data.window_length, data.encoding, data.genome_name,
                            table.tasks.to_dict("records"))  # fmt: skip


def _initialise(model: SequenceModel, init: Path, head: Literal["keep", "reinit"]) -> None:
    """Load start weights (checkpoint or model folder): the whole model, or the trunk only (head re-initialised)."""
    if head == "reinit":
        load_trunk(model, init)
        return
    model.load_state_dict(SequenceModel.from_pretrained(init).state_dict())


def fit_stage(
    root: str | Path,
    table: ExampleTable,
    *,
    model: ModelConfig,
    data: DataConfig,
    train: TrainConfig,
    stage: StageConfig,
    seed: int,
    init: Path | None = None,
    head: Literal["keep", "reinit"] = "keep",
    noise_sigma: float = 0.0,
    hardware: HardwareConfig | None = None,
    store_dir: Path | None = None,
    resume: bool = False,
) -> StageResult:
    """Train one stage on ``table`` (its train/val/test splits) and test its best checkpoint.

    Args:
        root: the stage folder (a run folder: checkpoints/, logs/, metrics.json).
        table: examples with splits train (fitted), val (early stopping, best checkpoint), test.
        model: the model section.
        data: the data section (batch size, encoding, augmentation, window length).
        train: the training section (monitor, weight decay, pos_weight, gradient_clip, limit_train_batches).
        stage: epochs, learning rate and patience of this stage.
        seed: seeds initialisation, shuffling and augmentation.
        init: checkpoint whose weights start the stage (see ``head``); None: random initialisation.
        head: with ``init``, keep its head or start a fresh one.
        noise_sigma: Gaussian input noise during training (0: none).
        hardware: accelerator, precision, threads and loader workers (default: ``HardwareConfig()``).
        store_dir: folder of window stores (default ``data.store.dir``, else ``store/`` beside the stage
            folder: the stages of a scheme share their stores, as the stages of a run do).
        resume: continue from the stage's ``checkpoints/last.ckpt`` when it has one (``--resume``).

    Returns:
        The stage's result; ``metrics`` = {"val", "test" (as in a supervised run), "n_train",
        "n_train_positive" (per task), "best_checkpoint", "epochs", "steps" (optimiser steps), "wall_time_s"}.
    """
    started = time.perf_counter()
    run = RunPaths(root).make()
    L.seed_everything(seed, workers=True, verbose=False)
    hardware = hardware or HardwareConfig()
    if hardware.threads is not None:
        torch.set_num_threads(hardware.threads)
    params = _data_params(table, data)
    module = NoisyModule(model, params, noise_sigma=noise_sigma, learning_rate=stage.learning_rate,
                         weight_decay=train.weight_decay, pos_weight=train.pos_weight)  # fmt: skip
    if init is not None:
        _initialise(module.model, init, head)
    epoch_steps = steps_per_epoch(len(table.split_indices("train")), data.batch_size, train.limit_train_batches)
    schedule = validation_schedule(stage.patience, "validations", train.val_check_interval, epoch_steps,
                                   stage.max_epochs)  # fmt: skip
    if schedule.note:
        log.info("%s: %s", run.root.name, schedule.note)
    trainer = build_trainer(
        run,
        monitor=train.monitor,
        mode=MONITOR_MODES[train.monitor],
        max_epochs=stage.max_epochs,
        patience=schedule.patience,
        val_check_interval=schedule.val_check_interval,
        check_val_every_n_epoch=None if schedule.val_check_interval else 1,
        accelerator=hardware.accelerator,
        devices=1,
        precision=hardware.precision,
        gradient_clip=train.gradient_clip,
        limit_train_batches=train.limit_train_batches,
        progress_bar=train.progress_bar,
    )
    store_dir = store_dir or data.store.dir or run.root.parent / "store"
    dm = DnaDataModule(table, data.model_copy(update={"num_workers": hardware.workers}), seed=seed, store_dir=store_dir)
    ckpt_path = run.last_checkpoint if resume and run.last_checkpoint.is_file() else None
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    best_path = run.best_checkpoint if run.best_checkpoint.is_file() else run.last_checkpoint
    best = NoisyModule.load_from_checkpoint(best_path, map_location="cpu")
    trainer.validate(best, dataloaders=dm.val_dataloader(), verbose=False)
    trainer.test(best, dataloaders=dm.test_dataloader(), verbose=False)
    train_rows = table.split_indices("train")
    labels, weights = table.label_rows(train_rows)  # dense (n_train, T) of dense or sparse storage
    positives = ((labels >= 0.5) & (weights > 0)).sum(axis=0)
    metrics = {
        "val": best.last_metrics["val"].to_dict(),
        "test": best.last_metrics["test"].to_dict(),
        "n_train": int(train_rows.size),
        "n_train_positive": {task: int(n) for task, n in zip(table.task_names, positives, strict=True)},
        "n_val": int(table.split_indices("val").size),
        "n_test": int(table.split_indices("test").size),
        "best_checkpoint": str(best_path),
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_json(run.metrics, metrics)
    return StageResult(run.root.name, run.root, best_path, metrics)


# --------------------------------------------------------------------------- teachers


def teacher_pseudo_labels(
    labels: np.ndarray, weights: np.ndarray, probs: np.ndarray, mode: Literal["soft", "weighted"]
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-labels of homologs from a teacher's probabilities.

    Args:
        labels: float32 (N, T) lifted labels y (0/1).
        weights: float32 (N, T) lifted weights w (0 masks).
        probs: float32 (N, T) teacher probabilities p.
        mode: 'soft': (p, w); 'weighted': (y, w * (p if y >= 0.5 else 1 - p)).

    Returns:
        float32 (N, T) labels and weights.
    """
    labels, weights, probs = (np.asarray(a, dtype=np.float32) for a in (labels, weights, probs))
    if mode == "soft":
        return probs.copy(), weights.copy()
    if mode == "weighted":
        confidence = np.where(labels >= 0.5, probs, 1.0 - probs)
        return labels.copy(), (weights * confidence).astype(np.float32)
    raise ValueError(f"pseudo_labels must be 'soft' or 'weighted', got {mode!r}")


def relabel_homologs(homologs: ExampleTable, teacher: str | Path, mode: Literal["soft", "weighted"]) -> ExampleTable:
    """The homologs with the teacher's pseudo-labels (:func:`teacher_pseudo_labels`), as a dense table.

    ``teacher``: a checkpoint or model folder (:meth:`SequenceModel.from_pretrained`); its
    strand-averaged probabilities come from :func:`~seqlab.models.inference.predict_table`. Teacher
    tasks are matched to the table's tasks by name.

    Raises:
        ValueError: a task of the table that the teacher does not predict.
    """
    model = SequenceModel.from_pretrained(teacher)
    missing = [task for task in homologs.task_names if task not in model.tasks]
    if missing:
        raise ValueError(f"noisy_student.teacher {teacher} does not predict task(s) {missing} (it has {model.tasks})")
    probs = predict_table(model, homologs)
    probs = probs[:, [model.tasks.index(task) for task in homologs.task_names]]
    labels, weights = homologs.label_rows(np.arange(len(homologs)))
    labels, weights = teacher_pseudo_labels(labels, weights, probs, mode)
    return dataclasses.replace(homologs, labels=labels, weights=weights)


# --------------------------------------------------------------------------- schemes


def _summary(stages: dict[str, StageResult], final: StageResult, scheme: str) -> dict[str, Any]:
    """The scheme's metrics document; ``steps``: optimiser steps of all its stages together."""
    return {
        "scheme": scheme,
        "steps": sum(result.metrics["steps"] for result in stages.values()),
        "test": final.metrics["test"],
        "val": final.metrics["val"],
        "best_checkpoint": str(final.best_checkpoint),
        "stages": {
            name: {k: result.metrics[k] for k in ("test", "val", "n_train", "n_train_positive", "epochs", "steps")}
            for name, result in stages.items()
        },  # fmt: skip
    }


def run_ssl(
    human: ExampleTable,
    homologs: ExampleTable,
    root: str | Path,
    *,
    model: ModelConfig,
    data: DataConfig,
    train: TrainConfig,
    ssl: SslConfig,
    seed: int = 0,
    hardware: HardwareConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """``ssl``: pre-train on pseudo-labelled homologs, fine-tune on human windows (see the module docstring).

    Returns:
        The metrics document written to ``root/metrics.json``: ``test``/``val`` of the fine-tuned
        model, ``stages`` {pretrain, finetune} each with test/val on the same human test windows.

    Raises:
        ValueError: no homolog of a training window (nothing to pre-train on).
    """
    root = Path(root)
    if homologs.split_indices("train").size == 0:
        raise ValueError("ssl: no homolog of a human training window survived lifting and the leakage guard")
    parts = [(homologs, "train", "train"), (homologs, "val", "val"), (human, "test", "test")]
    if ssl.include_human:
        parts.insert(1, (human, "train", "train"))
    common = {"model": model, "data": data, "train": train, "seed": seed, "hardware": hardware,
              "store_dir": data.store.dir or root / "store", "resume": resume}  # fmt: skip
    pretrain = fit_stage(root / "pretrain", stage_table(parts), stage=ssl.pretrain, **common)
    finetune = fit_stage(root / "finetune", human, stage=ssl.finetune, init=pretrain.best_checkpoint,
                         head=ssl.head, **common)  # fmt: skip
    document = _summary({"pretrain": pretrain, "finetune": finetune}, finetune, "ssl")
    write_json(root / "metrics.json", document)
    return document


def _student_model(model: ModelConfig, dropout: float | None) -> ModelConfig:
    """The model config with its single ``dropout`` rate replaced (configs without one are unchanged)."""
    config = parse_model_config(model)
    if dropout is None or not isinstance(getattr(config, "dropout", None), float):
        return config
    return config.model_copy(update={"dropout": dropout})


def run_noisy_student(
    human: ExampleTable,
    homologs: ExampleTable,
    root: str | Path,
    *,
    model: ModelConfig,
    data: DataConfig,
    train: TrainConfig,
    noisy: NoisyStudentConfig,
    teacher: Path | None = None,
    seed: int = 0,
    hardware: HardwareConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """``noisy_student``: ``rounds`` of teacher relabelling, noised student, fine-tuning (module docstring).

    Args:
        human: the labelled human windows (train/val/test).
        homologs: pseudo-labelled homolog windows with their origin's split.
        root: the scheme's folder (round_1/, round_2/, ... and metrics.json).
        model: the model section (the student's dropout replaced by ``noisy.dropout``).
        data: the data section (the student's augmentation comes from ``noisy``).
        train: the training section.
        noisy: the scheme's settings.
        hardware: accelerator, precision and threads (default: ``HardwareConfig()``).
        teacher: the first teacher's checkpoint (overrides ``noisy.teacher``).
        seed: seeds every stage.
        resume: continue every stage from its ``checkpoints/last.ckpt`` when it has one (``--resume``).

    Raises:
        ValueError: no teacher given, or no homolog of a training window.
    """
    root = Path(root)
    teacher = teacher or noisy.teacher
    if teacher is None:
        raise ValueError("noisy_student.teacher: give a teacher checkpoint (or run ssl first and use its model)")
    relabel = homologs.split_indices("train")
    if relabel.size == 0:
        raise ValueError("noisy_student: no homolog of a human training window survived lifting and the guard")
    student_data = data.model_copy(
        update={"augment": AugmentConfig(max_shift=noisy.max_shift, reverse_complement=noisy.reverse_complement)}
    )
    stages: dict[str, StageResult] = {}
    rounds: list[dict[str, Any]] = []
    for k in range(1, noisy.rounds + 1):
        relabelled = relabel_homologs(homologs.subset(relabel), teacher, noisy.pseudo_labels)
        # the student is selected on homologs of val windows with their lifted labels, not the teacher's
        parts = [(relabelled, "train", "train"), (homologs, "val", "val"), (human, "test", "test")]
        if noisy.include_human:
            parts.insert(1, (human, "train", "train"))
        student_model = _student_model(model, noisy.dropout)
        common = {"model": student_model, "train": train, "seed": seed, "hardware": hardware, "resume": resume,
                  "store_dir": data.store.dir or root / "store"}  # fmt: skip
        student = fit_stage(root / f"round_{k}" / "student", stage_table(parts), data=student_data,
                            stage=noisy.student, noise_sigma=noisy.noise_sigma, **common)  # fmt: skip
        finetune = fit_stage(root / f"round_{k}" / "finetune", human, data=data, stage=noisy.finetune,
                             init=student.best_checkpoint, **common)  # fmt: skip
        stages[f"round_{k}/student"], stages[f"round_{k}/finetune"] = student, finetune
        rounds.append({"round": k, "teacher": str(teacher), "relabelled": int(relabel.size)})
        write_json(root / f"round_{k}" / "metrics.json", _summary({"student": student, "finetune": finetune},
                                                                   finetune, "noisy_student"))  # fmt: skip
        teacher = finetune.best_checkpoint
    document = _summary(stages, stages[f"round_{noisy.rounds}/finetune"], "noisy_student") | {"rounds": rounds}
    write_json(root / "metrics.json", document)
    return document


# --------------------------------------------------------------------------- registry (train.scheme)


def split_homologs(table: ExampleTable) -> tuple[ExampleTable, ExampleTable]:
    """(reference examples, homologs) of a run's table: rows without / with an ``origin``."""
    return table.subset(~table.derived), table.subset(table.derived)


def _sections(ctx: RunContext) -> dict[str, Any]:
    config = ctx.config
    return {"model": config.model, "data": config.data, "train": config.train, "seed": ctx.seed,
            "hardware": config.hardware, "resume": ctx.resume}  # fmt: skip


def _finish_run(ctx: RunContext, human: ExampleTable, document: dict[str, Any]) -> dict[str, Any]:
    """Give the run what a supervised run has: ``model/`` (the final stage's best model) and the reports.

    The reports (predictions_{val,test}.tsv, plots, metrics_per_task.tsv) come from ``ctx.evaluate`` on
    the human windows, so ``seqlab dna predict RUN`` and ``seqlab dna report`` treat every scheme's run alike.
    """
    model = SequenceModel.from_pretrained(document["best_checkpoint"])
    model.save_pretrained(ctx.run.root / RUN_MODEL_DIR)
    ctx.evaluate(model, human, ctx.run.root, ("val", "test"))
    return document


@register_scheme("ssl")
def ssl_scheme(ctx: RunContext) -> dict[str, Any]:
    """``train.scheme: ssl``: the run's table split into human rows and homologs (``data.sources`` kind lifted)."""
    human, homologs = split_homologs(ctx.table)
    document = run_ssl(human, homologs, ctx.run.root, ssl=ctx.config.ssl or SslConfig(), **_sections(ctx))
    return _finish_run(ctx, human, document)


@register_scheme("noisy_student")
def noisy_student_scheme(ctx: RunContext) -> dict[str, Any]:
    """``train.scheme: noisy_student``: the teacher is ``noisy_student.teacher`` or an ssl run in ``ssl/``."""
    human, homologs = split_homologs(ctx.table)
    noisy = ctx.config.noisy_student or NoisyStudentConfig()
    teacher, document = noisy.teacher, {}
    if teacher is None:
        ssl = run_ssl(human, homologs, ctx.run.root / "ssl", ssl=ctx.config.ssl or SslConfig(), **_sections(ctx))
        teacher, document = Path(ssl["best_checkpoint"]), {"teacher_ssl": ssl}
    result = run_noisy_student(human, homologs, ctx.run.root, noisy=noisy, teacher=teacher, **_sections(ctx))
    return _finish_run(ctx, human, result | document)
