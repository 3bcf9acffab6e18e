"""The registry of ``data.sources`` kinds: ``build(source, config, context) -> ExampleTable`` per kind.

The built-in kinds are registered in :mod:`seqlab.data.sources` (the package), in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seqlab.config import DataConfig
from seqlab.data.table import ExampleTable
from seqlab.registry import Registry

__all__ = ["SOURCE_BUILDERS", "SourceBuilder", "SourceContext", "build_source", "register_source"]


@dataclass
class SourceContext:
    """What a source builder may use besides its own section: the tables built before it, in order."""

    tables: list[ExampleTable] = field(default_factory=list)


SourceBuilder = Callable[[Any, DataConfig, SourceContext], ExampleTable]
SOURCE_BUILDERS = Registry("data.sources kind")


def register_source(kind: str) -> Callable[[SourceBuilder], SourceBuilder]:
    """Decorator: register ``build(source, config, context) -> ExampleTable`` for ``data.sources`` kind ``kind``."""
    return SOURCE_BUILDERS.register(kind)


def build_source(source: Any, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Run the builder registered for ``source.kind``.

    Raises:
        KeyError: no builder for that kind.
    """
    if source.kind not in SOURCE_BUILDERS:
        raise KeyError(f"no builder for data.sources kind {source.kind!r} (known: {sorted(SOURCE_BUILDERS)})")
    return SOURCE_BUILDERS[source.kind](source, config, context)
