"""Helpers shared by the command modules: error reporting and option types."""

from __future__ import annotations

import gzip
import logging
import os
import sys
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

__all__ = [
    "Center",
    "EvaluateSplit",
    "Indels",
    "Layout",
    "MissingSequences",
    "Multiallelic",
    "Penalty",
    "Pooling",
    "ReportSplit",
    "UnknownResidues",
    "DataDirOption",
    "OutDirOption",
    "OverwriteOption",
    "ResumeOption",
    "SetOption",
    "console",
    "results",
    "run_folder",
    "setup_logging",
    "user_errors",
]

console = Console(stderr=True)
"""Logs, warnings and errors (stderr)."""
results = Console()
"""Result tables and what a command wrote (stdout), so ``seqlab ... > results.txt`` keeps only results."""

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a config key, e.g. --set train.max_epochs=3; a number is a list index: "
        "--set data.sources.0.subsample.seed=1 (repeatable).",
    ),
]
OutDirOption = Annotated[Path | None, typer.Option("--out", help="Run folder (default: runs/<name> of the config).")]
ResumeOption = Annotated[
    bool,
    typer.Option(help="Continue the run in --out from its checkpoints/last.ckpt (same config, apart from e.g. "
                 "max_epochs, patience and hardware keys)."),
]  # fmt: skip
OverwriteOption = Annotated[
    bool, typer.Option(help="Replace the run already in --out (its checkpoints, logs and metrics are removed).")
]
DataDirOption = Annotated[
    str | None,
    typer.Option(help="Folder that relative data paths in the config resolve against (default: its folder)."),
]

# Errors that mean the user's input is wrong: shown as one clear message, not a traceback.
# (seqlab.io.errors.InputError, the readers' error type, is a ValueError.) EOFError, zlib.error and
# gzip.BadGzipFile come from a damaged compressed file that a reader did not name (click would print a
# bare "Aborted!" for EOFError).
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, FileNotFoundError, FileExistsError, KeyError, PermissionError, EOFError, zlib.error, gzip.BadGzipFile,
)  # fmt: skip


def _user_errors() -> tuple[type[BaseException], ...]:
    from seqlab.extras import MissingExtraError
    from seqlab.runs import RunLockedError

    return (*USER_ERRORS, RunLockedError, MissingExtraError)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn input errors into a red one-line message and exit code 2."""
    try:
        yield
    except _user_errors() as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        if isinstance(err, EOFError | zlib.error | gzip.BadGzipFile):
            message = f"a compressed input file is damaged (truncated or corrupted): {err}"
        # escape: file names like d[rep1]/p.bed are not Rich markup
        # soft_wrap: one line however long (grep-able logs), not wrapped at the terminal width
        console.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(code=2) from None


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """Python warnings as one log line each, without the source path and line that raised them."""
    logging.getLogger("seqlab.warnings").warning("%s", message)


class _WarnOnce(logging.Filter):
    """Print a warning once per process: the runs of a demo share a data set and would repeat its audit."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def setup_logging(level: int = logging.INFO, *, training: bool = False) -> None:
    """Show seqlab's log messages (counts, audit warnings) through rich on stderr; a repeated warning once.

    Python warnings are logged as one line without their source path. With ``training``, Lightning is
    imported here (commands that train need it anyway) and its own console handler, which would print
    every message a second time, is removed; commands that only predict or report never load it.
    """
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    handler.addFilter(_WarnOnce())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s", force=True)
    logging.getLogger("seqlab").setLevel(level)
    warnings.showwarning = _show_warning
    if training or "lightning" in sys.modules:
        import lightning  # noqa: F401  (its import adds a handler of its own to the "lightning" logger)

        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logger = logging.getLogger(name)
            logger.handlers.clear()  # imported before logging was set up, they print through their own
            logger.propagate = True
    # transformers reads these when imported: its load reports (a new classification head is
    # "MISSING" by design when fine-tuning) and shard-writing bars are noise in seqlab's output.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # already imported: the variables above come too late
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    # Lightning's hardware lines and tips are noise next to seqlab's own summary.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*is deprecated")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")


def _choice(name: str, *values: str) -> type[StrEnum]:
    """A string option type whose allowed values typer checks (exit code 2 naming them) and lists in --help."""
    return StrEnum(name, {value: value for value in values})


Center = _choice("Center", "summit", "center")
Indels = _choice("Indels", "skip", "score")
Multiallelic = _choice("Multiallelic", "split", "skip")
Layout = _choice("Layout", "long", "wide")
ReportSplit = _choice("ReportSplit", "test", "val")
EvaluateSplit = _choice("EvaluateSplit", "train", "val", "test", "all")
UnknownResidues = _choice("UnknownResidues", "map_to_x", "reject")
MissingSequences = _choice("MissingSequences", "drop", "error")
Pooling = _choice("Pooling", "mean", "cls")
Penalty = _choice("Penalty", "none", "covariance", "cross_prediction", "shuffle")


def run_folder(out: Path | None, name: str) -> Path:
    """The run folder: ``--out`` when given, else ``runs/<name>``."""
    return out if out is not None else Path("runs") / name
