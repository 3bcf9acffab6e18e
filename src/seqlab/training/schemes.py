"""Training schemes: a registry of functions that train (and evaluate) a DNA run.

``train.scheme`` names the scheme (``supervised`` by default; the semi-supervised and MFD wings
register ``ssl``, ``noisy_student`` and ``mfd``). A scheme is a function ``run(ctx: RunContext) ->
dict`` returning the run's metrics document (metrics.json content, without the keys the pipeline
adds). Registration::

    @register_scheme("ssl")
    def run_ssl(ctx: RunContext) -> dict: ...

The context carries the config, the run folder (``ctx.stage("pretrain")`` gives a sub-folder with
the same layout), the example table(s), the seed, whether to resume, and ``ctx.evaluate``: the
pipeline's evaluation (predict a table with a model and write metrics.json, TSVs and plots into a
folder), passed in so that schemes, at the training layer, do not import the evaluation layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from seqlab.config.schemes import SCHEME_SECTIONS
from seqlab.data.build import ExampleTable
from seqlab.data.datamodule import DnaDataModule
from seqlab.models.data_params import DataParams
from seqlab.models.model import count_parameters
from seqlab.models.pretrained import RUN_MODEL_DIR
from seqlab.models.sequence_model import SequenceModel
from seqlab.registry import Registry
from seqlab.runs import RunPaths
from seqlab.training.preflight import steps_per_epoch, validation_schedule
from seqlab.training.resume import ResumeState
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import MONITOR_MODES, build_trainer, resume_checkpoint

__all__ = ["SCHEMES", "EvaluateFn", "RunContext", "fit_module", "get_scheme", "register_scheme", "run_supervised"]

log = logging.getLogger(__name__)


class EvaluateFn(Protocol):
    """``evaluate(model, table, out, splits) -> metrics document`` (see ``RunContext``)."""

    def __call__(
        self,
        model: SequenceModel,
        table: ExampleTable,
        out: Path,
        splits: Sequence[str],
    ) -> dict[str, Any]:
        """Predict ``splits`` of ``table`` and write metrics.json, TSVs and plots into ``out``."""
        ...


@dataclass
class RunContext:
    """What a scheme needs to train a run.

    Attributes:
        config: the validated run config (``DnaRunConfig``; scheme sections such as ``ssl`` included).
        run: the run folder.
        table: the human/reference labelled examples (with their ``split`` column).
        data_params: the data parameters every model of the run is built for.
        seed: the run's seed (already applied).
        evaluate: the pipeline's evaluation function (``EvaluateFn``).
        resume: continue from the last checkpoint of each stage.
        tables: further tables by name (e.g. ``homologs``), for schemes that use them.
        extra: keys a scheme adds to metrics.json (e.g. ``n_parameters``).
    """

    config: Any
    run: RunPaths
    table: ExampleTable
    data_params: DataParams
    seed: int
    evaluate: EvaluateFn
    resume: bool = False
    tables: dict[str, ExampleTable] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> RunPaths:
        """The run sub-folder of a stage (``pretrain``, ``finetune``, ``round_1``...), same layout as a run."""
        return self.run.stage(name)


SchemeFn = Callable[[RunContext], dict[str, Any]]
SCHEMES = Registry("training scheme")
"""Scheme function of every ``train.scheme`` name."""


def register_scheme(name: str) -> Callable[[SchemeFn], SchemeFn]:
    """Decorator: make ``fn(ctx) -> dict`` the scheme ``train.scheme: <name>``.

    Raises:
        ValueError: ``name`` is registered already with another function.
    """
    SCHEME_SECTIONS.setdefault(name, ())  # a name train.scheme accepts when the config loads
    return SCHEMES.register(name)


def get_scheme(name: str) -> SchemeFn:
    """The scheme function of ``name``.

    Raises:
        ValueError: no scheme of that name is registered (the registered names are listed).
    """
    if name not in SCHEMES:
        raise ValueError(f"train.scheme {name!r} has no registered implementation; registered: {sorted(SCHEMES)}")
    return SCHEMES[name]


def fit_supervised(
    ctx: RunContext,
    stage: RunPaths,
    table: ExampleTable,
    *,
    init: Mapping[str, Any] | None = None,
    learning_rate: float | None = None,
    max_epochs: int | None = None,
) -> tuple[SequenceModel, dict[str, Any]]:
    """Train a ``SupervisedModule`` on ``table``'s train split (early stopping on its val split) in ``stage``.

    Args:
        ctx: the run context (config: train, hardware and model sections).
        stage: the folder that receives checkpoints/, logs/ and model/ (the best weights).
        table: the examples.
        init: a state dict loaded into the model before training (fine-tuning), or None.
        learning_rate: overrides ``train.learning_rate`` (e.g. a fine-tuning stage's own rate).
        max_epochs: overrides ``train.max_epochs``.

    Returns:
        The best model (eval mode, CPU) and facts for metrics.json (best checkpoint, epochs, parameters).
    """
    config, train = ctx.config, ctx.config.train
    module = SupervisedModule(
        config.model,
        ctx.data_params.to_dict(),
        learning_rate=learning_rate if learning_rate is not None else train.learning_rate,
        weight_decay=train.weight_decay,
        pos_weight=train.pos_weight,
    )
    if init is not None:
        module.model.load_state_dict(init)
    return fit_module(ctx, stage, table, module, resume=ctx.resume, max_epochs=max_epochs)


def fit_module(
    ctx: RunContext,
    stage: RunPaths,
    table: ExampleTable,
    module: Any,
    *,
    resume: bool,
    max_epochs: int | None = None,
) -> tuple[SequenceModel, dict[str, Any]]:
    """Fit any scheme's LightningModule (its ``model`` a ``SequenceModel``) on ``table`` in ``stage``.

    The one training loop of the DNA schemes: the run's window stores, early stopping (patience in
    validations or steps), exact ``--resume`` (random states in checkpoints), manual optimisation when
    the module asks for it; the best checkpoint is saved as ``model/``.

    Args:
        ctx: the run context (config: train, hardware and data sections).
        stage: the folder that receives checkpoints/, logs/ and model/.
        table: the examples (train split trains, val split selects).
        module: the LightningModule to fit.
        resume: continue from ``stage``'s last checkpoint.
        max_epochs: overrides ``train.max_epochs``.

    Returns:
        The best model (eval mode, CPU) and facts for metrics.json (best checkpoint, epochs, optimiser
        steps, parameters).
    """
    config = ctx.config
    train, hardware = config.train, config.hardware
    ckpt_path = resume_checkpoint(stage, resume)
    stage.make()
    data_config = config.data.model_copy(update={"num_workers": hardware.workers})
    store_dir = config.data.store.dir or ctx.run.root / "store"  # window stores shared by the run's stages
    dm = DnaDataModule(table, data_config, seed=ctx.seed, store_dir=store_dir)
    n_parameters = count_parameters(module.model)
    log.info("model %s + %s head: %s parameters", config.model.trunk.arch, config.model.head.kind, f"{n_parameters:,}")
    epoch_steps = steps_per_epoch(len(table.split_indices("train")), config.data.batch_size, train.limit_train_batches)
    max_epochs = max_epochs if max_epochs is not None else train.max_epochs
    schedule = validation_schedule(train.patience, train.patience_unit, train.val_check_interval, epoch_steps,
                                   max_epochs)  # fmt: skip
    trainer = build_trainer(
        stage,
        monitor=train.monitor,
        mode=MONITOR_MODES[train.monitor],
        max_epochs=max_epochs,
        patience=schedule.patience,
        val_check_interval=schedule.val_check_interval,
        check_val_every_n_epoch=None if schedule.val_check_interval else 1,
        extra_callbacks=[ResumeState()],  # random states in checkpoints: exact --resume
        accelerator=hardware.accelerator,
        devices=hardware.devices,
        num_nodes=hardware.num_nodes,
        strategy=hardware.strategy,
        precision=hardware.precision,
        gradient_clip=train.gradient_clip,
        limit_train_batches=train.limit_train_batches,
        progress_bar=train.progress_bar,
        module=module,
    )
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    best = stage.best_checkpoint if stage.best_checkpoint.is_file() else stage.last_checkpoint
    model = SequenceModel.from_pretrained(best)
    if trainer.is_global_zero:
        model.save_pretrained(stage.root / RUN_MODEL_DIR)
    facts = {"best_checkpoint": _relative(best, ctx.run.root), "epochs": trainer.current_epoch,
             "steps": trainer.global_step, "n_parameters": n_parameters}  # fmt: skip
    return model, facts


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to the run folder when inside it (metrics.json moves with its folder), else absolute."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def derived_rows_warning(table: ExampleTable) -> str | None:
    """The warning for a supervised run whose table holds derived rows (homologs), else None."""
    derived = table.derived
    if not derived.any():
        return None
    return (
        f"train.scheme supervised: {int(derived.sum()):,} of {len(table):,} examples are homologs (data.sources kind "
        "lifted); they train and validate with the reference windows, and the test metrics use the reference "
        "windows only. For a reference-only baseline remove the lifted source; to pre-train on them use "
        "train.scheme ssl"
    )


@register_scheme("supervised")
def run_supervised(ctx: RunContext) -> dict[str, Any]:
    """Plain supervised training on the labelled examples, then evaluation of the best model on val and test.

    Writes into the run folder itself (no stage sub-folder): checkpoints/, logs/, model/ and the reports.
    Derived rows (homologs of a ``lifted`` source) train and take part in model selection like the others
    (a warning says so), but the reported val/test metrics are those of the reference windows alone, as in
    every other scheme, so runs of different schemes are compared on the same windows.
    """
    warning = derived_rows_warning(ctx.table)
    if warning:
        log.warning("%s", warning)
    model, facts = fit_supervised(ctx, ctx.run, ctx.table)
    reference = ctx.table.subset(~ctx.table.derived)
    metrics = ctx.evaluate(model, reference, ctx.run.root, ("val", "test"))
    return metrics | facts
