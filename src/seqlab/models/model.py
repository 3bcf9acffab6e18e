"""SequenceModel (trunk + head from their registries), the model factory, strand-averaged prediction, fine-tuning.

``SequenceModel(trunk, head)``: x float32 (B, C, L) -> trunk -> features float32 (B, F) -> head ->
logits float32 (B, T). Pre-train-then-fine-tune: build the fine-tuning model, ``load_trunk`` from the
pre-trained checkpoint, optionally ``freeze_trunk``; ``replace_head`` swaps the head of a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from seqlab.config import LinearHeadConfig, ModelConfig, TrunkConfig
from seqlab.data.encoding import n_channels, reverse_complement
from seqlab.models.data_params import DataParams
from seqlab.models.heads import Head, MultiTaskLinearHead, build_head
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

_TRUNK_PREFIXES = ("trunk.", "model.trunk.")  # SequenceModel state dict, scheme (LightningModule) state dict


class SequenceModel(nn.Module):
    """A trunk and a head: x float32 (B, C, L) -> logits float32 (B, T).

    While the trunk is frozen (``freeze_trunk``) it stays in eval mode even when the model is put in
    training mode, so its batch-norm statistics and dropout do not change during fine-tuning.
    """

    def __init__(self, trunk: nn.Module, head: Head, config: ModelConfig | None = None) -> None:
        super().__init__()
        if trunk.out_features != head.in_features:
            raise ValueError(f"trunk gives {trunk.out_features} features but the head expects {head.in_features}")
        self.trunk = trunk
        self.head = head
        self.trunk_frozen = False
        self.config = config
        """The model config it was built from (``build_model`` sets it; ``save_pretrained`` writes it)."""

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


def parse_model_config(config: ModelConfig | TrunkConfig | Mapping[str, Any], *, legacy: bool = False) -> ModelConfig:
    """A ``model`` section from itself, from a trunk section alone (linear head), or from its dict form.

    Args:
        config: a ``ModelConfig``, a ``TrunkConfig`` (wrapped with the linear head), or a dict
            ``{"trunk": {...}, "head": {...}}``.
        legacy: also read the v1 dict layout ``{"arch": ..., sizes}`` that checkpoints written before
            model config v2 hold (as a trunk with the linear head); user configs never set this.

    Raises:
        ValueError: an invalid section (a v1 dict without ``legacy`` names ``model.trunk.arch``).
    """
    if isinstance(config, ModelConfig):
        return config
    if isinstance(config, TrunkConfig):
        return ModelConfig(trunk=config)
    data = dict(config)
    if legacy and "arch" in data:
        data = {"trunk": data, "head": {"kind": "linear"}}
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'model'}: {e['msg']}" for e in err.errors())
        raise ValueError(f"invalid model config: {problems}") from None


def build_model(
    config: ModelConfig | TrunkConfig | Mapping[str, Any], data_params: DataParams | Mapping[str, Any]
) -> SequenceModel:
    """Build the trunk and the head of a model config for the data of ``data_params``.

    The trunk takes inputs (B, C, L) with C from ``data_params.encoding`` and L its
    ``window_length``; the head is the registered head of ``config.head.kind`` with one logit per task.

    Raises:
        ValueError: invalid data parameters, a window too short for the architecture, a trunk or head
            kind without a registered module.
    """
    model_config = parse_model_config(config)
    params = DataParams.from_dict(data_params)
    trunk = build_trunk(model_config.trunk, params.in_channels, params.window_length)
    return SequenceModel(trunk, build_head(model_config.head, trunk.out_features, params), model_config)


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
        for folder in (path, path / "model"):  # a model folder, or a run folder holding model/
            if (folder / "model.safetensors").is_file():
                from safetensors.torch import load_file

                return load_file(str(folder / "model.safetensors"))
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint or state dict at {path}")
        source = torch.load(path, map_location="cpu", weights_only=True)
    return source.get("state_dict", source)


def load_trunk(model: SequenceModel, source: Mapping[str, Any] | str | Path) -> SequenceModel:
    """Copy trunk weights into ``model`` (the head is left as it is) and return the model.

    Args:
        model: the model whose trunk receives the weights.
        source: a SequenceModel state dict (keys ``trunk.*``), a training checkpoint dict or file
            (``state_dict`` with keys ``model.trunk.*``), the path of either, or a model folder
            (``save_pretrained``) or run folder holding ``model/``.

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

    ``model.config`` follows: its head section becomes ``linear`` for a linear head; for any other head
    it is cleared (pass ``config=`` to ``save_pretrained`` then).
    """
    if isinstance(head, int):
        head = MultiTaskLinearHead(model.trunk.out_features, head)
    if head.in_features != model.trunk.out_features:
        raise ValueError(f"head expects {head.in_features} features, trunk gives {model.trunk.out_features}")
    model.head = head
    if model.config is not None:  # keep the recorded config true: a linear head is describable, others are not
        linear = type(head) is MultiTaskLinearHead
        model.config = model.config.model_copy(update={"head": LinearHeadConfig()}) if linear else None
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
