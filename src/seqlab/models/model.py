"""Working on a model's parts: trunk weights from another model, a new head, a frozen trunk, parameter counts.

Pre-train-then-fine-tune: build the fine-tuning model (``build_model``), ``load_trunk`` from the
pre-trained checkpoint or model folder, optionally ``freeze_trunk``; ``replace_head`` gives a model
new tasks (its ``data_params``) and the head that predicts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from seqlab.config import LinearHeadConfig
from seqlab.io.weights import read_checkpoint
from seqlab.models.data_params import DataParams
from seqlab.models.heads import Head, MultiTaskLinearHead
from seqlab.models.pretrained import is_model_folder, read_model_files
from seqlab.models.sequence_model import SequenceModel

__all__ = ["count_parameters", "describe", "freeze_trunk", "load_trunk", "replace_head"]

_TRUNK_PREFIXES = ("trunk.", "model.trunk.")  # SequenceModel state dict, scheme (LightningModule) state dict


def _state_dict_of(source: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(source, str | Path):
        path = Path(source)
        for folder in (path, path / "model"):  # a model folder, or a run folder holding model/
            if is_model_folder(folder):
                return read_model_files(folder).state  # its recorded SHA-256 checked
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint or state dict at {path}")
        source = read_checkpoint(path)
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


def replace_head(
    model: SequenceModel, data_params: DataParams | Mapping[str, Any], head: Head | None = None
) -> SequenceModel:
    """Give ``model`` new tasks and a head that predicts them; return the model.

    Args:
        model: the model whose head is replaced.
        data_params: the new data parameters: same window length and encoding, the new tasks.
        head: a head taking the trunk's features with one output per task; None: a fresh
            ``MultiTaskLinearHead``.

    ``model.config`` follows: its head section becomes ``linear`` for a linear head; for any other head
    it is cleared (``save_pretrained`` then refuses: rebuild the model with ``build_model``).

    Raises:
        ValueError: another window length or encoding than the trunk's, or a head that does not fit.
    """
    params = DataParams.from_dict(data_params)
    if (params.window_length, params.encoding) != (model.window_length, model.encoding):
        raise ValueError(
            f"the trunk takes {model.window_length} bp {model.encoding} windows, data_params give "
            f"{params.window_length} bp {params.encoding}"
        )
    if head is None:
        head = MultiTaskLinearHead(model.trunk.out_features, params.n_tasks)
    if head.in_features != model.trunk.out_features:
        raise ValueError(f"head expects {head.in_features} features, trunk gives {model.trunk.out_features}")
    if head.n_tasks != params.n_tasks:
        raise ValueError(f"the head has {head.n_tasks} outputs for {params.n_tasks} tasks")
    model.head = head
    model.data_params = params
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
