"""Live features and output collapse on constructed features whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.evaluation.disentanglement import health_metrics, health_report, live_mask, logit_correlation


def _features(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 6)) * np.array([1.0, 2.0, 0.5, 1.0, 1.0, 1.0])
    z[:, 3] = 0.0  # a dead ReLU unit
    z[:, 4] = 7.5  # constant: dead too
    z[:, 5] *= 1e-3  # alive in name only: sd 0.001 << 1 % of the largest sd (2)
    return z


def test_dead_and_negligible_units_are_not_live():
    np.testing.assert_array_equal(live_mask(_features()), [True, True, True, False, False, False])
    assert not live_mask(np.zeros((10, 3))).any()


def test_live_fraction_per_subspace_and_a_warning_for_a_mostly_dead_one():
    z = _features()
    logits = np.random.default_rng(1).normal(size=(len(z), 3))
    report = health_report(z, logits, {"biological": slice(0, 3), "technical": slice(3, 6)}, ["a", "b", "c"])
    assert report["live"]["live_fraction"] == {"biological": 1.0, "technical": 0.0}
    assert report["live"]["live"] == {"biological": 3, "technical": 0}
    assert len(report["warnings"]) == 1 and "'technical' is mostly dead: 0 of 3" in report["warnings"][0]
    metrics = health_metrics(report)
    assert metrics["disentanglement"]["live_fraction"]["technical"] == 0.0
    assert metrics["collapse"]["mean_logit_r"] == pytest.approx(0.0, abs=0.1)


def test_collapsed_outputs_are_detected():
    rng = np.random.default_rng(2)
    score = rng.normal(size=(400, 1))
    # one classifier plus offsets and scales: every pair correlates exactly 1
    collapsed = score @ np.array([[1.0, 2.0, 0.5]]) + np.array([0.0, -3.0, 4.0])
    r, mean = logit_correlation(collapsed)
    np.testing.assert_allclose(r, np.ones((3, 3)), atol=1e-12)
    assert mean == pytest.approx(1.0)
    report = health_report(rng.normal(size=(400, 4)), collapsed, {"all": slice(None)}, ["a", "b", "c"])
    assert any("outputs collapse" in w and "r = 1.000" in w for w in report["warnings"])
    assert report["collapse"]["logit_r"]["a"]["c"] == 1.0


def test_logit_correlation_exact_values_and_a_constant_output():
    x = np.array([[1.0, 2.0, 5.0], [2.0, 1.0, 5.0], [3.0, 0.0, 5.0]])
    r, mean = logit_correlation(x)
    np.testing.assert_allclose(r, [[1, -1, 0], [-1, 1, 0], [0, 0, 1]], atol=1e-12)
    assert mean == pytest.approx(-1 / 3)  # off-diagonal -1, -1, 0, 0, 0, 0 over 6
