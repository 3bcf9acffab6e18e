"""Quantitative signal tracks: bigWig (through pyBigWig) and bedGraph (plain or gzip), read per chromosome.

A track is held one chromosome at a time as :class:`TrackIntervals`: sorted, non-overlapping
``[start, end)`` runs with a value each (the bigWig/bedGraph model), never as a dense array. Bases
outside every run have **no value** ("not covered"); bigWig files from bedGraphs that skip zeros leave
zero-signal bases uncovered, so a consumer decides what uncovered means (see ``seqlab.data.sources.tracks``:
0 inside a window with some coverage, a window with none is dropped).

* bigWig: the header gives chromosome names and lengths (pyBigWig); a chromosome's runs are read on request
  straight from the file's data blocks (:func:`seqlab.io.bigwig.read_bigwig_runs`, the runs
  ``pyBigWig.intervals`` gives, without a Python tuple per run), 20 bytes a run while held.
* bedGraph: 4 tab-separated columns ``chrom start end value``; leading ``track``/``browser``/``#``
  lines are skipped. The file is read once, in chunks, into per-chromosome runs (bedGraph has no index);
  a chromosome's length is taken as its last run's end.

Bad input is an :class:`~seqlab.io.errors.InputError` naming the file and the line (bedGraph) or the
``chrom:start-end`` (bigWig): a malformed line, unsorted or overlapping runs, NaN values, negative values
unless allowed, chromosome names none of which match the genome (``chr1``/``1`` aliases as
:class:`~seqlab.io.genome.Genome` resolves them), a chromosome longer than the genome's (another build)
or shorter than a window.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from seqlab.atomic import atomic_open
from seqlab.io.bigwig import read_bigwig_runs
from seqlab.io.errors import DAMAGE_ERRORS, InputError, damaged, is_gzip

__all__ = ["Track", "TrackIntervals", "track_format", "write_track"]

TrackFormat = Literal["bigwig", "bedgraph"]
_BIGWIG_MAGIC = (0x888FFC26).to_bytes(4, "little")
_CHUNK_ROWS = 1 << 20


@dataclass
class TrackIntervals:
    """The signal of one chromosome: runs ``[starts[k], ends[k])`` of value ``values[k]``.

    Attributes:
        starts: int64 (K,) sorted run starts.
        ends: int64 (K,) run ends, ``ends[k] <= starts[k + 1]`` (no overlap).
        values: float32 (K,) run values.
    """

    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray
    _cumulative: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.starts.size)

    @classmethod
    def empty(cls) -> TrackIntervals:
        """No run at all (a chromosome without data)."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))

    def _cumsums(self) -> tuple[np.ndarray, np.ndarray]:
        """float64 (K+1,) signal mass and int64 (K+1,) covered bases before each run."""
        if self._cumulative is None:
            width = self.ends - self.starts
            mass = np.concatenate([[0.0], np.cumsum(width * self.values.astype(np.float64))])
            covered = np.concatenate([[0], np.cumsum(width)])
            self._cumulative = (mass, covered)
        return self._cumulative

    def drop_cache(self) -> None:
        """Free the cumulative sums :meth:`before` keeps (2 x 8 bytes a run)."""
        self._cumulative = None

    def before(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signal mass and covered bases in ``[0, x)`` for every ``x`` of ``positions``.

        Args:
            positions: int64 array of any shape.

        Returns:
            ``(mass float64, covered int64)`` of the shape of ``positions``.
        """
        mass, covered = self._cumsums()
        x = np.asarray(positions, dtype=np.int64)
        if self.starts.size == 0:
            return np.zeros(x.shape), np.zeros(x.shape, np.int64)
        j = np.searchsorted(self.ends, x, side="right")  # runs ending at or before x
        inside = np.minimum(j, self.starts.size - 1)
        part = np.where(j < self.starts.size, np.clip(x - self.starts[inside], 0, None), 0)
        return mass[j] + part * self.values[inside].astype(np.float64), covered[j] + part

    def bin_sums(self, starts: np.ndarray, n_bins: int, bin_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Signal sum and covered bases of ``n_bins`` consecutive bins of ``bin_size`` bp from each start.

        Args:
            starts: int64 (N,) first base of each span.
            n_bins: bins per span B.
            bin_size: bp per bin.

        Returns:
            ``(sums float64 (N, B), covered int64 (N, B))``.
        """
        edges = np.asarray(starts, np.int64)[:, None] + bin_size * np.arange(n_bins + 1, dtype=np.int64)
        mass, covered = self.before(edges)
        return np.diff(mass, axis=1), np.diff(covered, axis=1)

    def dense(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Base-resolution values of spans ``[s, s + length)``; NaN where no run covers a base.

        Args:
            starts: int64 (N,) span starts.
            length: bp per span L.

        Returns:
            float32 (N, L).
        """
        x = np.asarray(starts, np.int64)[:, None] + np.arange(length, dtype=np.int64)
        out = np.full(x.shape, np.nan, np.float32)
        if self.starts.size:
            j = np.searchsorted(self.ends, x, side="right")
            inside = np.minimum(j, self.starts.size - 1)
            hit = (j < self.starts.size) & (self.starts[inside] <= x)
            out[hit] = self.values[inside[hit]]
        return out


def track_format(path: str | Path) -> TrackFormat:
    """``bigwig`` or ``bedgraph``: from the bigWig magic number, else the name (``.bw``, ``.bigWig``...)."""
    path = Path(path)
    with open(path, "rb") as handle:
        if handle.read(4) == _BIGWIG_MAGIC:
            return "bigwig"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".bw", ".bigwig")):
        raise InputError("named as a bigWig but it lacks the bigWig magic number (damaged or not a bigWig)", file=path)
    return "bedgraph"


class Track:
    """A bigWig or bedGraph track, read one chromosome at a time.

    Args:
        path: the file (format from its content, see :func:`track_format`).
        allow_negative: accept negative values (else the first one is an ``InputError``). NaN values
            are always refused.
    """

    def __init__(self, path: str | Path, *, allow_negative: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"track not found: {self.path}")
        self.format = track_format(self.path)
        self.allow_negative = allow_negative
        self._bedgraph: dict[str, TrackIntervals] | None = None
        self._sizes: dict[str, int] | None = None

    def __repr__(self) -> str:
        return f"Track({str(self.path)!r}, format={self.format!r})"

    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name (the track's own) -> length: the bigWig header's, a bedGraph's last run end."""
        if self._sizes is None:
            if self.format == "bigwig":
                with _open_bigwig(self.path) as bw:
                    self._sizes = {str(k): int(v) for k, v in bw.chroms().items()}
            else:
                runs = self._read_bedgraph()
                self._sizes = {c: int(r.ends[-1]) if len(r) else 0 for c, r in runs.items()}
        return dict(self._sizes)

    def intervals(self, chrom: str) -> TrackIntervals:
        """The runs of ``chrom`` (the track's name of it; empty when the track has no data there).

        Raises:
            InputError: a NaN value, or a negative one without ``allow_negative`` (naming ``chrom:start-end``).
        """
        if self.format == "bedgraph":
            return self._read_bedgraph().get(chrom, TrackIntervals.empty())
        runs = read_bigwig_runs(self.path, chrom)
        if runs is None or not runs[0].size:
            return TrackIntervals.empty()
        out = TrackIntervals(*runs)
        bad = np.isnan(out.values) | (~self.allow_negative & (out.values < 0))
        if bad.any():
            k = int(bad.argmax())
            raise InputError(
                f"{chrom}:{out.starts[k]}-{out.ends[k]}: value {out.values[k]} ({_refusal(self.allow_negative)})",
                file=self.path,
            )
        return out

    def match_genome(self, chrom_sizes: Mapping[str, int], resolve: Mapping[str, str | None], window: int) -> dict:
        """Genome chromosome -> the track's name of it, checked against the genome.

        Args:
            chrom_sizes: the genome's chromosome lengths.
            resolve: the track's chromosome names -> the genome's name or None (``Genome.resolve_many``).
            window: the longest span a consumer reads (bp).

        Raises:
            InputError: no track chromosome is in the genome; a chromosome longer than the genome's
                (another build) or shorter than ``window``.
        """
        sizes = self.chrom_sizes
        matched = {genome: track for track, genome in resolve.items() if genome is not None}
        if not matched:
            raise InputError(
                f"none of the track's chromosome names ({', '.join(list(sizes)[:8])}) is in the genome "
                f"({', '.join(list(chrom_sizes)[:8])}); wrong genome build or naming?",
                file=self.path,
            )
        for genome_chrom, track_chrom in matched.items():
            size, expected = sizes[track_chrom], chrom_sizes[genome_chrom]
            if size > expected:
                raise InputError(
                    f"chromosome {track_chrom} is {size:,} bp in the track but {expected:,} bp in the genome "
                    "(another genome build?)",
                    file=self.path,
                )
            if self.format == "bigwig" and size < window:
                raise InputError(
                    f"chromosome {track_chrom} is {size:,} bp, shorter than a {window}-bp window", file=self.path
                )
        return matched

    def _read_bedgraph(self) -> dict[str, TrackIntervals]:
        if self._bedgraph is None:
            self._bedgraph = _read_bedgraph(self.path, self.allow_negative)
        return self._bedgraph


def _refusal(allow_negative: bool) -> str:
    return "NaN is not a signal value" if allow_negative else "NaN or negative values are refused"


class _open_bigwig:
    """``with _open_bigwig(path) as bw``: a pyBigWig handle, closed after."""

    def __init__(self, path: Path) -> None:
        import pyBigWig

        try:
            self.handle = pyBigWig.open(str(path))
        except RuntimeError as err:
            raise InputError(f"not a readable bigWig ({err})", file=path) from err
        if self.handle is None or not self.handle.isBigWig():
            raise InputError("not a readable bigWig", file=path)

    def __enter__(self):  # noqa: ANN204 - pyBigWig has no type stubs
        return self.handle

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _header_lines(path: Path) -> int:
    """Leading ``track``/``browser``/``#``/blank lines of a bedGraph."""
    opener = gzip.open if is_gzip(path) else open
    count = 0
    with opener(path, "rt", errors="replace") as handle:
        for line in handle:
            if line.strip() and not line.startswith(("track", "browser", "#")):
                break
            count += 1
    return count


def _read_bedgraph(path: Path, allow_negative: bool) -> dict[str, TrackIntervals]:
    """Every chromosome's runs of a bedGraph, read in chunks of rows; checked line by line."""
    skip = _header_lines(path)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    last_end: dict[str, int] = {}
    first_line = skip + 1
    try:
        reader = pd.read_csv(
            path, sep="\t", header=None, skiprows=skip, chunksize=_CHUNK_ROWS, dtype={0: str},
            quoting=csv.QUOTE_NONE, na_filter=True, keep_default_na=False, na_values=["nan", "NaN", "NA"],
        )  # fmt: skip
        for chunk in reader:
            _check_chunk(chunk, path, first_line, allow_negative, parts, last_end)
            first_line += len(chunk)
    except pd.errors.ParserError as err:
        raise InputError(f"not a 4-column tab-separated bedGraph ({err})", file=path) from err
    except pd.errors.EmptyDataError as err:
        raise InputError("the bedGraph has no data lines", file=path) from err
    except DAMAGE_ERRORS as err:
        raise damaged(path, err) from err
    return {
        chrom: TrackIntervals(*(np.concatenate([p[i] for p in pieces]) for i in range(3)))
        for chrom, pieces in parts.items()
    }


def _check_chunk(
    chunk: pd.DataFrame,
    path: Path,
    first_line: int,
    allow_negative: bool,
    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]],
    last_end: dict[str, int],
) -> None:
    """Validate rows of a bedGraph chunk (line numbers from ``first_line``) and append them per chromosome."""
    if chunk.shape[1] != 4:
        raise InputError(
            f"{chunk.shape[1]} columns; a bedGraph line is chrom, start, end, value", file=path, line=first_line
        )
    lines = first_line + np.arange(len(chunk))
    coords = [pd.to_numeric(chunk[i], errors="coerce").to_numpy(np.float64) for i in (1, 2)]
    values = pd.to_numeric(chunk[3], errors="coerce").to_numpy(np.float64)
    checks = [
        (
            np.isnan(coords[0]) | np.isnan(coords[1]) | (coords[0] % 1 != 0) | (coords[1] % 1 != 0),
            "start/end",
            "not integers",
        ),
        ((coords[0] < 0) | (coords[1] <= coords[0]), "end", "needs 0 <= start < end"),
        (np.isnan(values), "value", _refusal(allow_negative)),
        (~np.isnan(values) & (values < 0) & (not allow_negative), "value", _refusal(allow_negative)),
    ]
    for bad, name, what in checks:
        if bad.any():
            k = int(bad.argmax())
            raise InputError(
                f"{what} (line: {'  '.join(map(str, chunk.iloc[k].tolist()))})",
                file=path,
                line=int(lines[k]),
                field=name,
            )
    starts, ends = coords[0].astype(np.int64), coords[1].astype(np.int64)
    chroms = chunk[0].astype(str).to_numpy()
    for chrom in pd.unique(chroms):
        rows = np.flatnonzero(chroms == chrom)
        s, e = starts[rows], ends[rows]
        previous = np.concatenate([[last_end.get(chrom, 0)], e[:-1]])
        bad = s < previous
        if bad.any():
            k = rows[int(bad.argmax())]
            raise InputError(
                f"{chrom}:{starts[k]}-{ends[k]} starts before the previous run of {chrom} ends "
                "(a bedGraph must be sorted by start within a chromosome, runs not overlapping)",
                file=path,
                line=int(lines[k]),
            )
        last_end[chrom] = int(e[-1])
        parts.setdefault(str(chrom), []).append((s, e, values[rows].astype(np.float32)))


def write_track(path: str | Path, chrom_sizes: Mapping[str, int], runs: Iterable[tuple[str, TrackIntervals]]) -> Path:
    """Write per-chromosome runs as a bigWig (``.bw``/``.bigWig``) or a bedGraph (else; gzip with ``.gz``).

    Args:
        path: output file; its name picks the format.
        chrom_sizes: chromosome lengths in output order (the bigWig header); ``runs`` must follow it.
        runs: ``(chrom, TrackIntervals)`` in ``chrom_sizes`` order.

    Returns:
        ``path``.
    """
    path = Path(path)
    name = path.name.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith((".bw", ".bigwig")):
        import pyBigWig

        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # renamed over path when complete
        bw = pyBigWig.open(str(staging), "w")
        if bw is None:
            raise OSError(f"{path}: cannot be opened for writing")
        try:
            try:
                bw.addHeader([(c, int(s)) for c, s in chrom_sizes.items()])
                for chrom, part in runs:
                    if len(part):
                        bw.addEntries(
                            [chrom] * len(part),
                            part.starts.tolist(),
                            ends=part.ends.tolist(),
                            values=part.values.astype(float).tolist(),
                        )
            finally:
                bw.close()
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)
        return path
    with atomic_open(path, "wb") as raw:  # renamed over path when complete
        handle = gzip.open(raw, "wt") if name.endswith(".gz") else io.TextIOWrapper(raw)
        for chrom, part in runs:
            frame = pd.DataFrame({"chrom": chrom, "start": part.starts, "end": part.ends, "value": part.values})
            frame.to_csv(handle, sep="\t", header=False, index=False, float_format="%.6g")
        handle.close()
    return path
