"""UCSC chain files (liftOver's alignment format), read into per-chromosome numpy block arrays.

A chain file holds chains, each a header line followed by ungapped alignment blocks::

    chain score tName tSize tStrand tStart tEnd qName qSize qStrand qStart qEnd id
    size dt dq
    ...
    size

``t`` is the reference genome we lift *from* (liftOver's "old" genome), ``q`` the genome we lift
*to*. Coordinates are 0-based, half-open. When ``qStrand`` is ``-``, the query coordinates of the
chain count along the reverse-complemented query chromosome: a position ``x`` there is ``qSize - 1 - x``
on the forward strand (the UCSC chain specification). ``tStrand`` is always ``+``.

The blocks of all chains on one target chromosome are stored as numpy arrays sorted by target start
(:class:`ChainBlocks`), so points and intervals are lifted with ``np.searchsorted`` (see
:mod:`seqlab.data.liftover`).

A malformed line (wrong field count, a non-integer, a negative size, a block running past the
chain's end or the chromosome, a truncated chain) is a :class:`ChainFormatError` naming the file and
line.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.io.errors import DAMAGE_ERRORS, InputError, is_gzip

__all__ = ["CHAIN_COLUMNS", "ChainBlocks", "ChainFile", "ChainFormatError", "read_chain"]

CHAIN_COLUMNS = [
    "score",
    "t_name",
    "t_size",
    "t_strand",
    "t_start",
    "t_end",
    "q_name",
    "q_size",
    "q_strand",
    "q_start",
    "q_end",
    "id",
    "line",
]


class ChainFormatError(InputError):
    """A chain file that cannot be read; the message names the file and the line (an ``InputError``)."""


@dataclass(frozen=True)
class ChainBlocks:
    """The ungapped blocks of every chain on one target chromosome, sorted by target start.

    Attributes:
        t_start: int64 (B,) block starts on the target (reference) chromosome, ascending.
        t_end: int64 (B,) block ends (exclusive).
        q_start: int64 (B,) block starts on the query, counted on the chain's query strand
            (reverse strand for ``qStrand -`` chains, as in the file).
        chain: int64 (B,) row of the block's chain in :attr:`ChainFile.chains`.
        max_end: int64 (B,) running maximum of ``t_end`` (for overlap queries when chains overlap).
    """

    t_start: np.ndarray
    t_end: np.ndarray
    q_start: np.ndarray
    chain: np.ndarray
    max_end: np.ndarray

    def __len__(self) -> int:
        return int(self.t_start.size)


@dataclass
class ChainFile:
    """A parsed chain file.

    Attributes:
        path: the file read.
        chains: one row per chain, columns :data:`CHAIN_COLUMNS` (``line`` = header line number, 1-based).
        blocks: target chromosome name -> its :class:`ChainBlocks`.
    """

    path: Path
    chains: pd.DataFrame
    blocks: dict[str, ChainBlocks]

    @property
    def target_sizes(self) -> dict[str, int]:
        """Target (reference) chromosome -> size, as the chain headers give it."""
        first = self.chains.drop_duplicates("t_name")
        return dict(zip(first["t_name"], first["t_size"].astype(int), strict=True))

    @property
    def query_sizes(self) -> dict[str, int]:
        """Query (lifted-to) chromosome -> size, as the chain headers give it."""
        first = self.chains.drop_duplicates("q_name")
        return dict(zip(first["q_name"], first["q_size"].astype(int), strict=True))

    def __repr__(self) -> str:
        n_blocks = sum(len(b) for b in self.blocks.values())
        return f"ChainFile('{self.path}', chains={len(self.chains)}, blocks={n_blocks}, targets={len(self.blocks)})"


def _int(text: str, where: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ChainFormatError(f"{where}: {field} {text!r} is not an integer") from None


def _parse_header(words: list[str], where: str) -> list:
    """Header fields in :data:`CHAIN_COLUMNS` order (without ``line``), checked."""
    if len(words) not in (12, 13):
        raise ChainFormatError(
            f"{where}: chain header has {len(words)} fields, expected 13: "
            "chain score tName tSize tStrand tStart tEnd qName qSize qStrand qStart qEnd id"
        )
    try:
        score = float(words[1])
    except ValueError:
        raise ChainFormatError(f"{where}: chain score {words[1]!r} is not a number") from None
    t_size, t_start, t_end = (_int(words[i], where, f) for i, f in ((3, "tSize"), (5, "tStart"), (6, "tEnd")))
    q_size, q_start, q_end = (_int(words[i], where, f) for i, f in ((8, "qSize"), (10, "qStart"), (11, "qEnd")))
    chain_id = _int(words[12], where, "id") if len(words) == 13 else -1
    if words[4] != "+":
        raise ChainFormatError(f"{where}: tStrand is {words[4]!r}; the chain format requires '+'")
    if words[9] not in ("+", "-"):
        raise ChainFormatError(f"{where}: qStrand is {words[9]!r}, expected '+' or '-'")
    for side, size, start, end in (("t", t_size, t_start, t_end), ("q", q_size, q_start, q_end)):
        if not 0 <= start <= end <= size:
            raise ChainFormatError(
                f"{where}: {side}Start={start}, {side}End={end}, {side}Size={size}: expected "
                f"0 <= {side}Start <= {side}End <= {side}Size"
            )
    return [score, words[2], t_size, "+", t_start, t_end, words[7], q_size, words[9], q_start, q_end, chain_id]


def _open_text(path: Path):
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, encoding="ascii", errors="replace")


class _Reader:
    """State of a chain file being read: headers so far, blocks so far, the chain still open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.headers: list[list] = []
        self.t_start: list[int] = []
        self.q_start: list[int] = []
        self.sizes: list[int] = []
        self.owner: list[int] = []
        self.open: tuple[int, int, int] | None = None  # (header line, t position, q position) of the open chain

    def header(self, words: list[str], lineno: int) -> None:
        where = f"{self.path}:{lineno}"
        if self.open is not None:
            raise ChainFormatError(
                f"{where}: new chain before the chain of line {self.open[0]} ended "
                "(its last block line must have one field, the size)"
            )
        header = _parse_header(words, where)
        self.headers.append([*header, lineno])
        self.open = (lineno, header[4], header[9])

    def block(self, words: list[str], lineno: int) -> None:
        where = f"{self.path}:{lineno}"
        if self.open is None:
            raise ChainFormatError(f"{where}: block line outside a chain (expected a 'chain' header)")
        if len(words) not in (1, 3):
            raise ChainFormatError(f"{where}: block line has {len(words)} fields, expected 'size dt dq' or 'size'")
        size = _int(words[0], where, "block size")
        dt, dq = (_int(words[1], where, "dt"), _int(words[2], where, "dq")) if len(words) == 3 else (0, 0)
        if size <= 0 or dt < 0 or dq < 0:
            raise ChainFormatError(f"{where}: block size {size}, dt {dt}, dq {dq}: expected size > 0 and gaps >= 0")
        header_line, t_pos, q_pos = self.open
        chain = self.headers[-1]
        if t_pos + size > chain[5] or q_pos + size > chain[10]:
            raise ChainFormatError(
                f"{where}: block [{t_pos}, {t_pos + size}) on {chain[1]} / [{q_pos}, {q_pos + size}) on "
                f"{chain[6]} runs past the chain's end (tEnd {chain[5]}, qEnd {chain[10]}; header line "
                f"{header_line}, tSize {chain[2]}, qSize {chain[7]})"
            )
        self.t_start.append(t_pos)
        self.q_start.append(q_pos)
        self.sizes.append(size)
        self.owner.append(len(self.headers) - 1)
        t_pos, q_pos = t_pos + size + dt, q_pos + size + dq
        self.open = (header_line, t_pos, q_pos)
        if len(words) == 1:
            if (t_pos, q_pos) != (chain[5], chain[10]):
                raise ChainFormatError(
                    f"{where}: chain of line {header_line} ends at t={t_pos}, q={q_pos} but its header "
                    f"says tEnd={chain[5]}, qEnd={chain[10]}"
                )
            self.open = None


def read_chain(path: str | Path) -> ChainFile:
    """Read a UCSC chain file (plain or gzip/bgzip) into sorted per-chromosome block arrays.

    Args:
        path: the chain file (``.chain`` or ``.chain.gz``; gzip is detected from the content).

    Returns:
        The :class:`ChainFile`: header table and, per target chromosome, blocks sorted by target start.

    Raises:
        FileNotFoundError: no such file.
        ChainFormatError: a malformed, inconsistent or truncated chain (message: ``file:line: what``),
            or a file with no chain at all.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chain file not found: {path}")
    reader = _Reader(path)
    try:
        with _open_text(path) as handle:
            for lineno, line in enumerate(handle, start=1):
                words = line.split()
                if not words or words[0].startswith("#"):
                    continue
                if words[0] == "chain":
                    reader.header(words, lineno)
                else:
                    reader.block(words, lineno)
    except (*DAMAGE_ERRORS, UnicodeDecodeError) as err:
        raise ChainFormatError(f"{path}: cannot read the chain file ({err}); truncated or not a chain file?") from None
    if reader.open is not None:
        raise ChainFormatError(
            f"{path}: truncated: the chain of line {reader.open[0]} has no final block line (a single size)"
        )
    if not reader.headers:
        raise ChainFormatError(f"{path}: no 'chain' header line: not a chain file")
    chains = pd.DataFrame(reader.headers, columns=CHAIN_COLUMNS)
    for column in ("t_size", "t_start", "t_end", "q_size", "q_start", "q_end", "id", "line"):
        chains[column] = chains[column].astype(np.int64)
    _check_sizes(chains, path)
    blocks = _block_arrays(chains, reader.t_start, reader.q_start, reader.sizes, reader.owner)
    return ChainFile(path=path, chains=chains, blocks=blocks)


def _check_sizes(chains: pd.DataFrame, path: Path) -> None:
    """Every chain must give the same size for a chromosome."""
    for name_col, size_col in (("t_name", "t_size"), ("q_name", "q_size")):
        sizes = chains.groupby(name_col)[size_col].nunique()
        bad = sizes[sizes > 1]
        if not bad.empty:
            chrom = bad.index[0]
            rows = chains[chains[name_col] == chrom].drop_duplicates(size_col)
            lines = ", ".join(f"line {line}: {size}" for line, size in zip(rows["line"], rows[size_col], strict=True))
            raise ChainFormatError(f"{path}: chromosome {chrom!r} has different sizes in different chains ({lines})")


def _block_arrays(
    chains: pd.DataFrame, t_start: list[int], q_start: list[int], sizes: list[int], owner: list[int]
) -> dict[str, ChainBlocks]:
    t_start_arr = np.asarray(t_start, dtype=np.int64)
    q_start_arr = np.asarray(q_start, dtype=np.int64)
    size_arr = np.asarray(sizes, dtype=np.int64)
    owner_arr = np.asarray(owner, dtype=np.int64)
    target = chains["t_name"].to_numpy()[owner_arr]
    blocks: dict[str, ChainBlocks] = {}
    for chrom in pd.unique(chains["t_name"]):
        rows = np.flatnonzero(target == chrom)
        rows = rows[np.argsort(t_start_arr[rows], kind="stable")]
        ends = t_start_arr[rows] + size_arr[rows]
        blocks[str(chrom)] = ChainBlocks(
            t_start=t_start_arr[rows],
            t_end=ends,
            q_start=q_start_arr[rows],
            chain=owner_arr[rows],
            max_end=np.maximum.accumulate(ends) if ends.size else ends,
        )
    return blocks
