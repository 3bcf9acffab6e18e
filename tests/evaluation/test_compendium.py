"""Imputation baselines and the per-subspace logit shift, on toy tables and hand-set models (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqlab.data.table import ExampleTable
from seqlab.evaluation.compendium import imputation_baselines, logit_shift, other_experiments_average
from seqlab.models.heads import MultiTaskLinearHead
from seqlab.models.metadata import MetadataEncoder
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import SequenceModel

torch.set_num_threads(1)


def _row(biosample: str, target: str, peak_set: str) -> dict[str, str]:
    return {"task": f"{biosample}.{target}.{peak_set}", "target": target, "biosample": biosample, "peak_set": peak_set}


HELD = _row("c3", "TF", "conservative")
SOURCES = [
    _row("c1", "TF", "conservative"),
    _row("c2", "TF", "conservative"),
    _row("c1", "TF", "relaxed"),  # another peak set: not a source of HELD
    _row("c3", "OTHER", "conservative"),  # another TF: not a source
    _row("c3", "TF", "relaxed"),  # the same cell: not a source
]
# windows with as many A as T (the reverse strand counts the same A), 0..5 A
WINDOWS = ["CCCCCCCCCC", "ACCCCCCCCT", "AACCCCCCTT", "AAACCCCTTT", "AAAACCTTTT", "AAAAATTTTT"]


def test_other_experiments_average_uses_the_same_factor_in_other_cells_only():
    scores = np.array([[1.0, 3.0, 100.0, 100.0, 100.0], [np.nan, 4.0, 100.0, 100.0, 100.0]])
    average, counts = other_experiments_average(scores, SOURCES, [HELD, _row("c9", "NONE", "conservative")])
    np.testing.assert_array_equal(counts, [2, 0])
    np.testing.assert_array_equal(average[:, 0], [2.0, 4.0])  # a NaN (unknown) source is left out of the row
    assert np.isnan(average[:, 1]).all()
    with pytest.raises(ValueError, match=r"expected \(N, 5\)"):
        other_experiments_average(scores[:, :2], SOURCES, [HELD])


class CountA(nn.Module):
    """Trunk whose one feature is the number of A: (B, 4, L) -> (B, 1)."""

    out_features = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1].sum(dim=-1)


def _plain(weights: list[float], biases: list[float]) -> SequenceModel:
    head = MultiTaskLinearHead(1, len(SOURCES))
    with torch.no_grad():
        head.linear.weight.copy_(torch.tensor(weights)[:, None])
        head.linear.bias.copy_(torch.tensor(biases))
    params = {"tasks": [r["task"] for r in SOURCES], "task_metadata": SOURCES, "window_length": 10,
              "encoding": "onehot"}  # fmt: skip
    return SequenceModel(CountA(), head, params)


def test_imputation_baselines_score_the_labels_and_the_plain_outputs_of_the_other_cells():
    held_y = [0, 0, 0, 1, 1, 1]
    labels = np.array([held_y, [0, 0, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1], held_y, held_y, held_y], dtype=float).T
    labels[:, 3:] = 1 - labels[:, 3:]  # the excluded sources would reverse the ranking if they were averaged
    frame = pd.DataFrame({"genome": "g", "chrom": "chr1", "start": np.arange(6) * 10, "end": np.arange(6) * 10 + 10,
                          "strand": "+", "split": "test", "source": "tiling"})  # fmt: skip
    tasks = pd.DataFrame([HELD, *SOURCES])
    table = ExampleTable(frame, labels, np.ones_like(labels), tasks, sequences=WINDOWS)
    # plain outputs rise with the A count for the two sources, fall steeply for the excluded ones
    plain = _plain([1.0, 1.0, -5.0, -5.0, -5.0], [0.0, -1.0, 0.0, 0.0, 0.0])
    result = imputation_baselines(table, [HELD["task"]], plain)
    entry = result["per_task"][HELD["task"]]
    assert entry["sources_labels"] == 2 and entry["sources_plain"] == 2 and entry["positives"] == 3
    # label average [0, 0, .5, 1, .5, 1]: 8.5 of 9 pairs ranked right; AP = 2/3 * 1 + 1/3 * 3/4
    assert entry["labels_auroc"] == pytest.approx(17 / 18) and entry["labels_aupr"] == pytest.approx(11 / 12)
    assert entry["plain_auroc"] == pytest.approx(1.0) and entry["plain_aupr"] == pytest.approx(1.0)
    assert result["mean"]["labels_aupr"] == pytest.approx(11 / 12)
    with pytest.raises(ValueError, match="not tasks of the table"):
        imputation_baselines(table, ["nope"])


def test_logit_shift_of_a_technical_column_is_all_technical():
    records = [_row("c1", "TF", "conservative"), _row("c1", "TF", "relaxed"), _row("c2", "OTHER", "relaxed")]
    encoder = MetadataEncoder({"target": "categorical", "biosample": "categorical", "peak_set": "categorical"})
    head = MetadataHead(4, encoder.fit(records), records, {"biological": ["target", "biosample"],
                        "technical": ["peak_set"]}, {"biological": 2, "technical": 2}, 0)  # fmt: skip
    torch.manual_seed(0)
    features = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    shift = logit_shift(head, features, records[:1], records[1:2])
    assert shift["share"] == {"biological": 0.0, "technical": 1.0}
    np.testing.assert_array_equal(shift["delta"]["biological"], 0.0)
    # the parts add up to the change of the head's logit
    with torch.no_grad():
        z = torch.from_numpy(features)
        full = head.logits_for(z, head.encode_metadata(records[1:2])) - head.logits_for(
            z, head.encode_metadata(records[:1])
        )
    np.testing.assert_allclose(shift["delta"]["technical"] + shift["bias"], full.numpy(), atol=1e-5)
    other = [_row("c2", "OTHER", "conservative")]  # only biological columns change: all biological
    assert logit_shift(head, features, records[:1], other)["share"] == {"biological": 1.0, "technical": 0.0}
    both = logit_shift(head, features, records[:1], records[2:])  # both kinds change
    assert 0.0 < both["share"]["biological"] < 1.0 and sum(both["share"].values()) == pytest.approx(1.0)
