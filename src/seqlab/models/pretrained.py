"""Self-describing model folders, and one loader for a folder or a training checkpoint.

A model folder (``save_pretrained``) holds::

    model.safetensors   the SequenceModel's state dict (trunk.*, head.*)
    config.json         {"format": "seqlab-dna-model", "version": 1,
                         "model": {"trunk": {...}, "head": {...}}, "data": DataParams}

``from_pretrained(folder)`` rebuilds the model (trunk and the head its config names, through the
registries) and its :class:`DataParams`. ``load_model(path)`` accepts a model folder, a run folder
(its ``model/``, else ``checkpoints/best.ckpt``) or a Lightning ``.ckpt`` written by any seqlab scheme,
so predict, variant effects, evaluation, fine-tuning and a teacher take any of them. Lightning
checkpoints stay the format for resuming training.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from seqlab.config import ModelConfig
from seqlab.models.data_params import DataParams
from seqlab.models.model import SequenceModel, build_model, parse_model_config

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "DataParams",
    "from_pretrained",
    "is_model_folder",
    "load_checkpoint",
    "load_model",
    "save_pretrained",
]

FORMAT = "seqlab-dna-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
RUN_MODEL_DIR = "model"
_MODEL_PREFIX = "model."


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding ``config.json`` and ``model.safetensors``."""
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def save_pretrained(
    model: SequenceModel,
    data_params: DataParams | Mapping[str, Any],
    folder: str | Path,
    config: ModelConfig | Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` as a self-describing folder (replacing an earlier one atomically) and return it.

    Args:
        model: the model (any device; weights are written from the CPU).
        data_params: its data parameters.
        folder: the model folder (created; a folder already there is replaced only when complete).
        config: its model config; default ``model.config`` (set by ``build_model``).

    Raises:
        ValueError: no model config given nor recorded on the model.
    """
    if config is None:
        config = model.config
    if config is None:
        raise ValueError("save_pretrained needs the model config: pass config= (the model records none)")
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "model": parse_model_config(config).model_dump(mode="json"),
        "data": DataParams.from_dict(data_params).to_dict(),
    }
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
        save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": FORMAT})
        (staging / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n")
        os.chmod(staging, 0o755)
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _read_document(folder: Path) -> dict[str, Any]:
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
    return document


def from_pretrained(folder: str | Path, map_location: str | torch.device = "cpu") -> tuple[SequenceModel, DataParams]:
    """Rebuild the model of a folder written by :func:`save_pretrained`, in eval mode.

    Returns:
        The ``SequenceModel`` (eval mode, on ``map_location``, ``model.config`` set) and its ``DataParams``.

    Raises:
        FileNotFoundError: the folder lacks config.json or model.safetensors.
        ValueError: another format, a newer version, an invalid config, or weights that do not fit.
    """
    folder = Path(folder)
    if not is_model_folder(folder):
        raise FileNotFoundError(f"{folder} is not a seqlab model folder (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    document = _read_document(folder)
    data_params = DataParams.from_dict(document["data"], source=f"{folder / CONFIG_FILE}: data")
    try:
        model = build_model(parse_model_config(document["model"]), data_params)
    except ValueError as err:
        raise ValueError(f"{folder / CONFIG_FILE}: {err}") from None
    state = load_file(str(folder / WEIGHTS_FILE))
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{folder / WEIGHTS_FILE} does not fit the model of {CONFIG_FILE}: {err}") from None
    return model.to(map_location).eval(), data_params


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[SequenceModel, DataParams]:
    """Load the model of a seqlab training checkpoint, in eval mode, and its data parameters.

    Args:
        path: a ``.ckpt`` written by any seqlab scheme (``checkpoints/best.ckpt``, ``last.ckpt``).
        map_location: device the weights are loaded onto.

    Returns:
        The ``SequenceModel`` (eval mode, on ``map_location``; its head is the one the checkpoint's
        ``model_config`` names; checkpoints from before model config v2 get the linear head) and its
        :class:`DataParams` (also readable as ``params["tasks"]``).

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
    data_params = DataParams.from_dict(hparams["data_params"], source=f"{path}: hyper_parameters.data_params")
    model = build_model(parse_model_config(hparams["model_config"], legacy=True), data_params)
    model.load_state_dict(weights)
    return model.to(map_location).eval(), data_params


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[SequenceModel, DataParams]:
    """Load a trained DNA model from a model folder, a run folder or a ``.ckpt`` file, in eval mode.

    A run folder gives its ``model/`` folder when there is one, else ``checkpoints/best.ckpt``.

    Raises:
        FileNotFoundError: nothing loadable at ``path`` (the message says what was looked for).
        ValueError: the file or folder is not a seqlab model.
    """
    path = Path(path)
    if path.is_dir():
        if is_model_folder(path):
            return from_pretrained(path, map_location)
        if is_model_folder(path / RUN_MODEL_DIR):
            return from_pretrained(path / RUN_MODEL_DIR, map_location)
        best = path / "checkpoints" / "best.ckpt"
        if best.is_file():
            return load_checkpoint(best, map_location)
        raise FileNotFoundError(
            f"{path} holds no model: expected {CONFIG_FILE} + {WEIGHTS_FILE} (a model folder), "
            f"{RUN_MODEL_DIR}/ or checkpoints/best.ckpt (a run folder)"
        )
    if path.is_file():
        return load_checkpoint(path, map_location)
    raise FileNotFoundError(f"no model at {path} (give a model folder, a run folder or a .ckpt file)")
