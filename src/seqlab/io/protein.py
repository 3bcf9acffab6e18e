"""Protein sequence files and STRING interaction files.

Sequences come from a protein FASTA or a sequence dictionary (``id<TAB>sequence``, no header, as
shipped with SHS27k/SHS148k); both may be gzip-compressed (detected from the content, not the file
name). Every sequence is upper-cased and checked against the residue alphabet: the 20 standard
amino acids plus ``X``. The ``unknown`` policy decides what happens to any other letter (``U``
selenocysteine, ``O`` pyrrolysine, the ambiguity codes ``B``, ``Z``, ``J``, or anything else):

* ``"map_to_x"`` (default): it becomes ``X`` (the number mapped is logged as a warning);
* ``"reject"``: :class:`~seqlab.io.errors.InputError` naming the file, the line, the record id and the residue.

Characters that are not letters (digits, ``-`` gaps, ``.``) are always an error: they mean the file
is an alignment or not a sequence file. A single trailing ``*`` (stop) is removed. Empty sequences,
duplicate ids and records without an id are errors naming the file and line.

STRING files (``protein.links``, ``protein.links.detailed``, ``protein.links.full``: space-separated
with a ``protein1 protein2 ... combined_score`` header; ``protein.actions``: tab-separated with an
``item_id_a item_id_b mode action is_directional a_is_acting score`` header) are recognised from
their header and read into one table: ``protein1, protein2, combined_score`` (+ ``mode`` for
actions files). A row with more or fewer fields than the header, or a score that is not an integer
in 0-1000, is an error naming the file and line. Rows are kept as they are (both orders, several
modes per pair); the corpus builder (``seqlab.protein.corpus``) makes unordered pairs.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from seqlab.io.errors import InputError, decode_utf8, iter_lines, read_bytes

__all__ = [
    "ALPHABET",
    "STANDARD_RESIDUES",
    "UnknownPolicy",
    "clean_sequence",
    "read_protein_fasta",
    "read_sequence_dict",
    "read_sequences",
    "read_string_links",
    "read_string_table",
]

log = logging.getLogger(__name__)

STANDARD_RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
"""The 20 standard amino acids."""
ALPHABET = STANDARD_RESIDUES + "X"
"""Letters kept as they are: the 20 standard amino acids and ``X`` (unknown)."""

UnknownPolicy = Literal["map_to_x", "reject"]

_ALLOWED = frozenset(ALPHABET)


def _first_line(path: Path) -> str:
    """The first non-empty line of a file (empty string when there is none)."""
    for _, line in iter_lines(path):
        if line.strip():
            return line
    return ""


def clean_sequence(
    raw: str,
    *,
    unknown: UnknownPolicy = "map_to_x",
    source: str = "<sequence>",
    line: int | None = None,
    seq_id: str | None = None,
) -> tuple[str, int]:
    """Upper-case and validate one sequence; return ``(sequence, number of residues mapped to X)``.

    Args:
        raw: residues; whitespace is removed, a single trailing ``*`` (stop) is dropped.
        unknown: policy for letters outside ``ALPHABET`` (see the module docstring).
        source: file (or other origin) of the sequence, for error messages.
        line: line number in ``source``, for error messages.
        seq_id: record id, for error messages.

    Raises:
        ValueError: the sequence is empty, holds a non-letter, or (``unknown="reject"``) a letter
            outside ``ALPHABET``; the message names the source, line, id and residue.
    """
    if unknown not in ("map_to_x", "reject"):
        raise ValueError(f"unknown residue policy {unknown!r}; use 'map_to_x' or 'reject'")
    where = f"{source}" + (f", line {line}" if line is not None else "") + (f", id {seq_id!r}" if seq_id else "")
    seq = "".join(raw.split()).upper()
    if seq.endswith("*"):
        seq = seq[:-1]
    if not seq:
        raise InputError.located(f"{where}: empty sequence", file=source, line=line)
    if _ALLOWED.issuperset(seq):
        return seq, 0
    out = []
    mapped = 0
    for pos, residue in enumerate(seq, start=1):
        if residue in _ALLOWED:
            out.append(residue)
        elif residue.isalpha() and residue.isascii() and unknown == "map_to_x":
            out.append("X")
            mapped += 1
        else:
            kind = "non-standard residue" if residue.isalpha() else "character that is not a residue"
            hint = " (use unknown='map_to_x' to map it to X)" if residue.isalpha() else ""
            raise InputError.located(f"{where}: {kind} {residue!r} at position {pos}{hint}", file=source, line=line)
    return "".join(out), mapped


def _warn_mapped(path: Path, mapped: int, records: int) -> None:
    if mapped:
        log.warning("%s: %d non-standard residues in %d sequences mapped to X", path, mapped, records)


def read_protein_fasta(path: str | Path, unknown: UnknownPolicy = "map_to_x") -> dict[str, str]:
    """Read a protein FASTA (plain or gzip) into ``{id: sequence}`` in file order.

    The id is the header up to the first whitespace. Sequence lines may be wrapped at any width.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a residue problem (see :func:`clean_sequence`), an empty sequence, a header
            without an id, a duplicate id, or sequence lines before the first header; the message
            names the file and line.
    """
    path = Path(path)
    records: dict[str, str] = {}
    mapped_total = 0
    seq_id: str | None = None
    header_line = 0
    chunks: list[str] = []

    def finish() -> None:
        nonlocal mapped_total
        if seq_id is None:
            return
        if not chunks:
            raise InputError.located(f"{path}, line {header_line}, id {seq_id!r}: empty sequence", file=path)
        seq, mapped = clean_sequence(
            "".join(chunks), unknown=unknown, source=str(path), line=header_line, seq_id=seq_id
        )
        records[seq_id] = seq
        mapped_total += mapped

    for number, text in iter_lines(path):
        text = text.strip()
        if not text:
            continue
        if text.startswith(">"):
            finish()
            fields = text[1:].split()
            if not fields:
                raise InputError.located(f"{path}, line {number}: FASTA header without an id", file=path, line=number)
            seq_id, header_line, chunks = fields[0], number, []
            if seq_id in records:
                raise InputError.located(f"{path}, line {number}: duplicate id {seq_id!r}", file=path, line=number)
        elif seq_id is None:
            message = f"{path}, line {number}: sequence before the first '>' header (not a FASTA file?)"
            raise InputError.located(message, file=path, line=number)
        else:
            # Validate line by line so that errors name the line of the bad residue.
            clean_sequence(text, unknown=unknown, source=str(path), line=number, seq_id=seq_id)
            chunks.append(text)
    finish()
    _warn_mapped(path, mapped_total, len(records))
    return records


def read_sequence_dict(path: str | Path, unknown: UnknownPolicy = "map_to_x") -> dict[str, str]:
    """Read a sequence dictionary TSV (``id<TAB>sequence`` per line, no header; plain or gzip).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a line without exactly two tab-separated fields, an empty id or sequence, a
            duplicate id, or a residue problem; the message names the file and line.
    """
    path = Path(path)
    records: dict[str, str] = {}
    mapped_total = 0
    for number, text in iter_lines(path):
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) != 2:
            message = f"{path}, line {number}: expected 'id<TAB>sequence' (2 fields), found {len(fields)} field(s)"
            raise InputError.located(message, file=path, line=number)
        seq_id = fields[0].strip()
        if not seq_id:
            raise InputError.located(f"{path}, line {number}: empty id", file=path, line=number)
        if seq_id in records:
            raise InputError.located(f"{path}, line {number}: duplicate id {seq_id!r}", file=path, line=number)
        seq, mapped = clean_sequence(fields[1], unknown=unknown, source=str(path), line=number, seq_id=seq_id)
        records[seq_id] = seq
        mapped_total += mapped
    _warn_mapped(path, mapped_total, len(records))
    return records


def read_sequences(path: str | Path, unknown: UnknownPolicy = "map_to_x") -> dict[str, str]:
    """Read a FASTA or a sequence dictionary, chosen from the content (first line starts with ``>``)."""
    path = Path(path)
    if _first_line(path).startswith(">"):
        return read_protein_fasta(path, unknown=unknown)
    return read_sequence_dict(path, unknown=unknown)


_LINKS_COLUMNS = ("protein1", "protein2", "combined_score")
_ACTIONS_COLUMNS = ("item_id_a", "item_id_b", "mode", "score")


def read_string_links(path: str | Path) -> pd.DataFrame:
    """Read a STRING links, links.detailed/full or actions file (plain or gzip), recognised from its header.

    Returns:
        DataFrame with columns ``protein1`` (str), ``protein2`` (str), ``combined_score`` (int64,
        0-1000), plus ``mode`` (str) for actions files; one row per file row.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError: the header is neither format, a row has more or fewer fields than the header,
            lacks an id, or has a score that is not an integer in 0-1000 (the message names the
            file and line); a damaged gzip file.
    """
    path = Path(path)
    data = read_bytes(path)
    if not data.isascii():
        decode_utf8(data, path)  # names the line of a byte that is not UTF-8
    stripped = data.lstrip()
    header = stripped[: stripped.find(b"\n") if b"\n" in stripped else len(stripped)].decode("utf-8").rstrip("\r")
    names = header.split()
    if all(c in names for c in _ACTIONS_COLUMNS):
        sep, wanted, columns = "\t", list(_ACTIONS_COLUMNS), [*_LINKS_COLUMNS, "mode"]
        names = header.split("\t")
    elif all(c in names for c in _LINKS_COLUMNS):
        sep, wanted, columns = r"\s+", list(_LINKS_COLUMNS), list(_LINKS_COLUMNS)
    else:
        raise InputError(
            f"unrecognised STRING header {header[:120]!r}; expected 'protein1 protein2 ... combined_score'"
            " (protein.links, links.detailed) or 'item_id_a item_id_b mode ... score' (protein.actions)",
            file=path,
            line=1,
        )
    _check_field_counts(path, data, sep, len(names))
    frame = pd.read_csv(
        io.BytesIO(data), sep=sep, usecols=wanted, dtype=str, keep_default_na=False, na_values=[""], engine="c"
    )
    frame = frame.rename(columns={"item_id_a": "protein1", "item_id_b": "protein2", "score": "combined_score"})
    frame = frame[columns]
    missing = frame[["protein1", "protein2"]].isna().any(axis=1)
    if missing.any():
        line = int(missing.to_numpy().argmax()) + 2
        raise InputError.located(f"{path}, line {line}: missing protein id", file=path, line=line)
    raw = frame["combined_score"]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        line = int(bad.argmax()) + 2
        message = f"{path}, line {line}: score {raw.iloc[line - 2]!r} is not an integer"
        raise InputError.located(message, file=path, line=line, field="combined_score")
    scores = pd.Series(values.astype(np.int64))
    bad = ((scores < 0) | (scores > 1000)).to_numpy()
    if bad.any():
        line = int(bad.argmax()) + 2
        message = f"{path}, line {line}: score {int(scores.iloc[line - 2])} is outside STRING's range 0-1000"
        raise InputError.located(message, file=path, line=line, field="combined_score")
    frame["combined_score"] = scores
    return frame.reset_index(drop=True)


def _check_field_counts(path: Path, data: bytes, sep: str, expected: int) -> None:
    """Raise for the first non-blank line whose field count differs from the header's.

    Separators are counted per line with numpy; only lines whose count differs (or that hold runs
    of whitespace) are split in Python, so a file of millions of rows is checked in well under a second.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    ends = newlines if (buf.size == 0 or buf[-1] == ord("\n")) else np.append(newlines, buf.size)
    starts = np.concatenate([[0], newlines + 1])[: ends.size]
    is_sep = buf == ord("\t") if sep == "\t" else (buf == ord(" ")) | (buf == ord("\t"))
    cumulative = np.concatenate([[0], np.cumsum(is_sep)])
    separators = cumulative[ends] - cumulative[starts]
    suspects = np.flatnonzero((separators != expected - 1) & (ends > starts))
    for row in suspects.tolist():
        line = data[starts[row] : ends[row]].decode("utf-8").rstrip("\r")
        if not line.strip():
            continue
        found = len(line.split("\t")) if sep == "\t" else len(line.split())
        if found != expected:
            message = f"{path}, line {row + 1}: {found} fields, but the header has {expected}"
            raise InputError.located(message, file=path, line=row + 1)


def read_string_table(path: str | Path, required: Sequence[str], what: str = "tab-separated table") -> pd.DataFrame:
    """A tab-separated table with a header, every field read as text (no quoting, no NA guessing).

    Used for the protein wing's tables (pair corpora, TCR and localisation tables). A row with more or
    fewer fields than the header, an unparseable file or a missing ``required`` column is an
    :class:`~seqlab.io.errors.InputError` naming the file (and the line).

    Raises:
        FileNotFoundError: ``path`` is not a file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    data = read_bytes(path)
    text = decode_utf8(data, path)
    header = text.split("\n", 1)[0].rstrip("\r")
    _check_field_counts(path, text.encode("utf-8"), "\t", header.count("\t") + 1)
    try:
        frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"not a {what}: {' '.join(str(err).split())}", file=path) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; the header has {list(frame.columns)}", file=path)
    return frame
