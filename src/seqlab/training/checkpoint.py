"""Rebuild a trained model from a checkpoint file alone (predict, variant effects, fine-tuning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seqlab.data.encoding import n_channels
from seqlab.models.model import SequenceModel, build_model

__all__ = ["load_checkpoint"]

_MODEL_PREFIX = "model."


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[SequenceModel, dict[str, Any]]:
    """Load the model of a seqlab training checkpoint, in eval mode, and its data parameters.

    Args:
        path: a ``.ckpt`` written by any seqlab scheme (``checkpoints/best.ckpt``, ``last.ckpt``).
        map_location: device the weights are loaded onto.

    Returns:
        The ``SequenceModel`` (eval mode, on ``map_location``) and the ``data_params`` dict: ``tasks``
        (list of T names), ``window_length``, ``encoding``, ``genome_name``, ``task_metadata``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a seqlab checkpoint (no model config, data parameters or weights).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises pickle, zip and unpickler errors alike
        raise ValueError(f"{path} is not a seqlab checkpoint (torch.load failed: {err})") from None
    hparams = checkpoint.get("hyper_parameters", {}) if isinstance(checkpoint, dict) else {}
    state = checkpoint.get("state_dict", {}) if isinstance(checkpoint, dict) else {}
    weights = {key[len(_MODEL_PREFIX) :]: value for key, value in state.items() if key.startswith(_MODEL_PREFIX)}
    if "model_config" not in hparams or "data_params" not in hparams or not weights:
        raise ValueError(
            f"{path} is not a seqlab checkpoint: it needs hyper_parameters.model_config, "
            "hyper_parameters.data_params and model weights (state_dict 'model.*')"
        )
    data_params = dict(hparams["data_params"])
    model = build_model(
        hparams["model_config"],
        n_channels(data_params["encoding"]),
        data_params["window_length"],
        len(data_params["tasks"]),
    )
    model.load_state_dict(weights)
    return model.to(map_location).eval(), data_params
