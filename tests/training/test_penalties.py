"""Independence penalties on constructed features whose dependence is known."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.training.penalties import (
    CovariancePenalty,
    CrossPredictionPenalty,
    ShufflePenalty,
    build_penalty,
    cross_covariance_norm,
    explained_variance,
    standardise,
    variance_floor,
)


def _orthonormal(n: int, p: int, seed: int = 0) -> torch.Tensor:
    """n x p columns centred and exactly orthogonal, each with unit biased sd."""
    x = torch.randn(n, p, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    q, _ = torch.linalg.qr(x - x.mean(0))
    return (q * math.sqrt(n)).float()


def test_standardise_gives_zero_mean_unit_sd():
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    s = standardise(x)
    torch.testing.assert_close(s.mean(0), torch.zeros(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(s.pow(2).mean(0), torch.ones(2), atol=1e-4, rtol=0)


def test_covariance_identical_subspaces_give_one_and_affine_maps_do_not_hide_it():
    a = _orthonormal(200, 3)
    assert CovariancePenalty()(a, a).item() == pytest.approx(1.0, abs=1e-5)
    assert CovariancePenalty()(a, -2 * a + 7).item() == pytest.approx(1.0, abs=1e-5)
    # one shared column out of two orthonormal ones each side: ||A^T B|| = n, ||A^T A|| = ||B^T B|| = n sqrt(2)
    b = torch.cat([a[:, :1], _orthonormal(200, 1, seed=5)], dim=1)
    b[:, 1] -= (b[:, 1] @ a[:, 0]) / 200 * a[:, 0]  # exactly orthogonal to the shared column
    b[:, 1] -= (b[:, 1] @ a[:, 1]) / 200 * a[:, 1]
    b[:, 1] /= b[:, 1].pow(2).mean().sqrt()
    assert CovariancePenalty()(a[:, :2], b).item() == pytest.approx(1 / math.sqrt(2), abs=1e-4)


@pytest.mark.parametrize("c", [1e-3, 0.5, 7.0, -3.0])
def test_covariance_is_unchanged_when_a_subspace_is_scaled(c):
    g = torch.Generator().manual_seed(3)
    a = torch.randn(128, 5, generator=g)
    b = a[:, :3] @ torch.randn(3, 4, generator=g) + torch.randn(128, 4, generator=g)
    reference = CovariancePenalty()(a, b).item()
    assert 0.2 < reference < 1.0
    assert CovariancePenalty()(c * a, b).item() == pytest.approx(reference, rel=1e-5)
    assert CovariancePenalty()(a, c * b).item() == pytest.approx(reference, rel=1e-5)


def test_killing_units_does_not_drive_the_covariance_penalty_to_zero():
    """Subspaces whose units all copy one shared signal: killing all but one unit on each side keeps the
    penalty (the per-column correlation norm it replaces fell from sqrt(P Q) r to r)."""
    g = torch.Generator().manual_seed(4)
    shared, noise = torch.randn(256, 1, generator=g), torch.randn(256, 1, generator=g)
    a = shared.repeat(1, 6) * torch.tensor([1.0, 2, 3, 4, 5, 6])
    b = (shared + noise).repeat(1, 4)
    full = CovariancePenalty()(a, b).item()
    killed_a, killed_b = a.clone(), b.clone()
    killed_a[:, 1:] = 0.0
    killed_b[:, 1:] = 0.0
    assert CovariancePenalty()(killed_a, killed_b).item() == pytest.approx(full, rel=1e-5)
    assert full == pytest.approx(torch.corrcoef(torch.cat([shared, shared + noise], 1).T)[0, 1].item(), rel=1e-4)
    assert cross_covariance_norm(a, b).item() > 4 * cross_covariance_norm(killed_a, killed_b).item()


def test_variance_floor_counts_units_below_the_floor_and_is_off_at_zero():
    x = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.1, -1.0], [0.0, 0.0, 1.0], [0.0, 0.1, -1.0]])
    # sds 0, 0.05, 1 with floor 0.1: (1 + 0.5 + 0) / 3
    assert variance_floor(x, 0.1).item() == pytest.approx(0.5, abs=1e-4)
    assert variance_floor(torch.zeros(5, 4), 0.1).item() == pytest.approx(1.0, abs=1e-4)
    assert variance_floor(x, 0.0).item() == 0.0
    y = x.clone().requires_grad_(True)
    variance_floor(y, 0.1).backward()
    assert torch.isfinite(y.grad).all() and y.grad[:, 1].abs().sum() > 0


def test_covariance_of_independent_gaussians_is_near_zero():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4000, 4, generator=g), torch.randn(4000, 3, generator=g)
    value = CovariancePenalty()(a, b).item()
    assert value < 3 * (12**0.25) / math.sqrt(4000)  # about (P Q)^(1/4) / sqrt(B) = 0.03


def test_covariance_is_differentiable_and_checks_shapes():
    a = torch.randn(16, 2, requires_grad=True)
    CovariancePenalty()(a, a * 2 + torch.randn(16, 2)).backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()
    with pytest.raises(ValueError, match="same batch"):
        cross_covariance_norm(torch.zeros(4, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="same batch"):
        CovariancePenalty()(torch.zeros(4, 2), torch.zeros(5, 2))


def test_explained_variance_exact_values():
    t = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    assert explained_variance(t, t).item() == pytest.approx(1.0, abs=1e-5)
    assert explained_variance(torch.full_like(t, 2.5), t).item() == pytest.approx(0.0, abs=1e-5)
    # residuals 1 each: 1 - 4 / 5
    assert explained_variance(t + 1, t).item() == pytest.approx(0.2, abs=1e-5)


def _fit(penalty, a, b, steps, lr=3e-2):
    optimiser = torch.optim.Adam(penalty.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        penalty.adversary_loss(a, b).backward()
        optimiser.step()
    with torch.no_grad():
        return penalty.penalty(a, b).item()


def test_cross_prediction_has_two_distinct_adversaries():
    penalty = CrossPredictionPenalty(3, 2, hidden=0)
    assert penalty.a_to_b is not penalty.b_to_a
    assert penalty.a_to_b.weight.shape == (2, 3) and penalty.b_to_a.weight.shape == (3, 2)
    ids = {id(p) for p in penalty.a_to_b.parameters()} & {id(p) for p in penalty.b_to_a.parameters()}
    assert not ids
    # each direction's loss reaches only its own predictor
    a, b = torch.randn(32, 3), torch.randn(32, 2)
    forward, _ = penalty.directions(a, b)
    forward.backward()
    assert penalty.a_to_b.weight.grad is not None and penalty.b_to_a.weight.grad is None


def test_cross_prediction_hand_set_linear_predictors_give_exact_r2():
    torch.manual_seed(0)
    a = _orthonormal(100, 2)
    b = a[:, :1] * 3 - 1  # b_s = a_s[:, 0]
    penalty = CrossPredictionPenalty(2, 1, hidden=0)
    with torch.no_grad():
        penalty.a_to_b.weight.copy_(torch.tensor([[1.0, 0.0]]))
        penalty.a_to_b.bias.zero_()
        penalty.b_to_a.weight.copy_(torch.tensor([[1.0], [0.0]]))
        penalty.b_to_a.bias.zero_()
    forward, backward = penalty.directions(a, b)
    assert forward.item() == pytest.approx(1.0, abs=1e-4)  # b fully explained by a
    assert backward.item() == pytest.approx(0.5, abs=1e-4)  # one of a's two columns explained by b
    assert penalty.penalty(a, b).item() == pytest.approx(0.75, abs=1e-4)


def test_cross_prediction_trained_adversaries_find_dependence_not_independence():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    a = torch.randn(512, 3, generator=g)
    dependent = CrossPredictionPenalty(3, 3, hidden=16)
    assert _fit(dependent, a, a @ torch.randn(3, 3, generator=g), 300) > 0.95
    independent = CrossPredictionPenalty(3, 3, hidden=16)
    _fit(independent, a, torch.randn(512, 3, generator=g), 300)
    with torch.no_grad():  # on fresh independent features the fitted predictors explain nothing
        fresh = independent.penalty(torch.randn(4096, 3, generator=g), torch.randn(4096, 3, generator=g)).item()
    assert fresh < 0.02


def test_shuffle_discriminator_at_chance_gives_zero_and_separates_dependent_pairs():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    a = torch.randn(512, 2, generator=g)
    chance = ShufflePenalty(2, 2, hidden=8)
    for parameter in chance.parameters():
        torch.nn.init.zeros_(parameter)
    assert chance.penalty(a, a).item() == pytest.approx(0.0, abs=1e-7)  # L_D = log 2 exactly
    dependent = ShufflePenalty(2, 2, hidden=32, generator=torch.Generator().manual_seed(0))
    assert _fit(dependent, a, a.clone(), 300) > 0.3  # JS(joint || product) of b = a is log 2 = 0.69
    independent = ShufflePenalty(2, 2, hidden=32, generator=torch.Generator().manual_seed(0))
    assert _fit(independent, a, torch.randn(512, 2, generator=g), 300) < 0.1


def test_build_penalty():
    assert build_penalty("none", 2, 2) is None
    assert isinstance(build_penalty("covariance", 2, 2), CovariancePenalty)
    assert not build_penalty("covariance", 2, 2).has_adversary
    assert build_penalty("shuffle", 2, 3).has_adversary
    with pytest.raises(ValueError, match="mfd.penalty 'hsic'"):
        build_penalty("hsic", 2, 2)


@pytest.mark.parametrize("kind", ["covariance", "cross_prediction", "shuffle"])
def test_a_constant_column_gives_finite_gradients(kind):
    torch.manual_seed(0)
    a = torch.randn(16, 3)
    b = torch.relu(torch.randn(16, 2))
    b[:, 1] = 0.0  # a dead ReLU unit
    a.requires_grad_(True), b.requires_grad_(True)
    penalty = build_penalty(kind, 3, 2, 4)
    penalty.penalty(a, b).backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
