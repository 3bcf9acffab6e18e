"""Introspection: eta squared on hand-made weights, and subspace-factor association of a hand-set head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.evaluation.introspect import (
    eta_squared,
    feature_factor_table,
    plot_feature_factor_heatmap,
    subspace_association,
)
from seqlab.models.metadata_head import build_metadata_head

RECORDS = [{"task": f"{t}_{lab}", "target": t, "lab": lab} for t in ("CTCF", "SPI1") for lab in ("L1", "L2", "L3")]


def test_eta_squared_exact_values():
    values = ["a", "a", "b", "b"]
    weights = np.array([[1.0, 1.0, 0.0], [1.0, 2.0, 0.0], [3.0, 1.0, 0.0], [3.0, 2.0, 0.0]])
    # column 0 fully explained, column 1 not at all, column 2 constant -> 0
    np.testing.assert_allclose(eta_squared(weights, values), [1.0, 0.0, 0.0])
    column = np.array([[1.0], [2.0], [3.0], [4.0]])
    # means a: 1.5, b: 3.5, grand 2.5 -> between 2*1 + 2*1 = 4; total 2.25+0.25+0.25+2.25 = 5
    assert eta_squared(column, values)[0] == pytest.approx(0.8)


def test_hand_set_head_puts_target_in_biological_and_lab_in_technical(tmp_path):
    config = {
        "columns": {"target": "categorical", "lab": "categorical"},
        "groups": {"biological": ["target"], "technical": ["lab"]},
        "sizes": {"biological": 2, "technical": 2},
        "hidden": 0,
    }
    torch.manual_seed(0)
    head = build_metadata_head(config, 4, {"task_metadata": RECORDS})
    table = feature_factor_table(head, RECORDS)
    assert table["group"].tolist() == ["biological"] * 2 + ["technical"] * 2
    # linear weight nets: biological weights depend on the target only, technical on the lab only
    np.testing.assert_allclose(table["target"][:2], 1.0, atol=1e-6)
    np.testing.assert_allclose(table["lab"][:2], 0.0, atol=1e-6)
    np.testing.assert_allclose(table["lab"][2:], 1.0, atol=1e-6)
    np.testing.assert_allclose(table["target"][2:], 0.0, atol=1e-6)
    association = subspace_association(table)
    assert association.loc["lands_in"].tolist() == ["biological", "technical"]
    path = plot_feature_factor_heatmap(table, tmp_path / "heatmap.png")
    assert path.stat().st_size > 1000


def test_introspection_uses_live_features_only_and_reports_a_permutation_null(tmp_path):
    from torch import nn

    from seqlab.evaluation.introspect import introspect_model
    from seqlab.models.sequence_model import SequenceModel

    records = [{"task": f"{t}_{lab}", "target": t, "lab": lab} for t in ("A", "B", "C", "D") for lab in ("L1", "L2")]
    config = {
        "columns": {"target": "categorical", "lab": "categorical"},
        "groups": {"biological": ["target"], "technical": ["lab"]},
        "sizes": {"biological": 3, "technical": 3},
        "hidden": 0,
    }
    torch.manual_seed(0)
    head = build_metadata_head(config, 6, {"task_metadata": records})
    trunk = nn.Linear(4, 6)
    trunk.out_features = 6
    params = {"tasks": [r["task"] for r in records], "window_length": 8, "encoding": "onehot", "task_metadata": records}
    live = np.array([True, True, False, True, False, False])
    result = introspect_model(SequenceModel(trunk, head, params), tmp_path, live=live, permutations=300)
    assert result["live_features"] == 3
    written = np.loadtxt(tmp_path / "introspection.tsv", delimiter="\t", skiprows=1, usecols=4, dtype=str)
    assert written.tolist() == ["True", "True", "False", "True", "False", "False"]
    null = result["null"]
    # exact associations (linear nets of one-hot codes) far above what shuffled labels give
    assert null["biological"]["target"]["observed"] == pytest.approx(1.0, abs=1e-6)
    assert null["technical"]["lab"]["observed"] == pytest.approx(1.0, abs=1e-6)
    assert null["biological"]["target"]["p_value"] < 0.02 and null["technical"]["lab"]["p_value"] < 0.05
    assert null["biological"]["target"]["null_q95"] < 1.0
    # target does not move the technical weights: no association, p = 1
    assert null["technical"]["target"]["observed"] == pytest.approx(0.0, abs=1e-6)
    assert null["technical"]["target"]["p_value"] == pytest.approx(1.0)
    assert set(result["association"]) == {"biological", "technical"}
