"""Top-level sections of the training schemes other than ``supervised`` (``ssl:``, ``noisy_student:``, ``mfd:``).

Each is optional and only read by its scheme (``train.scheme``); the wing that implements a scheme
adds its keys to its section here. A section given while ``train.scheme`` names another scheme is an
error, so a forgotten ``train.scheme`` does not silently train the supervised model.
"""

from __future__ import annotations

from typing import Any

from seqlab.config.base import StrictModel

__all__ = ["SCHEME_SECTIONS", "MfdConfig", "NoisyStudentConfig", "SslConfig", "check_scheme_sections"]


class SslConfig(StrictModel):
    """Cross-species pseudo-labelling: pre-train on homologs, fine-tune on the labelled examples."""


class NoisyStudentConfig(StrictModel):
    """Noisy Student rounds on pseudo-labelled homologs (teacher -> noised student)."""


class MfdConfig(StrictModel):
    """Metadata-guided feature disentanglement (metadata head, subspaces, independence penalty)."""


SCHEME_SECTIONS: dict[str, tuple[str, ...]] = {
    "ssl": ("ssl",),
    "noisy_student": ("noisy_student",),
    "mfd": ("mfd",),
}
"""Sections each scheme reads (a scheme may read several, e.g. noisy_student may read ssl too)."""


def check_scheme_sections(scheme: str, given: dict[str, Any]) -> None:
    """Raise a ValueError when a scheme section is set but ``train.scheme`` does not read it.

    Args:
        scheme: ``train.scheme``.
        given: section name -> value (None when absent) for every scheme section of the config.
    """
    wanted = SCHEME_SECTIONS.get(scheme, ())
    for name, value in given.items():
        if value is not None and name not in wanted:
            raise ValueError(f"the {name}: section is set but train.scheme is {scheme!r}; set train.scheme: {name}")
