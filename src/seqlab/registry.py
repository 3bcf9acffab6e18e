"""Name -> implementation tables filled by decorators (trunks, heads, training schemes, data sources).

A registry is a plain ``dict`` (so ``name in TRUNKS`` and ``TRUNKS[name]`` work) with one way to add
to it, :meth:`Registry.register`, which refuses to bind a taken name to another object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Registry"]

_T = TypeVar("_T")


class Registry(dict[str, Any]):
    """A dict of registered implementations.

    Args:
        what: what the keys name, for messages (e.g. ``"trunk arch"``).
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def register(self, name: str) -> Callable[[_T], _T]:
        """Decorator: register the decorated class or function under ``name`` and return it unchanged.

        Raises:
            ValueError: ``name`` is registered already with another object.
        """

        def add(obj: _T) -> _T:
            if name in self and self[name] is not obj:
                taken = getattr(self[name], "__qualname__", repr(self[name]))
                raise ValueError(f"{self.what} {name!r} is registered already ({taken})")
            self[name] = obj
            return obj

        return add
