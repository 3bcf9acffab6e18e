"""Metadata rows of experiments to predict (imputation): ``--metadata`` strings and metadata tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

__all__ = ["parse_metadata", "read_metadata_table"]


def parse_metadata(specs: Sequence[str]) -> list[dict[str, str]]:
    """Metadata rows from ``COLUMN=VALUE[,COLUMN=VALUE...]`` strings (one experiment each).

    A comma followed by text without '=' continues the previous value (a multi-valued categorical cell):
    ``target=CTCF,biosample=GM12878,K562`` -> ``{"target": "CTCF", "biosample": "GM12878,K562"}``.
    ``task=NAME`` names the output column.

    Raises:
        ValueError: an item without '=' at the start, an empty column name, or a repeated column.
    """
    rows = []
    for spec in specs:
        row: dict[str, str] = {}
        last: str | None = None
        for item in spec.split(","):
            if "=" not in item:
                if last is None:
                    raise ValueError(f"--metadata {spec!r}: {item!r} is not COLUMN=VALUE")
                row[last] = f"{row[last]},{item.strip()}"
                continue
            column, _, value = item.partition("=")
            column = column.strip()
            if not column or column in row:
                raise ValueError(f"--metadata {spec!r}: column {column!r} is empty or given twice")
            row[column], last = value.strip(), column
        rows.append(row)
    return rows


def read_metadata_table(path: str | Path) -> list[dict[str, str]]:
    """Metadata rows of a TSV with a header (a task table without peak files: ``peaks`` is optional).

    Raises:
        FileNotFoundError: no such file. ValueError: no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metadata table not found: {path}")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise ValueError(f"{path}: the metadata table has no rows")
    return frame.to_dict("records")
