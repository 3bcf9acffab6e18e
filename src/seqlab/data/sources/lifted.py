"""The ``lifted`` source: homologs of the windows of the sources before it (see :mod:`seqlab.data.homologs`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seqlab.config import DataConfig
from seqlab.config.lift import LiftedSourceConfig
from seqlab.data.homologs import LiftOptions, TargetGenome, lift_examples
from seqlab.data.sources.registry import SourceContext
from seqlab.data.table import ExampleTable

__all__ = ["build_lifted", "lift_options", "lift_targets"]


def lift_targets(source: Any, genomes: Mapping[str, Any]) -> tuple[str, list[TargetGenome]]:
    """Reference genome name and target genomes of a ``lifted`` source entry over ``data.genomes``.

    Targets are ``source.genomes`` (default: every genome after the first, the reference, that has a chain).

    Raises:
        ValueError: a named genome that is the reference, unknown or without a chain; no target at all.
    """
    genomes = dict(genomes)
    reference = next(iter(genomes), None)
    names = source.genomes if source.genomes is not None else [n for n in list(genomes)[1:] if genomes[n].chain]
    for name in names:
        if name not in genomes or name == reference or genomes[name].chain is None:
            raise ValueError(
                f"data.sources (kind lifted): genome {name!r} must be a non-reference entry of data.genomes with a "
                f"chain (data.genomes: {list(genomes)}; reference {reference!r})"
            )
    if not names or reference is None:
        raise ValueError(
            f"data.sources (kind lifted): no genome to lift to; data.genomes ({list(genomes)}) needs a reference "
            "and at least one other genome with a chain: {NAME: {fasta: PATH, chain: PATH}}"
        )
    return reference, [TargetGenome(n, Path(genomes[n].fasta), Path(genomes[n].chain)) for n in names]


def lift_options(source: Any, gap: int = 0) -> LiftOptions:
    """The :class:`LiftOptions` of a ``lifted`` source entry (:class:`~seqlab.config.lift.LiftedSourceConfig`).

    ``gap``: the split's gap (``data.split.gap``), kept by the leakage guard around held-out homologs too.
    """
    fields = [f.name for f in dataclasses.fields(LiftOptions) if f.name != "guard_gap"]
    return LiftOptions(**{name: getattr(source, name) for name in fields}, guard_gap=int(gap))


def build_lifted(source: LiftedSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Builder of the ``data.sources`` kind ``lifted``.

    Lifts the reference-genome windows of the tables built before it (``context.tables``) to the
    target genomes of :func:`lift_targets`, with the options of ``source``.

    Raises:
        ValueError: no source before this one; see :func:`lift_targets`.
        LiftError: see :func:`lift_examples`.
    """
    if not context.tables:
        raise ValueError("data.sources: a 'lifted' source needs a source before it (peaks, tiling or sequences)")
    base = context.tables[0] if len(context.tables) == 1 else ExampleTable.concat(context.tables)
    reference, targets = lift_targets(source, config.genomes)
    return lift_examples(base, targets, lift_options(source, config.split.gap), reference=reference)
