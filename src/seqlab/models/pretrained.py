"""The files a trained DNA model lives in: self-describing model folders and Lightning checkpoints.

A model folder (``SequenceModel.save_pretrained``) holds::

    model.safetensors   the SequenceModel's state dict (trunk.*, head.*)
    config.json         {"format": "seqlab-dna-model", "version": 1,
                         "model": {"trunk": {...}, "head": {...}}, "data": DataParams,
                         "weights_sha256": hex SHA-256 of model.safetensors}

Reading a folder checks that ``model.safetensors`` still has the recorded SHA-256: an edited, truncated
or damaged weights file is an ``InputError`` naming it (set ``SEQLAB_SKIP_WEIGHTS_CHECK=1`` to read
weights changed on purpose, or a folder written before the digest was recorded). Checkpoints are read
with ``torch.load(weights_only=True)`` (``seqlab.io.weights.read_checkpoint``): no code in them runs.

A checkpoint (``checkpoints/best.ckpt``, ``last.ckpt``, written by any seqlab scheme) holds the same
two records in ``hyper_parameters.model_config`` and ``hyper_parameters.data_params`` and the weights
as ``state_dict['model.*']``. This module reads and writes those files; it builds no model
(``SequenceModel.from_pretrained`` does, from what :func:`read_model_files` returns). Lightning
checkpoints stay the format for resuming training.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch
from safetensors.torch import save_file

from seqlab.atomic import atomic_dir
from seqlab.io.errors import InputError
from seqlab.io.weights import read_checkpoint, read_safetensors, sha256_of

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "RUN_MODEL_DIR",
    "WEIGHTS_FILE",
    "ModelFiles",
    "is_model_folder",
    "read_model_files",
    "write_model_folder",
]

FORMAT = "seqlab-dna-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
RUN_MODEL_DIR = "model"
_MODEL_PREFIX = "model."


class ModelFiles(NamedTuple):
    """What a model folder or checkpoint holds, unbuilt.

    Attributes:
        model_config: the ``model`` section (dict form).
        data_params: the data parameters (dict form).
        state: the SequenceModel's state dict (keys ``trunk.*``, ``head.*``).
        source: the file or folder read, for error messages.
        weights_file: the file the state dict came from.
    """

    model_config: dict[str, Any]
    data_params: dict[str, Any]
    state: dict[str, torch.Tensor]
    source: Path
    weights_file: Path


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding ``config.json`` and ``model.safetensors``."""
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def write_model_folder(
    folder: str | Path,
    state: Mapping[str, torch.Tensor],
    model_config: Mapping[str, Any],
    data_params: Mapping[str, Any],
) -> Path:
    """Write a model folder (replacing an earlier one atomically) and return it.

    Args:
        folder: the model folder (created; a folder already there is replaced only when complete).
        state: the model's state dict (any device; written from the CPU).
        model_config: the ``model`` section, plain JSON values.
        data_params: the data parameters, plain JSON values.
    """
    document = {"format": FORMAT, "version": FORMAT_VERSION, "model": dict(model_config), "data": dict(data_params)}
    folder = Path(folder)
    with atomic_dir(folder) as staging:
        tensors = {key: value.detach().cpu().contiguous() for key, value in state.items()}
        save_file(tensors, str(staging / WEIGHTS_FILE), metadata={"format": FORMAT})
        document["weights_sha256"] = sha256_of(staging / WEIGHTS_FILE)
        (staging / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n")
    return folder


def _recorded_digest(document: dict[str, Any], path: Path) -> str | None:
    """The ``weights_sha256`` of a folder's config.json (None when ``SEQLAB_SKIP_WEIGHTS_CHECK=1``)."""
    if os.environ.get("SEQLAB_SKIP_WEIGHTS_CHECK", "") == "1":
        return None
    digest = document.get("weights_sha256")
    if not isinstance(digest, str) or len(digest) != 64:
        raise InputError(
            f"no weights_sha256 recorded, so {WEIGHTS_FILE} cannot be checked; re-save the model with this "
            "seqlab, or set SEQLAB_SKIP_WEIGHTS_CHECK=1 to load it unchecked",
            file=path,
        )
    return digest


def _read_folder(folder: Path) -> ModelFiles:
    path = folder / CONFIG_FILE
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not JSON: {err}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a seqlab DNA model (format is not {FORMAT!r})")
    version = document.get("version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ValueError(f"{path}: model folder version {version!r}; this seqlab reads versions 1..{FORMAT_VERSION}")
    for key in ("model", "data"):
        if not isinstance(document.get(key), dict):
            raise ValueError(f"{path}: the {key!r} section is missing")
    state = read_safetensors(folder / WEIGHTS_FILE, sha256=_recorded_digest(document, path))
    return ModelFiles(document["model"], document["data"], state, path, folder / WEIGHTS_FILE)


def _read_checkpoint(path: Path) -> ModelFiles:
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters", {}) if isinstance(checkpoint, dict) else {}
    state = checkpoint.get("state_dict", {}) if isinstance(checkpoint, dict) else {}
    weights = {key[len(_MODEL_PREFIX) :]: value for key, value in state.items() if key.startswith(_MODEL_PREFIX)}
    if not isinstance(hparams.get("model_config"), dict) or not isinstance(hparams.get("data_params"), dict):
        weights = {}
    if not weights:
        raise ValueError(
            f"{path} is not a seqlab checkpoint: it needs hyper_parameters.model_config, "
            "hyper_parameters.data_params and model weights (state_dict 'model.*')"
        )
    return ModelFiles(hparams["model_config"], hparams["data_params"], weights, path, path)


def read_model_files(path: str | Path) -> ModelFiles:
    """Read a model folder, a run folder (its ``model/``, else ``checkpoints/best.ckpt``) or a ``.ckpt``.

    Raises:
        FileNotFoundError: nothing loadable at ``path`` (the message says what was looked for).
        ValueError: the file or folder is not a seqlab model (another format, a newer version, a
            checkpoint without the model's records).
        InputError: a weights file without its recorded SHA-256 (edited or damaged), a damaged
            safetensors file, or a checkpoint that cannot be read safely.
    """
    path = Path(path)
    if path.is_dir():
        for folder in (path, path / RUN_MODEL_DIR):
            if is_model_folder(folder):
                return _read_folder(folder)
        best = path / "checkpoints" / "best.ckpt"
        if best.is_file():
            return _read_checkpoint(best)
        raise FileNotFoundError(
            f"{path} holds no model: expected {CONFIG_FILE} + {WEIGHTS_FILE} (a model folder), "
            f"{RUN_MODEL_DIR}/ or checkpoints/best.ckpt (a run folder)"
        )
    if path.is_file():
        return _read_checkpoint(path)
    raise FileNotFoundError(f"no model at {path} (give a model folder, a run folder or a .ckpt file)")
