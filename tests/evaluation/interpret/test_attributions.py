"""Exactness of ISM, integrated gradients, DeepLIFT/SHAP and the dinucleotide shuffle on toy models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqlab.evaluation.interpret.attributions import (
    deep_lift_shap,
    integrated_gradients,
    saliency,
    saturation_mutagenesis,
)
from seqlab.evaluation.interpret.ism import centre_span, ism
from seqlab.evaluation.interpret.shuffle import dinucleotide_shuffle


def random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    """float32 (n, 4, length) random ACGT one-hot."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, length), generator=generator)
    return torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


class Linear(nn.Module):
    """logits (B, 2) = <W_t, x> + b_t with hand-set weights."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.linear = nn.Linear(4 * length, 2)
        with torch.no_grad():
            self.linear.weight.copy_(torch.arange(8 * length, dtype=torch.float32).reshape(2, -1).sin())
            self.linear.bias.copy_(torch.tensor([0.5, -1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class Conv(nn.Module):
    """A small nonlinear CNN (modules only): conv -> ReLU -> average pool -> linear, smooth enough for IG."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.conv = nn.Conv1d(4, 6, 5)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.out = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.pool(self.act(self.conv(x))).squeeze(-1))


def test_ism_equals_brute_force_differences() -> None:
    model, x = Conv().eval(), random_one_hot(3, 20)
    deltas = ism(model, x, target=1, window=8, batch_size=7)
    start, _ = centre_span(20, 8)
    assert deltas.shape == (3, 4, 8)
    with torch.no_grad():
        reference = model(x)[:, 1]
        for n in range(3):
            for p in range(8):
                for b in range(4):
                    mutant = x[n : n + 1].clone()
                    mutant[0, :, start + p] = 0.0
                    mutant[0, b, start + p] = 1.0
                    expected = (model(mutant)[0, 1] - reference[n]).item()
                    assert deltas[n, b, p].item() == pytest.approx(expected, abs=1e-6)
        assert torch.all(deltas[x[:, :, start : start + 8].bool()] == 0.0)


def test_ism_attribution_is_minus_mean_substitution_effect() -> None:
    model, x = Linear(10), random_one_hot(2, 10)
    result = saturation_mutagenesis(model, x, target=0)
    weights = model.linear.weight[0].detach().reshape(4, 10)
    observed = (weights * x).sum(dim=1)  # (N, L) weight of the observed base
    expected = -(weights.sum(dim=0) - 4 * observed) / 4  # minus the mean of the 4 deltas (observed 0)
    assert torch.allclose(result.attributions.sum(dim=1), expected, atol=1e-5)


def test_saliency_of_linear_model_is_weights_times_input() -> None:
    model, x = Linear(12), random_one_hot(4, 12)
    result = saliency(model, x, target=1, window=6)
    weights = model.linear.weight[1].detach().reshape(4, 12)
    assert torch.allclose(result.hypothetical, weights[:, 3:9].expand(4, 4, 6))
    assert torch.allclose(result.attributions, (weights * x)[..., 3:9])


def test_integrated_gradients_completeness() -> None:
    model, x = Conv().eval(), random_one_hot(5, 30, seed=1)
    reference = torch.full((1, 4, 30), 0.25)
    result = integrated_gradients(model, x, target=2, reference=reference, n_steps=200, batch_size=400)
    with torch.no_grad():
        difference = model(x)[:, 2] - model(reference)[0, 2]
    assert torch.allclose(result.attributions.sum(dim=(1, 2)), difference, atol=2e-3 * difference.abs().max().item())


def test_deep_lift_shap_of_linear_model_is_weights_times_difference_to_references() -> None:
    model, x = Linear(16), random_one_hot(3, 16, seed=2)
    result = deep_lift_shap(model, x, target=0, n_shuffles=5, seed=4, batch_size=10)
    weights = model.linear.weight[0].detach().reshape(4, 16)
    references = torch.cat([dinucleotide_shuffle(x[i : i + 2], 5, seed=4 + i) for i in (0, 2)])  # chunks of 2
    expected_hypothetical = (weights - (weights * references).sum(dim=2, keepdim=True)).mean(dim=1)
    assert torch.allclose(result.hypothetical, expected_hypothetical, atol=1e-5)
    expected = (weights * (x[:, None] - references)).sum(dim=2).mean(dim=1)  # per position, (N, L)
    assert torch.allclose(result.attributions.sum(dim=1), expected, atol=1e-5)


def test_deep_lift_shap_sums_to_output_difference_on_relu_model() -> None:
    model, x = Conv().eval(), random_one_hot(2, 25, seed=5)
    result = deep_lift_shap(model, x, target=0, n_shuffles=4, seed=1, batch_size=8)
    references = dinucleotide_shuffle(x, 4, seed=1)
    with torch.no_grad():
        difference = model(x)[:, 0] - model(references.flatten(0, 1))[:, 0].reshape(2, 4).mean(dim=1)
    assert torch.allclose(result.attributions.sum(dim=(1, 2)), difference, atol=1e-4)


def dinucleotide_counts(codes: np.ndarray) -> np.ndarray:
    counts = np.zeros((5, 5), dtype=int)
    np.add.at(counts, (codes[:-1], codes[1:]), 1)
    return counts


def test_dinucleotide_shuffle_keeps_counts_and_ends() -> None:
    x = random_one_hot(6, 50, seed=7)
    x[0, :, 10:13] = 0.0  # an N run is a fifth symbol
    shuffles = dinucleotide_shuffle(x, 10, seed=3)
    assert shuffles.shape == (6, 10, 4, 50)
    codes = torch.where(x.sum(1) > 0, x.argmax(1), 4).numpy()
    shuffled = torch.where(shuffles.sum(2) > 0, shuffles.argmax(2), 4).numpy()
    for i in range(6):
        for j in range(10):
            assert (dinucleotide_counts(shuffled[i, j]) == dinucleotide_counts(codes[i])).all()
            assert shuffled[i, j, 0] == codes[i, 0] and shuffled[i, j, -1] == codes[i, -1]
    assert (shuffled != codes[:, None]).any(axis=2).mean() > 0.9
    assert torch.equal(shuffles, dinucleotide_shuffle(x, 10, seed=3))
