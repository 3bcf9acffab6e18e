"""Reading files that hold weights (training checkpoints, safetensors) without running code from them.

A checkpoint or a model folder may come from anyone, so nothing here unpickles arbitrary objects:
:func:`read_checkpoint` loads with ``torch.load(weights_only=True)`` (tensors, numbers, strings, lists
and dicts only) and :func:`read_safetensors` reads the safetensors format (tensors only). A file that
holds anything else, or is truncated or damaged, is an :class:`~seqlab.io.errors.InputError` naming the
file, never a traceback and never code run. :func:`sha256_of` gives the digest a model folder records
for its weights (``config.json`` ``weights_sha256``); :func:`read_safetensors` checks it when given.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from seqlab.io.errors import InputError

__all__ = ["read_checkpoint", "read_safetensors", "sha256_of"]


def _reason(err: BaseException) -> str:
    """The first line of an error's message (torch's unpickler errors run to many lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a training checkpoint (``.ckpt``) as a dict of tensors and plain values, running no code.

    Args:
        path: the checkpoint file.
        map_location: where tensors are loaded (``torch.load``'s argument).

    Returns:
        The checkpoint dict (Lightning's keys: ``state_dict``, ``epoch``, ``global_step``, ...).

    Raises:
        FileNotFoundError: no file at ``path``.
        InputError: the file is not a checkpoint of tensors and plain values (a pickle of other objects,
            e.g. a tampered or foreign file), is damaged or truncated, or is not a dict.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # the unpickler, zip and storage errors alike
        raise InputError(
            "cannot be read safely as a checkpoint (it holds objects other than tensors and plain values, "
            f"or is damaged; nothing in it was run): {_reason(err)}",
            file=path,
        ) from None
    if not isinstance(checkpoint, dict):
        raise InputError(f"not a checkpoint: it holds a {type(checkpoint).__name__}, not a dict", file=path)
    return checkpoint


def sha256_of(path: str | Path) -> str:
    """The hex SHA-256 digest of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_safetensors(path: str | Path, sha256: str | None = None) -> dict[str, Any]:
    """Read a ``.safetensors`` file into a dict of CPU tensors, checking its digest first when given.

    Args:
        path: the weights file.
        sha256: the hex digest it must have (a model folder's ``weights_sha256``); None skips the check.

    Raises:
        FileNotFoundError: no file at ``path``.
        InputError: the digest differs (the file was edited or damaged after it was written), or the
            file is not valid safetensors (truncated, damaged).
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if sha256 is not None and (actual := sha256_of(path)) != sha256:
        raise InputError(
            f"the weights changed after the model folder was written (sha256 {actual[:12]}..., recorded "
            f"{sha256[:12]}...): the file was edited or damaged; copy the folder again or re-save the model",
            file=path,
        )
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises SafetensorError (and OSError) for damaged files
        raise InputError(f"not a readable safetensors file (truncated or damaged): {_reason(err)}", file=path) from None
