"""Helpers shared by the command modules: error reporting and option types."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

__all__ = [
    "DataDirOption",
    "OutDirOption",
    "ResumeOption",
    "SetOption",
    "console",
    "run_folder",
    "setup_logging",
    "user_errors",
]

console = Console(stderr=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set train.max_epochs=3 (repeatable)."),
]
OutDirOption = Annotated[Path | None, typer.Option("--out", help="Run folder (default: runs/<name> of the config).")]
ResumeOption = Annotated[bool, typer.Option(help="Continue the run in --out from its checkpoints/last.ckpt.")]
DataDirOption = Annotated[
    str | None,
    typer.Option(help="Folder that relative data paths in the config resolve against (default: its folder)."),
]

# Errors that mean the user's input is wrong: shown as one clear message, not a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, KeyError, PermissionError)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn input errors into a red one-line message and exit code 2."""
    try:
        yield
    except USER_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        # escape: file names like d[rep1]/p.bed are not Rich markup
        console.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, markup=True)
        raise typer.Exit(code=2) from None


def setup_logging(level: int = logging.INFO) -> None:
    """Show seqlab's log messages (counts, audit warnings) through rich on stderr."""
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s", force=True)
    logging.getLogger("seqlab").setLevel(level)
    # transformers reads these when imported: its load reports (a new classification head is
    # "MISSING" by design when fine-tuning) and shard-writing bars are noise in seqlab's output.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # already imported: the variables above come too late
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    # Lightning's hardware lines and tips are noise next to seqlab's own summary.
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*is deprecated")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")


def run_folder(out: Path | None, name: str) -> Path:
    """The run folder: ``--out`` when given, else ``runs/<name>``."""
    return out if out is not None else Path("runs") / name
