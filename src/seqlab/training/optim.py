"""One optimiser and learning-rate schedule builder for every LightningModule (DNA and protein).

AdamW over the trainable parameters (a frozen trunk or encoder is left out), optionally without
weight decay on biases and normalisation weights (parameters with fewer than 2 dimensions, as
RoBERTa trains), and optionally a schedule stepped per optimiser step: linear warm-up from 0 to the
peak learning rate over ``warmup_steps`` steps, then linear decay to 0 at ``max_steps`` (the same
multiplier as ``transformers.get_linear_schedule_with_warmup``)::

    factor(step) = step / max(1, warmup)                                   if step < warmup
                 = max(0, (max_steps - step) / max(1, max_steps - warmup))  otherwise
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["build_adamw", "configure_optimisation", "linear_warmup_decay", "resolve_warmup_steps"]


def resolve_warmup_steps(warmup: int | float, max_steps: int) -> int:
    """Warm-up in optimiser steps: ``warmup`` itself when >= 1, else that fraction of ``max_steps`` (rounded)."""
    if warmup < 0:
        raise ValueError(f"warm-up must be >= 0, got {warmup}")
    if warmup < 1:
        return round(warmup * max_steps)
    return int(warmup)


def build_adamw(
    parameters: Iterable[torch.nn.Parameter],
    *,
    learning_rate: float,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    decay_matrices_only: bool = False,
) -> torch.optim.AdamW:
    """AdamW over the parameters that require gradients.

    Args:
        parameters: e.g. ``module.parameters()``; those with ``requires_grad=False`` are left out.
        learning_rate: (peak) learning rate.
        weight_decay: decoupled weight decay.
        betas: Adam's moment decay rates.
        eps: Adam's epsilon.
        decay_matrices_only: no weight decay on parameters with fewer than 2 dimensions (biases,
            LayerNorm/BatchNorm weights); two parameter groups instead of one.
    """
    trainable = [p for p in parameters if p.requires_grad]
    if not trainable:
        raise ValueError("no trainable parameters: is the whole model frozen?")
    if decay_matrices_only:
        groups: list[dict[str, Any]] = [
            {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, eps=eps)
    return torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=weight_decay, betas=betas, eps=eps)


def linear_warmup_decay(optimizer: torch.optim.Optimizer, warmup_steps: int, max_steps: int) -> LambdaLR:
    """The linear warm-up then linear decay schedule (module docstring), stepped once per optimiser step."""
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return float(step) / float(max(1, warmup_steps))
        return max(0.0, float(max_steps - step) / float(max(1, max_steps - warmup_steps)))

    return LambdaLR(optimizer, factor)


def configure_optimisation(
    parameters: Iterable[torch.nn.Parameter],
    *,
    learning_rate: float,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    decay_matrices_only: bool = False,
    warmup: int | float | None = None,
    max_steps: int | None = None,
) -> torch.optim.Optimizer | dict[str, Any]:
    """What ``LightningModule.configure_optimizers`` returns: the AdamW alone, or with the step schedule.

    With ``max_steps`` set, returns ``{"optimizer", "lr_scheduler": {"scheduler", "interval": "step"}}``
    with ``linear_warmup_decay(resolve_warmup_steps(warmup or 0, max_steps), max_steps)``.
    """
    optimizer = build_adamw(
        parameters,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        betas=betas,
        eps=eps,
        decay_matrices_only=decay_matrices_only,
    )
    if max_steps is None:
        return optimizer
    scheduler = linear_warmup_decay(optimizer, resolve_warmup_steps(warmup or 0, max_steps), max_steps)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
