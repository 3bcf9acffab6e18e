"""A compact on-disk store of a table's windows: one byte per base, read whole batches at a time.

``WindowStore.open_or_build(table, root, window_length, flank)`` materialises every example of an
:class:`~seqlab.data.build.ExampleTable` once into ``root/<key>/codes.u8``, a memory-mapped uint8
array of shape ``(N, window_length + 2 * flank)`` holding the genome's ASCII bytes (case kept;
bases off a chromosome are ``N``; examples on strand ``-`` reverse-complemented), with the example
coordinates beside it (``coords.npz``) and ``meta.json``. The flank lets shift augmentation of up to
``flank`` bp read from the same row.

The key hashes the genome file(s) (resolved path, size, modification time), the coordinates
(genome, chromosome, start, end, strand of every row, in order), the in-memory sequences when the
table has them, the window length and the flank; a change to any of them gives another folder (a
rebuild), an unchanged table reuses the store. A build writes into a temporary folder that is
renamed into place, so a killed build leaves no half store behind.

Reading genomes is done chromosome by chromosome, in blocks of up to ``block_bp`` bp, and windows
are cut by vectorised fancy indexing into a sliding-window view (no per-window pyfaidx call).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.io.genome import Genome

__all__ = ["STORE_FORMAT", "WindowStore", "complement_bytes", "default_store_root", "store_key"]

STORE_FORMAT = 1
CODES_FILE = "codes.u8"
META_FILE = "meta.json"
COORDS_FILE = "coords.npz"
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
    """An opened store: ``codes`` uint8 (N, W) memory-mapped read-only, W = window_length + 2 * flank.

    Row ``i`` is example ``i`` of the table it was built from (``table.frame`` order); bases
    ``[flank, flank + window_length)`` of a row are the window itself, on the example's strand.
    """

    folder: Path
    codes: np.ndarray
    window_length: int
    flank: int
    meta: dict[str, Any]

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # a memory map would be pickled as a copy of its data: worker processes reopen the file instead
        state = self.__dict__.copy()
        state["codes"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.codes = WindowStore.open(self.folder).codes

    @property
    def nbytes(self) -> int:
        """Size of the code array on disk in bytes (N * W)."""
        return int(self.codes.size)

    def windows(self, rows: np.ndarray, shifts: np.ndarray | None = None) -> np.ndarray:
        """The windows of ``rows`` as uint8 ASCII codes (B, L), moved by ``shifts`` bp along the stored strand.

        Args:
            rows: int64 (B,) row numbers (any order; repeats allowed).
            shifts: int64 (B,) in [-flank, flank], or None for no shift.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if shifts is None or self.flank == 0:
            return np.asarray(self.codes[rows, self.flank : self.flank + self.window_length])
        block = np.asarray(self.codes[rows])
        offsets = self.flank + np.asarray(shifts, dtype=np.int64)
        index = offsets[:, None] + np.arange(self.window_length, dtype=np.int64)[None, :]
        return np.take_along_axis(block, index, axis=1)

    @classmethod
    def open(cls, folder: str | Path) -> WindowStore:
        """Open a built store folder (read-only memory map)."""
        folder = Path(folder)
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("format") != STORE_FORMAT or not meta.get("complete"):
            raise ValueError(f"{folder}: not a complete window store of format {STORE_FORMAT}")
        shape = (int(meta["n_examples"]), int(meta["row_width"]))
        codes = (
            np.memmap(folder / CODES_FILE, dtype=np.uint8, mode="r", shape=shape)
            if shape[0] * shape[1]
            else np.zeros(shape, dtype=np.uint8)
        )
        return cls(folder, codes, int(meta["window_length"]), int(meta["flank"]), meta)

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
            flank: bases stored on each side of every window, for shifts up to ``flank`` bp.
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
            _write_codes(table, tmp, window_length, flank, progress, block_bp)
            _write_coords(table, tmp)
            meta = description | {
                "key": key,
                "n_examples": len(table.frame),
                "row_width": window_length + 2 * flank,
                "build_seconds": round(time.perf_counter() - started, 3),
                "complete": True,
            }
            (tmp / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
            if folder.exists():  # damaged or of another format (a matching store returned above)
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
        log.info("window store %s: %s windows of %d bytes (%.1f MB) built in %.1f s", folder, f"{len(built):,}",
                 built.codes.shape[1], built.nbytes / 1e6, built.meta.get("build_seconds", 0.0))  # fmt: skip
        return built

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


def _write_coords(table: Any, folder: Path) -> None:
    frame = table.frame
    arrays: dict[str, np.ndarray] = {}
    for column in ("genome", "chrom", "strand"):
        codes, names = pd.factorize(frame[column].astype(str), sort=False)
        arrays[column] = codes.astype(np.int32)
        arrays[f"{column}_names"] = np.asarray(list(map(str, names)), dtype=str)
    arrays["start"] = frame["start"].to_numpy(dtype=np.int64)
    arrays["end"] = frame["end"].to_numpy(dtype=np.int64)
    with open(folder / COORDS_FILE, "wb") as handle:
        np.savez(handle, **arrays)


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is None:
        progress = total >= 100_000 and sys.stderr.isatty()
    if not progress:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("building window store"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} windows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    bar.start()
    bar.add_task("store", total=total)
    return bar


def _write_codes(
    table: Any, folder: Path, window_length: int, flank: int, progress: bool | None, block_bp: int
) -> None:
    frame = table.frame
    n, width = len(frame), window_length + 2 * flank
    path = folder / CODES_FILE
    if n == 0:
        path.write_bytes(b"")
        return
    out = np.memmap(path, dtype=np.uint8, mode="w+", shape=(n, width))
    bar = _progress_bar(n, progress)
    try:
        if table.sequences is not None:
            _fill_from_sequences(out, table.sequences, window_length, flank, bar)
        else:
            _fill_from_genomes(out, table, window_length, flank, block_bp, bar)
        out.flush()
    finally:
        if bar is not None:
            bar.stop()
        del out


def _advance(bar: Any, count: int) -> None:
    if bar is not None:
        bar.advance(bar.task_ids[0], count)


def _fill_from_sequences(out: np.ndarray, sequences: list[str], window_length: int, flank: int, bar: Any) -> None:
    """Rows from in-memory sequences (already on their strand), N on both flanks."""
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
        _advance(bar, len(chunk))


def _fill_from_genomes(out: np.ndarray, table: Any, window_length: int, flank: int, block_bp: int, bar: Any) -> None:
    """Rows from the genome FASTA files, chromosome by chromosome, block by block."""
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
    minus = (frame["strand"].astype(str) == "-").to_numpy()
    width = window_length + 2 * flank
    for (genome_name, chrom), rows in frame.groupby(["genome", "chrom"], sort=False).indices.items():
        if genome_name not in table.genomes:
            raise ValueError(f"store: examples refer to genome {genome_name!r} that the table has no FASTA for")
        genome = Genome(table.genomes[genome_name], str(genome_name))
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[np.argsort(starts[rows], kind="stable")]
        left_all = starts[rows] - flank
        first = 0
        while first < rows.size:
            # one block: rows whose windows start within block_bp of the block's first window
            last = int(np.searchsorted(left_all, left_all[first] + max(block_bp - width, 1), side="left"))
            last = max(last, first + 1)
            block_rows, left = rows[first:last], left_all[first:last]
            origin, stop = int(left[0]), int(left[-1]) + width
            text = genome.fetch(str(chrom), origin, stop, pad=True)
            bases = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
            view = np.lib.stride_tricks.sliding_window_view(bases, width)
            windows = view[left - origin]
            flip = minus[block_rows]
            if flip.any():
                windows[flip] = _COMPLEMENT[windows[flip][:, ::-1]]
            order = np.argsort(block_rows)
            out[block_rows[order]] = windows[order]
            _advance(bar, int(block_rows.size))
            first = last
        genome.close()
