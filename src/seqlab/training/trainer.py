"""One factory for Lightning trainers, shared by every training scheme (DNA and protein).

It chooses the hardware (a GPU and bf16 when present, the CPU otherwise), writes CSV logs and
checkpoints into the run folder, adds early stopping, and shows a rich progress bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger

from seqlab.runs import RunPaths

__all__ = ["build_trainer", "resolve_precision", "resume_checkpoint"]


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
    epoch, for ``--resume``). Logs: CSV under ``logs/``. Deterministic algorithms on the CPU.
    """
    run.make()
    best = ModelCheckpoint(
        dirpath=run.checkpoints,
        filename="best",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        save_last=True,
        enable_version_counter=False,
    )
    best.CHECKPOINT_NAME_LAST = "last"
    callbacks: list[Callback] = [best]
    if patience is not None:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience))
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
        logger=CSVLogger(save_dir=run.logs, name="", version=""),
        callbacks=callbacks,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        deterministic=True if on_cpu else "warn",
        num_sanity_val_steps=0,
        log_every_n_steps=10,
    )
