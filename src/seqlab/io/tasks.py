"""Task tables: one row per prediction task, naming its peak file and describing the experiment.

A task table is a tab-separated file with a header. Required columns: ``task`` (unique name) and
``peaks`` (BED / narrowPeak / broadPeak path, relative to the table's folder or absolute). Optional:
``format`` (``bed``, ``narrowPeak`` or ``broadPeak``; default from the file name) and any metadata
columns (``target``, ``biosample``, ``assay``, ``lab``, ``date``...), which are kept as strings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqlab.io.intervals import detect_format

__all__ = ["read_task_table"]

REQUIRED = ("task", "peaks")


def read_task_table(path: str | Path, root: str | Path | None = None) -> pd.DataFrame:
    """Read and validate a task table.

    Args:
        path: the TSV file.
        root: folder that relative peak paths resolve against (default: the table's folder).

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
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: task table lacks column(s) {missing}; it has {list(table.columns)} "
            "(expected a tab-separated header with at least 'task' and 'peaks')"
        )
    if table.empty:
        raise ValueError(f"{path}: task table has no rows")
    table["task"] = table["task"].str.strip()
    lines = pd.RangeIndex(2, len(table) + 2)  # line 1 is the header
    empty = table["task"] == ""
    if empty.any():
        raise ValueError(f"{path}:{lines[empty.to_numpy().argmax()]}: empty task name")
    repeated = table["task"].duplicated()
    if repeated.any():
        row = int(repeated.to_numpy().argmax())
        raise ValueError(f"{path}:{lines[row]}: task name {table['task'].iloc[row]!r} is repeated")
    if "format" not in table.columns:
        table["format"] = ""
    resolved, formats = [], []
    for line, peaks, fmt in zip(lines, table["peaks"], table["format"], strict=True):
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
            raise ValueError(f"{path}:{line}: format {fmt!r} is not one of bed, narrowPeak, broadPeak")
        resolved.append(str(peak_path))
        formats.append(fmt)
    table["peaks"] = resolved
    table["format"] = formats
    return table.reset_index(drop=True)
