"""A compact on-disk store of a table's windows: each genome base stored once, windows as offsets.

``WindowStore.open_or_build(table, root, window_length, flank)`` writes ``root/<key>/``:

* ``bases.u8``: the genome bases the windows cover, one uint8 ASCII byte per base (case kept; bases
  off a chromosome are ``N``), memory-mapped. Per chromosome, the windows widened by ``flank`` on each
  side are merged into segments (overlapping or touching windows share their bases), and the segments
  of every chromosome of every genome are concatenated: a base is stored once however many windows
  hold it (a tiling of 1-kb windows every 128 bp costs ~1.07 bytes per base instead of ~8).
* ``offsets.npy``: int64 (N,), where example ``i``'s window starts in ``bases.u8`` (its
  forward-strand first base), and ``minus.npy``: bool (N,), examples on strand ``-`` (read
  reverse-complemented).
* ``meta.json``: the key, the sizes, the build time.

A table of in-memory sequences (FASTA sets, no genome) keeps one segment per example: ``flank`` N,
the sequence (already on its strand), ``flank`` N.

A batch is read by gathering ``window_length`` contiguous bytes at each offset (one fancy index into
a sliding-window view of the memory map), moved by the shift augmentation (``offset + shift`` on
``+``, ``offset - shift`` on ``-``: the shift is along the example's strand) and reverse-complemented
where the strand and the augmentation's flip say so.

The key hashes the genome file(s) (resolved path, size, modification time), the coordinates
(genome, chromosome, start, end, strand of every row, in order), the in-memory sequences when the
table has them, the window length and the flank; a change to any of them gives another folder (a
rebuild), an unchanged table reuses the store. A build writes into a temporary folder that is
renamed into place, so a killed build leaves no half store behind.

Genomes are read chromosome by chromosome in blocks of up to ``block_bp`` bp (no per-window
pyfaidx call).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.io.genome import Genome

__all__ = ["STORE_FORMAT", "WindowStore", "complement_bytes", "default_store_root", "store_key"]

STORE_FORMAT = 2
BASES_FILE = "bases.u8"
OFFSETS_FILE = "offsets.npy"
MINUS_FILE = "minus.npy"
META_FILE = "meta.json"
_N = ord("N")
log = logging.getLogger(__name__)

# ASCII complement (IUPAC codes and case kept); anything else maps to N.
_COMPLEMENT = np.full(256, _N, dtype=np.uint8)
for _a, _b in zip(b"ACGTNacgtnRYKMrykmSWswBDHVbdhv", b"TGCANtgcanYRMKyrmkSWswVHDBvhdb", strict=True):
    _COMPLEMENT[_a] = _b


def complement_bytes(codes: np.ndarray) -> np.ndarray:
    """Complement of ASCII base codes (uint8 array of any shape; not reversed)."""
    return _COMPLEMENT[codes]


def default_store_root() -> Path:
    """Where stores go when no folder is given: ``$SEQLAB_CACHE_DIR/stores`` or ``~/.cache/seqlab/stores``."""
    base = os.environ.get("SEQLAB_CACHE_DIR")
    return Path(base) / "stores" if base else Path.home() / ".cache" / "seqlab" / "stores"


def _file_identity(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def store_key(table: Any, window_length: int, flank: int) -> tuple[str, dict[str, Any]]:
    """The hex key of the store of ``table`` and the JSON-able description it hashes.

    Args:
        table: an ExampleTable (``frame`` with genome, chrom, start, end, strand; ``genomes``;
            ``sequences`` or None).
        window_length: L, the bases of a window.
        flank: extra bases stored on each side (the largest shift augmentation can use).

    Returns:
        ``(key, description)``: key is a 40-hex-digit SHA-1 of the description and of the coordinate
        arrays; description names the genome files (path, size, mtime), L, flank and N.
    """
    frame = table.frame
    digest = hashlib.sha1()
    used = sorted(set(frame["genome"].astype(str).unique()))
    genomes = (
        {}
        if table.sequences is not None
        else {name: _file_identity(Path(table.genomes[name])) for name in used if name in table.genomes}
    )
    description = {
        "format": STORE_FORMAT,
        "window_length": int(window_length),
        "flank": int(flank),
        "n_examples": len(frame),
        "genomes": genomes,
        "in_memory_sequences": table.sequences is not None,
    }
    digest.update(json.dumps(description, sort_keys=True).encode())
    for column in ("genome", "chrom", "strand"):
        codes, names = pd.factorize(frame[column].astype(str), sort=False)
        digest.update(json.dumps(list(map(str, names))).encode())
        digest.update(np.ascontiguousarray(codes, dtype=np.int64).tobytes())
    for column in ("start", "end"):
        digest.update(np.ascontiguousarray(frame[column].to_numpy(dtype=np.int64)).tobytes())
    if table.sequences is not None:
        for sequence in table.sequences:
            digest.update(sequence.encode("ascii", errors="replace"))
            digest.update(b"\n")
    return digest.hexdigest(), description


@dataclass
class WindowStore:
    """An opened store: ``bases`` uint8 (S,) memory-mapped read-only, ``offsets`` int64 (N,), ``minus`` bool (N,).

    Example ``i`` (row ``i`` of the table it was built from, ``table.frame`` order) is
    ``bases[offsets[i] : offsets[i] + window_length]``, reverse-complemented when ``minus[i]``; at least
    ``flank`` bases of its genome (or N) lie on either side, for shifts up to ``flank`` bp.
    """

    folder: Path
    bases: np.ndarray
    offsets: np.ndarray
    minus: np.ndarray
    window_length: int
    flank: int
    meta: dict[str, Any]
    _view: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.offsets.shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # memory maps would be pickled as copies of their data: worker processes reopen the files instead
        state = self.__dict__.copy()
        state.update(bases=None, offsets=None, minus=None, _view=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        opened = WindowStore.open(self.folder)
        self.bases, self.offsets, self.minus = opened.bases, opened.offsets, opened.minus

    @property
    def nbytes(self) -> int:
        """Bytes of the store's arrays on disk: bases (S) + offsets (8 N) + strands (N)."""
        return int(self.bases.size + self.offsets.nbytes + self.minus.nbytes)

    def windows(
        self, rows: np.ndarray, shifts: np.ndarray | None = None, flips: np.ndarray | None = None
    ) -> np.ndarray:
        """The windows of ``rows`` as uint8 ASCII codes (B, L), on their strand, shifted and flipped.

        Args:
            rows: int64 (B,) row numbers (any order; repeats allowed).
            shifts: int64 (B,) in [-flank, flank]: each window moved this many bp along its strand; None: 0.
            flips: bool (B,): reverse-complement these windows (augmentation); None: none.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.window_length), dtype=np.uint8)
        if self._view is None:
            self._view = np.lib.stride_tricks.sliding_window_view(self.bases, self.window_length)
        positions = self.offsets[rows]
        minus = self.minus[rows]
        if shifts is not None:
            shifts = np.asarray(shifts, dtype=np.int64)
            positions = positions + np.where(minus, -shifts, shifts)
        out = self._view[positions]
        reverse = minus if flips is None else minus ^ np.asarray(flips, dtype=bool)
        if reverse.any():
            out[reverse] = _COMPLEMENT[out[reverse][:, ::-1]]
        return out

    @classmethod
    def open(cls, folder: str | Path) -> WindowStore:
        """Open a built store folder (read-only memory maps)."""
        folder = Path(folder)
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("format") != STORE_FORMAT or not meta.get("complete"):
            raise ValueError(f"{folder}: not a complete window store of format {STORE_FORMAT}")
        size = int(meta["n_bases"])
        bases = (
            np.memmap(folder / BASES_FILE, dtype=np.uint8, mode="r", shape=(size,))
            if size
            else np.zeros(0, dtype=np.uint8)
        )
        # plain ndarray views of the memory maps: np.memmap's own indexing costs ~20 us a call
        offsets = np.load(folder / OFFSETS_FILE, mmap_mode="r").view(np.ndarray)
        minus = np.load(folder / MINUS_FILE, mmap_mode="r").view(np.ndarray)
        if offsets.shape != (int(meta["n_examples"]),) or minus.shape != offsets.shape:
            raise ValueError(f"{folder}: offsets/strands do not match meta.json's n_examples")
        return cls(folder, bases, offsets, minus, int(meta["window_length"]), int(meta["flank"]), meta)

    @classmethod
    def open_or_build(
        cls,
        table: Any,
        root: str | Path,
        window_length: int,
        flank: int = 0,
        *,
        progress: bool | None = None,
        block_bp: int = 1 << 22,
    ) -> WindowStore:
        """The store of ``table`` under ``root``: reused when its key matches, else built (atomically).

        Args:
            table: the ExampleTable (genome-backed or with in-memory sequences).
            root: folder holding stores, one sub-folder per key.
            window_length: L; every example must span L bp (``end - start``) or hold L bases.
            flank: bases kept on each side of every window, for shifts up to ``flank`` bp.
            progress: show a rich progress bar (default: for tables of 100,000 examples or more,
                when stderr is a terminal).
            block_bp: genome bases read per fetch at most (bounds memory while building).

        Raises:
            ValueError: an example whose span or sequence length is not ``window_length``; a
                genome the table has no FASTA for.
        """
        key, description = store_key(table, window_length, flank)
        root = Path(root)
        folder = root / key[:20]
        store = cls._open_matching(folder, key)
        if store is not None:
            return store
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".tmp-{key[:20]}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            started = time.perf_counter()
            n_bases, n_segments = _write_store(table, tmp, window_length, flank, progress, block_bp)
            meta = description | {
                "key": key,
                "n_examples": len(table.frame),
                "n_bases": n_bases,
                "n_segments": n_segments,
                "build_seconds": round(time.perf_counter() - started, 3),
                "complete": True,
            }
            (tmp / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
            # another process (a DDP rank) may have finished the same store while this one built: keep and use
            # it (removing it would pull it from under that process); only a damaged or foreign one is replaced
            if folder.exists() and cls._open_matching(folder, key) is None:
                shutil.rmtree(folder, ignore_errors=True)
            try:
                os.replace(tmp, folder)
            except OSError:
                # another process finished the same store first: use it
                if cls._open_matching(folder, key) is None:
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        built = cls.open(folder)
        log.info("window store %s: %s windows over %s bases (%.1f MB) built in %.1f s", folder, f"{len(built):,}",
                 f"{built.bases.size:,}", built.nbytes / 1e6, built.meta.get("build_seconds", 0.0))  # fmt: skip
        return built

    @classmethod
    def in_memory(cls, table: Any, window_length: int, flank: int = 0, *, block_bp: int = 1 << 22) -> WindowStore:
        """A store of ``table``'s windows held in memory, nothing written (one-off reads: prediction).

        The same layout and reads as a built store (genome windows read a block at a time, no per-window
        fetch); ``folder`` is empty, so it is not for DataLoader worker processes (they reopen the folder).

        Raises:
            ValueError: as :meth:`open_or_build`.
        """
        offsets, minus, total, segments = _layout(table, window_length, flank)
        bases = np.empty(total, dtype=np.uint8)
        if total:
            _fill(bases, table, segments, window_length, flank, block_bp, None)
        meta = {"format": STORE_FORMAT, "n_examples": len(table.frame), "n_bases": total, "in_memory": True}
        return cls(Path(), bases, offsets, minus, int(window_length), int(flank), meta)

    @classmethod
    def _open_matching(cls, folder: Path, key: str) -> WindowStore | None:
        """The complete store in ``folder`` when its key is ``key``, else None."""
        if not (folder / META_FILE).is_file():
            return None
        try:
            store = cls.open(folder)
        except (ValueError, OSError, KeyError, json.JSONDecodeError):
            return None
        return store if store.meta.get("key") == key else None


# --------------------------------------------------------------------------- building


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is None:
        progress = total >= 100_000 and sys.stderr.isatty()
    if not progress:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("building window store"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bases"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    bar.start()
    bar.add_task("store", total=total)
    return bar


def _advance(bar: Any, count: int) -> None:
    if bar is not None:
        bar.advance(bar.task_ids[0], count)


@dataclass
class _Segments:
    """The merged segments of one chromosome: ``lo``, ``hi`` int64 (S,) coordinates, ``base`` (S,) store offsets."""

    genome: str
    chrom: str
    lo: np.ndarray
    hi: np.ndarray
    base: np.ndarray


def _layout(table: Any, window_length: int, flank: int) -> tuple[np.ndarray, np.ndarray, int, list[_Segments]]:
    """Offsets int64 (N,), strands bool (N,), total bases and the genome segments of a table's store."""
    n = len(table.frame)
    if table.sequences is not None:
        width = window_length + 2 * flank
        return np.arange(n, dtype=np.int64) * width + flank, np.zeros(n, dtype=bool), n * width, []
    offsets, minus, segments = _plan_segments(table, window_length, flank)
    return offsets, minus, int(sum(int((s.hi - s.lo).sum()) for s in segments)), segments


def _fill(
    out: np.ndarray, table: Any, segments: list[_Segments], window_length: int, flank: int, block_bp: int, bar: Any
) -> None:
    """Fill ``out`` uint8 (total,) with the store's bases (in-memory sequences or genome segments)."""
    if table.sequences is not None:
        _fill_from_sequences(out.reshape(len(table.frame), -1), table.sequences, window_length, flank, bar)
    else:
        _fill_from_genomes(out, table, segments, block_bp, bar)


def _write_store(
    table: Any, folder: Path, window_length: int, flank: int, progress: bool | None, block_bp: int
) -> tuple[int, int]:
    """Write bases.u8, offsets.npy and minus.npy into ``folder``; return (bases, segments) written."""
    offsets, minus, total, segments = _layout(table, window_length, flank)
    np.save(folder / OFFSETS_FILE, offsets)
    np.save(folder / MINUS_FILE, minus)
    path = folder / BASES_FILE
    if total == 0:
        path.write_bytes(b"")
        return 0, 0
    out = np.memmap(path, dtype=np.uint8, mode="w+", shape=(total,))
    bar = _progress_bar(total, progress)
    try:
        _fill(out, table, segments, window_length, flank, block_bp, bar)
        out.flush()
    finally:
        if bar is not None:
            bar.stop()
        del out
    return total, len(table.frame) if table.sequences is not None else sum(s.lo.size for s in segments)


def _fill_from_sequences(out: np.ndarray, sequences: list[str], window_length: int, flank: int, bar: Any) -> None:
    """Rows of ``out`` (N, L + 2 flank) from in-memory sequences (already on their strand), N on both flanks."""
    out[:, :flank] = _N
    out[:, flank + window_length :] = _N
    step = 65_536
    for first in range(0, len(sequences), step):
        chunk = sequences[first : first + step]
        wrong = [i for i, s in enumerate(chunk) if len(s) != window_length]
        if wrong:
            i = wrong[0]
            raise ValueError(
                f"store: example {first + i} holds {len(chunk[i])} bases, expected window_length {window_length}"
            )
        joined = np.frombuffer("".join(chunk).encode("ascii", errors="replace"), dtype=np.uint8)
        out[first : first + len(chunk), flank : flank + window_length] = joined.reshape(len(chunk), window_length)
        _advance(bar, len(chunk) * out.shape[1])


def _plan_segments(table: Any, window_length: int, flank: int) -> tuple[np.ndarray, np.ndarray, list[_Segments]]:
    """Merge every chromosome's widened windows into segments; the offsets (N,) and strands (N,) of the rows."""
    frame = table.frame
    starts = frame["start"].to_numpy(dtype=np.int64)
    ends = frame["end"].to_numpy(dtype=np.int64)
    bad = np.flatnonzero(ends - starts != window_length)
    if bad.size:
        row = int(bad[0])
        raise ValueError(
            f"store: example {row} ({frame['chrom'].iloc[row]}:{starts[row]}-{ends[row]}) spans "
            f"{ends[row] - starts[row]} bp, expected window_length {window_length}"
        )
    offsets = np.zeros(len(frame), dtype=np.int64)
    segments: list[_Segments] = []
    cursor = 0
    for (genome_name, chrom), rows in frame.groupby(["genome", "chrom"], sort=False, observed=True).indices.items():
        if genome_name not in table.genomes:
            raise ValueError(f"store: examples refer to genome {genome_name!r} that the table has no FASTA for")
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[np.argsort(starts[rows], kind="stable")]
        lo, hi = starts[rows] - flank, starts[rows] + window_length + flank
        reach = np.maximum.accumulate(hi)
        new = np.ones(rows.size, dtype=bool)
        new[1:] = lo[1:] > reach[:-1]  # a gap before this window: a new segment
        first = np.flatnonzero(new)
        seg_lo = lo[first]
        seg_hi = reach[np.append(first[1:] - 1, rows.size - 1)]
        base = cursor + np.concatenate([[0], np.cumsum(seg_hi - seg_lo)[:-1]])
        segment = np.cumsum(new) - 1
        offsets[rows] = base[segment] + (starts[rows] - seg_lo[segment])
        segments.append(_Segments(str(genome_name), str(chrom), seg_lo, seg_hi, base))
        cursor += int((seg_hi - seg_lo).sum())
    minus = (frame["strand"].astype(str) == "-").to_numpy()
    return offsets, minus, segments


def _fill_from_genomes(out: np.ndarray, table: Any, segments: list[_Segments], block_bp: int, bar: Any) -> None:
    """The segments' bases from the genome FASTA files, one fetch per block of up to ``block_bp`` bp."""
    genomes: dict[str, Genome] = {}
    try:
        for seg in segments:
            if seg.genome not in genomes:
                genomes[seg.genome] = Genome(table.genomes[seg.genome], seg.genome)
            genome = genomes[seg.genome]
            first = 0
            while first < seg.lo.size:
                # one block: the segments that end within block_bp of the first one's start
                last = max(int(np.searchsorted(seg.hi, seg.lo[first] + block_bp, side="right")), first + 1)
                at = int(seg.base[first])
                for left, right in _block_ranges(seg, first, last, block_bp):
                    text = genome.fetch(seg.chrom, left, right, pad=True)
                    bases = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
                    if last > first + 1:  # several segments: keep their bases, drop the gaps between them
                        marks = np.zeros(bases.size + 1, dtype=np.int8)
                        marks[seg.lo[first:last] - left] = 1
                        marks[seg.hi[first:last] - left] = -1
                        bases = bases[np.cumsum(marks[:-1], dtype=np.int8) > 0]
                    out[at : at + bases.size] = bases
                    at += bases.size
                    _advance(bar, int(bases.size))
                first = last
    finally:
        for genome in genomes.values():
            genome.close()


def _block_ranges(seg: _Segments, first: int, last: int, block_bp: int) -> list[tuple[int, int]]:
    """Genome ranges to fetch for segments ``first:last``: their whole span, or one long segment in blocks."""
    lo, hi = int(seg.lo[first]), int(seg.hi[last - 1])
    if last > first + 1:
        return [(lo, hi)]
    return [(left, min(left + block_bp, hi)) for left in range(lo, hi, block_bp)]
