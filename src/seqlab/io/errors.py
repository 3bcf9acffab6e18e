"""The project's error type for bad input files, and damage-safe ways to read (gzip-compressed) files.

Every reader in :mod:`seqlab.io` reports a malformed file as :class:`InputError` (a ``ValueError``),
whose message is one line of the form ``path:LINE: field: what was expected`` and whose attributes
``file``, ``line`` and ``field`` carry the same facts for code. A damaged gzip or bgzip file
(truncated, corrupted payload, bad CRC) is a :class:`DamagedFileError`, a kind of ``InputError``.

The command line prints any ``InputError`` as one line and exits with code 2 (no traceback).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "DAMAGE_ERRORS",
    "DamagedFileError",
    "InputError",
    "damaged",
    "decode_utf8",
    "is_gzip",
    "iter_lines",
    "read_bytes",
]

# What Python's gzip / zlib / Bio.bgzf raise on a truncated or corrupted stream.
DAMAGE_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


class InputError(ValueError):
    """A malformed input file: the message names the file, and where known the line and the field.

    Args:
        message: what is wrong and what was expected (without the location).
        file: the file (path or str).
        line: 1-based line number, when the problem is on one line.
        field: the column / field / key at fault, when there is one.

    ``str(err)`` is ``"{file}:{line}: {field}: {message}"`` with the absent parts left out (the
    field is left out when the message already names it).
    """

    def __init__(
        self, message: str, *, file: str | Path | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.reason = message
        self.file = None if file is None else str(file)
        self.line = None if line is None else int(line)
        self.field = field
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}"
        text = message
        if field and field not in message:
            text = f"{field}: {message}"
        super().__init__(f"{where}: {text}" if where else text)

    @classmethod
    def located(cls, text: str, *, file: str | Path, line: int | None = None, field: str | None = None) -> InputError:
        """An error whose ``text`` already names the file (and line); the attributes are set as given."""
        err = cls(text)
        err.file, err.line, err.field = str(file), line, field
        return err


class DamagedFileError(InputError):
    """A gzip/bgzip file that cannot be decompressed (truncated, corrupted payload, bad CRC)."""


def damaged(path: str | Path, err: BaseException) -> DamagedFileError:
    """The error for a damaged compressed file ``path`` (``err`` is what the decompressor raised)."""
    detail = str(err).strip() or type(err).__name__
    return DamagedFileError(
        f"the file is damaged: it cannot be decompressed ({detail}); it is truncated or corrupted, "
        "copy or download it again",
        file=path,
    )


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (gzip and bgzip alike)."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The whole content of a plain or gzip/bgzip file (detected from its first bytes), decompressed.

    Raises:
        FileNotFoundError: no such file.
        DamagedFileError: a compressed file that cannot be decompressed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except DAMAGE_ERRORS as err:
        raise damaged(path, err) from None


def decode_utf8(data: bytes, path: str | Path) -> str:
    """Decode UTF-8 text (a leading byte-order mark is dropped); an undecodable byte is an
    :class:`InputError` naming its line.
    """
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(
            f"byte {data[err.start : err.start + 1]!r} is not UTF-8 text (a binary or damaged file?)",
            file=path,
            line=line,
        ) from None


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Stream ``(line number, text without the line ending)`` of a plain or gzip/bgzip UTF-8 file.

    A byte-order mark at the start and a carriage return before the newline are dropped; a carriage
    return elsewhere in a line is kept (readers decide). Raises ``FileNotFoundError``,
    :class:`DamagedFileError` (also when the damage is only found part-way through) or
    :class:`InputError` for a line that is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    compressed = is_gzip(path)
    handle = gzip.open(path, "rb") if compressed else open(path, "rb")
    number = 0
    try:
        with handle:
            while True:
                try:
                    raw = handle.readline()
                except DAMAGE_ERRORS as err:
                    if not compressed:
                        raise
                    raise damaged(path, err) from None
                if not raw:
                    return
                number += 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise InputError(
                        f"byte {raw[err.start : err.start + 1]!r} is not UTF-8 text (a binary or damaged file?)",
                        file=path,
                        line=number,
                    ) from None
                if number == 1:
                    text = text.removeprefix("\ufeff")  # a byte-order mark is not text
                yield number, text.rstrip("\n").removesuffix("\r")
    except DAMAGE_ERRORS as err:  # raised when closing (CRC / length check of the last member)
        if not compressed or isinstance(err, FileNotFoundError):
            raise
        raise damaged(path, err) from None
