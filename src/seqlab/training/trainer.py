"""One factory for Lightning trainers, shared by every training scheme (DNA and protein).

It chooses the hardware (a GPU and bf16 when present, the CPU otherwise), writes CSV logs and
checkpoints into the run folder, adds early stopping, and shows a rich progress bar.

Files: checkpoints are written to a hidden temporary file beside their target and renamed over it
(never through ``$TMPDIR``, which may be another filesystem), and read back with
``seqlab.io.weights.read_checkpoint`` (``weights_only``: a tampered checkpoint given to ``--resume`` is
a one-line error and runs no code); ``logs/metrics.csv`` and ``logs/hparams.yaml`` are rewritten whole
through a temporary file, so a kill leaves the previous complete file. A hardware section Lightning
cannot run (``accelerator: gpu`` without a GPU, more devices than present) is a ``ValueError``.

Manual optimisation (a module with ``automatic_optimization = False``, e.g. MFD's adversaries):
Lightning rejects ``gradient_clip_val`` and ``accumulate_grad_batches`` then, so the factory passes
neither and instead sets ``module.gradient_clip`` (float or None) and ``module.accumulate`` (int) on
the module (``configure_manual_optimisation``); the module clips with ``self.clip_gradients`` and
steps every ``self.accumulate`` batches itself (see :class:`ManualOptimisationMixin`).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar
from lightning.pytorch.core.saving import save_hparams_to_yaml
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from seqlab.atomic import write_text
from seqlab.config.hardware import HardwareConfig
from seqlab.config.model import OBJECTIVE_MONITORS
from seqlab.io.weights import read_checkpoint
from seqlab.runs import RunPaths
from seqlab.training.progress import progress_callback

__all__ = [
    "MONITOR_MODES",
    "DeterministicScope",
    "ManualOptimisationMixin",
    "SamplerEpoch",
    "build_trainer",
    "configure_manual_optimisation",
    "resolve_precision",
    "resume_checkpoint",
]

MONITOR_MODES: dict[str, Literal["min", "max"]] = {
    name: mode for monitors in OBJECTIVE_MONITORS.values() for name, mode in monitors.items()
}
"""Direction of improvement of every metric ``TrainConfig.monitor`` can name (``build_trainer``'s ``mode``)."""


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """Turn 'auto' into 'bf16-mixed' on a CUDA GPU that supports bf16, else '32-true'."""
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    if on_gpu and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def resume_checkpoint(run: RunPaths, resume: bool) -> Path | None:
    """The checkpoint that ``--resume`` continues from (``checkpoints/last.ckpt``), or None.

    Raises:
        FileNotFoundError: ``resume`` is set but the run folder holds no last checkpoint.
    """
    if not resume:
        return None
    if not run.last_checkpoint.is_file():
        raise FileNotFoundError(
            f"--resume: no checkpoint to continue from at {run.last_checkpoint}; start the run without --resume"
        )
    return run.last_checkpoint


class RunCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their target and renamed over it; read back without running code."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        """``torch.save`` to ``.<name>.<pid>.tmp`` in the checkpoint's folder, then rename it to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            torch.save(checkpoint, tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load_checkpoint(self, path: Any, map_location: Any | None = "cpu", weights_only: bool | None = None) -> Any:
        """The checkpoint as tensors and plain values (``weights_only`` always; an ``InputError`` otherwise).

        Tensors load on the CPU unless ``map_location`` says otherwise (as Lightning's own loader), so a
        checkpoint written on a GPU resumes on a CPU machine.
        """
        return read_checkpoint(path, map_location="cpu" if map_location is None else map_location)


class _AtomicExperimentWriter(ExperimentWriter):
    """Lightning's CSV writer, but it keeps an existing ``metrics.csv`` and rewrites it whole, atomically."""

    def __init__(self, log_dir: str) -> None:
        self.hparams: dict[str, Any] = {}
        self.metrics: list[dict[str, float]] = []
        self.log_dir = log_dir
        self.metrics_file_path = os.path.join(log_dir, self.NAME_METRICS_FILE)
        os.makedirs(log_dir, exist_ok=True)
        path = Path(self.metrics_file_path)
        reader = csv.DictReader(io.StringIO(path.read_text() if path.is_file() else ""))
        self.rows: list[dict[str, Any]] = list(reader)
        self.metrics_keys = list(reader.fieldnames or [])

    def save(self) -> None:
        """Write every row logged so far (earlier runs' and new ones) to ``metrics.csv`` through a temporary file."""
        if not self.metrics:
            return
        self._record_new_keys()
        self.rows.extend(self.metrics)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.metrics_keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.metrics_file_path, buffer.getvalue())
        self.metrics = []

    def log_hparams(self, params: dict[str, Any]) -> None:
        """Record hparams and write ``hparams.yaml`` through a temporary file."""
        self.hparams.update(params)
        path = Path(self.log_dir) / self.NAME_HPARAMS_FILE
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_hparams_to_yaml(tmp, self.hparams)
        os.replace(tmp, path)


class _AppendingCSVLogger(CSVLogger):
    """CSVLogger that appends to an existing ``metrics.csv`` (Lightning's would delete it first), atomically."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The CSV writer, created on first use with the earlier rows and columns kept."""
        if self._experiment is None:
            self._experiment = _AtomicExperimentWriter(log_dir=self.log_dir)
        return self._experiment


class ManualOptimisationMixin:
    """Helpers for a LightningModule with ``automatic_optimization = False``.

    ``gradient_clip`` and ``accumulate`` are set by :func:`configure_manual_optimisation` (from
    ``build_trainer``'s arguments). In ``training_step``::

        loss = ...
        self.manual_backward(loss / self.accumulate)
        if self.accumulation_boundary(batch_idx):
            self.clip_and_step(optimiser)
    """

    gradient_clip: float | None = None
    accumulate: int = 1

    def accumulation_boundary(self, batch_idx: int) -> bool:
        """Whether this batch completes an accumulation window (or is the epoch's last batch)."""
        last = batch_idx + 1 == getattr(self.trainer, "num_training_batches", -1)  # type: ignore[attr-defined]
        return (batch_idx + 1) % self.accumulate == 0 or last

    def clip_and_step(self, optimiser: Any) -> None:
        """Clip the gradients of ``optimiser``'s parameters (norm ``gradient_clip``), step it and zero them."""
        if self.gradient_clip is not None:
            self.clip_gradients(  # type: ignore[attr-defined]
                optimiser, gradient_clip_val=self.gradient_clip, gradient_clip_algorithm="norm"
            )
        optimiser.step()
        optimiser.zero_grad()


class SamplerEpoch(Callback):
    """Hand the epoch to a training sampler that Lightning wrapped for DDP (``DistributedSamplerWrapper``).

    Under a distributed strategy Lightning replaces the training loader's sampler with a wrapper that
    shards the wrapped sampler's order; Lightning before 2.6 calls ``set_epoch`` on the wrapper only, so
    a sampler whose order and augmentation are functions of the epoch (``StoreSampler``) repeated epoch 0
    every epoch. This callback sets the epoch on the wrapped sampler at every training epoch's start,
    before the epoch's iterator is drawn (a no-op without a wrapper or when Lightning already did it).
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """``set_epoch(trainer.current_epoch)`` on the sampler inside the training loader's wrapper."""
        loaders = trainer.train_dataloader
        for loader in loaders if isinstance(loaders, list | tuple) else [loaders]:
            wrapped = getattr(getattr(getattr(loader, "sampler", None), "dataset", None), "_sampler", None)
            if callable(getattr(wrapped, "set_epoch", None)):
                wrapped.set_epoch(trainer.current_epoch)


def configure_manual_optimisation(module: L.LightningModule, gradient_clip: float | None, accumulate: int) -> None:
    """Hand clipping and accumulation to a manually optimised module (``module.gradient_clip``/``accumulate``)."""
    if accumulate < 1:
        raise ValueError(f"accumulate_grad_batches must be >= 1, got {accumulate}")
    module.gradient_clip = gradient_clip
    module.accumulate = accumulate


class DeterministicScope(Callback):
    """Deterministic algorithms only while the trainer runs (fit, validate, test, predict).

    Lightning's ``deterministic`` switches ``torch.use_deterministic_algorithms`` on for the whole process
    when the Trainer is built; left on, it breaks later work in the same process that has no
    deterministic kernel (e.g. captum's DeepLIFT through max-pooling). The setting found when the
    trainer was built comes back after each stage.
    """

    def __init__(self, enabled: bool, warn_only: bool) -> None:
        self.inside = (enabled, warn_only)
        self.outside = (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
        )

    def restore(self) -> None:
        """Put back the setting found when the scope was made."""
        torch.use_deterministic_algorithms(self.outside[0], warn_only=self.outside[1])

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Switch the trainer's setting on as a stage starts."""
        torch.use_deterministic_algorithms(self.inside[0], warn_only=self.inside[1])

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Put back the setting found when the trainer was built as a stage ends."""
        self.restore()


def build_trainer(
    run: RunPaths,
    *,
    monitor: str,
    mode: Literal["min", "max"],
    max_epochs: int = -1,
    max_steps: int = -1,
    patience: int | None = None,
    hardware: HardwareConfig | None = None,
    gradient_clip: float | None = None,
    accumulate_grad_batches: int = 1,
    limit_train_batches: int | float | None = None,
    val_check_interval: int | float | None = None,
    check_val_every_n_epoch: int | None = 1,
    progress_bar: bool = True,
    extra_callbacks: list[Callback] | None = None,
    module: L.LightningModule | None = None,
) -> L.Trainer:
    """Build a Lightning ``Trainer`` that writes into the run folder.

    Checkpoints: ``checkpoints/best.ckpt`` (best ``monitor``) and ``checkpoints/last.ckpt`` (every
    epoch, for ``--resume``). Logs: ``logs/metrics.csv`` and ``logs/hparams.yaml``; rows are appended
    to an existing ``metrics.csv``, so a resumed fit or a later evaluation keeps the epochs logged
    before it. Deterministic algorithms on the CPU; call ``lightning.seed_everything`` before
    building the module for reproducible runs. ``hardware`` (default ``HardwareConfig()``) gives the
    accelerator, devices, nodes, strategy and precision; a wrapped DDP sampler gets the epoch
    (:class:`SamplerEpoch`).

    Pass ``module`` when it uses manual optimisation (``automatic_optimization = False``): the trainer
    then gets no ``gradient_clip_val``/``accumulate_grad_batches`` and the module gets
    ``gradient_clip``/``accumulate`` instead (``configure_manual_optimisation``).
    """
    hardware = hardware or HardwareConfig()
    manual = module is not None and not module.automatic_optimization
    if manual:
        configure_manual_optimisation(module, gradient_clip, accumulate_grad_batches)
    run.make()
    best = ModelCheckpoint(
        dirpath=run.checkpoints,
        filename="best",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        enable_version_counter=False,
        save_on_train_epoch_end=False,
    )
    # Lightning's save_last rewrites last.ckpt only when the best improves; --resume needs the latest
    # state, so a second callback without a monitor keeps one file, rewritten after every validation.
    latest = ModelCheckpoint(
        dirpath=run.checkpoints,
        filename="last",
        monitor=None,
        save_top_k=1,
        enable_version_counter=False,
        save_on_train_epoch_end=False,
    )
    callbacks: list[Callback] = [best, latest, SamplerEpoch()]
    if patience is not None:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience, check_on_train_epoch_end=False))
    progress = progress_callback() if progress_bar else None  # a live bar on a terminal, else a line per validation
    if progress is not None:
        callbacks.append(progress)
    callbacks.extend(extra_callbacks or [])
    on_cpu = hardware.accelerator == "cpu" or not torch.cuda.is_available()
    scope = DeterministicScope(enabled=True, warn_only=not on_cpu)
    callbacks.append(scope)
    try:
        trainer = L.Trainer(
            default_root_dir=run.root,
            max_epochs=max_epochs,
            max_steps=max_steps,
            accelerator=hardware.accelerator,
            devices=hardware.devices,
            num_nodes=hardware.num_nodes,
            strategy=hardware.strategy,
            precision=resolve_precision(hardware.precision, hardware.accelerator),
            gradient_clip_val=None if manual else gradient_clip,
            accumulate_grad_batches=1 if manual else accumulate_grad_batches,
            limit_train_batches=limit_train_batches,
            val_check_interval=val_check_interval,
            check_val_every_n_epoch=check_val_every_n_epoch,
            logger=_AppendingCSVLogger(save_dir=run.logs, name="", version=""),
            callbacks=callbacks,
            plugins=[RunCheckpointIO()],
            enable_progress_bar=isinstance(progress, ProgressBar),
            enable_model_summary=False,
            deterministic=True if on_cpu else "warn",
            num_sanity_val_steps=0,
            log_every_n_steps=10,
        )
    except MisconfigurationException as err:  # e.g. accelerator gpu on a machine without one
        where = f"accelerator {hardware.accelerator!r}, devices {hardware.devices!r}, strategy {hardware.strategy!r}"
        raise ValueError(f"hardware ({where}): {' '.join(str(err).split())}") from None
    finally:
        scope.restore()  # Lightning switched deterministic algorithms on for the process: only inside fit/test
    return trainer
