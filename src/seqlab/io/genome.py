"""Random access to a reference genome over pyfaidx, with chromosome aliasing.

A :class:`Genome` never loads sequence into memory: every :meth:`Genome.fetch` reads the requested
range from the (plain or bgzip-compressed, indexed) FASTA. The pyfaidx handle is opened lazily and
reopened in every process (DataLoader workers), so a ``Genome`` can be pickled or forked freely.

Coordinates are 0-based and half-open. Soft-masked (lowercase) bases are returned as they are.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyfaidx

__all__ = ["Genome", "canonical_chrom"]

_MITO = {"M": "MT", "MT": "MT"}


def canonical_chrom(name: str) -> str:
    """Alias key of a chromosome name: ``chr1``/``1`` -> ``1``, ``chrM``/``MT``/``M`` -> ``MT``, ``chrX`` -> ``X``.

    Two names refer to the same chromosome when their keys are equal. Only a leading ``chr``
    (any case) is stripped, so contigs such as ``chrUn_gl000220`` keep their identity.
    """
    stripped = name[3:] if name[:3].lower() == "chr" and len(name) > 3 else name
    return _MITO.get(stripped.upper(), stripped)


class Genome:
    """A genome FASTA (plain, or bgzip with ``.fai``/``.gzi``) read on demand through pyfaidx.

    Args:
        path: FASTA file. A missing ``.fai`` is built by pyfaidx (the folder must be writable).
        name: genome name recorded on every example (e.g. ``hg19``).
    """

    def __init__(self, path: str | Path, name: str = "genome") -> None:
        self.path = Path(path)
        self.name = name
        if not self.path.is_file():
            raise FileNotFoundError(f"genome FASTA not found: {self.path}")
        self._fasta: pyfaidx.Fasta | None = None
        self._pid: int | None = None
        self._sizes = {key: len(record) for key, record in self._handle().faidx.index.items()}
        self._aliases: dict[str, str] = {}
        for chrom in self._sizes:
            self._aliases.setdefault(canonical_chrom(chrom), chrom)

    # ------------------------------------------------------------------ handle management

    def _handle(self) -> pyfaidx.Fasta:
        """The pyfaidx handle of this process, opened on first use (and again after a fork)."""
        if self._fasta is None or self._pid != os.getpid():
            index = Path(f"{self.path}.fai")
            if index.is_file() and index.stat().st_mtime < self.path.stat().st_mtime:
                # A warning, not an error: copies can reorder modification times of a valid index.
                warnings.warn(
                    f"the index {index} is older than the genome FASTA {self.path}: if the FASTA changed, "
                    "chromosome sizes are wrong; delete the .fai (and .gzi) so they are rebuilt",
                    stacklevel=2,
                )
            try:
                self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=False, rebuild=False)
            except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat) as err:
                raise ValueError(f"cannot index genome FASTA {self.path}: {err}") from None
            self._pid = os.getpid()
        return self._fasta

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fasta"] = None
        state["_pid"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def close(self) -> None:
        """Close the file handle (it reopens on the next fetch)."""
        if self._fasta is not None and self._pid == os.getpid():
            self._fasta.close()
        self._fasta = None
        self._pid = None

    def __repr__(self) -> str:
        return f"Genome(name={self.name!r}, path='{self.path}', chromosomes={len(self._sizes)})"

    # ------------------------------------------------------------------ names and sizes

    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name -> length in bp, in FASTA order (a copy)."""
        return dict(self._sizes)

    def __contains__(self, chrom: object) -> bool:
        return isinstance(chrom, str) and (chrom in self._sizes or canonical_chrom(chrom) in self._aliases)

    def resolve(self, chrom: str) -> str:
        """The genome's own name of ``chrom`` (``1`` -> ``chr1``, ``MT`` -> ``chrM`` or the reverse).

        Raises:
            KeyError: the genome has no such chromosome; the message lists what it has.
        """
        if chrom in self._sizes:
            return chrom
        alias = self._aliases.get(canonical_chrom(chrom))
        if alias is None:
            names = list(self._sizes)
            shown = ", ".join(names[:25]) + (f", ... ({len(names)} in all)" if len(names) > 25 else "")
            raise KeyError(f"chromosome {chrom!r} not in genome {self.name!r} ({self.path}); it has: {shown}")
        return alias

    def resolve_many(self, chroms: Sequence[str]) -> dict[str, str | None]:
        """Map each distinct name of ``chroms`` to the genome's name, or None when it is absent."""
        out: dict[str, str | None] = {}
        for chrom in dict.fromkeys(chroms):
            out[chrom] = self.resolve(chrom) if chrom in self else None
        return out

    # ------------------------------------------------------------------ sequence access

    def fetch(self, chrom: str, start: int, end: int, pad: bool = False) -> str:
        """Sequence of ``chrom[start:end]`` (0-based, half-open), case kept.

        Args:
            chrom: chromosome name (aliases such as ``1``/``chr1`` accepted).
            start: first position, 0-based.
            end: one past the last position.
            pad: positions before 0 or past the chromosome end are returned as ``N``; without it
                such a range is a ``ValueError``.
        """
        name = self.resolve(chrom)
        size = self._sizes[name]
        start, end = int(start), int(end)
        if end < start:
            raise ValueError(f"fetch {chrom}:{start}-{end}: end < start")
        if start >= 0 and end <= size:
            return self._read(name, start, end)
        if not pad:
            raise ValueError(
                f"fetch {chrom}:{start}-{end} runs off chromosome {name} (length {size}); use pad=True for N"
            )
        left, right = max(start, 0), min(end, size)
        inner = self._read(name, left, right) if right > left else ""
        head = min(left, end) - start
        return "N" * head + inner + "N" * (end - start - head - len(inner))

    def _read(self, name: str, start: int, end: int) -> str:
        if end == start:
            return ""
        return self._handle().get_seq(name, start + 1, end)

    def fetch_many(
        self,
        chroms: Sequence[str],
        starts: Sequence[int] | np.ndarray,
        ends: Sequence[int] | np.ndarray,
        pad: bool = False,
    ) -> list[str]:
        """Fetch many ranges; reads happen in (chrom, start) order for locality, output is in input order."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        chrom_arr = np.asarray(chroms, dtype=object)
        order = np.lexsort((starts, chrom_arr.astype(str)))
        out: list[str] = [""] * len(order)
        for i in order.tolist():
            out[i] = self.fetch(chrom_arr[i], starts[i], ends[i], pad=pad)
        return out
