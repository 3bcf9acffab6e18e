"""Run folders and atomic output writing, shared by every training scheme and command.

A run folder holds::

    config.yaml            the resolved config (every default filled in, paths absolute)
    checkpoints/best.ckpt  best checkpoint on the monitored validation metric
    checkpoints/last.ckpt  latest checkpoint (``--resume`` continues from it)
    logs/                  CSV logs (metrics per epoch)
    metrics.json           {"test": {"auroc": ..., "aupr": ..., "per_task": {...}}, ...}
    metrics_per_task.tsv   one row per task and split
    plots/                 ROC and PR curves (PNG)
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["RunPaths", "atomic_open", "write_json", "write_text"]

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and move it over ``path`` only if the block succeeds.

    A crash or an exception leaves any previous ``path`` untouched and no partial file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        # mkstemp creates 0600 files; give the output the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_open(path) as handle:
        handle.write(text)
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically and return the path."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


class RunPaths:
    """The standard file names inside a run folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.checkpoints = self.root / "checkpoints"
        self.best_checkpoint = self.checkpoints / "best.ckpt"
        self.last_checkpoint = self.checkpoints / "last.ckpt"
        self.logs = self.root / "logs"
        self.metrics = self.root / "metrics.json"
        self.metrics_per_task = self.root / "metrics_per_task.tsv"
        self.plots = self.root / "plots"

    def make(self) -> RunPaths:
        """Create the folder and its sub-folders; return self."""
        for folder in (self.root, self.checkpoints, self.logs, self.plots):
            folder.mkdir(parents=True, exist_ok=True)
        return self
