"""ISM's fast path (the first convolution patched from the reference) against running every mutant in full."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from seqlab.evaluation.interpret.ism import ism
from seqlab.models.sequence_model import build_model


def random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    """float32 (n, 4, length) random ACGT one-hot."""
    codes = torch.randint(0, 4, (n, length), generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


def toy_model(trunk: dict[str, Any], length: int) -> nn.Module:
    torch.manual_seed(0)
    params = {"tasks": ["a", "b"], "window_length": length, "encoding": "onehot"}
    model = build_model({"trunk": trunk}, params).eval()
    with torch.no_grad():  # larger logit changes, so that the 1e-5 tolerance below is a real test
        last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        last.weight.mul_(100.0)
    return model


def count_full_convolutions(conv: nn.Conv1d, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls that compute ``conv`` in full (the patched ones never reach ``_conv_forward``)."""
    calls = [0]
    full = conv._conv_forward

    def counted(*args: Any) -> torch.Tensor:
        calls[0] += 1
        return full(*args)

    monkeypatch.setattr(conv, "_conv_forward", counted)
    return calls


TRUNKS = {
    "deepbind": ({"arch": "deepbind", "filters": 6, "kernel_size": 5, "hidden": 4}, 24),
    "deepsea": (
        {"arch": "deepsea", "channels": [6, 5], "kernel_size": 4, "pool_size": 2, "dropout": [0.1, 0.1], "hidden": 7},
        30,
    ),  # fmt: skip
    "basenji": (
        {
            "arch": "basenji",
            "stem_channels": 6,
            "stem_kernel": 5,
            "tower_channels": [6],
            "tower_kernel": 3,
            "dilated_blocks": 2,
            "features": 5,
        },
        32,
    ),  # fmt: skip
}


@pytest.mark.parametrize("arch", sorted(TRUNKS))
def test_fast_ism_equals_full_ism_and_patches_every_mutant(arch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    trunk, length = TRUNKS[arch]
    model, x = toy_model(trunk, length), random_one_hot(5, length)
    x[1, :, 3] = 0.0  # an N column: its three substitutions are C, G and T
    slow = ism(model, x, target=1, batch_size=64, fast=False)
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv1d))
    calls = count_full_convolutions(first_conv, monkeypatch)
    fast = ism(model, x, target=1, batch_size=64)
    assert fast.shape == (5, 4, length)
    assert (fast - slow).abs().max().item() < 1e-5
    assert slow.abs().max().item() > 0.05  # the mutants do change the output
    assert calls[0] == 1 + 1  # one window to find the convolution, one reference pass (5 windows in one group)


def test_fast_ism_of_deepbind_is_strand_symmetric() -> None:
    """DeepBind scans both strands in one call (rows stacked): the ISM of a reverse complement is the mirror."""
    model, x = toy_model(*TRUNKS["deepbind"]), random_one_hot(3, 24, seed=1)
    forward = ism(model, x, target=0, window=10, batch_size=16)
    reverse = ism(model, x.flip(1, 2), target=0, window=10, batch_size=16)
    assert (forward - reverse.flip(1, 2)).abs().max().item() < 1e-5
    assert (forward - ism(model, x, target=0, window=10, fast=False)).abs().max().item() < 1e-5


class TwoCalls(nn.Module):
    """One convolution called once per strand, the strands max-pooled: two recorded calls per forward."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv1d(4, 3, 4, padding=2, dilation=2)
        self.out = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        strands = [torch.relu(self.conv(s)).amax(dim=-1) for s in (x, x.flip(1, 2))]
        return self.out(torch.maximum(*strands))


class Smeared(nn.Module):
    """A cumulative sum before the convolution: a substitution changes many of its input columns."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv1d(4, 3, 3, padding="same")
        self.out = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.conv(x.cumsum(dim=-1))).mean(dim=-1))


@pytest.mark.parametrize(("module", "full_calls"), [(TwoCalls, 2 + 2 * 2), (Smeared, 1 + 2 + 2 * 8)])
def test_fast_ism_patches_what_it_can_and_computes_the_rest(
    module: type[nn.Module], full_calls: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full convolutions: TwoCalls 2 to find it + 2 groups x 2 calls of reference, every mutant patched;
    Smeared 1 + 2 of reference + all 2 x 8 mutant batches (nothing patched). The same values either way."""
    model, x = module().eval(), random_one_hot(4, 12, seed=3)
    slow = ism(model, x, target=0, batch_size=3, fast=False)
    calls = count_full_convolutions(model.conv, monkeypatch)
    fast = ism(model, x, target=0, window=4, batch_size=3)  # groups of 2 windows: 8 batches of 3 mutants each
    assert calls[0] == full_calls
    assert (fast - slow[..., 4:8]).abs().max().item() < 1e-5
