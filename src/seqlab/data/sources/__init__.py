"""Example sources: one builder per ``data.sources`` kind, each returning an :class:`ExampleTable`.

A builder is ``build(source, config, context) -> ExampleTable`` registered under its kind with
:func:`register_source` (:mod:`seqlab.data.sources.registry`); :func:`seqlab.data.build.build_examples`
runs every entry of ``data.sources`` in order and concatenates their tables. A builder sees the tables
built before it in ``context.tables`` (a lifted-homolog source derives its windows from them). The
built-in kinds are registered here, in one place; their modules never register themselves. A kind of
your own: ``register_source("mine")(build_mine)`` with its config section
(``seqlab.config.register_source_config``).
"""

from __future__ import annotations

from seqlab.data.sources.lifted import build_lifted
from seqlab.data.sources.peaks import build_peaks
from seqlab.data.sources.registry import SOURCE_BUILDERS, SourceBuilder, SourceContext, build_source, register_source
from seqlab.data.sources.sequences import build_sequences
from seqlab.data.sources.tiling import build_tiling
from seqlab.data.sources.tracks import build_tracks

__all__ = ["SOURCE_BUILDERS", "SourceBuilder", "SourceContext", "build_source", "register_source"]

for _kind, _builder in (
    ("peaks", build_peaks),
    ("tiling", build_tiling),
    ("tracks", build_tracks),
    ("sequences", build_sequences),
    ("lifted", build_lifted),
):
    register_source(_kind)(_builder)
