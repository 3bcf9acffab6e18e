"""A new user's first run: every `seqlab` line of the README and docs parses, and a demo runs as written.

The demo test runs `seqlab demo dna` with no `--out` from an empty working directory (the relative
default folder was once resolved twice and the demo failed exactly as the README writes it).
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

import seqlab
from seqlab.cli.main import app

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _shell_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, command) of every line of a fenced bash/shell block that starts with ``seqlab``
    (continuation lines joined)."""
    found, fence, pending, start = [], None, "", 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip()
            continue
        if fence not in ("bash", "sh", "shell", "console"):
            continue
        if pending:
            pending += " " + stripped
        elif stripped.startswith("seqlab "):
            pending, start = stripped, number
        if pending and not pending.endswith("\\"):
            found.append((start, pending))
            pending = ""
        elif pending:
            pending = pending[:-1]
    return found


LINES = [(path, number, line) for path in DOCS for number, line in _shell_lines(path)]


def test_the_readme_and_docs_have_seqlab_lines():
    assert sum(path.name == "README.md" for path, _, _ in LINES) >= 30
    assert any(path.parent.name == "docs" for path, _, _ in LINES)


@pytest.mark.parametrize(("path", "number", "line"), LINES, ids=[f"{p.name}:{n}" for p, n, _ in LINES])
def test_every_documented_command_exists_with_known_options(path, number, line):
    words = [w.strip("[]") for w in shlex.split(line, comments=True)][1:]  # [--resume]: an optional flag
    command = typer.main.get_command(app)  # typer's own (vendored) click classes
    while isinstance(command, TyperGroup) and words and not words[0].startswith("-"):
        name = words.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"{path.name}:{number}: no command {name!r} in: {line}"
        command = sub
    assert not isinstance(command, TyperGroup), f"{path.name}:{number}: incomplete command: {line}"
    try:  # parse and validate every argument and option as the command would, without running it
        command.make_context(command.name, words)
    except Exception as err:  # typer's (vendored) click errors: NoSuchOption, BadParameter, MissingParameter
        pytest.fail(f"{path.name}:{number}: {err} in: {line}")


@pytest.mark.slow
def test_demo_dna_runs_as_written_with_no_out_from_any_folder(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(seqlab.__file__).parents[1]), "HF_HUB_OFFLINE": "1"}
    code = "from seqlab.cli.main import app; app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "demo", "dna", "--max-epochs", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "runs" / "demo-dna" / "run" / "model" / "config.json").is_file()
    assert "test" in done.stdout and "CTCF" in done.stdout  # the result table on stdout
    assert "epoch 1/1" in done.stderr and "epoch 1/1" not in done.stdout  # progress on stderr
    assert re.search(r"run folder: .*runs/demo-dna/run", " ".join(done.stdout.split()))
