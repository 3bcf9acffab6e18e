"""Run folders, shared by every training scheme and command (atomic file writing: :mod:`seqlab.atomic`).

A run folder holds::

    config.yaml            the resolved config (every default filled in, paths absolute)
    checkpoints/best.ckpt  best checkpoint on the monitored validation metric
    checkpoints/last.ckpt  latest checkpoint (``--resume`` continues from it)
    logs/                  CSV logs (metrics per epoch)
    metrics.json           {"test": {"auroc": ..., "aupr": ..., "per_task": {...}}, ...}
    metrics_per_task.tsv   one row per task and split
    plots/                 ROC and PR curves (PNG)
    .lock                  while a run uses the folder (flock held): {"pid": ..., "host": ..., "started": ...}

A run of several stages keeps each stage in a sub-folder with the same layout (``pretrain/``,
``finetune/``, ``round_1/`` ...: :meth:`RunPaths.stage`).

Every training command starts through :func:`start_run`, which locks
the folder, refuses a folder holding another run unless resuming or overwriting, checks on resume
that the config is the stored one, seeds, sets threads and writes ``config.yaml``.
"""

from __future__ import annotations

import atexit
import csv
import fnmatch
import io
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.atomic import write_text
from seqlab.memory import keep_freed_memory
from seqlab.runlock import LOCK_FILE, RunLock, RunLockedError, acquire_lock, release_lock

__all__ = [
    "RESUMABLE_KEYS",
    "RunLockedError",
    "RunPaths",
    "StartedRun",
    "config_differences",
    "drop_rows_after",
    "locked",
    "start_run",
]

log = logging.getLogger(__name__)


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

    @property
    def metrics_csv(self) -> Path:
        """The per-epoch (or per-validation) log ``logs/metrics.csv``."""
        return self.logs / "metrics.csv"

    @property
    def lock(self) -> Path:
        """The lock file a running run holds (``.lock``)."""
        return self.root / LOCK_FILE

    def stage(self, name: str) -> RunPaths:
        """The sub-folder of one stage of a multi-stage run (``pretrain``, ``finetune``, ``round_1``, ...).

        Raises:
            ValueError: ``name`` is not a plain folder name (letters, digits, ``_``, ``-``).
        """
        if not name or not all(c.isalnum() or c in "_-" for c in name):
            raise ValueError(f"stage name {name!r}: expected one plain folder name such as 'pretrain' or 'round_1'")
        return RunPaths(self.root / name)

    def holds_run(self) -> bool:
        """Whether the folder already holds (part of) a run: a config, a checkpoint, a log or metrics."""
        if self.config.is_file() or self.metrics.is_file() or self.metrics_csv.is_file():
            return True
        return self.checkpoints.is_dir() and any(self.checkpoints.glob("*.ckpt"))


# ----------------------------------------------------------------------------- starting a run

RESUMABLE_KEYS: tuple[str, ...] = (
    "name",
    "train.max_epochs",
    "train.patience",
    "patience",
    "optim.max_steps",
    "token_budget",
    "hardware.*",
    "data.store.dir",
    "*.threads",
    "*.progress_bar",
    "*.accelerator",
    "*.devices",
    "*.strategy",
    "*.num_nodes",
)
"""Config keys (fnmatch patterns on dotted keys) that may differ between a run and its ``--resume``.

Budgets (``train.max_epochs``, the protein ``optim.max_steps`` and ``token_budget``), patience, and hardware
or speed settings. The protein learning-rate schedule decays to 0 at ``optim.max_steps``, so raising it on
resume continues with the schedule of the new budget (not the one an uninterrupted run of it would have had).
"""

# What --overwrite removes: the files and folders a run writes (nothing else in the folder is touched).
_RUN_ARTIFACTS = (
    "config.yaml", "checkpoints", "logs", "metrics.json", "metrics_per_task.tsv", "plots", "examples", "audit.json",
    "audit.txt", "predictions_*.tsv", "model", "model.partial-*", "corpus", "tokenizer", "pretrain", "finetune",
    "round_*", "ssl", "seen", "imputation", "introspection.tsv", "introspection.png",
)  # fmt: skip


def _rank() -> int:
    """The process rank in a multi-process (DDP) launch; 0 for the launching or only process."""
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        value = os.environ.get(name)
        if value is not None and value.isdigit():
            return int(value)
    return 0


@contextmanager
def locked(run_dir: str | Path) -> Iterator[RunPaths]:
    """Hold the lock of an existing run folder for a block (e.g. ``seqlab dna evaluate`` rewriting its reports).

    Raises:
        RunLockedError: a live run holds the folder.
    """
    paths = RunPaths(run_dir)
    if _rank() > 0:
        yield paths
        return
    _check_folder(paths.root)
    lock = acquire_lock(paths.root)
    try:
        yield paths
    finally:
        release_lock(lock)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): data}


def config_differences(
    stored: dict[str, Any], current: dict[str, Any], allowed: tuple[str, ...] = RESUMABLE_KEYS
) -> list[str]:
    """The dotted keys whose values differ between two config documents, apart from ``allowed`` patterns.

    A key present in only one document counts as different.
    """
    old, new = _flatten(stored), _flatten(current)
    keys = sorted(set(old) | set(new))
    return [
        key for key in keys
        if old.get(key, "<absent>") != new.get(key, "<absent>")
        and not any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed)
    ]  # fmt: skip


def _describe(stored: dict[str, Any], current: dict[str, Any], keys: list[str]) -> str:
    old, new = _flatten(stored), _flatten(current)
    parts = [f"{key}: {old.get(key, '<absent>')!r} -> {new.get(key, '<absent>')!r}" for key in keys[:8]]
    more = f" (and {len(keys) - 8} more)" if len(keys) > 8 else ""
    return "; ".join(parts) + more


def _checkpoint_position(path: Path) -> tuple[int, int] | None:
    """(epoch, global step) of a Lightning checkpoint, or None when it records neither.

    Raises:
        InputError: the file is not a checkpoint of tensors and plain values (nothing in it is run).
    """
    from seqlab.io.weights import read_checkpoint

    state = read_checkpoint(path)
    if state.get("global_step") is None:
        return None
    return int(state.get("epoch") or 0), int(state["global_step"])


def drop_rows_after(metrics_csv: Path, step: int, epoch: int | None = None) -> int:
    """Remove the rows of ``logs/metrics.csv`` logged after a checkpoint (a killed run's tail).

    A row is after the checkpoint when its ``step`` is greater than ``step``, or its ``epoch`` greater
    than ``epoch`` (when given): e.g. the final evaluation of a run stopped by ``max_epochs`` that is
    then resumed with more epochs. Returns the number of rows removed; rows without a value are kept.
    """
    if not metrics_csv.is_file():
        return 0
    rows = list(csv.reader(io.StringIO(metrics_csv.read_text())))
    if not rows or "step" not in rows[0]:
        return 0
    limits = [(rows[0].index("step"), step)]
    if epoch is not None and "epoch" in rows[0]:
        limits.append((rows[0].index("epoch"), epoch))

    def after(row: list[str]) -> bool:
        for column, limit in limits:
            try:
                if float(row[column]) > limit:
                    return True
            except (IndexError, ValueError):
                continue
        return False

    kept = [rows[0]] + [row for row in rows[1:] if not after(row)]
    if len(kept) < len(rows):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(kept)
        write_text(metrics_csv, buffer.getvalue())
    return len(rows) - len(kept)


@dataclass
class StartedRun:
    """A run folder that :func:`start_run` locked and prepared.

    Attributes:
        paths: the folder's :class:`RunPaths`.
        config: the run's config.
        seed: the seed every generator was seeded with.
        checkpoint: ``checkpoints/last.ckpt`` to continue from (``resume``), else None (also for a
            multi-stage run, whose stage folders hold their own).
        rank: the process rank (only rank 0 locks and writes).
        resume: whether the run continues from checkpoints (``--resume`` on a folder that holds one);
            False for a new run, and for a ``--resume`` that found no checkpoint and starts afresh.

    Use it as a context manager (``with start_run(...) as run:``) so that the lock is released when the
    run ends; it is also released at interpreter exit.
    """

    paths: RunPaths
    config: Any
    seed: int
    checkpoint: Path | None = None
    rank: int = 0
    resume: bool = False
    lock: RunLock | None = field(default=None, repr=False)

    @property
    def root(self) -> Path:
        """The run folder."""
        return self.paths.root

    def stage(self, name: str) -> RunPaths:
        """The sub-folder of a stage (``pretrain``, ``finetune``, ``round_1``, ...) with the same layout."""
        return self.paths.stage(name)

    def release(self) -> None:
        """Release the folder's lock (idempotent)."""
        if self.lock is not None:
            release_lock(self.lock)
            self.lock = None

    def __enter__(self) -> StartedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _threads(config: Any) -> int | None:
    for section in ("hardware", "train", "optim"):
        value = getattr(getattr(config, section, None), "threads", None)
        if value is not None:
            return int(value)
    return None


def _stage_checkpoints(paths: RunPaths) -> list[Path]:
    """``<stage>/checkpoints/last.ckpt`` of the stages of a multi-stage run (also nested: ``round_1/student``)."""
    found = paths.root.glob("*/checkpoints/last.ckpt"), paths.root.glob("*/*/checkpoints/last.ckpt")
    return sorted(path for paths_found in found for path in paths_found)


def _check_resume(paths: RunPaths, text: str) -> dict[Path, tuple[int, int] | None]:
    """The (epoch, step) of every ``last.ckpt`` a resume continues from, by stage folder (reads only).

    Empty when the folder holds no ``last.ckpt`` (a run killed before its first one, or no run yet):
    nothing to continue. A stored ``config.yaml`` must match the config (also then).

    Raises:
        FileNotFoundError: checkpoints without a ``config.yaml``.
        ValueError: the config differs; a checkpoint that cannot be read safely (``InputError``).
    """
    checkpoints = [paths.last_checkpoint] if paths.last_checkpoint.is_file() else []
    checkpoints += _stage_checkpoints(paths)
    if checkpoints and not paths.config.is_file():
        raise FileNotFoundError(
            f"--resume: {paths.config} is missing, so the run's config cannot be checked; "
            "start a new run with --overwrite or another --out"
        )
    if paths.config.is_file():
        _compare_configs(paths, text)
    return {path.parents[1]: _checkpoint_position(path) for path in checkpoints}


def _compare_configs(paths: RunPaths, text: str) -> None:
    """Refuse a resume whose config differs from the stored one outside :data:`RESUMABLE_KEYS`."""
    import yaml

    stored = yaml.safe_load(paths.config.read_text()) or {}
    current = yaml.safe_load(text)
    differ = config_differences(stored, current)
    if differ:
        raise ValueError(
            f"--resume: the config differs from the run's {paths.config} in {', '.join(differ)} "
            f"({_describe(stored, current, differ)}); only {', '.join(RESUMABLE_KEYS)} may change "
            "on resume: use the stored config, or start a new run with --overwrite or another --out"
        )


def _remove_run(paths: RunPaths, why: str = "--overwrite removed the earlier run's files") -> None:
    """--overwrite: remove the files and folders a run writes (nothing else in the folder); log ``why``."""
    for pattern in _RUN_ARTIFACTS:
        for item in paths.root.glob(pattern):
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()
    log.warning("%s: %s", paths.root, why)


def _clean_up(paths: RunPaths, positions: dict[Path, tuple[int, int] | None]) -> None:
    """Remove killed writers' hidden ``.*.tmp`` files; drop the log rows after each resumed checkpoint.

    ``positions``: stage folder -> (epoch, step) of the ``last.ckpt`` a resume continues from.
    """
    for stale in sorted(paths.root.rglob(".*.tmp")):  # files, and folders (a tokenizer's staging folder)
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    for root, position in positions.items():
        stage = RunPaths(root)
        if position is not None and (dropped := drop_rows_after(stage.metrics_csv, position[1], position[0])):
            log.info("resume: dropped %d rows of %s logged after the checkpoint (epoch %d, step %d)", dropped,
                     stage.metrics_csv, *position)  # fmt: skip


def start_run(out_dir: str | Path, config: Any, *, resume: bool = False, overwrite: bool = False) -> StartedRun:
    """Start (or resume) a run in ``out_dir``: the one way every training command begins.

    In order, before anything in the folder is written: refuse an ``out_dir`` that is a file, and a
    ``hardware.accelerator`` of ``gpu``/``cuda`` on a machine without a GPU; lock the
    folder (``fcntl.flock`` on ``.lock``, held until :meth:`StartedRun.release` or the process ends,
    with this process's pid and host in the file for the message a refused run prints); refuse a folder
    that already holds a run unless ``resume`` or ``overwrite``; with ``resume``, compare the resolved
    config with the stored ``config.yaml`` (refusing when a key outside :data:`RESUMABLE_KEYS` differs)
    and read every ``last.ckpt`` safely (``weights_only``; a tampered one is an ``InputError``). Then:
    ``overwrite`` removes the earlier run's files (only those a run writes), as does a ``resume`` that
    found no checkpoint (the run starts from the beginning, with a warning saying so, and
    :attr:`StartedRun.resume` is False); hidden temporary files of a killed writer are removed; ``resume``
    drops the rows of ``logs/metrics.csv`` logged after the checkpoint (a killed epoch's); Python,
    NumPy, torch and dataloader workers are seeded with ``config.seed``, torch's thread count is set
    (``hardware``/``train``/``optim.threads``), malloc keeps freed memory when ``hardware.keep_freed_memory``
    (:func:`seqlab.memory.keep_freed_memory`) and the resolved ``config.yaml`` is written. Processes of
    rank > 0 of a multi-process launch only seed.

    Args:
        out_dir: the run folder (created).
        config: a validated pydantic config with a ``seed`` field.
        resume: continue the run in ``out_dir``.
        overwrite: replace the run in ``out_dir``.

    Returns:
        A :class:`StartedRun` holding the lock (use it in a ``with`` block).

    Raises:
        RunLockedError: another live run holds the folder.
        ValueError: ``resume`` and ``overwrite`` together, a folder holding a run without either, a
            resume whose config differs (the message names the keys), an ``out_dir`` that is a file, a
            GPU accelerator without a GPU, or a checkpoint that cannot be read safely (``InputError``).
        FileNotFoundError: ``resume`` with checkpoints but without ``config.yaml``.
    """
    import lightning as L
    import torch

    from seqlab.config import dump_config

    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other: continue the run, or replace it")
    paths = RunPaths(out_dir)
    seed = int(config.seed)
    rank = _rank()
    checkpoint = paths.last_checkpoint if resume else None
    if getattr(getattr(config, "hardware", None), "keep_freed_memory", False):
        keep_freed_memory()
    if rank > 0:  # a DDP worker: the launching process locked and prepared the folder
        resume = resume and (paths.last_checkpoint.is_file() or bool(_stage_checkpoints(paths)))
        L.seed_everything(seed, workers=True, verbose=False)
        return StartedRun(paths, config, seed, checkpoint, rank, resume)
    text = dump_config(config)
    _check_folder(paths.root)
    _check_accelerator(config)
    lock = acquire_lock(paths.root)
    atexit.register(release_lock, lock)
    positions: dict[Path, tuple[int, int] | None] = {}
    try:
        if resume and not (positions := _check_resume(paths, text)):
            resume = False
            _remove_run(paths, "--resume found no checkpoint (the run stopped before its first one was saved): "
                        "starting the run from the beginning")  # fmt: skip
        elif not resume and paths.holds_run():
            if not overwrite:
                raise ValueError(
                    f"{paths.root} already holds a run; use --resume to continue it, --overwrite to replace it, "
                    "or another --out"
                )
            _remove_run(paths)
    except BaseException:
        release_lock(lock)
        raise
    paths.make()
    _clean_up(paths, positions)
    checkpoint = checkpoint if checkpoint is not None and checkpoint.is_file() else None
    L.seed_everything(seed, workers=True, verbose=False)
    threads = _threads(config)
    if threads is not None:
        torch.set_num_threads(threads)
    write_text(paths.config, text)
    return StartedRun(paths, config, seed, checkpoint, rank, resume, lock)


def _check_accelerator(config: Any) -> None:
    """Refuse ``hardware.accelerator: gpu`` (or ``cuda``) on a machine where PyTorch sees no GPU."""
    import torch

    accelerator = getattr(getattr(config, "hardware", None), "accelerator", "auto")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"hardware.accelerator: {accelerator!r}, but PyTorch sees no GPU on this machine "
            "(torch.cuda.is_available() is False); use 'auto' (a GPU when present) or 'cpu'"
        )


def _check_folder(root: Path) -> None:
    """Refuse a run folder that is a file, or lies below one (one line instead of an OSError later)."""
    from seqlab.io.errors import InputError

    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise InputError("is a file, not a folder: give --out a folder for the run", file=folder)
            return
