"""Example sources: one builder per ``data.sources`` kind, each returning an :class:`ExampleTable`.

A builder is ``build(source, config, context) -> ExampleTable`` registered under its kind with
:func:`register_source`; :func:`seqlab.data.build.build_examples` runs every entry of ``data.sources``
in order and concatenates their tables. A builder sees the tables built before it in
``context.tables`` (a lifted-homolog source derives its windows from them).
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


# the built-in kinds register themselves on import
from seqlab.data.sources import lifted, peaks, sequences, tiling  # noqa: E402,F401
