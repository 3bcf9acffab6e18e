import math
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from seqlab.config import DeepBindConfig
from seqlab.models.heads import MultiTaskLinearHead
from seqlab.models.sequence_model import SequenceModel
from seqlab.training.base import (
    UndefinedMetricWarning,
    compute_split_metrics,
    make_data_params,
)
from seqlab.training.supervised import SupervisedModule

LENGTH = 8


class ScoreTrunk(nn.Module):
    """Feature = logit of x[:, 0, 0]; x[:, 3, -1] holds the same value, so both strands agree."""

    out_features = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logit(x[:, 0, :1])


class ScoreDataset(Dataset):
    def __init__(self, scores, labels, weights=None) -> None:
        self.scores = torch.tensor(scores, dtype=torch.float32)
        self.y = torch.tensor(labels, dtype=torch.float32)
        self.weight = torch.ones_like(self.y) if weights is None else torch.tensor(weights, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        x = torch.zeros(4, LENGTH)
        x[0, 0] = x[3, -1] = self.scores[i, 0]
        return {"x": x, "y": self.y[i], "weight": self.weight[i], "index": torch.tensor(i)}


def _score_module(tasks: list[str]) -> SupervisedModule:
    module = SupervisedModule(
        DeepBindConfig(filters=2, kernel_size=2, hidden=0), make_data_params(tasks, LENGTH, "onehot", "g")
    )
    head = MultiTaskLinearHead(1, len(tasks))
    with torch.no_grad():
        head.linear.weight.fill_(1.0)
        head.linear.bias.zero_()
    module.model = SequenceModel(ScoreTrunk(), head, module.model.data_params)
    return module


def _validate(module, dataset, batch_size):
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.validate(module, DataLoader(dataset, batch_size=batch_size), verbose=False)
    return trainer.callback_metrics


# Batch 1: positive 0.9 vs negative 0.8; batch 2: positive 0.3 vs negative 0.2. Each batch alone ranks
# perfectly (AUROC 1), but over the split the positive 0.3 ranks below the negative 0.8: AUROC 3/4.
SCORES = [[0.9], [0.8], [0.3], [0.2]]
LABELS = [[1.0], [0.0], [1.0], [0.0]]


def test_validation_metrics_are_computed_over_the_whole_split_not_averaged_over_batches():
    chunks = [
        compute_split_metrics(np.array(LABELS[i : i + 2]), np.array(SCORES[i : i + 2]), None, ["t"], "val")
        for i in (0, 2)
    ]
    assert np.mean([chunk.auroc for chunk in chunks]) == 1.0
    metrics = _validate(_score_module(["t"]), ScoreDataset(SCORES, LABELS), batch_size=2)
    assert metrics["val_auroc"].item() == pytest.approx(0.75)
    assert metrics["val_auroc/t"].item() == pytest.approx(0.75)
    assert metrics["val_aupr"].item() == pytest.approx((1 + 2 / 3) / 2)


def test_validation_loss_is_the_weighted_mean_over_the_split():
    weights = [[1.0], [0.0], [1.0], [1.0]]
    metrics = _validate(_score_module(["t"]), ScoreDataset(SCORES, LABELS, weights), batch_size=3)
    expected = -(math.log(0.9) + math.log(0.3) + math.log(0.8)) / 3
    assert metrics["val_loss"].item() == pytest.approx(expected, rel=1e-5)
    assert metrics["val_auroc"].item() == 1.0  # the masked negative 0.8 no longer outranks 0.3


def test_single_class_task_is_nan_with_a_warning_and_skipped_in_the_mean():
    labels = [[1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    dataset = ScoreDataset(SCORES, labels)
    module = _score_module(["good", "flat"])
    with pytest.warns(UndefinedMetricWarning, match="'flat' has 0 positive and 4 negative examples in the val split"):
        metrics = _validate(module, dataset, batch_size=4)
    assert math.isnan(metrics["val_auroc/flat"].item())
    assert metrics["val_auroc"].item() == pytest.approx(0.75)
    assert module.last_metrics["val"].messages


def test_predictions_are_gathered_across_processes_without_padding_duplicates():
    module = _score_module(["t"])
    local = {"index": torch.tensor([0, 1, 2]), "y": torch.tensor([[1.0], [0.0], [1.0]])}
    other = {"index": torch.tensor([3, 4, 0]), "y": torch.tensor([[0.0], [1.0], [1.0]])}
    for batch in (local, other):
        batch.update(probs=batch["y"] / 2, weight=torch.ones(3, 1))
    module._trainer = SimpleNamespace(world_size=2)
    module.all_gather = lambda data: {key: torch.stack([value, other[key]]) for key, value in data.items()}
    module._collected["val"] = [local]
    predictions = module._gathered("val")
    np.testing.assert_array_equal(predictions.index, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(predictions.y[:, 0], [1, 0, 1, 0, 1])


def test_data_params_are_plain_values():
    params = make_data_params(
        ("a", "b"),
        np.int64(200),
        "dinucleotide",
        "hg38",
        [{"task": "a", "score": np.float32(1.5), "lab": float("nan")}, {"task": "b"}],
    )
    assert params == {
        "version": 1,
        "tasks": ["a", "b"],
        "window_length": 200,
        "encoding": "dinucleotide",
        "genome_name": "hg38",
        "task_metadata": [{"task": "a", "score": 1.5, "lab": None}, {"task": "b"}],
    }
    assert type(params["task_metadata"][0]["score"]) is float


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tasks": []}, "distinct task names"),
        ({"tasks": ["a", "a"]}, "distinct task names"),
        ({"encoding": "protein"}, "unknown encoding"),
        ({"task_metadata": [{"task": "a"}]}, "1 records for 2 tasks"),
    ],
)
def test_bad_data_params_are_rejected(kwargs, message):
    args = {"tasks": ["a", "b"], "window_length": 100, "encoding": "onehot", "genome_name": "g"} | kwargs
    with pytest.raises(ValueError, match=message):
        make_data_params(**args)


def test_module_rejects_unknown_data_params_keys():
    params = make_data_params(["a"], 50, "onehot", "g") | {"species": "mouse"}
    with pytest.raises(ValueError, match="species: unknown key"):
        SupervisedModule(DeepBindConfig(), params)


def test_scheme_hyperparameters_are_recorded_and_optimiser_skips_frozen_parameters():
    module = SupervisedModule(
        {"trunk": DeepBindConfig(kernel_size=4, hidden=0).model_dump()},
        make_data_params(["a"], 20, "onehot", "g"),
        learning_rate=0.5,
        teacher="t.ckpt",
    )
    assert module.hparams["teacher"] == "t.ckpt" and module.hparams["model_config"]["trunk"]["kernel_size"] == 4
    module.model.trunk.requires_grad_(False)
    optimiser = module.configure_optimizers()
    assert optimiser.param_groups[0]["lr"] == 0.5
    assert sum(p.numel() for p in optimiser.param_groups[0]["params"]) == 2 * 64 + 1
