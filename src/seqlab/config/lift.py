"""The ``data.sources`` kind ``lifted``: homolog windows in other genomes and their pseudo-labels."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from seqlab.config.sources import SourceConfig

__all__ = ["LiftedSourceConfig"]


class LiftedSourceConfig(SourceConfig):
    """Homologs of the windows of the sources listed before this one (``{kind: lifted}``).

    Reference-genome windows (the first of ``data.genomes``) are lifted through the chains of the other
    ``data.genomes`` entries; each homolog takes its origin's labels and split. ``seqlab ssl lift``
    writes the homologs of this entry (or of a default one) with counts of everything dropped.
    """

    kind: Literal["lifted"] = "lifted"
    genomes: list[str] | None = Field(
        None, description="Target genomes (names in data.genomes with a chain); default: all but the reference."
    )
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
