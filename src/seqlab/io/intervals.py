"""Interval files: BED (BED3, BED6+), ENCODE narrowPeak and broadPeak, plain or gzip.

Parsing is vectorised: the file is read once, header lines (``track``, ``browser``, ``#``) and blank
lines are located with numpy, the data lines go through ``pandas.read_csv`` as strings, and typed
columns are validated as whole arrays. A malformed line is an :class:`~seqlab.io.errors.InputError`
(a ``ValueError``) of the form ``path:LINE: field: what was expected``, the line number being that of
the first bad line in the file. Coordinates must be written as plain integers (``1e6`` and ``1000.0``
are errors, as are values of more than 18 digits); a carriage return inside a line, bytes that are
not UTF-8 and a damaged gzip file are errors too. A ``.bed`` file whose lines have the 10 columns of
narrowPeak, with numbers in columns 7-10, is read as narrowPeak (with a warning). A file without
data lines gives an empty frame and a warning.

Returned frames have columns ``chrom`` (str), ``start``, ``end`` (int64, 0-based half-open),
``name`` (str), ``score`` (float64, NaN for ``.``), ``strand`` (``+``, ``-`` or ``.``), then
per format: narrowPeak adds ``signal_value``, ``p_value``, ``q_value`` (float64) and ``summit``
(int64 offset from ``start``, -1 = none); broadPeak adds the three float columns; BED columns 7-12
keep their spec names as strings.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from seqlab.atomic import atomic_open
from seqlab.io.errors import InputError, decode_utf8, read_bytes

__all__ = ["IntervalFormat", "detect_format", "read_intervals", "write_bed"]

log = logging.getLogger(__name__)

IntervalFormat = Literal["bed", "narrowPeak", "broadPeak"]

_BED_EXTRA = ["thick_start", "thick_end", "item_rgb", "block_count", "block_sizes", "block_starts"]
_PEAK_FLOATS = ["signal_value", "p_value", "q_value"]
_BASE = ["chrom", "start", "end", "name", "score", "strand"]
_MIN_FIELDS = {"bed": 3, "narrowPeak": 10, "broadPeak": 9}


def detect_format(path: str | Path) -> IntervalFormat:
    """Format from the file name: ``*.narrowPeak[.gz]``, ``*.broadPeak[.gz]``, anything else BED."""
    name = Path(path).name.lower().removesuffix(".gz").removesuffix(".bgz")
    if name.endswith(".narrowpeak"):
        return "narrowPeak"
    if name.endswith(".broadpeak"):
        return "broadPeak"
    return "bed"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes (decompressed, without a byte-order mark), CRLF line ends made LF; UTF-8 and stray
    carriage returns checked.
    """
    data = read_bytes(path).removeprefix(b"\xef\xbb\xbf")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
        if b"\r" in data:
            line = data.count(b"\n", 0, data.index(b"\r")) + 1
            raise InputError("carriage return inside the line (mixed line endings?)", file=path, line=line)
    if not data.isascii():
        decode_utf8(data, path)
    return data


def _columns(fmt: IntervalFormat, n_fields: int) -> list[str]:
    if fmt == "narrowPeak":
        return [*_BASE, *_PEAK_FLOATS, "summit"]
    if fmt == "broadPeak":
        return [*_BASE, *_PEAK_FLOATS]
    extra = _BED_EXTRA + [f"column_{i}" for i in range(13, n_fields + 1)]
    return [*_BASE, *extra][: max(n_fields, 3)]


def _empty(fmt: IntervalFormat) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "chrom": pd.Series([], dtype=str),
            "start": pd.Series([], dtype=np.int64),
            "end": pd.Series([], dtype=np.int64),
            "name": pd.Series([], dtype=str),
            "score": pd.Series([], dtype=np.float64),
            "strand": pd.Series([], dtype=str),
        }
    )
    if fmt != "bed":
        for column in _PEAK_FLOATS:
            frame[column] = pd.Series([], dtype=np.float64)
    if fmt == "narrowPeak":
        frame["summit"] = pd.Series([], dtype=np.int64)
    return frame


class _Checker:
    """Raise ``path:line: message`` for the first row where a vectorised check fails."""

    def __init__(self, path: Path, line_numbers: np.ndarray) -> None:
        self.path = path
        self.lines = line_numbers

    def check(self, bad: np.ndarray, message: str, values: pd.Series | None = None, field: str | None = None) -> None:
        if bad.any():
            row = int(np.argmax(bad))
            shown = message.format(value=values.iloc[row]) if values is not None else message
            raise InputError(shown, file=self.path, line=int(self.lines[row]), field=field)

    def integers(self, raw: pd.Series, column: str) -> np.ndarray:
        text = raw.astype(str)
        bad = ~text.str.fullmatch(r"-?[0-9]+").to_numpy(dtype=bool)
        self.check(bad, f"{column} {{value!r}} is not an integer (write coordinates as digits)", raw, column)
        long = (text.str.len() > 18).to_numpy()
        self.check(long, f"{column} {{value!r}} is too large (more than 18 digits)", raw, column)
        return text.astype(np.int64).to_numpy()

    def floats(self, raw: pd.Series, column: str, dot_is_nan: bool = False) -> np.ndarray:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & ~(raw.isin(["nan", "NaN"]).to_numpy())
        if dot_is_nan:
            bad &= (raw != ".").to_numpy()
        self.check(bad, f"{column} {{value!r}} is not a number" + (" or '.'" if dot_is_nan else ""), raw, column)
        return values


def _data_lines(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start/end byte offsets of every line and a mask of the data lines (not header, not blank)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    ends = newlines if (buf.size == 0 or buf[-1] == ord("\n")) else np.append(newlines, buf.size)
    starts = np.concatenate([[0], newlines + 1])[: ends.size]
    nonblank = ends > starts
    first = np.where(nonblank, buf[np.minimum(starts, max(buf.size - 1, 0))], 0) if buf.size else starts
    header = first == ord("#")
    maybe = np.flatnonzero(nonblank & ((first == ord("t")) | (first == ord("b"))))
    if maybe.size:
        window = np.minimum(starts[maybe, None] + np.arange(8), buf.size - 1)
        heads = np.where(window < ends[maybe, None], buf[window], 0)
        for word in (b"track", b"browser"):
            code = np.frombuffer(word, dtype=np.uint8)
            size = code.size
            follow = heads[:, size] if size < heads.shape[1] else np.zeros(len(maybe), dtype=np.uint8)
            is_word = (heads[:, :size] == code).all(axis=1) & np.isin(follow, [0, ord(" "), ord("\t")])
            header[maybe[is_word]] = True
    return starts, ends, nonblank & ~header


def read_intervals(path: str | Path, fmt: IntervalFormat | None = None) -> pd.DataFrame:
    """Read a BED, narrowPeak or broadPeak file (plain or gzip) into a typed DataFrame.

    Args:
        path: the file; ``track``/``browser``/``#`` lines and blank lines are skipped.
        fmt: 'bed', 'narrowPeak' or 'broadPeak' (default: from the file name, see :func:`detect_format`).

    Returns:
        DataFrame with the columns described in the module docstring, one row per data line, in
        file order. ``frame.attrs`` holds ``path`` and ``format``.

    Raises:
        ValueError: ``path:LINE: ...`` for the first line with too few columns, a non-integer or
            negative coordinate, ``end < start``, a bad strand, score or summit.
    """
    path = Path(path)
    given = fmt
    fmt = fmt or detect_format(path)
    if fmt not in _MIN_FIELDS:
        raise ValueError(f"unknown interval format {fmt!r}; expected one of {sorted(_MIN_FIELDS)}")
    data = _read_bytes(path)
    starts, ends, keep = _data_lines(data)
    line_numbers = np.flatnonzero(keep) + 1
    if line_numbers.size == 0:
        log.warning("%s: no intervals (the file has no data lines)", path)
        frame = _empty(fmt)
        frame.attrs.update(path=str(path), format=fmt)
        return frame

    buf = np.frombuffer(data, dtype=np.uint8)
    tabs = np.flatnonzero(buf == ord("\t"))
    fields = (np.searchsorted(tabs, ends[keep]) - np.searchsorted(tabs, starts[keep])) + 1
    checker = _Checker(path, line_numbers)
    if given is None and fmt == "bed" and (fields == 10).all() and _looks_like_narrowpeak(data, starts, ends, keep):
        log.warning("%s: the lines have the 10 columns of narrowPeak; read as narrowPeak (summits used)", path)
        fmt = "narrowPeak"
    need = _MIN_FIELDS[fmt]
    bad = fields < need if fmt == "bed" else fields != need
    found = int(fields[np.argmax(bad)])
    expected = (
        "at least 3 tab-separated columns (chrom, start, end)"
        if fmt == "bed"
        else (f"{need} tab-separated columns ({fmt})")
    )
    checker.check(bad, f"expected {expected}, found {found}")
    if fmt == "bed":
        # BED lines must agree on their columns: a short line would otherwise read as empty fields
        first = int(fields[0]) if fields.size else 0
        checker.check(fields != first, f"this line's column count differs from the first data line's ({first})")

    if not keep.all():
        # byte mask of the data lines (each line with its newline), then one copy of those bytes
        data = buf[np.repeat(keep, ends - starts + 1)[: buf.size]].tobytes()
    n_fields = int(fields.max())
    raw = pd.read_csv(
        io.BytesIO(data),
        sep="\t",
        header=None,
        names=list(range(n_fields)),
        dtype=str,
        na_filter=False,
        quoting=csv.QUOTE_NONE,
        skip_blank_lines=False,
        engine="c",
    )
    names = _columns(fmt, n_fields)
    raw.columns = names + [f"column_{i}" for i in range(len(names) + 1, n_fields + 1)]
    return _typed(raw, fmt, checker, path)


def _looks_like_narrowpeak(data: bytes, starts: np.ndarray, ends: np.ndarray, keep: np.ndarray) -> bool:
    """True when the first data line's columns 7-9 are numbers and column 10 an integer (narrowPeak)."""
    first = int(np.flatnonzero(keep)[0])
    fields = data[starts[first] : ends[first]].decode("utf-8", errors="replace").split("\t")
    try:
        [float(v) for v in fields[6:9]]
        return int(fields[9]) >= -1
    except ValueError:
        return False


def _typed(raw: pd.DataFrame, fmt: IntervalFormat, checker: _Checker, path: Path) -> pd.DataFrame:
    n = len(raw)
    chrom = raw["chrom"].astype(str)
    checker.check((chrom == "").to_numpy(), "empty chromosome name", field="chrom")
    start = checker.integers(raw["start"], "start")
    end = checker.integers(raw["end"], "end")
    checker.check(start < 0, "start ({value}) is negative", raw["start"], "start")
    bad = end < start
    if bad.any():
        row = int(np.argmax(bad))
        checker.check(bad, f"end ({end[row]}) < start ({start[row]})", field="end")
    frame = pd.DataFrame({"chrom": chrom, "start": start, "end": end})
    frame["name"] = raw["name"].astype(str) if "name" in raw else pd.Series(["."] * n, dtype=str)
    frame["score"] = checker.floats(raw["score"], "score", dot_is_nan=True) if "score" in raw else np.full(n, np.nan)
    if "strand" in raw:
        strand = raw["strand"].astype(str)
        bad = ~strand.isin(["+", "-", "."]).to_numpy()
        checker.check(bad, "strand {value!r} is not '+', '-' or '.'", strand, "strand")
        frame["strand"] = strand
    else:
        frame["strand"] = pd.Series(["."] * n, dtype=str)
    if fmt in ("narrowPeak", "broadPeak"):
        for column in _PEAK_FLOATS:
            frame[column] = checker.floats(raw[column], column)
    if fmt == "narrowPeak":
        summit = checker.integers(raw["summit"], "summit (column 10)")
        # a summit equal to the peak length occurs in ENCODE files (peak end); beyond it is an error
        bad = (summit < -1) | (summit > end - start)
        if bad.any():
            row = int(np.argmax(bad))
            message = f"summit ({summit[row]}) outside the peak of length {end[row] - start[row]}; -1 means none"
            checker.check(bad, message, field="summit")
        frame["summit"] = summit
    for column in raw.columns:
        if column not in frame.columns:
            frame[column] = raw[column].astype(str)
    frame.attrs.update(path=str(path), format=fmt)
    return frame


def write_bed(frame: pd.DataFrame, path: str | Path, fmt: IntervalFormat | None = None) -> Path:
    """Write intervals atomically as BED / narrowPeak / broadPeak (gzip when ``path`` ends in ``.gz``).

    Args:
        frame: at least ``chrom``, ``start``, ``end``; ``name``, ``score`` (NaN written as ``.``),
            ``strand`` and the format's extra columns are used when present.
        path: output file.
        fmt: output format (default: narrowPeak if there is a ``summit`` column, broadPeak if there
            is ``signal_value``, else BED3 or BED6 depending on ``name``/``score``/``strand``).

    Returns:
        The written path.
    """
    path = Path(path)
    columns = list(frame.columns)
    if fmt is None:
        fmt = "narrowPeak" if "summit" in columns else "broadPeak" if "signal_value" in columns else "bed"
    missing = [c for c in ("chrom", "start", "end") if c not in columns]
    if missing:
        raise ValueError(f"write_bed: frame lacks column(s) {missing}")
    if fmt == "bed":
        wanted = ["chrom", "start", "end"]
        if any(c in columns for c in ("name", "score", "strand")):
            wanted = [*_BASE] + [c for c in _BED_EXTRA if c in columns]
    else:
        wanted = _columns(fmt, _MIN_FIELDS[fmt])
    out = pd.DataFrame(index=frame.index)
    defaults = {"name": ".", "score": np.nan, "strand": ".", "summit": -1}
    for column in wanted:
        out[column] = frame[column] if column in columns else defaults.get(column, ".")
    score = pd.to_numeric(out["score"], errors="coerce") if "score" in out else None
    if score is not None and np.all(np.isnan(score) | (score == np.floor(score))):
        out["score"] = score.astype("Int64")
    text = out.to_csv(sep="\t", header=False, index=False, na_rep=".", lineterminator="\n")
    payload = text.encode()
    with atomic_open(path, "wb") as handle:
        if path.suffix in (".gz", ".bgz"):
            with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as zipped:
                zipped.write(payload)
        else:
            handle.write(payload)
    return path
