"""Metadata encoders: the columns of a task table (one row per experiment) turned into numbers.

Three kinds of column, each fitted on the training experiments and serialisable as plain JSON
(``to_dict`` / ``from_dict``), so that a saved model encodes a new metadata row by itself:

* ``categorical``: a cell holds one or more comma-separated values (``"K562, HepG2"``); the
  vocabulary is the sorted set of values seen in training and a cell becomes a multi-hot vector
  (1 at each of its values). A value outside the vocabulary is a :class:`MetadataError`, unless the
  encoder was built with ``unknown="zero"``: then the value contributes nothing (an all-zero part of
  the vector, the documented unknown token). An empty cell is all zeros.
* ``numeric``: a float, z-scored with the training mean and standard deviation (sd 0 -> 1).
* ``date``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``. ``date_mode="year"``: one-hot over the years
  seen in training (an unseen year follows the ``unknown`` rule); ``date_mode="numeric"``: the
  fractional year (year + (day of year - 1) / 365), z-scored like a numeric column.

A :class:`MetadataEncoder` holds one encoder per column, in a fixed order; ``encode(records)``
gives float32 (E, D) with the columns' parts side by side (``slices`` says where each part lies).
A missing column, or a value that does not parse, is a :class:`MetadataError` naming the row and
column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["ColumnEncoder", "MetadataEncoder", "MetadataError", "parse_date", "split_values"]

Kind = Literal["categorical", "numeric", "date"]
KINDS: tuple[str, ...] = ("categorical", "numeric", "date")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


class MetadataError(ValueError):
    """A metadata cell or column that cannot be encoded; the message names the row and column."""


def split_values(cell: Any) -> list[str]:
    """The stripped, non-empty comma-separated values of a categorical cell (None/NaN -> [])."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    return [value.strip() for value in str(cell).split(",") if value.strip()]


def parse_date(cell: Any) -> tuple[int, float]:
    """(year, fractional year) of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; ValueError otherwise.

    The fractional year is year + (day of year - 1) / 365 with 30.5-day months (exact enough to order
    release dates; a missing month or day counts as the first).
    """
    match = _DATE.match(str(cell).strip())
    if not match:
        raise ValueError(f"date {cell!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year = int(match.group(1))
    month = int(match.group(2) or 1)
    day = int(match.group(3) or 1)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"date {cell!r} has month {month} / day {day} out of range")
    return year, year + ((month - 1) * 30.5 + day - 1) / 365.0


@dataclass
class ColumnEncoder:
    """The encoder of one metadata column (see the module docstring for the kinds).

    Attributes:
        column: column name in the task table.
        kind: 'categorical', 'numeric' or 'date'.
        date_mode: for dates, 'year' (one-hot) or 'numeric' (z-scored fractional year).
        unknown: 'error' (a value outside the vocabulary is an error) or 'zero' (it encodes as zeros).
        vocabulary: categorical values or years (as strings), sorted; empty for numeric columns.
        mean, sd: z-score of numeric columns and numeric dates.
    """

    column: str
    kind: Kind
    date_mode: Literal["year", "numeric"] = "year"
    unknown: Literal["error", "zero"] = "error"
    vocabulary: list[str] = field(default_factory=list)
    mean: float = 0.0
    sd: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MetadataError(f"column {self.column!r}: kind {self.kind!r} is not one of {list(KINDS)}")
        if self.date_mode not in ("year", "numeric") or self.unknown not in ("error", "zero"):
            raise MetadataError(f"column {self.column!r}: date_mode {self.date_mode!r} / unknown {self.unknown!r}")

    @property
    def one_hot(self) -> bool:
        """Whether the column encodes as a multi-hot vector over ``vocabulary``."""
        return self.kind == "categorical" or (self.kind == "date" and self.date_mode == "year")

    @property
    def width(self) -> int:
        """Number of encoded dimensions: the vocabulary size, or 1 for numbers."""
        return len(self.vocabulary) if self.one_hot else 1

    def _tokens(self, cell: Any, row: int) -> list[str]:
        if self.kind == "categorical":
            return split_values(cell)
        if cell is None or str(cell).strip() == "":
            return []
        try:
            return [str(parse_date(cell)[0])]
        except ValueError as error:
            raise MetadataError(f"row {row}, column {self.column!r}: {error}") from None

    def _number(self, cell: Any, row: int) -> float:
        try:
            value = parse_date(cell)[1] if self.kind == "date" else float(cell)
        except (TypeError, ValueError):
            raise MetadataError(f"row {row}, column {self.column!r}: {cell!r} is not a number or date") from None
        if not math.isfinite(value):
            raise MetadataError(f"row {row}, column {self.column!r}: {cell!r} is not finite")
        return value

    def fit(self, cells: Sequence[Any]) -> ColumnEncoder:
        """Learn the vocabulary (sorted) or mean/sd from the training cells; return self."""
        if self.one_hot:
            self.vocabulary = sorted({token for row, cell in enumerate(cells) for token in self._tokens(cell, row)})
            if not self.vocabulary:
                raise MetadataError(f"column {self.column!r}: no value in any training row")
        else:
            values = np.array([self._number(cell, row) for row, cell in enumerate(cells)], dtype=np.float64)
            self.mean = float(values.mean())
            sd = float(values.std())
            self.sd = sd if sd > 0 else 1.0
        return self

    def encode(self, cells: Sequence[Any]) -> np.ndarray:
        """Encode cells (one per experiment) as float32 (E, width).

        Raises:
            MetadataError: a value outside the vocabulary (with ``unknown='error'``), or a value that
                does not parse; the message names the row (0-based) and the column.
        """
        out = np.zeros((len(cells), self.width), dtype=np.float32)
        if not self.one_hot:
            for row, cell in enumerate(cells):
                out[row, 0] = (self._number(cell, row) - self.mean) / self.sd
            return out
        position = {token: i for i, token in enumerate(self.vocabulary)}
        for row, cell in enumerate(cells):
            for token in self._tokens(cell, row):
                if token in position:
                    out[row, position[token]] = 1.0
                elif self.unknown == "error":
                    raise MetadataError(
                        f"row {row}, column {self.column!r}: value {token!r} was never seen in training "
                        f"(known: {self.vocabulary}); set unknown: zero to encode it as zeros"
                    )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (str, float, list of str)."""
        return {
            "column": self.column,
            "kind": self.kind,
            "date_mode": self.date_mode,
            "unknown": self.unknown,
            "vocabulary": list(self.vocabulary),
            "mean": float(self.mean),
            "sd": float(self.sd),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnEncoder:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "vocabulary": [str(v) for v in data.get("vocabulary", [])]})


class MetadataEncoder:
    """Encoders of several columns, side by side: records -> float32 (E, D).

    Args:
        columns: column name -> kind ('categorical', 'numeric', 'date'), or -> a dict with ``kind``
            and optionally ``date_mode`` and ``unknown``; the order is kept.
        unknown: default for columns that do not set it ('error' or 'zero').
    """

    def __init__(
        self, columns: Mapping[str, str | Mapping[str, Any]] | Sequence[ColumnEncoder], unknown: str = "error"
    ) -> None:
        if isinstance(columns, Mapping):
            encoders = []
            for name, spec in columns.items():
                spec = {"kind": spec} if isinstance(spec, str) else dict(spec)
                encoders.append(ColumnEncoder(column=str(name), **{"unknown": unknown, **spec}))
            columns = encoders
        self.columns: list[ColumnEncoder] = list(columns)
        if not self.columns:
            raise MetadataError("a metadata encoder needs at least one column")

    @property
    def names(self) -> list[str]:
        """Column names in encoding order."""
        return [encoder.column for encoder in self.columns]

    @property
    def width(self) -> int:
        """Total encoded dimensions D."""
        return sum(encoder.width for encoder in self.columns)

    @property
    def slices(self) -> dict[str, slice]:
        """Column name -> its part of the encoded vector."""
        out, start = {}, 0
        for encoder in self.columns:
            out[encoder.column] = slice(start, start + encoder.width)
            start += encoder.width
        return out

    def feature_names(self) -> list[str]:
        """One name per encoded dimension: ``column=value`` for one-hot parts, ``column`` for numbers."""
        names = []
        for encoder in self.columns:
            if encoder.one_hot:
                names.extend(f"{encoder.column}={value}" for value in encoder.vocabulary)
            else:
                names.append(encoder.column)
        return names

    def _cells(self, records: Sequence[Mapping[str, Any]], column: str) -> list[Any]:
        cells = []
        for row, record in enumerate(records):
            if column not in record:
                raise MetadataError(f"row {row}: no metadata column {column!r} (the row has {sorted(record)})")
            cells.append(record[column])
        return cells

    def fit(self, records: Sequence[Mapping[str, Any]]) -> MetadataEncoder:
        """Fit every column on the training records (one dict per experiment); return self."""
        if not records:
            raise MetadataError("no metadata records to fit the encoders on")
        for encoder in self.columns:
            encoder.fit(self._cells(records, encoder.column))
        return self

    def encode(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode records (one dict per experiment; extra keys ignored) as float32 (E, D)."""
        parts = [encoder.encode(self._cells(records, encoder.column)) for encoder in self.columns]
        return np.concatenate(parts, axis=1) if records else np.zeros((0, self.width), dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: {"columns": [ColumnEncoder.to_dict(), ...]}."""
        return {"columns": [encoder.to_dict() for encoder in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetadataEncoder:
        """Inverse of :meth:`to_dict`."""
        return cls([ColumnEncoder.from_dict(column) for column in data["columns"]])
