"""The ``ssl`` scheme (pre-train on homologs, fine-tune) and the stage both cross-species schemes share.

Inputs are two :class:`~seqlab.data.build.ExampleTable` objects with the same tasks, split from the
run's table (:func:`split_homologs`):

* ``human``: the labelled reference windows, split train/val/test;
* ``homologs``: windows of other genomes lifted from human windows (column ``origin`` = the human
  window's id), labelled with their origin's labels (pseudo-labels) and carrying their origin's
  split, after the leakage guard (no homolog of a val/test window is a training example).

Every stage is a run folder of its own (``RunPaths`` layout: checkpoints/, logs/, model/, metrics.json
with ``val`` and ``test``, the reports) trained through the one loop (:func:`~seqlab.training.fit.fit`:
exact resume, patience unit, validation interval, hardware), and every stage is tested on the same rows:
the human test windows. So the run's ``metrics.json`` compares all stages on identical examples.

``ssl`` (:func:`run_ssl`)::

    pretrain/   train: homologs of human train windows (+ human train windows if include_human)
                val:   homologs of human val windows     test: human test windows
    finetune/   human train / val / test; trunk (and head unless head='reinit') from pretrain/best

``noisy_student`` (training/noisy_student.py) reuses :func:`train_stage` for its rounds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch

from seqlab.atomic import write_json
from seqlab.config import DataConfig, ModelConfig
from seqlab.config.schemes import SslConfig, StageConfig
from seqlab.data.table import ExampleTable
from seqlab.models.model import load_trunk
from seqlab.models.pretrained import RUN_MODEL_DIR
from seqlab.models.sequence_model import SequenceModel
from seqlab.runs import RunPaths
from seqlab.training.fit import fit, run_relative
from seqlab.training.schemes import RunContext, Scheme
from seqlab.training.supervised import SupervisedModule

__all__ = [
    "SSL",
    "NoisyModule",
    "StageResult",
    "finish_run",
    "run_ssl",
    "split_homologs",
    "stage_summary",
    "stage_table",
    "train_stage",
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
        loss = self.objective.loss(logits, batch)
        self.log_train_loss(loss, batch_size=len(logits))
        return loss


@dataclass
class StageResult:
    """A finished stage: its name, folder, best checkpoint and metrics document (``val``, ``test``, counts)."""

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


def split_homologs(table: ExampleTable) -> tuple[ExampleTable, ExampleTable]:
    """(reference examples, homologs) of a run's table: rows without / with an ``origin``."""
    return table.subset(~table.derived), table.subset(table.derived)


# --------------------------------------------------------------------------- one stage


def _initialise(model: SequenceModel, init: Path, head: Literal["keep", "reinit"]) -> None:
    """Load start weights (checkpoint or model folder): the whole model, or the trunk only (head re-initialised)."""
    if head == "reinit":
        load_trunk(model, init)
        return
    model.load_state_dict(SequenceModel.from_pretrained(init).state_dict())


def train_stage(
    ctx: RunContext,
    folder: RunPaths,
    table: ExampleTable,
    stage: StageConfig,
    *,
    model: ModelConfig | None = None,
    data: DataConfig | None = None,
    init: Path | None = None,
    head: Literal["keep", "reinit"] = "keep",
    noise_sigma: float = 0.0,
) -> StageResult:
    """Train one stage on ``table`` (its train/val/test splits) through the one loop; evaluate its best model.

    Args:
        ctx: the run context (train, hardware and data sections; seed; ``resume``; ``evaluate``).
        folder: the stage folder (a run folder: checkpoints/, logs/, model/, metrics.json, reports).
        table: examples with splits train (fitted), val (early stopping, best checkpoint), test.
        stage: epochs, learning rate and patience (in ``train.patience_unit``) of this stage.
        model: the model section (default ``ctx.config.model``).
        data: the data section (default ``ctx.config.data``; e.g. a student's augmentation).
        init: checkpoint or model folder whose weights start the stage (see ``head``); None: random.
        head: with ``init``, keep its head or start a fresh one.
        noise_sigma: Gaussian input noise during training (0: none).

    Returns:
        The stage's result; ``metrics`` = {"val", "test" (as in a supervised run), "n_train",
        "n_train_positive" (per task), "n_val", "n_test", "best_checkpoint" (run-relative), "epochs",
        "steps" (optimiser steps), "n_parameters", "wall_time_s"}.
    """
    started = time.perf_counter()
    train = ctx.config.train
    L.seed_everything(ctx.seed, workers=True, verbose=False)  # a stage's start does not depend on the one before
    module = NoisyModule(model or ctx.config.model, ctx.data_params.to_dict(), noise_sigma=noise_sigma,
                         learning_rate=stage.learning_rate, weight_decay=train.weight_decay,
                         pos_weight=train.pos_weight)  # fmt: skip
    if init is not None:
        _initialise(module.model, init, head)
    best, facts = fit(ctx, folder, table, module, max_epochs=stage.max_epochs, patience=stage.patience,
                      patience_unit="validations", data=data)  # fmt: skip
    document = ctx.evaluate(best, table, folder.root, ("val", "test"))
    train_rows = table.split_indices("train")
    labels, weights = table.label_rows(train_rows)  # dense (n_train, T) of dense or sparse storage
    positives = ((labels >= 0.5) & (weights > 0)).sum(axis=0)
    metrics = {
        "val": document["val"],
        "test": document["test"],
        "n_train": int(train_rows.size),
        "n_train_positive": {task: int(n) for task, n in zip(table.task_names, positives, strict=True)},
        "n_val": int(table.split_indices("val").size),
        "n_test": int(table.split_indices("test").size),
        **facts,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_json(folder.metrics, metrics)
    return StageResult(folder.root.name, folder.root, ctx.run.root / facts["best_checkpoint"], metrics)


# --------------------------------------------------------------------------- the scheme


def stage_summary(ctx: RunContext, stages: dict[str, StageResult], final: StageResult, scheme: str) -> dict[str, Any]:
    """The metrics document of a multi-stage scheme: the final stage's val/test and every stage's summary.

    ``steps``: optimiser steps of all its stages together.
    """
    return {
        "scheme": scheme,
        "steps": sum(result.metrics["steps"] for result in stages.values()),
        "test": final.metrics["test"],
        "val": final.metrics["val"],
        "best_checkpoint": run_relative(final.best_checkpoint, ctx.run.root),
        "stages": {
            name: {k: result.metrics[k] for k in ("test", "val", "n_train", "n_train_positive", "epochs", "steps")}
            for name, result in stages.items()
        },  # fmt: skip
    }


def run_ssl(ctx: RunContext, human: ExampleTable, homologs: ExampleTable, root: RunPaths) -> tuple[dict, StageResult]:
    """``ssl``: pre-train on pseudo-labelled homologs, fine-tune on human windows (see the module docstring).

    Args:
        ctx: the run context (``ssl`` section: ``ctx.config.ssl``, default ``SslConfig()``).
        human: the reference windows.
        homologs: the lifted windows.
        root: the folder of the stages (the run folder, or ``ssl/`` of a noisy_student run).

    Returns:
        The metrics document written to ``root/metrics.json`` (``test``/``val`` of the fine-tuned model,
        ``stages`` {pretrain, finetune} each with test/val on the same human test windows) and the final stage.

    Raises:
        ValueError: no homolog of a training window (nothing to pre-train on).
    """
    ssl = ctx.config.ssl or SslConfig()
    if homologs.split_indices("train").size == 0:
        raise ValueError("ssl: no homolog of a human training window survived lifting and the leakage guard")
    parts = [(homologs, "train", "train"), (homologs, "val", "val"), (human, "test", "test")]
    if ssl.include_human:
        parts.insert(1, (human, "train", "train"))
    pretrain = train_stage(ctx, root.stage("pretrain"), stage_table(parts), ssl.pretrain)
    finetune = train_stage(ctx, root.stage("finetune"), human, ssl.finetune, init=pretrain.best_checkpoint,
                           head=ssl.head)  # fmt: skip
    document = stage_summary(ctx, {"pretrain": pretrain, "finetune": finetune}, finetune, "ssl")
    write_json(root.metrics, document)
    return document, finetune


def finish_run(ctx: RunContext, human: ExampleTable, document: dict[str, Any], final: StageResult) -> dict[str, Any]:
    """Give the run what a supervised run has: ``model/`` (the final stage's best model) and the reports.

    The reports (predictions_{val,test}.tsv, plots, metrics_per_task.tsv) come from ``ctx.evaluate`` on
    the human windows, so ``seqlab dna predict RUN`` and ``seqlab dna report`` treat every scheme's run alike.
    """
    model = SequenceModel.from_pretrained(final.best_checkpoint)
    model.save_pretrained(ctx.run.root / RUN_MODEL_DIR)
    ctx.evaluate(model, human, ctx.run.root, ("val", "test"))
    return document


def run_ssl_scheme(ctx: RunContext) -> dict[str, Any]:
    """``train.scheme: ssl``: the run's table split into human rows and homologs (``data.sources`` kind lifted)."""
    human, homologs = split_homologs(ctx.table)
    document, final = run_ssl(ctx, human, homologs, ctx.run)
    return finish_run(ctx, human, document, final)


SSL = Scheme("ssl", run_ssl_scheme, sections=("ssl",), stages=("pretrain", "finetune"))
"""``train.scheme: ssl``: stages ``pretrain/`` and ``finetune/`` of the run folder."""
