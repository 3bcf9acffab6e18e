"""Heads: modules that turn trunk features into one logit per task.

The head interface (``Head``) is deliberately narrow so that heads can be swapped without touching
trunks or training schemes:

* constructor knows ``in_features`` (the trunk's ``out_features``) and ``n_tasks``;
* ``forward(features)``: float32 (B, F) -> logits float32 (B, T), one column per task in the order
  of the task table;
* anything task-specific (a weight row per task, or task metadata from which a metadata-conditioned
  head computes those weights) is held by the head itself, e.g. as a buffer of per-task metadata
  embeddings (T, D) registered at construction, so callers still pass features only.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Head", "MultiTaskLinearHead"]


class Head(nn.Module):
    """Base of every head: features float32 (B, in_features) -> logits float32 (B, n_tasks)."""

    def __init__(self, in_features: int, n_tasks: int) -> None:
        super().__init__()
        if in_features < 1 or n_tasks < 1:
            raise ValueError(f"a head needs in_features >= 1 and n_tasks >= 1, got {in_features}, {n_tasks}")
        self.in_features = in_features
        self.n_tasks = n_tasks


class MultiTaskLinearHead(Head):
    """One independent linear read-out per task (a single Linear(in_features, n_tasks))."""

    def __init__(self, in_features: int, n_tasks: int) -> None:
        super().__init__(in_features, n_tasks)
        self.linear = nn.Linear(in_features, n_tasks)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map features float32 (B, F) to logits float32 (B, T)."""
        return self.linear(features)
