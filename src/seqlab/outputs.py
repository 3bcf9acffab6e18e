"""Outputs of the commands that write files outside a run folder: never silently replaced.

``seqlab dna predict``, ``variant-effect``, ``evaluate --out``, ``seqlab protein corpus`` and
``seqlab ssl lift`` (and their Python functions) refuse an output that already exists unless asked to
``overwrite`` it. Their files are written under temporary names beside the target (through
:func:`seqlab.atomic.atomic_open` / :func:`seqlab.atomic.atomic_dir`) and renamed into place only when
complete, so a crash or an error leaves no partial output and any earlier one untouched.

Two writers racing for one new output cannot both win: without ``overwrite``, the rename into place
refuses a target that appeared meanwhile (a hard link for files, a rename onto a non-empty folder for
folders), and the slower writer gets :class:`OutputExistsError`.

A set of files (``effects.tsv`` with ``effects.counts.tsv`` and ``effects.ref_mismatches.tsv``) is
published as a set: the main file last, and the files already moved are removed again when a later
one is refused, so the main file exists only beside a complete set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from seqlab.atomic import atomic_dir

__all__ = ["OutputExistsError", "new_files", "new_folder", "refuse_existing", "refuse_existing_folder"]


class OutputExistsError(ValueError):
    """An output file or folder exists and ``overwrite`` was not given (the CLI prints one line, exit 2)."""

    def __init__(self, path: str | Path, what: str = "exists") -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {what}; use --overwrite to replace it (or choose another output)")


def refuse_existing(paths: Sequence[str | Path], overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` for the first of ``paths`` that exists, unless ``overwrite``.

    Called before any work, so a command that would be refused fails at once. A folder where a file
    should go is refused even with ``overwrite``.
    """
    for path in map(Path, paths):
        if path.is_dir():
            raise OutputExistsError(path, "is a folder, not a file")
        if path.exists() and not overwrite:
            raise OutputExistsError(path)


def refuse_existing_folder(path: str | Path, overwrite: bool, marker: str) -> None:
    """Refuse an output folder that exists and is not empty, unless ``overwrite``.

    With ``overwrite`` only a folder holding ``marker`` (a file the command writes, e.g.
    ``metrics.json``) is replaced: another folder is never deleted by mistake.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(path, "is a file, not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not overwrite:
        raise OutputExistsError(path, "exists and is not empty")
    if not (path / marker).exists():
        raise OutputExistsError(path, f"exists and is not an output of this command (no {marker}); not replaced")


def _staging(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.new")


def _link_new(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, refusing an existing target (atomically: a hard link)."""
    try:
        os.link(staging, target)
    except FileExistsError:
        raise OutputExistsError(target, "appeared while this command ran (another writer?)") from None
    except OSError:  # no hard links on this file system: reserve the name exclusively, then replace
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            raise OutputExistsError(target, "appeared while this command ran (another writer?)") from None
        os.replace(staging, target)
        return
    staging.unlink()


@contextlib.contextmanager
def new_files(paths: Sequence[str | Path], overwrite: bool) -> Iterator[list[Path]]:
    """Yield one temporary path beside each of ``paths`` to write; publish them when the block succeeds.

    Publication moves each temporary file to its target in order (put the main file last). Without
    ``overwrite`` an existing target is refused (:class:`OutputExistsError`) and the targets this call
    already published are removed, so the set appears whole or not at all. With ``overwrite`` each
    target is replaced atomically. Temporary files are removed whatever happens.
    """
    targets = [Path(path) for path in paths]
    refuse_existing(targets, overwrite)
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
    staged = [_staging(target) for target in targets]
    published: list[Path] = []
    try:
        yield staged
        for staging, target in zip(staged, targets, strict=True):
            if overwrite:
                os.replace(staging, target)
            else:
                _link_new(staging, target)
            published.append(target)
    except BaseException:
        if not overwrite:
            for target in published:
                target.unlink(missing_ok=True)
        raise
    finally:
        for staging in staged:
            staging.unlink(missing_ok=True)


@contextlib.contextmanager
def new_folder(path: str | Path, overwrite: bool, marker: str) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` to fill; it becomes ``path`` when the block succeeds.

    ``path`` is refused as :func:`refuse_existing_folder` says (``marker``: a file the command always
    writes into the folder). Without ``overwrite`` a folder that another writer filled meanwhile is
    refused; with it, the earlier folder is replaced (moved aside, then deleted).
    """
    path = Path(path)
    refuse_existing_folder(path, overwrite, marker)
    staging = _staging(path)
    try:
        with atomic_dir(staging) as tmp:
            yield tmp
        aside = path.with_name(f"{staging.name}.old")
        if overwrite and path.is_dir():
            os.replace(path, aside)
        try:
            os.rename(staging, path)  # fails on a non-empty folder: another writer was first
        except OSError:
            if aside.exists():
                os.replace(aside, path)
            raise OutputExistsError(path, "appeared while this command ran (another writer?)") from None
        shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
