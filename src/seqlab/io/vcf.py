"""VCF reading for variant-effect scoring: sites only (CHROM, POS, ID, REF, ALT), no genotypes.

Plain, gzip and bgzip files are read the same way (gzip is detected from the first bytes, not the
name). Meta lines (``##``) and blank lines are skipped. POS (1-based) becomes ``pos0`` (0-based).

What is kept and what is skipped, per ALT allele:

* symbolic alleles (``<DEL>``, ``<*>``, ``*``, ``.``, breakends such as ``G]17:198982]``) are skipped
  and counted under ``skipped_symbolic``;
* multi-allelic sites (ALT ``A,T``) are split into one record per allele (``multiallelic='split'``,
  the default) or skipped as a whole and counted per line under ``skipped_multiallelic``
  (``multiallelic='skip'``);
* indels (REF and ALT of different lengths) are kept (``indels='score'``) or skipped and counted
  under ``skipped_indel`` (``indels='skip'``, the default). Substitutions of equal length (SNVs and
  MNVs) are always kept.

* an ALT equal to REF (ignoring case) is skipped and counted under ``skipped_alt_equals_ref``;
  a REF holding ``N`` is skipped and counted under ``skipped_ref_n`` (both with a warning).

The header must hold the ``#CHROM POS ID REF ALT QUAL FILTER INFO`` line (tab-separated, then
FORMAT and samples, if any) before the first record. A record before it (a file without a header),
a file without it, a second one, and a record whose number of columns differs from the ``#CHROM``
line's (fewer than 8, or two records joined by a lost line break) raise
:class:`~seqlab.io.errors.InputError` (a ``ValueError``) naming the file and the 1-based line
number; so do POS not a positive integer, REF or ALT not made of A/C/G/T/N (naming the field),
bytes that are not UTF-8, and a damaged gzip or bgzip file raises
:class:`~seqlab.io.errors.DamagedFileError`. A file with a header and no records gives an empty
table and a warning.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Literal, NamedTuple

import pandas as pd

from seqlab.io.errors import InputError, iter_lines

__all__ = ["VCF_COLUMNS", "VcfTable", "is_indel", "read_vcf"]

VCF_COLUMNS = ["chrom", "pos0", "id", "ref", "alt", "line"]

_BASES = re.compile(r"^[ACGTNacgtn]+$")
_CHROM_LINE = "#CHROM POS ID REF ALT QUAL FILTER INFO"

log = logging.getLogger(__name__)


class VcfTable(NamedTuple):
    """Variants read from a VCF and the counts of what was read and skipped.

    Attributes:
        variants: one row per kept (site, ALT allele), columns ``chrom`` (str), ``pos0`` (int64,
            0-based), ``id`` (str, ``.`` when missing), ``ref`` and ``alt`` (str, as written in the
            file), ``line`` (int64, 1-based line number in the file).
        counts: ``data_lines`` (data lines read), ``alleles`` (ALT alleles seen), ``kept`` (rows of
            ``variants``), ``skipped_symbolic``, ``skipped_multiallelic`` (lines), ``skipped_indel``,
            ``skipped_alt_equals_ref``, ``skipped_ref_n``.
    """

    variants: pd.DataFrame
    counts: dict[str, int]


def is_indel(ref: str, alt: str) -> bool:
    """True when REF and ALT differ in length (insertion, deletion or complex indel)."""
    return len(ref) != len(alt)


def _is_symbolic(alt: str) -> bool:
    """Symbolic (``<DEL>``), overlapping-deletion (``*``), missing (``.``) or breakend (``G]2:5]``, ``G.``)."""
    return alt == "*" or alt.startswith(("<", ".")) or alt.endswith(".") or "[" in alt or "]" in alt


def _header_columns(path: Path, number: int, text: str, seen: list[str] | None) -> list[str]:
    """The columns of the ``#CHROM`` line ``text``: the 8 fixed ones, then FORMAT and samples, if any."""
    columns = text.split("\t")
    if seen is not None:
        raise InputError("a second '#CHROM' header line (two files joined?)", file=path, line=number)
    if [c.upper() for c in columns[:8]] != _CHROM_LINE.upper().split():
        raise InputError(
            f"the header line must be '{_CHROM_LINE}' (tab-separated; then FORMAT and samples), "
            f"found {text[:80]!r}",
            file=path,
            line=number,
        )
    return columns


def _malformed(path: Path, line: int, reason: str, field: str | None = None) -> InputError:
    return InputError(f"malformed VCF line ({reason})", file=path, line=line, field=field)


def read_vcf(
    path: str | Path,
    multiallelic: Literal["split", "skip"] = "split",
    indels: Literal["score", "skip"] = "skip",
) -> VcfTable:
    """Read the sites of a VCF (plain, gzip or bgzip) into a table of single-ALT variants.

    Args:
        path: the VCF file.
        multiallelic: 'split' gives each ALT allele of a site its own row; 'skip' drops sites with
            several ALT alleles (counted per line).
        indels: 'score' keeps insertions and deletions; 'skip' drops them (counted per allele).

    Returns:
        ``VcfTable(variants, counts)``; see :class:`VcfTable` for the columns and count keys.

    Raises:
        ValueError: a malformed data line; the message names the file and the line number.
    """
    if multiallelic not in ("split", "skip"):
        raise ValueError(f"multiallelic must be 'split' or 'skip', got {multiallelic!r}")
    if indels not in ("score", "skip"):
        raise ValueError(f"indels must be 'score' or 'skip', got {indels!r}")
    path = Path(path)
    counts = {
        "data_lines": 0,
        "alleles": 0,
        "kept": 0,
        "skipped_symbolic": 0,
        "skipped_multiallelic": 0,
        "skipped_indel": 0,
        "skipped_alt_equals_ref": 0,
        "skipped_ref_n": 0,
    }
    rows: dict[str, list] = {name: [] for name in VCF_COLUMNS}
    header: list[str] | None = None
    for number, text in iter_lines(path):
        if not text.strip() or text.startswith("##"):
            continue
        if text.startswith("#"):
            header = _header_columns(path, number, text, header)
            continue
        if header is None:
            raise _malformed(path, number, f"a record before the '{_CHROM_LINE}' header line (not a VCF?)")
        counts["data_lines"] += 1
        fields = text.split("\t")
        if len(fields) != len(header):
            raise _malformed(
                path, number, f"{len(fields)} tab-separated columns, the '#CHROM' line has {len(header)}: {_CHROM_LINE}"
            )
        chrom, pos_text, var_id, ref, alt_text = fields[:5]
        if not chrom:
            raise _malformed(path, number, "empty CHROM", "CHROM")
        if not (pos_text.isascii() and pos_text.isdigit()) or len(pos_text) > 12 or int(pos_text) < 1:
            raise _malformed(path, number, f"POS {pos_text!r} is not a positive integer", "POS")
        if not _BASES.match(ref):
            raise _malformed(path, number, f"REF {ref!r} is not made of A, C, G, T, N", "REF")
        alts = alt_text.split(",")
        counts["alleles"] += len(alts)
        if len(alts) > 1 and multiallelic == "skip":
            counts["skipped_multiallelic"] += 1
            continue
        for alt in alts:
            if _is_symbolic(alt):
                counts["skipped_symbolic"] += 1
                continue
            if not _BASES.match(alt):
                raise _malformed(path, number, f"ALT {alt!r} is neither symbolic nor made of A, C, G, T, N", "ALT")
            if alt.upper() == ref.upper():
                counts["skipped_alt_equals_ref"] += 1
                continue
            if "N" in ref.upper():
                counts["skipped_ref_n"] += 1
                continue
            if indels == "skip" and is_indel(ref, alt):
                counts["skipped_indel"] += 1
                continue
            rows["chrom"].append(chrom)
            rows["pos0"].append(int(pos_text) - 1)
            rows["id"].append(var_id or ".")
            rows["ref"].append(ref)
            rows["alt"].append(alt)
            rows["line"].append(number)
    if header is None:
        raise InputError(f"no '{_CHROM_LINE}' header line (an empty file, or not a VCF?)", file=path)
    counts["kept"] = len(rows["chrom"])
    if counts["data_lines"] == 0:
        log.warning("%s: no variants (the file has no data lines)", path)
    for key, what in (("skipped_alt_equals_ref", "ALT equal to REF"), ("skipped_ref_n", "REF holding N")):
        if counts[key]:
            log.warning("%s: %d alleles with %s skipped (counted as %s)", path, counts[key], what, key)
    variants = pd.DataFrame(rows, columns=VCF_COLUMNS).astype(
        {"chrom": str, "pos0": "int64", "id": str, "ref": str, "alt": str, "line": "int64"}
    )
    return VcfTable(variants, counts)
