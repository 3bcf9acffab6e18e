"""The lock of a run folder: an OS-level ``fcntl.flock`` on ``<run>/.lock``, held for the life of the run.

The operating system releases a ``flock`` when its process ends, however it ends, so a killed run never
leaves a lock that blocks the next one, and of several processes that start in one folder at the same
moment exactly one gets it. The file also holds the holder's pid, host and start time, which only serve
the message of a refused run. (``flock`` works across hosts on local filesystems and NFSv4.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LOCK_FILE", "RunLock", "RunLockedError", "acquire_lock", "release_lock"]

LOCK_FILE = ".lock"
"""The lock file's name inside a run folder."""

log = logging.getLogger("seqlab.runs")


class RunLockedError(RuntimeError):
    """Another live process holds the run folder's lock."""


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        owner = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


@dataclass
class RunLock:
    """An open ``.lock`` file on which this process holds ``fcntl.flock`` (released when ``fd`` closes)."""

    path: Path
    fd: int


def _describe_owner(path: Path) -> str:
    owner = _read_lock(path) or {}
    if not owner:
        return "a run that is starting"
    return f"pid {owner.get('pid')} on {owner.get('host')}, since {owner.get('started')}"


def acquire_lock(root: Path) -> RunLock:
    """Hold an exclusive ``fcntl.flock`` on ``root/.lock`` (folder created); write this process's pid and host in it.

    The operating system releases the lock when the process ends (however it ends), so a lock left by a
    killed run is free; the pid/host in the file only serve the message of a refused run. The file is
    removed on release; a process that opened it just before the removal sees that the name no longer
    points at the file it locked and tries again.

    Raises:
        RunLockedError: another live process holds the lock.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for _ in range(50):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(
                f"{root} is in use by another run ({_describe_owner(path)}); wait for it to finish or use another --out"
            ) from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        if current is None or (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
            os.close(fd)  # released and removed by its owner after we opened it: open the new one
            continue
        previous = _read_lock(path)
        if previous and (previous.get("pid"), previous.get("host")) != (me["pid"], me["host"]):
            log.warning("%s: taking over the lock left by a run that is no longer running (pid %s on %s)",
                        root, previous.get("pid"), previous.get("host"))  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        return RunLock(path, fd)
    raise RunLockedError(f"{root}: could not take the lock {path}; other runs keep starting there")


def release_lock(lock: RunLock) -> None:
    """Remove the lock file and release the lock (idempotent)."""
    if lock.fd < 0:
        return
    with contextlib.suppress(FileNotFoundError):
        held, current = os.fstat(lock.fd), os.stat(lock.path)
        if (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            lock.path.unlink()
    os.close(lock.fd)
    lock.fd = -1
