"""DeepLIFT multipliers of one model output (rescale rule), written here instead of captum's ``DeepLift``.

Why by hand (speed, at the same exactness): captum's ``DeepLift``, like tangermeme's ``deep_lift_shap``,
runs inputs and references through the model as one batch and backpropagates both halves, although
every rule gives the two halves the same multiplier, so half of the backward pass is discarded; its
hooks also copy and concatenate every hooked activation and run the max-pooling rule through
``max_unpool`` over the whole input. On the DeepBind trunk that made seqlab's DeepLIFT/SHAP 0.66-0.82x
tangermeme's (docs/benchmarks.md, section 12). Here:

1. the references go forward without autograd, each hooked module recording its input and output;
2. the inputs go forward with autograd; each hooked module's output is replaced by a node whose backward
   is the DeepLIFT rule, its factors computed in that forward from the recorded reference activations;
3. one backward pass, over the inputs only, gives the multipliers d output / d input.

The rules are captum's (and tangermeme's):

* elementwise activation modules (:data:`ELEMENTWISE`, which adds GELU, SiLU, Mish, SELU, CELU, ReLU6
  and LogSigmoid to captum's list): the rescale rule, multiplier (f(a) - f(a_r)) / (a - a_r), the plain
  derivative f'(a) where |a - a_r| < :data:`EPS`;
* max-pooling modules (``nn.MaxPool1d/2d/3d``): each pooled output's change max(o, o_r) - o_r is routed
  to the input's arg-max and o - max(o, o_r) to the reference's, each divided by that position's input
  change (the plain gradient where the change is exactly zero), gathered and scattered at the pooled
  size instead of unpooling the whole input;
* every other module (convolutions, linear layers, average pooling, ...) and every function
  (``torch.relu``) passes its plain gradient; ``nn.Softmax`` too (captum's softmax rule is not exact).

For a model whose non-linearities are these modules, sum(multipliers x (input - reference)) equals
output(input) - output(reference) to float rounding (tests/evaluation/interpret/test_deeplift.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["ELEMENTWISE", "EPS", "POOLS", "deeplift_multipliers"]

ELEMENTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Softplus, nn.LogSigmoid,
)  # fmt: skip
"""Activation modules given the rescale rule (elementwise, no parameters)."""

POOLS: tuple[type[nn.Module], ...] = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
"""Max-pooling modules given the max-pooling rule."""

EPS = 1e-6
"""Below this |input change| an activation takes its plain derivative (tangermeme's threshold)."""


def deeplift_multipliers(
    model: nn.Module, inputs: torch.Tensor, references: torch.Tensor, target: int = 0
) -> torch.Tensor:
    """DeepLIFT multipliers of output ``target`` for each (input, reference) pair.

    Args:
        model: maps float32 (B, ...) to (B, T); its non-linearities modules of :data:`ELEMENTWISE` or
            :data:`POOLS` (not in place) get DeepLIFT's rules, anything else its plain gradient.
        inputs: float32 (B, ...), e.g. one-hot windows (B, 4, L).
        references: float32 (B, ...), one reference per input row.
        target: the output column explained.

    Returns:
        float32 (B, ...) multipliers m; sum(m * (inputs - references)) over all but the first axis equals
        model(inputs)[:, target] - model(references)[:, target] for a model of such modules.

    Raises:
        ValueError: a hooked module computes in place (``inplace=True``).
    """
    recorded: dict[nn.Module, list[tuple[torch.Tensor, ...]]] = {}

    def record(module: nn.Module, a: torch.Tensor, o: torch.Tensor, index: torch.Tensor | None) -> None:
        recorded.setdefault(module, []).append((a.detach(), o.detach(), index))

    with _hooked(model, record), torch.no_grad():
        model(references)

    def apply_rule(
        module: nn.Module, a: torch.Tensor, o: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor | None:
        a_ref, o_ref, index_ref = recorded[module].pop(0)
        if not a.requires_grad:
            return None
        if index is None:
            backward = _elementwise(module, a.detach(), o.detach(), a_ref, o_ref)
        else:
            backward = _max_pool(a.detach(), o.detach(), index, a_ref, o_ref, index_ref)
        return _Rule.apply(a, o.detach(), backward)

    inputs = inputs.detach().requires_grad_(True)
    with _hooked(model, apply_rule), torch.enable_grad():
        output = model(inputs)[:, target]
        (multipliers,) = torch.autograd.grad(output.sum(), inputs)
    return multipliers


Hook = Callable[[nn.Module, torch.Tensor, torch.Tensor, "torch.Tensor | None"], "torch.Tensor | None"]


@contextmanager
def _hooked(model: nn.Module, hook: Hook) -> Iterator[None]:
    """Call ``hook(module, input, output, arg-max or None)`` after every rule module of ``model``; its
    answer (unless None) replaces the output. Max-pooling modules return their arg-max meanwhile (one
    pooling pass instead of two; their setting is put back on exit).
    """
    handles, returned_indices = [], {}

    def forward_hook(module: nn.Module, args: tuple, out: torch.Tensor | tuple) -> torch.Tensor | tuple | None:
        if module not in returned_indices:
            return hook(module, args[0], out, None)
        o, index = out
        new = hook(module, args[0], o, index)
        o = o if new is None else new
        return (o, index) if returned_indices[module] else o

    try:
        for name, module in model.named_modules():
            if isinstance(module, ELEMENTWISE + POOLS):
                if getattr(module, "inplace", False):
                    raise ValueError(f"DeepLIFT: module {name!r} computes in place; build it with inplace=False")
                if isinstance(module, POOLS):
                    returned_indices[module] = module.return_indices
                    module.return_indices = True
                handles.append(module.register_forward_hook(forward_hook))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for module, setting in returned_indices.items():
            module.return_indices = setting


class _Rule(torch.autograd.Function):
    """Identity on a module's output whose backward maps the output gradient to the input's by a rule."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, o: torch.Tensor, backward: Callable[[torch.Tensor], torch.Tensor]):  # noqa: ANN001, ANN205
        ctx.rule = backward
        return o.view_as(o)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: ANN001, ANN205
        return ctx.rule(grad), None, None


def _elementwise(
    module: nn.Module, a: torch.Tensor, o: torch.Tensor, a_ref: torch.Tensor, o_ref: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Rescale rule: the gradient times (o - o_ref) / (a - a_ref), or times f'(a) where |a - a_ref| < EPS."""
    change = a - a_ref
    slope = (o - o_ref).div_(change)
    small = change.abs_() < EPS
    if small.any():  # rare (equal pre-activations): the plain derivative there, through the module itself
        point = a[small].requires_grad_(True)
        with torch.enable_grad():
            (slope[small],) = torch.autograd.grad(module.forward(point).sum(), point)
    return lambda grad: grad * slope


def _max_pool(
    a: torch.Tensor,
    o: torch.Tensor,
    index: torch.Tensor,
    a_ref: torch.Tensor,
    o_ref: torch.Tensor,
    index_ref: torch.Tensor,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Max-pooling rule (captum's, at the pooled size): o's change routed to both arg-maxes, over their change."""
    top = torch.maximum(o, o_ref)
    flat, flat_ref, shape = a.flatten(2), a_ref.flatten(2), a.shape
    factors = []
    for arg_max, share, fallback in (
        (index.flatten(2), top - o_ref, 1.0),  # the input's arg-max: its plain gradient where its change is 0
        (index_ref.flatten(2), o - top, 0.0),
    ):
        change = flat.gather(2, arg_max) - flat_ref.gather(2, arg_max)
        factor = share.flatten(2).div_(change)
        factors.append((arg_max, factor.masked_fill_(change == 0, fallback)))

    def backward(grad: torch.Tensor) -> torch.Tensor:
        result = grad.new_zeros(flat.shape)
        for arg_max, factor in factors:
            result.scatter_add_(2, arg_max, grad.flatten(2) * factor)
        return result.view(shape)

    return backward
