"""The loss functions of every objective (seqlab.objectives): binary cross-entropy, MSE, Poisson, multinomial.

Binary: weighted cross-entropy over soft labels, from logits (training) or probabilities (evaluation).
Labels y are in [0, 1] (soft labels allowed); ``weight`` (B, T) scales every entry and 0 masks it;
``pos_weight`` multiplies the positive term (a float for every task, or a (T,) tensor). The reduced
loss is sum(w * l) / sum(w), and 0 when every weight is 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["multinomial_nll", "per_task_bce", "weighted_bce_with_logits", "weighted_mse", "weighted_poisson_nll"]

_EPS = 1e-7


def _pos_weight(pos_weight: float | torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    if pos_weight is None:
        return None
    return torch.as_tensor(pos_weight, dtype=like.dtype, device=like.device)


def weighted_bce_with_logits(
    logits: torch.Tensor,
    y: torch.Tensor,
    weight: torch.Tensor | None = None,
    pos_weight: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean binary cross-entropy over the weighted entries of a batch.

    Args:
        logits: float (B, T) (computed in float32 whatever the input dtype).
        y: float32 (B, T) labels in [0, 1].
        weight: float32 (B, T) non-negative weights (None: all 1); 0 masks an entry.
        pos_weight: weight of the positive term, a float or float32 (T,).

    Returns:
        float32 scalar: sum(weight * loss) / sum(weight), or 0 (still differentiable) if sum(weight) = 0.
    """
    logits = logits.float()
    losses = F.binary_cross_entropy_with_logits(
        logits, y.float(), reduction="none", pos_weight=_pos_weight(pos_weight, logits)
    )
    if weight is None:
        return losses.mean()
    total = weight.sum()
    return (weight * losses).sum() / torch.where(total > 0, total, torch.ones_like(total))


def per_task_bce(
    probs: torch.Tensor,
    y: torch.Tensor,
    weight: torch.Tensor | None = None,
    pos_weight: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Weighted binary cross-entropy of probabilities, reduced over examples separately for each task.

    Args:
        probs: float32 (N, T) probabilities (clamped to [1e-7, 1 - 1e-7]).
        y: float32 (N, T) labels in [0, 1].
        weight: float32 (N, T) non-negative weights (None: all 1); 0 masks an entry.
        pos_weight: weight of the positive term, a float or float32 (T,).

    Returns:
        float32 (T,): per task sum(weight * loss) / sum(weight); NaN for a task whose weights are all 0.
    """
    probs = probs.float().clamp(_EPS, 1 - _EPS)
    y = y.float()
    positive = y * torch.log(probs)
    scale = _pos_weight(pos_weight, probs)
    if scale is not None:
        positive = scale * positive
    losses = -(positive + (1 - y) * torch.log1p(-probs))
    weight = torch.ones_like(losses) if weight is None else weight.float()
    return (weight * losses).sum(dim=0) / weight.sum(dim=0)


def _weighted_mean(losses: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """sum(weight * losses) / sum(weight) (0 when every weight is 0), or the plain mean without weights."""
    if weight is None:
        return losses.mean()
    total = weight.sum()
    return (weight * losses).sum() / torch.where(total > 0, total, torch.ones_like(total))


def weighted_mse(predictions: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over the weighted entries: predictions and y float (B, T), weight (B, T) or None.

    Returns:
        float32 scalar sum(w * (pred - y)**2) / sum(w) (0 when every weight is 0).
    """
    return _weighted_mean((predictions.float() - y.float()) ** 2, weight)


def weighted_poisson_nll(log_rate: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Poisson negative log-likelihood of counts y under rates exp(log_rate), without the log(y!) constant.

    Args:
        log_rate: float (B, T) log of the predicted rate (the model's output).
        y: float (B, T) non-negative targets.
        weight: float (B, T) weights (0 masks) or None.

    Returns:
        float32 scalar: weighted mean of exp(log_rate) - y * log_rate.
    """
    losses = F.poisson_nll_loss(log_rate.float(), y.float(), log_input=True, full=False, reduction="none")
    return _weighted_mean(losses, weight)


def multinomial_nll(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Multinomial negative log-likelihood of observed counts under softmax(logits) over the last axis.

    The full log-likelihood, log(n!) - sum log(k_i!) + sum k_i log p_i, as BPNet's loss (the
    combinatorial term does not depend on the model; it is kept so the value matches
    ``scipy.stats.multinomial.logpmf``).

    Args:
        logits: float (..., L) profile logits.
        counts: float (..., L) non-negative observed counts.

    Returns:
        float32 (...): the negative log-likelihood of every profile.
    """
    counts = counts.float()
    log_p = torch.log_softmax(logits.float(), dim=-1)
    total = counts.sum(dim=-1)
    return -(torch.lgamma(total + 1) - torch.lgamma(counts + 1).sum(dim=-1) + (counts * log_p).sum(dim=-1))
