"""Sequence sets: FASTA files of ready-made windows whose names carry genome coordinates.

Record names of the form ``chrom:start-end`` or ``chrom:start-end(+)`` (0-based, half-open, as
written by ``bedtools getfasta``) are parsed into coordinates so that chromosome splits and
duplicate checks work on sets that come without a genome.

Every malformed file is an :class:`~seqlab.io.errors.InputError` naming the file and line (a
damaged gzip file a :class:`~seqlab.io.errors.DamagedFileError`). In a sequence set, names used
for two different sequences are a counted warning (``frame.attrs["names_with_different_sequences"]``);
the same name and sequence twice is silent. Deduplication keeps one window of each name later.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.io.errors import InputError, decode_utf8, read_bytes

__all__ = ["parse_window_names", "read_fasta", "read_sequence_set"]

# chr:start-end, optionally (strand), optionally after a "name::" prefix (bedtools getfasta -name).
# Chromosome names may hold single colons (GRCh38 HLA contigs); "::" is read as the bedtools separator.
# A chromosome name holds none of | < > , ; = or whitespace, so that names such as
# "chr1:12289969:G>A|chr1:12289904-12290104" (a variant id and its window) are not read as coordinates.
_NAME_PATTERN = r"^(?:.*::)?(?P<chrom>[^|<>,;=\s]+):(?P<start>\d+)-(?P<end>\d+)(?:\((?P<strand>[+.-])\))?$"
_VALID = np.zeros(256, dtype=bool)
_VALID[np.frombuffer(b"ACGTNRYKMSWBDHVacgtnrykmswbdhv", dtype=np.uint8)] = True


def _open_text(path: Path) -> str:
    return decode_utf8(read_bytes(path), path)


def read_fasta(path: str | Path) -> tuple[list[str], list[str]]:
    """Read a FASTA file (plain or gzip) into record names and sequences.

    The name is the first word of the header. Sequence lines are joined; case is kept.

    Args:
        path: the FASTA file.

    Returns:
        ``(names, sequences)``, two lists of str in file order.

    Raises:
        ValueError: ``path:LINE: ...`` for sequence before the first header, an empty header, a
            record without sequence, or characters that are not IUPAC nucleotide codes; or a file
            without records.
    """
    path = Path(path)
    names: list[str] = []
    sequences: list[str] = []
    header_lines: list[int] = []
    chunks: list[str] | None = None
    for number, raw in enumerate(_open_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] == ";":
            continue
        if line[0] == ">":
            if chunks is not None:
                if not chunks:
                    raise InputError(f"record {names[-1]!r} has no sequence", file=path, line=header_lines[-1])
                sequences.append("".join(chunks))
            words = line[1:].split(maxsplit=1)
            if not words:
                raise InputError("empty FASTA header", file=path, line=number)
            names.append(words[0])
            header_lines.append(number)
            chunks = []
        elif chunks is None:
            raise InputError("sequence before the first '>' header", file=path, line=number)
        else:
            chunks.append(line)
    if chunks is None:
        raise InputError("no FASTA records", file=path)
    if not chunks:
        raise InputError(f"record {names[-1]!r} has no sequence", file=path, line=header_lines[-1])
    sequences.append("".join(chunks))
    _check_alphabet(path, names, sequences, header_lines)
    return names, sequences


def _check_alphabet(path: Path, names: list[str], sequences: list[str], header_lines: list[int]) -> None:
    """Raise for the first record holding a character that is not an IUPAC nucleotide code."""
    text = "".join(sequences)
    joined = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    bad = np.flatnonzero((joined > 255) | ~_VALID[np.minimum(joined, 255)])
    if bad.size:
        ends = np.cumsum([len(s) for s in sequences])
        record = int(np.searchsorted(ends, bad[0], side="right"))
        char = text[bad[0]]
        raise InputError(
            f"record {names[record]!r} holds {char!r}, not a nucleotide code", file=path, line=header_lines[record]
        )


def _check_duplicate_names(path: Path, names: list[str], sequences: list[str]) -> int:
    """Warn when record names are reused for different sequences (case-insensitive); return how many."""
    seen: dict[str, int] = {}
    clashes: list[tuple[int, int]] = []
    for record, name in enumerate(names):
        first = seen.setdefault(name, record)
        if first != record and sequences[first].upper() != sequences[record].upper():
            clashes.append((first, record))
    if clashes:
        first, record = clashes[0]
        warnings.warn(
            f"{path}: {len(clashes)} records repeat an earlier record's name with a different sequence (first: "
            f"record {record + 1} {names[record]!r}, like record {first + 1}); deduplication keeps one of them",
            stacklevel=3,
        )
    return len(clashes)


def parse_window_names(names: Sequence[str]) -> pd.DataFrame:
    """Parse ``chrom:start-end`` / ``chrom:start-end(+)`` names (vectorised).

    Returns:
        DataFrame with one row per name: ``chrom`` (str, "" when unparsed), ``start``, ``end``
        (int64, -1 when unparsed), ``strand`` (str, ``+`` unless the name says ``(-)``) and
        ``parsed`` (bool).
    """
    parts = pd.Series(list(names), dtype=str).str.extract(_NAME_PATTERN)
    parsed = parts["chrom"].notna().to_numpy()
    strand = parts["strand"].fillna("+").replace(".", "+")
    return pd.DataFrame(
        {
            "chrom": parts["chrom"].fillna("").astype(str),
            "start": pd.to_numeric(parts["start"]).fillna(-1).astype(np.int64),
            "end": pd.to_numeric(parts["end"]).fillna(-1).astype(np.int64),
            "strand": strand.astype(str),
            "parsed": parsed,
        }
    )


def read_sequence_set(path: str | Path, require_coordinates: bool = True) -> pd.DataFrame:
    """Read a FASTA of windows with coordinates in the record names.

    Args:
        path: FASTA (plain or gzip) with names like ``chr1:1000-1200``.
        require_coordinates: when False, records whose names do not parse load with ``chrom=""``
            and ``start=end=-1`` instead of raising.

    Returns:
        DataFrame in file order: ``name``, ``chrom``, ``start``, ``end`` (int64), ``strand``,
        ``sequence`` (str, case kept).

    Raises:
        ValueError: malformed FASTA (see :func:`read_fasta`); a name that does not parse (when
            coordinates are required); a name whose span differs from its sequence length.
    """
    path = Path(path)
    names, sequences = read_fasta(path)
    coords = parse_window_names(names)
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    parsed = coords["parsed"].to_numpy()
    if require_coordinates and not parsed.all():
        record = int(np.argmin(parsed))
        raise InputError(
            f"record {record + 1} ({names[record]!r}) has no coordinates; expected a name like "
            "'chr1:1000-1200' or 'chr1:1000-1200(+)' (0-based, half-open)",
            file=path,
        )
    span = (coords["end"] - coords["start"]).to_numpy()
    bad = parsed & (span != lengths)
    if bad.any():
        record = int(np.argmax(bad))
        raise InputError(
            f"record {record + 1} ({names[record]!r}) spans {span[record]} bp but its sequence has "
            f"{lengths[record]} bp; names must be 0-based half-open coordinates of the sequence",
            file=path,
        )
    clashes = _check_duplicate_names(path, names, sequences)
    frame = coords.drop(columns="parsed")
    frame.insert(0, "name", pd.Series(names, dtype=str))
    frame["sequence"] = pd.Series(sequences, dtype=str)
    frame.attrs["names_with_different_sequences"] = clashes
    return frame
