"""SequenceModel (trunk + head), the model factory, strand-averaged prediction, fine-tuning helpers.

``SequenceModel(trunk, head)``: x float32 (B, C, L) -> trunk -> features float32 (B, F) -> head ->
logits float32 (B, T). Pre-train-then-fine-tune: build the fine-tuning model, ``load_trunk`` from the
pre-trained checkpoint, optionally ``freeze_trunk``; ``replace_head`` swaps the head of a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from pydantic import TypeAdapter
from torch import nn

from seqlab.config import BasenjiConfig, DeepBindConfig, DeepSEAConfig, HFConfig, ModelConfig, TransformerConfig
from seqlab.data.encoding import n_channels, reverse_complement
from seqlab.models.heads import Head, MultiTaskLinearHead
from seqlab.models.trunks import build_trunk

__all__ = [
    "SequenceModel",
    "build_model",
    "count_parameters",
    "describe",
    "freeze_trunk",
    "load_trunk",
    "parse_model_config",
    "predict_both_strands",
    "replace_head",
]

_MODEL_CONFIG = TypeAdapter(ModelConfig)
_TRUNK_PREFIXES = ("trunk.", "model.trunk.")  # SequenceModel state dict, scheme (LightningModule) state dict


class SequenceModel(nn.Module):
    """A trunk and a head: x float32 (B, C, L) -> logits float32 (B, T).

    While the trunk is frozen (``freeze_trunk``) it stays in eval mode even when the model is put in
    training mode, so its batch-norm statistics and dropout do not change during fine-tuning.
    """

    def __init__(self, trunk: nn.Module, head: Head) -> None:
        super().__init__()
        if trunk.out_features != head.in_features:
            raise ValueError(f"trunk gives {trunk.out_features} features but the head expects {head.in_features}")
        self.trunk = trunk
        self.head = head
        self.trunk_frozen = False

    @property
    def n_tasks(self) -> int:
        """Number of tasks T (columns of the logits)."""
        return self.head.n_tasks

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to trunk features float32 (B, F)."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to logits float32 (B, T)."""
        return self.head(self.trunk(x))

    def train(self, mode: bool = True) -> SequenceModel:
        """Set training mode; a frozen trunk stays in eval mode."""
        super().train(mode)
        if self.trunk_frozen:
            self.trunk.eval()
        return self


def parse_model_config(config: ModelConfig | Mapping[str, Any]) -> ModelConfig:
    """A model config section from itself or from its dict form (``config.model_dump()``, checkpoints)."""
    if isinstance(config, DeepBindConfig | DeepSEAConfig | BasenjiConfig | TransformerConfig | HFConfig):
        return config
    return _MODEL_CONFIG.validate_python(dict(config))


def build_model(config: ModelConfig | Mapping[str, Any], in_channels: int, seq_len: int, n_tasks: int) -> SequenceModel:
    """Build trunk and linear multi-task head for inputs (B, in_channels, seq_len) and ``n_tasks`` tasks.

    Raises:
        ValueError: unknown channel count, a window too short for the architecture, n_tasks < 1.
    """
    trunk = build_trunk(parse_model_config(config), in_channels, seq_len)
    return SequenceModel(trunk, MultiTaskLinearHead(trunk.out_features, n_tasks))


@torch.no_grad()
def predict_both_strands(model: nn.Module, x: torch.Tensor, encoding: str = "onehot") -> torch.Tensor:
    """Probabilities averaged over both strands: (sigmoid(model(x)) + sigmoid(model(rc(x)))) / 2.

    Args:
        model: maps float32 (B, C, L) to logits (B, T); put it in eval mode first.
        x: float32 (B, C, L) encoded with ``encoding``.
        encoding: 'onehot' (C=4) or 'dinucleotide' (C=16).

    Returns:
        float32 (B, T) probabilities in [0, 1], without gradient.
    """
    if x.shape[-2] != n_channels(encoding):
        raise ValueError(f"x has {x.shape[-2]} channels but encoding {encoding!r} has {n_channels(encoding)}")
    logits = model(torch.cat([x, reverse_complement(x, encoding)], dim=0)).float()
    forward_strand, reverse_strand = torch.sigmoid(logits).chunk(2, dim=0)
    return (forward_strand + reverse_strand) / 2


def _state_dict_of(source: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint or state dict at {path}")
        source = torch.load(path, map_location="cpu", weights_only=True)
    return source.get("state_dict", source)


def load_trunk(model: SequenceModel, source: Mapping[str, Any] | str | Path) -> SequenceModel:
    """Copy trunk weights into ``model`` (the head is left as it is) and return the model.

    Args:
        model: the model whose trunk receives the weights.
        source: a SequenceModel state dict (keys ``trunk.*``), a training checkpoint dict or file
            (``state_dict`` with keys ``model.trunk.*``), or the path of either.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: the source holds no trunk weights.
        RuntimeError: the trunk weights do not fit the model's trunk (missing keys, other shapes).
    """
    state = _state_dict_of(source)
    for prefix in _TRUNK_PREFIXES:
        trunk_state = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
        if trunk_state:
            model.trunk.load_state_dict(trunk_state)
            return model
    raise ValueError(f"no trunk weights (keys starting with {' or '.join(_TRUNK_PREFIXES)}) in the source")


def replace_head(model: SequenceModel, head: Head | int) -> SequenceModel:
    """Give ``model`` a new head and return it.

    Args:
        model: the model whose head is replaced.
        head: a head taking the trunk's features, or a task count for a fresh ``MultiTaskLinearHead``.
    """
    if isinstance(head, int):
        head = MultiTaskLinearHead(model.trunk.out_features, head)
    if head.in_features != model.trunk.out_features:
        raise ValueError(f"head expects {head.in_features} features, trunk gives {model.trunk.out_features}")
    model.head = head
    return model


def freeze_trunk(model: SequenceModel, frozen: bool = True) -> SequenceModel:
    """Stop (or restart) training the trunk: no gradients, eval mode while frozen; return the model.

    Build the optimiser after freezing (``configure_optimizers`` only takes trainable parameters).
    """
    model.trunk_frozen = frozen
    model.trunk.requires_grad_(not frozen)
    model.train(model.training)
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def describe(model: nn.Module, depth: int = 2) -> str:
    """A parameter summary: total and trainable counts, then one line per sub-module down to ``depth``."""
    lines = [
        f"{type(model).__name__}: {count_parameters(model):,} parameters "
        f"({count_parameters(model, trainable_only=True):,} trainable)"
    ]

    def walk(module: nn.Module, level: int) -> None:
        for name, child in module.named_children():
            lines.append(f"{'  ' * level}{name}: {type(child).__name__} {count_parameters(child):,}")
            if level < depth:
                walk(child, level + 1)

    walk(model, 1)
    return "\n".join(lines)
