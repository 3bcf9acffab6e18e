"""One factory for Lightning trainers, shared by every training scheme (DNA and protein).

It chooses the hardware (a GPU and bf16 when present, the CPU otherwise), writes CSV logs and
checkpoints into the run folder, adds early stopping, and shows a rich progress bar.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from seqlab.runs import RunPaths

__all__ = ["MONITOR_MODES", "build_trainer", "resolve_precision", "resume_checkpoint"]

MONITOR_MODES: dict[str, Literal["min", "max"]] = {"val_auroc": "max", "val_aupr": "max", "val_loss": "min"}
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
            f"--resume: no checkpoint to continue from at {run.last_checkpoint}; "
            "start the run without --resume"
        )
    return run.last_checkpoint


class _AppendingCSVLogger(CSVLogger):
    """CSVLogger that appends to an existing ``metrics.csv`` (Lightning's would delete it first)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The CSV writer, created on first use with the earlier rows and columns kept."""
        if self._experiment is None:
            path = Path(self.log_dir) / ExperimentWriter.NAME_METRICS_FILE
            earlier = path.read_text() if path.is_file() else ""
            with warnings.catch_warnings():  # its "logs will be deleted" warning is not true here
                warnings.filterwarnings("ignore", message="Experiment logs directory")
                writer = super().experiment  # removes an existing metrics.csv
            if earlier:
                path.write_text(earlier)
                writer.metrics_keys = next(csv.reader(io.StringIO(earlier)))
        return self._experiment


def build_trainer(
    run: RunPaths,
    *,
    monitor: str,
    mode: Literal["min", "max"],
    max_epochs: int = -1,
    max_steps: int = -1,
    patience: int | None = None,
    accelerator: str = "auto",
    devices: int | str = "auto",
    strategy: str = "auto",
    precision: str = "auto",
    gradient_clip: float | None = None,
    accumulate_grad_batches: int = 1,
    limit_train_batches: int | float | None = None,
    val_check_interval: int | float | None = None,
    progress_bar: bool = True,
    extra_callbacks: list[Callback] | None = None,
) -> L.Trainer:
    """Build a Lightning ``Trainer`` that writes into the run folder.

    Checkpoints: ``checkpoints/best.ckpt`` (best ``monitor``) and ``checkpoints/last.ckpt`` (every
    epoch, for ``--resume``). Logs: ``logs/metrics.csv`` and ``logs/hparams.yaml``; rows are appended
    to an existing ``metrics.csv``, so a resumed fit or a later evaluation keeps the epochs logged
    before it. Deterministic algorithms on the CPU; call ``lightning.seed_everything`` before
    building the module for reproducible runs.
    """
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
    callbacks: list[Callback] = [best, latest]
    if patience is not None:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience, check_on_train_epoch_end=False))
    if progress_bar:
        callbacks.append(RichProgressBar(leave=True))
    callbacks.extend(extra_callbacks or [])
    on_cpu = accelerator == "cpu" or not torch.cuda.is_available()
    return L.Trainer(
        default_root_dir=run.root,
        max_epochs=max_epochs,
        max_steps=max_steps,
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        precision=resolve_precision(precision, accelerator),
        gradient_clip_val=gradient_clip,
        accumulate_grad_batches=accumulate_grad_batches,
        limit_train_batches=limit_train_batches,
        val_check_interval=val_check_interval,
        logger=_AppendingCSVLogger(save_dir=run.logs, name="", version=""),
        callbacks=callbacks,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        deterministic=True if on_cpu else "warn",
        num_sanity_val_steps=0,
        log_every_n_steps=10,
    )
