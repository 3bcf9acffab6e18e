"""In-silico saturation mutagenesis: every position x 3 alternative bases, as logit differences.

Written here rather than taken from a library because it is a few lines of indexing plus one trick for
speed. The windows are taken in groups (enough for ``GROUP_BATCHES`` batches of mutants); each group's
reference pass records the model's first convolution (:mod:`.first_conv`), and the mutants of the group,
enumerated as one flat list (window, position, alternative), are cut into batches of ``batch_size``:
small windows fill whole batches and a long window never needs all its mutants in memory at once. In
the mutant passes the first convolution is the reference's plus the change of the one edited column
(``fast=True``), which equals the full convolution up to float rounding; the rest of the network runs
as usual, so any model works, and a model whose first convolution cannot be patched simply runs every
mutant through the whole network (as ``fast=False`` does always).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from seqlab.evaluation.interpret.first_conv import FirstConvPatch

__all__ = ["GROUP_BATCHES", "centre_span", "ism", "ism_hypothetical"]

GROUP_BATCHES = 8
"""Batches of mutants per group of windows (the reference activations kept are those of one group)."""


def centre_span(length: int, window: int | None) -> tuple[int, int]:
    """[start, stop) of the centre ``window`` positions of ``length`` (all of them for None).

    Raises:
        ValueError: ``window`` below 1 or above ``length`` (named ``--window``).
    """
    if window is None:
        return 0, length
    if not 1 <= window <= length:
        raise ValueError(f"--window {window}: must be between 1 and the model's window length {length}")
    start = (length - window) // 2
    return start, start + window


@torch.no_grad()
def ism(
    model: nn.Module,
    x: torch.Tensor,
    target: int = 0,
    window: int | None = None,
    batch_size: int = 256,
    fast: bool = True,
) -> torch.Tensor:
    """Logit change of every single-base substitution in the centre ``window`` positions.

    Args:
        model: maps float32 (B, 4, L) one-hot to logits (B, T); run on x's device, in its current mode
            (eval mode for exact differences: dropout would make every pass random).
        x: float32 (N, 4, L) one-hot windows. An all-zero column (N) counts as A: its three
            substitutions are C, G and T and its A entry stays 0.
        target: the output column explained.
        window: centre positions mutated (default all L).
        batch_size: mutants per forward pass (and windows per reference pass).
        fast: patch the first convolution of each mutant from its reference (module docstring); False
            runs every mutant through the whole model. Both give the same values up to float rounding.

    Returns:
        float32 (N, 4, W) on x's device: entry (n, b, p) is logit(x_n with base b at position start + p)
        - logit(x_n); 0 for the observed base.
    """
    n, _, length = x.shape
    start, stop = centre_span(length, window)
    patch = FirstConvPatch.find(model, x[:1]) if fast and n else None
    group = max(1, -(-GROUP_BATCHES * batch_size // (3 * (stop - start))))  # windows whose mutants fill the batches
    parts = [
        _group_deltas(model, x[i : i + group], target, (start, stop), batch_size, patch) for i in range(0, n, group)
    ]
    return torch.cat(parts) if parts else torch.zeros(0, 4, stop - start, device=x.device)


def _group_deltas(
    model: nn.Module,
    windows: torch.Tensor,
    target: int,
    span: tuple[int, int],
    batch_size: int,
    patch: FirstConvPatch | None,
) -> torch.Tensor:
    """:func:`ism` of one group of windows (G, 4, L) over positions [start, stop): float32 (G, 4, W)."""
    start, stop = span
    width = stop - start
    with patch.recording() if patch is not None else contextlib.nullcontext():
        reference = torch.cat(
            [model(windows[i : i + batch_size])[:, target] for i in range(0, len(windows), batch_size)]
        )
    if patch is not None:
        patch.group(len(windows), -(-len(windows) // batch_size))
    observed = windows.argmax(dim=1)  # (G, L)
    out = torch.zeros(len(windows), 4, width, dtype=torch.float32, device=windows.device)
    total = len(windows) * width * 3
    for first in range(0, total, batch_size):
        flat = torch.arange(first, min(first + batch_size, total), device=windows.device)
        row, rest = flat // (width * 3), flat % (width * 3)
        position, shift = start + rest // 3, 1 + rest % 3
        alternative = (observed[row, position] + shift) % 4
        mutants = windows.index_select(0, row)  # a copy
        every = torch.arange(flat.numel(), device=windows.device)
        mutants[every, :, position] = 0.0
        mutants[every, alternative, position] = 1.0
        with patch.patching(row) if patch is not None else contextlib.nullcontext():
            logits = model(mutants)[:, target]
        out[row, alternative, position - start] = logits.float() - reference[row].float()
    return out


def ism_hypothetical(deltas: torch.Tensor) -> torch.Tensor:
    """Hypothetical contributions of ISM deltas (N, 4, W): each position's deltas minus their mean over bases.

    Multiplied by the one-hot input, the observed base gets minus the mean effect of substituting it
    (the usual ISM attribution); the whole (N, 4, W) matrix is what TF-MoDISco takes as hypothetical
    contributions.
    """
    return deltas - deltas.mean(dim=1, keepdim=True)
