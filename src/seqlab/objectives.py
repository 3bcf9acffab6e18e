"""Objectives: what a DNA model predicts and how it is trained and scored, one registry entry per target kind.

``model.objective.kind`` picks the entry of :data:`OBJECTIVES`; each brings

* ``link(outputs)``: the model's raw outputs -> predictions (binary: sigmoid -> probabilities;
  regression: identity for MSE, exp for Poisson -> values; profile: softmax(profile logits) x
  exp(log counts) -> expected counts per base);
* ``loss(outputs, batch)``: the training loss of a batch (weighted; weight 0 masks an entry);
* ``split_loss`` and ``split_metrics``: the loss per task and the metrics over a whole split of
  strand-averaged predictions (binary: AUROC/AUPR; regression: Pearson/Spearman; profile: count Pearson,
  median profile Pearson and Jensen-Shannon distance);
* ``monitors``: the validation metrics ``train.monitor`` may name (``OBJECTIVE_MONITORS[kind]``);
* ``split_shortfalls``: what makes a validation or test split too small to report on (binary: fewer
  positives or negatives of a task than the minimum; regression and profile: fewer windows with a target).

A head declares the kinds it produces (``Head.produces``), a training scheme the kinds it trains
(``Scheme.objectives``); a mismatch is a config error naming both. Binary is the default and computes
exactly what seqlab computed before objectives existed (weighted BCE, sigmoid, AUROC/AUPR).

This module depends on torch, numpy, the config, losses and metrics only, so models, training and
evaluation all import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from seqlab.config.model import OBJECTIVE_MONITORS, ObjectiveConfig
from seqlab.losses import multinomial_nll, per_task_bce, weighted_bce_with_logits, weighted_mse, weighted_poisson_nll
from seqlab.metrics import (
    ProfileMetrics,
    RegressionMetrics,
    SplitMetrics,
    compute_profile_metrics,
    compute_regression_metrics,
    compute_split_metrics,
)
from seqlab.registry import Registry

__all__ = [
    "OBJECTIVES",
    "BinaryObjective",
    "Objective",
    "ProfileObjective",
    "RegressionObjective",
    "build_objective",
    "split_profile_outputs",
]


class Objective:
    """Base of every objective: its kind, link, loss, per-split loss and metrics, monitors.

    Args:
        config: the ``model.objective`` section.
        pos_weight: BCE weight on positives (binary only; training's ``train.pos_weight``).
    """

    kind: ClassVar[str]
    target_key: ClassVar[str] = "y"
    """The batch key of the targets (``y`` (B, T); a profile objective's ``profile`` (B, T, L))."""

    def __init__(self, config: ObjectiveConfig | None = None, pos_weight: float | list[float] | None = None) -> None:
        self.config = config or ObjectiveConfig(kind=self.kind)
        self.pos_weight = pos_weight

    @property
    def monitors(self) -> dict[str, Literal["min", "max"]]:
        """The validation metrics ``train.monitor`` may name, with their direction of improvement."""
        return OBJECTIVE_MONITORS[self.kind]

    def link(self, outputs: torch.Tensor) -> torch.Tensor:
        """Raw outputs float32 (..., T) -> predictions float32 (..., T)."""
        raise NotImplementedError

    def loss(self, outputs: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Training loss (float32 scalar) of a batch {x, y (B, T), weight (B, T), ...} and the model's outputs."""
        raise NotImplementedError

    def strand_values(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions averaged over strands from raw outputs float (..., S, T) -> float64 (..., T) (numpy link)."""
        values = torch.from_numpy(np.asarray(outputs, dtype=np.float64))
        return self.link(values).mean(dim=-2).numpy()

    def split_loss(self, predictions: np.ndarray, y: np.ndarray, weight: np.ndarray) -> list[float]:
        """Loss per task over a whole split from strand-averaged predictions (N, T), targets and weights (N, T)."""
        raise NotImplementedError

    def split_metrics(
        self, y: np.ndarray, predictions: np.ndarray, weight: np.ndarray | None, tasks: list[str], split: str
    ) -> SplitMetrics | RegressionMetrics | ProfileMetrics:
        """Metrics over a whole split: an object with ``means()``, ``task_values(task)`` and ``to_dict()``."""
        raise NotImplementedError

    shortfall_unit: ClassVar[str] = "windows with a target"
    """What :meth:`split_shortfalls` counts, for the error that names them."""

    def split_shortfalls(
        self, labels: np.ndarray, weights: np.ndarray, tasks: list[str], split: str, minimum: int
    ) -> list[str]:
        """One entry per task of a split with fewer than ``minimum`` windows with a target (weight > 0).

        Args:
            labels: float (N, T), the targets of the split's reported windows.
            weights: float (N, T); > 0 where a window has a target.
            tasks: the T task names.
            split: the split's name, for the entries.
            minimum: the fewest windows (binary: positives and negatives) a task may have.
        """
        counts = (weights > 0).sum(axis=0)
        return [f"{split} {task}: {int(n)} windows with a target" for task, n in zip(tasks, counts, strict=True)
                if n < minimum]  # fmt: skip


class BinaryObjective(Objective):
    """One logit per task; sigmoid link; weighted BCE (``pos_weight``); AUROC and AUPR."""

    kind = "binary"

    def link(self, outputs: torch.Tensor) -> torch.Tensor:
        """Logits (..., T) -> probabilities (..., T) (sigmoid)."""
        return torch.sigmoid(outputs)

    def loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Weighted BCE of logits (B, T) against labels ``y`` (B, T) in [0, 1]."""
        return weighted_bce_with_logits(outputs, batch["y"], batch["weight"], self.pos_weight)

    def strand_values(self, outputs: np.ndarray) -> np.ndarray:
        """Probabilities averaged over strands: logits float (..., S, T) -> float64 (..., T), without overflow."""
        values = np.asarray(outputs, dtype=np.float64)
        return (0.5 + 0.5 * np.tanh(values / 2)).mean(axis=-2)  # sigmoid without overflow warnings

    def split_loss(self, predictions: np.ndarray, y: np.ndarray, weight: np.ndarray) -> list[float]:
        """Weighted BCE per task of strand-averaged probabilities (N, T)."""
        return per_task_bce(
            torch.from_numpy(predictions), torch.from_numpy(y), torch.from_numpy(weight), self.pos_weight
        ).tolist()

    def split_metrics(
        self, y: np.ndarray, predictions: np.ndarray, weight: np.ndarray | None, tasks: list[str], split: str
    ) -> SplitMetrics:
        """Per-task AUROC and AUPR (labels count as positive from 0.5)."""
        return compute_split_metrics(y, predictions, weight, tasks, split)

    shortfall_unit = "positives or negatives"

    def split_shortfalls(
        self, labels: np.ndarray, weights: np.ndarray, tasks: list[str], split: str, minimum: int
    ) -> list[str]:
        """One entry per task with fewer than ``minimum`` positives (label >= 0.5) or negatives, weight > 0."""
        labelled = weights > 0
        positives = (labelled & (labels >= 0.5)).sum(axis=0)
        negatives = (labelled & (labels < 0.5)).sum(axis=0)
        return [f"{split} {task}: {int(p)} pos / {int(n)} neg"
                for task, p, n in zip(tasks, positives, negatives, strict=True) if min(p, n) < minimum]  # fmt: skip


class RegressionObjective(Objective):
    """One value per task; MSE (identity link) or Poisson NLL (exp link: outputs are log rates); Pearson, Spearman."""

    kind = "regression"

    @property
    def poisson(self) -> bool:
        """Whether the loss is the Poisson NLL (outputs are log rates)."""
        return self.config.loss == "poisson"

    def link(self, outputs: torch.Tensor) -> torch.Tensor:
        """Outputs (..., T) -> predicted values (..., T): identity (MSE) or exp (Poisson)."""
        return torch.exp(outputs) if self.poisson else outputs

    def loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Weighted MSE, or weighted Poisson NLL, of outputs (B, T) against targets ``y`` (B, T)."""
        if self.poisson:
            return weighted_poisson_nll(outputs, batch["y"], batch["weight"])
        return weighted_mse(outputs, batch["y"], batch["weight"])

    def split_loss(self, predictions: np.ndarray, y: np.ndarray, weight: np.ndarray) -> list[float]:
        """Per task: weighted mean of the loss of strand-averaged values (N, T) (NaN when all weights are 0)."""
        predictions, y, weight = (np.asarray(a, dtype=np.float64) for a in (predictions, y, weight))
        if self.poisson:
            with np.errstate(divide="ignore"):
                losses = predictions - y * np.log(np.maximum(predictions, 1e-30))
        else:
            losses = (predictions - y) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((weight * losses).sum(axis=0) / weight.sum(axis=0)).tolist()

    def split_metrics(
        self, y: np.ndarray, predictions: np.ndarray, weight: np.ndarray | None, tasks: list[str], split: str
    ) -> RegressionMetrics:
        """Per-task Pearson and Spearman correlations over the split (weighted)."""
        return compute_regression_metrics(y, predictions, weight, tasks, split)


def split_profile_outputs(outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed profile outputs float (..., T, L + 1) -> (profile logits (..., T, L), log(1 + counts) (..., T))."""
    return outputs[..., :-1], outputs[..., -1]


class ProfileObjective(Objective):
    """BPNet: base-resolution profile logits and log total counts per task, packed as outputs (B, T, L + 1).

    ``outputs[..., :L]`` are profile logits over the target span, ``outputs[..., L]`` log(1 + total counts)
    (:func:`split_profile_outputs`). Targets are ``batch['profile']`` (B, T, L) (observed counts per base).
    Loss: multinomial NLL of the observed profile (weighted mean over windows and tasks) plus ``count_weight``
    x MSE of log(1 + total counts). Link: softmax(profile logits) x (exp(log counts) - 1) -> expected counts
    per base (B, T, L). Metrics per task: count Pearson (of log(1 + totals), weighted), and the medians over
    windows of the profile Pearson and Jensen-Shannon distance (windows with weight > 0 and observed counts).
    """

    kind = "profile"
    target_key = "profile"

    @property
    def count_weight(self) -> float:
        """Weight of the count MSE (``model.objective.count_weight``; default 1)."""
        return 1.0 if self.config.count_weight is None else self.config.count_weight

    def link(self, outputs: torch.Tensor) -> torch.Tensor:
        """Packed outputs (..., T, L + 1) -> expected counts per base (..., T, L)."""
        logits, log_counts = split_profile_outputs(outputs)
        return torch.softmax(logits.float(), dim=-1) * torch.expm1(log_counts.float()).clamp(min=0).unsqueeze(-1)

    def loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Multinomial NLL of ``batch['profile']`` (B, T, L) + count_weight x MSE of log(1 + counts), weighted."""
        logits, log_counts = split_profile_outputs(outputs)
        profile = batch["profile"].float()
        weight = batch["weight"].float()
        nll = multinomial_nll(logits, profile)  # (B, T)
        profile_term = (weight * nll).sum() / weight.sum().clamp(min=1e-12)
        count_term = weighted_mse(log_counts, torch.log1p(profile.sum(dim=-1)), weight)
        return profile_term + self.count_weight * count_term

    def strand_values(self, outputs: np.ndarray) -> np.ndarray:
        """Expected counts per base averaged over strands: packed outputs (N, S, T, L + 1) -> float64 (N, T, L)."""
        values = torch.from_numpy(np.asarray(outputs, dtype=np.float64))
        return self.link(values).mean(dim=1).numpy()

    def split_loss(self, predictions: np.ndarray, y: np.ndarray, weight: np.ndarray) -> list[float]:
        """Per task: the loss of strand-averaged expected counts (N, T, L) against observed profiles (N, T, L)."""
        predictions = torch.from_numpy(np.asarray(predictions, dtype=np.float64))
        observed = torch.from_numpy(np.asarray(y, dtype=np.float64))
        w = torch.from_numpy(np.asarray(weight, dtype=np.float64))
        totals = predictions.sum(dim=-1)
        logits = torch.log(predictions.clamp(min=1e-30))  # softmax(log p) = p / sum p
        nll = multinomial_nll(logits, observed).double()
        count_error = (torch.log1p(totals) - torch.log1p(observed.sum(dim=-1))) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            per_task = (w * (nll + self.count_weight * count_error)).sum(dim=0) / w.sum(dim=0)
        return per_task.tolist()

    def split_metrics(
        self, y: np.ndarray, predictions: np.ndarray, weight: np.ndarray | None, tasks: list[str], split: str
    ) -> ProfileMetrics:
        """Per-task count Pearson, median profile Pearson and median JSD over the split (see the class)."""
        return compute_profile_metrics(y, predictions, weight, tasks, split)


OBJECTIVES = Registry("objective kind")
"""Objective class of every ``model.objective.kind``."""
for _objective in (BinaryObjective, RegressionObjective, ProfileObjective):
    OBJECTIVES.register(_objective.kind)(_objective)


def build_objective(
    config: ObjectiveConfig | Mapping[str, Any] | None = None, pos_weight: float | list[float] | None = None
) -> Objective:
    """The objective of a ``model.objective`` section (None: binary).

    Raises:
        ValueError: a kind without a registered objective.
    """
    if config is None:
        config = ObjectiveConfig()
    elif not isinstance(config, ObjectiveConfig):
        config = ObjectiveConfig.model_validate(dict(config))
    if config.kind not in OBJECTIVES:
        raise ValueError(f"model.objective.kind {config.kind!r} has no objective; registered: {sorted(OBJECTIVES)}")
    return OBJECTIVES[config.kind](config, pos_weight)
