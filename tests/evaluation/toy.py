"""A toy model with hand-set weights, whose outputs are exact numbers (shared by evaluation tests)."""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab.models.heads import MultiTaskLinearHead
from seqlab.models.sequence_model import SequenceModel

CHR1 = "GATTACAGATtacaccggTTAACCGGTTAAGCGCATATGC"
WEIGHTS = [(0.5, -1.0), (-0.25, 2.0)]  # per task: logit = w * (number of A) + b
PARAMS = {"tasks": ["up", "down"], "window_length": 10, "encoding": "onehot", "genome_name": "toy"}


class CountA(nn.Module):
    """Trunk whose single feature is the number of A in the window (N counts as nothing)."""

    out_features = 1

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 1, kernel_size=1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]).view(1, 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).sum(dim=-1)


def toy_model(tasks: list[str] | None = None) -> SequenceModel:
    head = MultiTaskLinearHead(1, 2)
    with torch.no_grad():
        head.linear.weight.copy_(torch.tensor([[w] for w, _ in WEIGHTS]))
        head.linear.bias.copy_(torch.tensor([b for _, b in WEIGHTS]))
    return SequenceModel(CountA(), head, {**PARAMS, "tasks": tasks or PARAMS["tasks"]})


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))
