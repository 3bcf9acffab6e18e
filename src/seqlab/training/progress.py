"""Progress for logs: one line per validation (or epoch) when stderr is not a terminal.

Progress goes to stderr, like logs and warnings; stdout carries only result tables.

A live progress bar redraws itself many times a second; written to a file or a batch system's log it
floods it with partial lines. :func:`progress_callback` chooses Rich's bar on a terminal and
:class:`EpochLines` otherwise.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, RichProgressBar

__all__ = ["EpochLines", "progress_callback"]


class _NoTips(logging.Filter):
    """Drop Lightning's advertising tips (e.g. "💡 Tip: ... try installing litlogger")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in str(record.msg)


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoTips())


def _fmt(value: Any) -> str:
    number = float(value)
    return "nan" if math.isnan(number) else f"{number:.4g}"


class EpochLines(Callback):
    """Print one line after every validation of a fit: epoch, step, the logged metrics and the time.

    Example: ``epoch 3/20 step 56: train_loss_step 0.612 val_auroc 0.744 val_loss 0.571 (4.1 s)`` (epochs
    counted from 1; the time since the fit started).
    """

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self._started = time.perf_counter()

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the clock."""
        self._started = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write the line (only during a fit, only on rank 0)."""
        if trainer.sanity_checking or trainer.state.fn != "fit" or not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics
        names = sorted(
            name for name in metrics
            if name.startswith(("train_loss", "val_")) and not name.endswith("_epoch") and "/" not in name
        )  # fmt: skip
        values = " ".join(f"{name} {_fmt(metrics[name])}" for name in names)
        epochs = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        line = f"epoch {trainer.current_epoch + 1}{epochs} step {trainer.global_step}: {values} "
        line += f"({time.perf_counter() - self._started:.1f} s)"
        print(line, file=self.stream or sys.stderr, flush=True)


def progress_callback(stream: Any = None) -> Callback:
    """Rich's progress bar (on stderr) when ``stream`` (default stderr) is a terminal, else :class:`EpochLines`."""
    stream = stream or sys.stderr
    return RichProgressBar(leave=True, console_kwargs={"stderr": True}) if stream.isatty() else EpochLines(stream)
