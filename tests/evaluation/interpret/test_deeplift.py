"""DeepLIFT multipliers (seqlab's rules): hand-worked answers, captum's DeepLift, summation to delta."""

from __future__ import annotations

import pytest
import torch
from captum.attr import DeepLift
from torch import nn

from seqlab.config import BasenjiConfig, DeepBindConfig
from seqlab.evaluation.interpret.attributions import deep_lift_shap
from seqlab.evaluation.interpret.deeplift import deeplift_multipliers
from seqlab.evaluation.interpret.shuffle import dinucleotide_shuffle
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import build_model


def random_one_hot(n: int, length: int, seed: int) -> torch.Tensor:
    """float32 (n, 4, length) random ACGT one-hot."""
    codes = torch.randint(0, 4, (n, length), generator=torch.Generator().manual_seed(seed))
    return nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


def one_task_model(config: object, length: int) -> nn.Module:
    torch.manual_seed(0)
    return build_model(config, DataParams(tasks=["t"], window_length=length, encoding="onehot")).eval()


class Pooled(nn.Module):
    """conv -> ReLU -> max-pool (width 3, stride 3) -> Tanh -> linear -> Sigmoid: every captum rule."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv, self.relu, self.pool = nn.Conv1d(4, 5, 4), nn.ReLU(), nn.MaxPool1d(3)
        self.tanh, self.out, self.sigmoid = nn.Tanh(), nn.Linear(5 * 9, 2), nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.out(self.tanh(self.pool(self.relu(self.conv(x)))).flatten(1)))


def test_rescale_rule_by_hand() -> None:
    model = nn.Sequential(nn.Linear(2, 1), nn.ReLU())
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 2.0]]))
        model[0].bias.fill_(-1.0)
    # pre-activation 2 (input) against -1 (reference): ReLU's secant 2 / 3, times the weights
    m = deeplift_multipliers(model, torch.tensor([[1.0, 1.0]]), torch.zeros(1, 2))
    assert torch.allclose(m, torch.tensor([[2 / 3, 4 / 3]]))


@pytest.mark.parametrize(
    ("x", "reference", "expected"),
    [
        ([3.0, 1.0], [0.0, 2.0], [1 / 3, 0.0]),  # the input's maximum wins: (3 - 2) / (3 - 0) at its arg-max
        ([1.0, 0.0], [0.0, 4.0], [0.0, 3 / 4]),  # the reference's wins: (1 - 4) / (0 - 4) at its arg-max
    ],
)
def test_max_pool_rule_by_hand(x: list[float], reference: list[float], expected: list[float]) -> None:
    m = deeplift_multipliers(
        nn.Sequential(nn.MaxPool1d(2), nn.Flatten()), torch.tensor([[x]]), torch.tensor([[reference]])
    )
    assert torch.allclose(m, torch.tensor([[expected]]))


def test_equals_captum_deeplift_on_deepbind() -> None:
    model = one_task_model(DeepBindConfig(filters=16, kernel_size=8, hidden=8), 50)
    x, reference = random_one_hot(6, 50, seed=2), random_one_hot(6, 50, seed=3)
    captum = DeepLift(model, multiply_by_inputs=False).attribute(x.clone(), baselines=reference, target=0)
    assert torch.allclose(deeplift_multipliers(model, x, reference), captum, atol=1e-8, rtol=1e-5)


def test_sums_to_output_difference_where_one_rule_module_feeds_the_next() -> None:
    """ReLU -> max-pool -> Tanh -> ... -> Sigmoid: exact here; captum's sums are off by up to 0.03 on this
    model (its backward hooks misroute the gradient between directly chained hooked modules, which is
    why DeepBind's pooling reads views of its scans)."""
    model, x, reference = Pooled().eval(), random_one_hot(6, 30, seed=2), random_one_hot(6, 30, seed=3)
    for target in (0, 1):
        m = deeplift_multipliers(model, x, reference, target)
        with torch.no_grad():
            difference = (model(x) - model(reference))[:, target]
        assert torch.allclose((m * (x - reference)).sum(dim=(1, 2)), difference, atol=1e-7)


@pytest.mark.parametrize(
    "config",
    [
        DeepBindConfig(filters=16, kernel_size=8, hidden=8),
        DeepBindConfig(filters=16, kernel_size=8, hidden=8, crop=10),
        BasenjiConfig(stem_channels=8, stem_kernel=5, tower_channels=[12], dilated_blocks=2, features=16),
    ],
)
def test_sums_to_output_difference(config: object) -> None:
    """DeepBind (ReLU, global and strand max-pooling) and Basenji (GELU, max-pooling, residual blocks); the
    plain gradient times the input change does not sum to the difference (the rules are doing the work)."""
    model, x, reference = one_task_model(config, 64), random_one_hot(5, 64, seed=4), random_one_hot(5, 64, seed=5)
    inputs = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(inputs)[:, 0].sum(), inputs)
    with torch.no_grad():
        difference = (model(x) - model(reference))[:, 0]
    scale = difference.abs().max().item()
    sums = (deeplift_multipliers(model, x, reference) * (x - reference)).sum(dim=(1, 2))
    assert torch.allclose(sums, difference, atol=1e-4 * scale)
    assert ((gradient * (x - reference)).sum(dim=(1, 2)) - difference).abs().max() > 0.05 * scale


def test_reference_equal_to_input_gives_the_gradient() -> None:
    """No change anywhere: every rule falls back to the plain derivative, so the multipliers are the gradient."""
    model, x = Pooled().eval(), random_one_hot(3, 30, seed=6)
    gradient_input = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(gradient_input)[:, 1].sum(), gradient_input)
    assert torch.allclose(deeplift_multipliers(model, x, x.clone(), target=1), gradient)


def test_leaves_the_model_as_it_was() -> None:
    model, x = Pooled().eval(), random_one_hot(2, 30, seed=7)
    before = model(x)
    deeplift_multipliers(model, x, random_one_hot(2, 30, seed=8))
    assert not model.pool.return_indices and not model.pool._forward_hooks and not model.relu._forward_hooks
    assert torch.equal(model(x), before)


def test_in_place_activation_is_refused() -> None:
    model = nn.Sequential(nn.Conv1d(4, 2, 3), nn.ReLU(inplace=True), nn.Flatten())
    with pytest.raises(ValueError, match="module '1' computes in place"):
        deeplift_multipliers(model, random_one_hot(1, 10, seed=0), random_one_hot(1, 10, seed=1))


def test_deep_lift_shap_equals_tangermeme_on_the_same_references() -> None:
    """tangermeme is a benchmark-only dependency: skipped where it is not installed."""
    tangermeme = pytest.importorskip("tangermeme.deep_lift_shap")
    model, x = one_task_model(DeepBindConfig(filters=16, kernel_size=8, hidden=8), 50), random_one_hot(4, 50, seed=9)
    references = dinucleotide_shuffle(x, 5, seed=0)
    ours = deep_lift_shap(model, x, target=0, references=references, batch_size=8)
    theirs = tangermeme.deep_lift_shap(
        model, x, target=0, references=references, hypothetical=True, device="cpu", warning_threshold=1e9
    )
    assert theirs.abs().max() > 1e-3
    assert torch.allclose(ours.hypothetical, theirs, atol=1e-7)
