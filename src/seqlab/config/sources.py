"""The open registry of ``data.sources`` kinds: a section class per kind, picked by ``kind``.

A kind of your own: a :class:`SourceConfig` subclass with a default ``kind``, registered with
:func:`register_source_config`, and its builder with ``seqlab.data.sources.register_source``. The
built-in kinds are registered in :mod:`seqlab.config` (the package).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from seqlab.config.base import StrictModel
from seqlab.config.registered import pick_section, registrar
from seqlab.registry import Registry

__all__ = ["SOURCE_CONFIGS", "SourceConfig", "pick_source", "register_source_config"]


class SourceConfig(StrictModel):
    """Base of every ``data.sources`` entry; ``kind`` names it (a key of ``SOURCE_CONFIGS``)."""

    registry_key: ClassVar[str] = "kind"
    kind: str

    @property
    def quantitative(self) -> bool:
        """Whether the source gives quantitative targets (a regression or profile objective's), not labels."""
        return False

    @classmethod
    def registered(cls) -> list[type[StrictModel]]:
        """The source section classes, in registration order (for the config reference)."""
        return list(SOURCE_CONFIGS.values())


SOURCE_CONFIGS = Registry("data.sources kind")
"""Section class of every ``data.sources[].kind`` value."""

_T = TypeVar("_T", bound=StrictModel)


def register_source_config(cls: type[_T]) -> type[_T]:
    """Class decorator: make ``cls`` (a ``SourceConfig`` with a default ``kind``) a ``data.sources`` kind."""
    return registrar(SOURCE_CONFIGS, "kind")(cls)


def pick_source(index: int, value: Any) -> Any:
    """Validate entry ``index`` of ``data.sources`` (a dict) into the section class its ``kind`` names.

    Raises:
        ValueError: no or an unknown ``kind`` (naming the known kinds), or an invalid entry, naming
            ``data.sources.<index>``.
    """
    if isinstance(value, dict) and "kind" not in value:
        raise ValueError(f"data.sources.{index}: give its kind, one of {sorted(SOURCE_CONFIGS)}")
    return pick_section(SOURCE_CONFIGS, "kind", "", f"data.sources.{index}", value)
