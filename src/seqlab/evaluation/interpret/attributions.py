"""Attributions of one output of a one-hot DNA model: gradient x input, integrated gradients, DeepLIFT/SHAP.

Every method returns an :class:`Attribution`: ``hypothetical`` (N, 4, W), the contribution each base
*would* make at each position (what TF-MoDISco takes), and ``attributions`` = hypothetical x one-hot
input, the contribution of the observed base (zero on the other three channels). Per position the
attributions sum to the method's usual per-position score:

* ``saliency``: hypothetical = gradient of the logit at x; attributions = gradient x input.
* ``ig``: integrated gradients (captum) from a reference r (default all-zero) to x; with g the path
  gradients, hypothetical[b, i] = g[b, i] - sum_c g[c, i] r[c, i], so the attributions sum to
  logit(x) - logit(r) (completeness, up to the quadrature error).
* ``deepliftshap``: DeepLIFT (rescale rule, :mod:`.deeplift`: captum's rules, written here for speed)
  against ``n_shuffles`` exact dinucleotide shuffles of each window, averaged (DeepLIFT/SHAP);
  hypothetical contributions from the multipliers m as for ``ig``, averaged over the references. The
  rules apply to activation and max-pooling *modules* (ReLU, GELU, Sigmoid, ..., MaxPool); a functional
  activation (``torch.relu``) gets its plain gradient, so the sum equals the output difference exactly
  only for models built from those modules (the built-in DeepBind trunk is: sums exact to float
  rounding, tests/evaluation/interpret/test_deeplift.py).
* ``ism``: saturation mutagenesis (:mod:`.ism`), hypothetical = each position's deltas minus their mean.

For a model with a metadata head (MFD), :class:`SubspaceLogits` turns the model into one whose outputs
are one subspace's contribution <z^g, w_e^g> to each task's logit, so any method explains a subspace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from captum.attr import IntegratedGradients
from torch import nn

from seqlab.evaluation.interpret.deeplift import deeplift_multipliers
from seqlab.evaluation.interpret.ism import centre_span, ism, ism_hypothetical
from seqlab.evaluation.interpret.shuffle import dinucleotide_shuffle

__all__ = [
    "METHODS",
    "Attribution",
    "SubspaceLogits",
    "deep_lift_shap",
    "integrated_gradients",
    "saliency",
    "saturation_mutagenesis",
]


class Attribution(NamedTuple):
    """Attributions float32 (N, 4, W) (hypothetical x input) and hypothetical contributions float32 (N, 4, W)."""

    attributions: torch.Tensor
    hypothetical: torch.Tensor


def _result(hypothetical: torch.Tensor, x: torch.Tensor, window: int | None) -> Attribution:
    start, stop = centre_span(x.shape[-1], window)
    hypothetical = hypothetical[..., start:stop].float()
    return Attribution(hypothetical * x[..., start:stop], hypothetical)


def _project(multipliers: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Hypothetical contributions m[b, i] - sum_c m[c, i] r[c, i] of multipliers and references (..., 4, L)."""
    return multipliers - (multipliers * reference).sum(dim=-2, keepdim=True)


def saliency(
    model: nn.Module, x: torch.Tensor, target: int = 0, window: int | None = None, batch_size: int = 256, seed: int = 0
) -> Attribution:
    """Gradient x input of output ``target``: x float32 (N, 4, L) one-hot -> :class:`Attribution` (N, 4, W)."""
    gradients = []
    for first in range(0, x.shape[0], batch_size):
        chunk = x[first : first + batch_size].detach().clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(chunk)[:, target].sum(), chunk)
        gradients.append(gradient)
    return _result(torch.cat(gradients), x, window)


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: int = 0,
    window: int | None = None,
    batch_size: int = 256,
    seed: int = 0,
    reference: torch.Tensor | None = None,
    n_steps: int = 50,
) -> Attribution:
    """Integrated gradients (captum, Gauss-Legendre, ``n_steps``) from ``reference`` (1, 4, L) (default zeros).

    Args:
        model: maps float32 (B, 4, L) to logits (B, T).
        x: float32 (N, 4, L) one-hot windows.
        target: the output column explained.
        window: centre positions kept (default all L).
        batch_size: path points per forward pass.
        seed: unused (the method is deterministic); kept for the common signature of :data:`METHODS`.
        reference: the path's start, float32 (1, 4, L) or (N, 4, L).
        n_steps: quadrature points.

    Returns:
        :class:`Attribution` (N, 4, W); summed over bases and positions (W = L) the attributions equal
        logit(x) - logit(reference) up to the quadrature error.
    """
    reference = torch.zeros_like(x[:1]) if reference is None else reference.to(x)
    method = IntegratedGradients(model, multiply_by_inputs=False)
    gradients = []
    for first in range(0, x.shape[0], max(1, batch_size // n_steps)):
        chunk = x[first : first + max(1, batch_size // n_steps)]
        ref = reference if reference.shape[0] == 1 else reference[first : first + chunk.shape[0]]
        ref = ref.expand_as(chunk)
        path = method.attribute(chunk, baselines=ref, target=target, n_steps=n_steps, internal_batch_size=batch_size)
        gradients.append(_project(path, ref))
    return _result(torch.cat(gradients), x, window)


def deep_lift_shap(
    model: nn.Module,
    x: torch.Tensor,
    target: int = 0,
    window: int | None = None,
    batch_size: int = 256,
    seed: int = 0,
    n_shuffles: int = 20,
    references: torch.Tensor | None = None,
) -> Attribution:
    """DeepLIFT/SHAP: DeepLIFT multipliers (:mod:`.deeplift`) averaged over ``n_shuffles`` dinucleotide shuffles.

    Args:
        model: maps float32 (B, 4, L) to logits (B, T); its activations should be modules (see the module
            docstring).
        x: float32 (N, 4, L) one-hot windows.
        target: the output column explained.
        window: centre positions kept (default all L).
        batch_size: (window, reference) pairs per forward pass.
        seed: seed of the shuffles (with the same ``batch_size``, the same result).
        n_shuffles: references per window.
        references: float32 (N, R, 4, L) references to use instead of the shuffles (R replaces ``n_shuffles``).

    Returns:
        :class:`Attribution` (N, 4, W): for a model whose activations are modules, the attributions sum
        (over bases and positions, W = L) to logit(x) - mean logit(shuffles).
    """
    n_shuffles = n_shuffles if references is None else int(references.shape[1])
    per_chunk = max(1, batch_size // n_shuffles)
    hypothetical = []
    for first in range(0, x.shape[0], per_chunk):
        chunk = x[first : first + per_chunk]
        if references is None:
            baselines = dinucleotide_shuffle(chunk, n_shuffles, seed=seed + first).flatten(0, 1)
        else:
            baselines = references[first : first + per_chunk].to(chunk).flatten(0, 1)
        multipliers = deeplift_multipliers(model, chunk.repeat_interleave(n_shuffles, dim=0), baselines, target)
        projected = _project(multipliers, baselines)
        hypothetical.append(projected.unflatten(0, (chunk.shape[0], n_shuffles)).mean(dim=1))
    return _result(torch.cat(hypothetical), x, window)


def saturation_mutagenesis(
    model: nn.Module, x: torch.Tensor, target: int = 0, window: int | None = None, batch_size: int = 256, seed: int = 0
) -> Attribution:
    """ISM as an :class:`Attribution`: hypothetical = deltas minus their per-position mean (N, 4, W)."""
    hypothetical = ism_hypothetical(ism(model, x, target, window, batch_size))
    start, stop = centre_span(x.shape[-1], window)
    return Attribution(hypothetical * x[..., start:stop], hypothetical)


Method = Callable[..., Attribution]
METHODS: dict[str, Method] = {
    "ism": saturation_mutagenesis,
    "saliency": saliency,
    "ig": integrated_gradients,
    "deepliftshap": deep_lift_shap,
}


class SubspaceLogits(nn.Module):
    """One subspace's contribution to every task's logit: one-hot (B, 4, L) -> float32 (B, T).

    For a model with a metadata head, logit(j, e) = sum_g <z_j^g, w_e^g> + b_e; this module returns
    <z_j^g, w_e^g> for the group ``group`` (its weights w_e^g computed once from the training tasks'
    metadata, as constants), so attributing its output explains what that subspace contributes.

    Args:
        model: a ``SequenceModel`` whose head has ``feature_slices`` and ``group_weights`` (MFD).
        group: a group of that head (``biological``, ``technical``, ...).
    """

    def __init__(self, model: nn.Module, group: str) -> None:
        super().__init__()
        head = model.head
        self.model = model
        self.part = head.feature_slices[group]
        with torch.no_grad():
            self.register_buffer("weights", head.group_weights(head.task_codes)[group].detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map one-hot float32 (B, 4, L) to the subspace's logit contributions float32 (B, T)."""
        return self.model.features(x)[:, self.part] @ self.weights.T
