"""Heads: modules that turn trunk features into one logit per task, chosen from a registry.

The head interface (``Head``) is deliberately narrow so that heads can be swapped without touching
trunks or training schemes:

* constructor knows ``in_features`` (the trunk's ``out_features``) and ``n_tasks``;
* ``forward(features)``: float32 (B, F) -> logits float32 (B, T), one column per task in the order
  of the task table;
* anything task-specific (a weight row per task, or task metadata from which a metadata-conditioned
  head computes those weights) is held by the head itself, e.g. as a buffer of per-task metadata
  embeddings (T, D) registered at construction, so callers still pass features only.

A head that declares ``reads_positional = True`` (the profile head, :mod:`seqlab.models.profile_head`)
reads positional features (B, F, P) instead, ``SequenceModel`` hands them over, and ``in_features`` is
then the trunk's positional feature count.

Registry: ``HEADS[kind]`` is the head class of a ``model.head.kind`` (its config section is registered
with ``seqlab.config.register_head_config``). A head builds from its config section, the trunk's
feature count and the model's :class:`~seqlab.models.data_params.DataParams` through the classmethod
``Head.from_config`` (the default passes ``in_features`` and the task count; a metadata head
overrides it to read ``data_params.task_metadata``). ``build_head`` dispatches on ``kind``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from seqlab.config import HeadConfig, LinearHeadConfig
from seqlab.models.data_params import DataParams
from seqlab.registry import Registry

__all__ = ["HEADS", "Head", "MultiTaskLinearHead", "build_head", "register_head"]


class Head(nn.Module):
    """Base of every head: features float32 (B, in_features) -> logits float32 (B, n_tasks).

    ``produces`` names the target kinds (``model.objective.kind``) the head's outputs serve; a model
    config pairing a head with another kind is an error naming both.
    """

    produces: ClassVar[tuple[str, ...]] = ("binary", "regression")

    def __init__(self, in_features: int, n_tasks: int) -> None:
        super().__init__()
        if in_features < 1 or n_tasks < 1:
            raise ValueError(f"a head needs in_features >= 1 and n_tasks >= 1, got {in_features}, {n_tasks}")
        self.in_features = in_features
        self.n_tasks = n_tasks

    @classmethod
    def from_config(cls, config: HeadConfig, in_features: int, data_params: DataParams) -> Head:
        """Build the head from its config section; the default takes ``in_features`` and the task count."""
        return cls(in_features, data_params.n_tasks)

    def vocabularies(self) -> dict[str, list[str]]:
        """Metadata column -> the values the head knows (heads computed from task metadata); {} here."""
        return {}


HEADS = Registry("head kind")
"""Head class of every ``model.head.kind``."""

_H = TypeVar("_H", bound=type[Head])


def register_head(kind: str) -> Callable[[_H], _H]:
    """Decorator (or ``register_head(kind)(cls)``): make a ``Head`` subclass the module of ``model.head.kind: <kind>``.

    Raises:
        ValueError: ``kind`` is registered already with another class.
    """
    return HEADS.register(kind)


class MultiTaskLinearHead(Head):
    """One independent linear read-out per task (a single Linear(in_features, n_tasks))."""

    def __init__(self, in_features: int, n_tasks: int) -> None:
        super().__init__(in_features, n_tasks)
        self.linear = nn.Linear(in_features, n_tasks)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map features float32 (B, F) to logits float32 (B, T)."""
        return self.linear(features)


def build_head(
    config: HeadConfig | Mapping[str, Any] | None, in_features: int, data_params: DataParams | Mapping[str, Any]
) -> Head:
    """Build the head of a ``model.head`` section for ``in_features`` trunk features.

    Args:
        config: the head section (or its dict form; None: the linear head).
        in_features: F, the trunk's ``out_features``.
        data_params: the model's data parameters (tasks, task metadata).

    Raises:
        ValueError: a kind without a registered head module, or invalid sizes.
    """
    if config is None:
        config = LinearHeadConfig()
    elif not isinstance(config, HeadConfig):
        from seqlab.config import ModelConfig

        config = ModelConfig.model_validate({"head": dict(config)}).head
    if config.kind not in HEADS:
        raise ValueError(f"model.head.kind {config.kind!r} has no head module; registered: {sorted(HEADS)}")
    return HEADS[config.kind].from_config(config, in_features, DataParams.from_dict(data_params))
