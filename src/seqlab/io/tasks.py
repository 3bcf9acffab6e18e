"""Task tables: one row per prediction task, naming its peak file and describing the experiment.

A task table is a tab-separated file with a header. Required columns: ``task`` (unique name) and
``peaks`` (BED / narrowPeak / broadPeak path, relative to the table's folder or absolute). Optional:
``format`` (``bed``, ``narrowPeak`` or ``broadPeak``; default from the file name) and any metadata
columns (``target``, ``biosample``, ``assay``, ``lab``, ``date``...), which are kept as strings.

Every row must have as many tab-separated fields as the header (blank lines and ``#`` comment lines
are skipped); a row with more or fewer fields, a repeated column, an empty table, bytes that are not
UTF-8 and a damaged gzip file are :class:`~seqlab.io.errors.InputError` naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqlab.io.errors import InputError, decode_utf8, read_bytes
from seqlab.io.intervals import detect_format

__all__ = ["read_task_table"]

REQUIRED = ("task", "peaks")


def read_task_table(path: str | Path, root: str | Path | None = None, *, peaks: bool = True) -> pd.DataFrame:
    """Read and validate a task table.

    Args:
        path: the TSV file.
        root: folder that relative peak paths resolve against (default: the table's folder).
        peaks: False for a table that only describes the tasks (the metadata of ``kind: sequences``
            sources): the ``peaks`` column is then optional and neither resolved nor checked.

    Returns:
        DataFrame in file order with every column as str; ``peaks`` holds absolute paths and
        ``format`` is filled in for every row.

    Raises:
        FileNotFoundError: the table, or a peak file it names (the message gives the table, the
            line and the path).
        ValueError: a required column is missing, a task name is empty or repeated, or a format is unknown.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task table not found: {path}")
    table = _parse(path)
    required = REQUIRED if peaks else ("task",)
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(
            f"task table lacks column(s) {missing}; it has {list(table.columns)} "
            f"(expected a tab-separated header with at least {' and '.join(repr(c) for c in required)})",
            file=path,
            line=1,
        )
    if table.empty:
        raise InputError("task table has no rows", file=path)
    table["task"] = table["task"].str.strip()
    lines = pd.Index(table.attrs["lines"])
    empty = table["task"] == ""
    if empty.any():
        raise InputError("empty task name", file=path, line=lines[empty.to_numpy().argmax()], field="task")
    repeated = table["task"].duplicated()
    if repeated.any():
        row = int(repeated.to_numpy().argmax())
        raise InputError(f"task name {table['task'].iloc[row]!r} is repeated", file=path, line=lines[row], field="task")
    if not peaks:
        table.attrs.pop("lines", None)
        return table.reset_index(drop=True)
    if "format" not in table.columns:
        table["format"] = ""
    resolved, formats = [], []
    for line, peaks, fmt in zip(lines, table["peaks"], table["format"], strict=True):
        if "\x00" in peaks:
            raise InputError("the peak file path holds a NUL byte", file=path, line=line, field="peaks")
        peak_path = Path(peaks.strip())
        if not peak_path.is_absolute():
            peak_path = ((Path(root) if root is not None else path.parent) / peak_path).resolve()
        if not peaks.strip() or not peak_path.is_file():
            where = f"data.root {root}" if root is not None else "the table's folder"
            raise FileNotFoundError(
                f"{path}:{line}: peak file not found: {peak_path} (relative to {where}; see --data-dir)"
            )
        fmt = fmt.strip() or detect_format(peak_path)
        if fmt not in ("bed", "narrowPeak", "broadPeak"):
            message = f"format {fmt!r} is not one of bed, narrowPeak, broadPeak"
            raise InputError(message, file=path, line=line, field="format")
        resolved.append(str(peak_path))
        formats.append(fmt)
    table["peaks"] = resolved
    table["format"] = formats
    table.attrs.pop("lines", None)
    return table.reset_index(drop=True)


def _parse(path: Path) -> pd.DataFrame:
    """The table as str columns; ``attrs['lines']`` holds each row's 1-based line number."""
    text = decode_utf8(read_bytes(path), path)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if header is None:
            header = [field.strip() for field in fields]
            repeated = sorted({name for name in header if header.count(name) > 1})
            if repeated:
                raise InputError(f"column(s) {repeated} appear more than once in the header", file=path, line=number)
            continue
        if len(fields) != len(header):
            raise InputError(
                f"{len(fields)} tab-separated fields, but the header has {len(header)} ({', '.join(header)})",
                file=path,
                line=number,
            )
        rows.append(fields)
        lines.append(number)
    if header is None:
        raise InputError("the task table is empty (expected a header with at least 'task' and 'peaks')", file=path)
    table = pd.DataFrame(rows, columns=header, dtype=str)
    table.attrs["lines"] = lines
    return table
