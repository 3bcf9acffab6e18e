"""The one training loop of the DNA schemes: every scheme and stage trains through :func:`fit`.

``supervised`` (the run folder), ``ssl`` (``pretrain/``, ``finetune/``), ``noisy_student``
(``round_k/student``, ``round_k/finetune``) and ``mfd`` (the run folder, ``seen/``) build their
LightningModule and hand it to :func:`fit` with the stage folder and its examples. So every stage gets
the same: the run's window stores, early stopping (``train.patience`` in ``train.patience_unit``),
``train.val_check_interval``, the ``hardware`` section (accelerator, devices, nodes, strategy,
precision), exact ``--resume`` (:class:`~seqlab.training.resume.ResumeState`: random states and, with
the early-stopping decision, a stage that had finished stays finished), ``model/`` (the best weights)
in the stage folder and paths relative to the run folder in the facts for metrics.json.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch

from seqlab.config import DataConfig
from seqlab.config.hardware import HardwareConfig
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.table import ExampleTable
from seqlab.models.model import count_parameters
from seqlab.models.pretrained import RUN_MODEL_DIR
from seqlab.models.sequence_model import SequenceModel
from seqlab.runs import RunPaths
from seqlab.training.preflight import steps_per_epoch, validation_schedule
from seqlab.training.resume import ResumeState
from seqlab.training.schemes import RunContext
from seqlab.training.trainer import MONITOR_MODES, build_trainer

__all__ = ["fit", "run_relative"]

log = logging.getLogger(__name__)


def fit(
    ctx: RunContext,
    stage: RunPaths,
    table: ExampleTable,
    module: L.LightningModule,
    *,
    max_epochs: int | None = None,
    patience: int | None = None,
    patience_unit: str | None = None,
    data: DataConfig | None = None,
) -> tuple[SequenceModel, dict[str, Any]]:
    """Fit ``module`` (its ``model`` a ``SequenceModel``) on ``table`` in ``stage``; save the best as ``model/``.

    With ``ctx.resume`` the stage continues from its ``checkpoints/last.ckpt`` when it has one (a stage
    that had not begun when the run was killed starts afresh; one that had stopped early stays stopped).

    Args:
        ctx: the run context (config: train, hardware and data sections; the run's seed and folder).
        stage: the folder that receives checkpoints/, logs/ and model/ (the run folder or a stage of it).
        table: the examples (train split trains, val split selects the best checkpoint).
        module: the LightningModule to fit (automatic or manual optimisation).
        max_epochs: overrides ``train.max_epochs`` (a stage's own).
        patience: overrides ``train.patience`` (a stage's own).
        patience_unit: overrides ``train.patience_unit`` (a stage's patience counts validations).
        data: overrides the ``data`` section (e.g. a Noisy Student's augmentation).

    Returns:
        The best model (eval mode, CPU) and facts for metrics.json: ``best_checkpoint`` (relative to the
        run folder), ``epochs``, ``steps`` (optimiser steps), ``n_parameters``.
    """
    config = ctx.config
    train, data = config.train, data or config.data
    checkpoint = stage.last_checkpoint if ctx.resume and stage.last_checkpoint.is_file() else None
    stage.make()
    store_dir = data.store.dir or ctx.run.root / "store"  # window stores shared by the run's stages
    dm = DnaDataModule(table, data, seed=ctx.seed, store_dir=store_dir, workers=config.hardware.workers,
                       profiles=config.model.objective.kind == "profile")  # fmt: skip
    n_parameters = count_parameters(module.model)
    log.info("model %s + %s head: %s parameters", config.model.trunk.arch, config.model.head.kind, f"{n_parameters:,}")
    # under DDP each process takes every world_size-th window: its epoch has that many fewer steps
    n_train = math.ceil(len(table.split_indices("train")) / _world_size(config.hardware))
    epoch_steps = steps_per_epoch(n_train, data.batch_size, train.limit_train_batches)
    max_epochs = max_epochs if max_epochs is not None else train.max_epochs
    schedule = validation_schedule(patience if patience is not None else train.patience,
                                   patience_unit or train.patience_unit, train.val_check_interval, epoch_steps,
                                   max_epochs)  # fmt: skip
    if schedule.note and stage.root != ctx.run.root:
        log.info("%s: %s", stage.root.name, schedule.note)
    trainer = build_trainer(
        stage,
        monitor=train.monitor,
        mode=MONITOR_MODES[train.monitor],
        max_epochs=max_epochs,
        patience=schedule.patience,
        hardware=config.hardware,
        val_check_interval=schedule.val_check_interval,
        check_val_every_n_epoch=None if schedule.val_check_interval else 1,
        extra_callbacks=[ResumeState()],  # random states and the stop decision in checkpoints: exact --resume
        gradient_clip=train.gradient_clip,
        limit_train_batches=train.limit_train_batches,
        progress_bar=train.progress_bar,
        module=module,
    )
    trainer.fit(module, datamodule=dm, ckpt_path=checkpoint)
    best = stage.best_checkpoint if stage.best_checkpoint.is_file() else stage.last_checkpoint
    model = SequenceModel.from_pretrained(best)
    if trainer.is_global_zero:
        model.save_pretrained(stage.root / RUN_MODEL_DIR)
    facts = {"best_checkpoint": run_relative(best, ctx.run.root), "epochs": trainer.current_epoch,
             "steps": trainer.global_step, "n_parameters": n_parameters}  # fmt: skip
    return model, facts


def _world_size(hardware: HardwareConfig) -> int:
    """Training processes of a ``hardware`` section: devices per node (``auto``: the GPUs, else 1) x nodes."""
    devices = hardware.devices
    if not isinstance(devices, int):
        on_gpu = hardware.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        devices = torch.cuda.device_count() if on_gpu and devices == "auto" else 1
    return max(1, devices) * hardware.num_nodes


def run_relative(path: str | Path, root: str | Path) -> str:
    """``path`` relative to the run folder ``root`` when inside it (metrics.json moves with it), else absolute."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())
