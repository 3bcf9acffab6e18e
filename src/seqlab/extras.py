"""Optional dependencies (the ``demo`` and ``interpret`` extras): imported when a feature needs them.

A missing one is a :class:`MissingExtraError` naming the feature and the ``pip install`` that brings
it (the CLI prints it as one line, exit code 2).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtraError", "require"]

EXTRAS = {
    "pyjaspar": ("pyjaspar", "demo"),
    "scldata.loader": ("p-scldata", "demo"),
    "logomaker": ("logomaker", "interpret"),
    "captum": ("captum", "interpret"),
}
"""Module -> (package on PyPI, extra of seqlab that installs it)."""


class MissingExtraError(ModuleNotFoundError):
    """An optional package a feature needs is not installed."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` (a key of :data:`EXTRAS`) for ``feature``.

    Raises:
        MissingExtraError: e.g. "seqlab demo dna needs pyjaspar: pip install 'seqlab[demo]'".
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        package, extra = EXTRAS[module]
        raise MissingExtraError(f"{feature} needs {package}: pip install 'seqlab[{extra}]'") from err
