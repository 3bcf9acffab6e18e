"""Cross-species lifting of labelled windows (``seqlab ssl lift``): how homolog windows are made and kept."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from seqlab.config.base import StrictModel

__all__ = ["LiftConfig", "LiftSections", "LiftedSourceConfig", "TargetGenomeConfig"]


class TargetGenomeConfig(StrictModel):
    """A genome to lift windows to: its FASTA and the UCSC chain reference genome -> it."""

    fasta: Path = Field(..., description="Target genome FASTA (plain or bgzip with .fai/.gzi).")
    chain: Path = Field(..., description="UCSC chain file from the reference genome to this genome (.chain[.gz]).")


class LiftConfig(StrictModel):
    """Which homolog windows are kept, and their pseudo-label weights."""

    min_match: float = Field(
        0.95,
        gt=0,
        le=1,
        description="liftOver minMatch: fraction of a window's bases that must align inside one chain "
        "(0.95 for close species, e.g. 0.1 for distant ones).",
    )
    max_length_ratio: float | None = Field(
        1.5, ge=1, description="Drop windows whose lifted span is this many times longer or shorter (null: no limit)."
    )
    max_n_fraction: float = Field(0.5, ge=0, le=1, description="Drop homolog windows with more N than this.")
    weight: Literal["one", "identity"] = Field(
        "one",
        description="Pseudo-label weight: one (the origin's weight), or identity (times the fraction of the "
        "window's bases aligned and identical in the target).",
    )
    guard: bool = Field(
        True,
        description="Leakage guard: drop train homologs that overlap a val/test homolog (and val homologs that "
        "overlap a test homolog) in the same target genome.",
    )


class LiftSections(StrictModel):
    """The sections only ``seqlab ssl lift`` reads: target genomes and lifting options."""

    genomes: dict[str, TargetGenomeConfig] = Field(
        default_factory=dict,
        description="Target genomes by name: {NAME: {fasta, chain}} (chain: reference -> NAME). When empty, the "
        "non-reference data.genomes entries with a chain are used.",
    )
    lift: LiftConfig = Field(default_factory=LiftConfig)


class LiftedSourceConfig(LiftConfig):
    """A ``data.sources`` entry ``{kind: lifted}``: homologs of the windows of the sources listed before it.

    Windows of the reference genome (the first of ``data.genomes``) are lifted to the other genomes of
    ``data.genomes`` that have a chain; each homolog takes its origin's labels and split.
    """

    kind: Literal["lifted"] = "lifted"
    genomes: list[str] | None = Field(
        None, description="Target genomes (names in data.genomes with a chain); default: all of them but the reference."
    )
