"""Sections picked from an open registry by one key (``model.trunk.arch``, ``model.head.kind``,
``data.sources[].kind``): the registry machinery shared by those sections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from seqlab.config.base import StrictModel
from seqlab.registry import Registry

__all__ = ["pick_section", "registrar"]

_T = TypeVar("_T", bound=StrictModel)


def registrar(registry: Registry, key: str) -> Callable[[type[_T]], type[_T]]:
    """Class decorator factory: register a section class under the default value of its ``key`` field."""

    def register(cls: type[_T]) -> type[_T]:
        name = cls.model_fields[key].default
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__name__} needs a default {key!r} (its registry name)")
        return registry.register(name)(cls)

    return register


def pick_section(registry: dict[str, Any], key: str, default: str, section: str, value: Any) -> Any:
    """Validate a section dict into the registry class its ``key`` names (instances pass through)."""
    if isinstance(value, StrictModel) or not isinstance(value, dict):
        return value
    name = value.get(key, default)
    if name not in registry:
        raise ValueError(f"{section}.{key}: unknown value {name!r}; expected one of {sorted(registry)}")
    try:
        return registry[name].model_validate(value)
    except ValidationError as err:  # re-raised as a ValueError so that pydantic keeps the section's location
        problems = []
        for problem in err.errors():
            where = ".".join(str(part) for part in problem["loc"])
            message = "unknown key" if problem["type"] == "extra_forbidden" else problem["msg"]
            message = message.removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise ValueError(f"{section} ({key}: {name}): " + "; ".join(problems)) from None
