"""In-silico saturation mutagenesis: every position x 3 alternative bases, as logit differences.

Written here rather than taken from a library because it is a few lines of indexing: the mutants of
all windows are enumerated as one flat list (window, position, alternative) and cut into batches of
``batch_size``, so small windows fill whole batches and a long window never needs all its mutants
in memory at once.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["centre_span", "ism", "ism_hypothetical"]


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
    batch_size: int = 1024,
) -> torch.Tensor:
    """Logit change of every single-base substitution in the centre ``window`` positions.

    Args:
        model: maps float32 (B, 4, L) one-hot to logits (B, T); run on x's device, in its current mode.
        x: float32 (N, 4, L) one-hot windows. An all-zero column (N) counts as A: its three
            substitutions are C, G and T and its A entry stays 0.
        target: the output column explained.
        window: centre positions mutated (default all L).
        batch_size: mutants per forward pass.

    Returns:
        float32 (N, 4, W) on x's device: entry (n, b, p) is logit(x_n with base b at position start + p)
        - logit(x_n); 0 for the observed base.
    """
    n, _, length = x.shape
    start, stop = centre_span(length, window)
    width = stop - start
    observed = x.argmax(dim=1)  # (N, L)
    reference = torch.cat([model(x[i : i + batch_size])[:, target] for i in range(0, n, batch_size)])
    out = torch.zeros(n, 4, width, dtype=torch.float32, device=x.device)
    total = n * width * 3
    for first in range(0, total, batch_size):
        flat = torch.arange(first, min(first + batch_size, total), device=x.device)
        row, rest = flat // (width * 3), flat % (width * 3)
        position, shift = start + rest // 3, 1 + rest % 3
        alternative = (observed[row, position] + shift) % 4
        mutants = x[row].clone()
        mutants[torch.arange(flat.numel(), device=x.device), :, position] = 0.0
        mutants[torch.arange(flat.numel(), device=x.device), alternative, position] = 1.0
        out[row, alternative, position - start] = model(mutants)[:, target].float() - reference[row].float()
    return out


def ism_hypothetical(deltas: torch.Tensor) -> torch.Tensor:
    """Hypothetical contributions of ISM deltas (N, 4, W): each position's deltas minus their mean over bases.

    Multiplied by the one-hot input, the observed base gets minus the mean effect of substituting it
    (the usual ISM attribution); the whole (N, 4, W) matrix is what TF-MoDISco takes as hypothetical
    contributions.
    """
    return deltas - deltas.mean(dim=1, keepdim=True)
