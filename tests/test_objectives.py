"""Objectives registry: the config contract (scheme x kind, head x kind, monitors), losses and metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import multinomial, pearsonr, spearmanr

from seqlab.config import DnaRunConfig, ModelConfig
from seqlab.losses import multinomial_nll, weighted_mse, weighted_poisson_nll
from seqlab.metrics import (
    compute_regression_metrics,
    jensen_shannon_distance,
    profile_pearson,
    weighted_pearson,
    weighted_spearman,
)
from seqlab.models.sequence_model import build_model
from seqlab.objectives import OBJECTIVES, build_objective

DATA = {"sources": [{"kind": "sequences", "sets": [{"fasta": "x.fa", "labels": {"t": 1}}]}], "window_length": 50}
PARAMS = {"tasks": ["a", "b"], "window_length": 50, "encoding": "onehot", "genome_name": "toy"}


def _run(**sections: object) -> DnaRunConfig:
    return DnaRunConfig.model_validate({"data": DATA, **sections})


def test_registry_holds_the_three_kinds_with_their_monitors() -> None:
    assert sorted(OBJECTIVES) == ["binary", "profile", "regression"]
    assert list(build_objective().monitors) == ["val_auroc", "val_aupr", "val_loss"]
    assert "val_pearson" in build_objective({"kind": "regression"}).monitors
    assert "val_profile_jsd" in build_objective({"kind": "profile"}).monitors


def test_binary_is_the_default_and_its_monitor_stays() -> None:
    config = _run()
    assert config.model.objective.kind == "binary" and config.train.monitor == "val_auroc"


def test_regression_monitor_defaults_to_pearson_and_a_binary_monitor_is_refused() -> None:
    assert _run(model={"objective": {"kind": "regression"}}).train.monitor == "val_pearson"
    with pytest.raises(
        ValueError, match="train.monitor 'val_auroc' is not a metric of model.objective.kind 'regression'"
    ):
        _run(model={"objective": {"kind": "regression"}}, train={"monitor": "val_auroc"})


def test_a_scheme_asked_for_an_unsupported_kind_names_both() -> None:
    with pytest.raises(ValueError, match="train.scheme 'mfd' does not support model.objective.kind 'regression'"):
        _run(model={"objective": {"kind": "regression"}}, train={"scheme": "mfd"}, mfd={})
    with pytest.raises(ValueError, match="train.scheme 'ssl' does not support model.objective.kind 'profile'"):
        _run(model={"objective": {"kind": "profile"}}, train={"scheme": "ssl"}, ssl={})
    with pytest.raises(ValueError, match="train.scheme 'ssl' does not support model.objective.kind 'regression'"):
        _run(model={"objective": {"kind": "regression"}}, train={"scheme": "ssl"}, ssl={})


def test_keys_of_another_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="model.objective.loss applies to kind regression, not to kind binary"):
        ModelConfig.model_validate({"objective": {"loss": "poisson"}})


def test_a_head_that_does_not_produce_the_kind_is_refused() -> None:
    config = ModelConfig.model_validate(
        {"trunk": {"arch": "deepbind", "kernel_size": 8}, "objective": {"kind": "profile"}}
    )
    with pytest.raises(
        ValueError,
        match="model.head.kind 'linear' produces binary, regression targets, not model.objective.kind 'profile'",
    ):
        build_model(config, PARAMS)


def test_links() -> None:
    outputs = torch.tensor([[0.0, math.log(3.0)]])
    assert torch.allclose(build_objective().link(outputs), torch.tensor([[0.5, 0.75]]))
    assert torch.equal(build_objective({"kind": "regression"}).link(outputs), outputs)
    poisson = build_objective({"kind": "regression", "loss": "poisson"})
    assert torch.allclose(poisson.link(outputs), torch.tensor([[1.0, 3.0]]))
    packed = torch.cat([torch.zeros(1, 1, 4), torch.log1p(torch.tensor([[[8.0]]]))], dim=-1)  # logits, log counts
    assert torch.allclose(build_objective({"kind": "profile"}).link(packed), torch.full((1, 1, 4), 2.0))


def test_regression_losses_are_weighted() -> None:
    pred, y = torch.tensor([[1.0, 2.0], [3.0, 5.0]]), torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    weight = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    assert weighted_mse(pred, y, weight).item() == pytest.approx((1 + 0 + 4) / 3)
    log_rate = torch.log(torch.tensor([[2.0]]))
    assert weighted_poisson_nll(log_rate, torch.tensor([[3.0]])).item() == pytest.approx(2 - 3 * math.log(2))
    objective = build_objective({"kind": "regression"})
    losses = objective.split_loss(pred.numpy(), y.numpy(), weight.numpy())
    assert losses == pytest.approx([2.5, 0.0])


def test_multinomial_nll_matches_scipy() -> None:
    logits = torch.tensor([[0.3, -1.0, 2.0, 0.0]])
    counts = torch.tensor([[3.0, 0.0, 5.0, 1.0]])
    p = torch.softmax(logits, -1)[0].numpy().astype(np.float64)
    expected = -multinomial.logpmf(counts[0].numpy(), n=9, p=p / p.sum())
    assert multinomial_nll(logits, counts).item() == pytest.approx(expected, rel=1e-5)


def test_profile_loss_is_nll_plus_weighted_count_mse() -> None:
    objective = build_objective({"kind": "profile", "count_weight": 2.0})
    packed = torch.zeros(1, 1, 3)  # profile logits 0, 0 (p = 1/2 each); log(1 + counts) = 0
    batch = {"profile": torch.tensor([[[1.0, 1.0]]]), "weight": torch.ones(1, 1)}
    nll = -math.log(2 * 0.25)  # 2!/(1!1!) * 0.5 * 0.5
    assert objective.loss(packed, batch).item() == pytest.approx(nll + 2.0 * math.log(3.0) ** 2)
    # the split loss from expected counts (uniform over 2 bases, total 0) gives the same number
    losses = objective.split_loss(np.zeros((1, 1, 2)) + 1e-12, np.array([[[1.0, 1.0]]]), np.ones((1, 1)))
    assert losses == pytest.approx([nll + 2.0 * math.log(3.0) ** 2], rel=1e-6)


def test_weighted_correlations_match_scipy_and_weights_mask() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert weighted_pearson(x, y) == pytest.approx(pearsonr(x, y)[0])
    assert weighted_spearman(x, y) == pytest.approx(spearmanr(x, y)[0])
    weight = np.r_[np.ones(40), np.zeros(10)]
    assert weighted_pearson(x, y, weight) == pytest.approx(pearsonr(x[:40], y[:40])[0])
    assert weighted_spearman(x, y, weight) == pytest.approx(spearmanr(x[:40], y[:40])[0])
    # integer weights are repetitions
    twice = np.r_[x[:5], x[:5], x[5:]], np.r_[y[:5], y[:5], y[5:]]
    assert weighted_pearson(x, y, np.r_[2 * np.ones(5), np.ones(45)]) == pytest.approx(pearsonr(*twice)[0])


def test_regression_metrics_of_a_planted_linear_target() -> None:
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(100, 2))
    y = 3.0 * pred + 1.0
    metrics = compute_regression_metrics(y, pred, np.ones_like(y), ["a", "b"], "test")
    assert metrics.pearson == pytest.approx(1.0) and metrics.spearman == pytest.approx(1.0)
    assert metrics.to_dict()["per_task"]["b"] == {
        "pearson": pytest.approx(1.0),
        "spearman": pytest.approx(1.0),
        "n": 100,
    }


def test_jensen_shannon_distance_and_profile_pearson_known_answers() -> None:
    p = np.array([[1.0, 0.0], [0.2, 0.8], [1.0, 3.0]])
    q = np.array([[0.0, 1.0], [0.2, 0.8], [2.0, 1.0]])
    expected = [jensenshannon(a, b, base=2) for a, b in zip(p, q, strict=True)]
    assert jensen_shannon_distance(p, q) == pytest.approx(expected)
    assert jensen_shannon_distance(p, q)[0] == pytest.approx(1.0)  # disjoint supports
    assert profile_pearson(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])) == pytest.approx(1.0)
