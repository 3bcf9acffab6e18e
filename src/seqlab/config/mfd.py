"""Metadata-guided feature disentanglement (MFD): the metadata head section and the ``mfd:`` scheme section.

``MetadataHeadConfig`` is the ``model.head`` entry with ``kind: metadata`` (registered in
:mod:`seqlab.config`; it describes the model, so a saved model rebuilds from it). The top-level
``mfd:`` section (how to train it: the independence penalty, its adversaries, held-out experiments)
is ``MfdConfig`` in :mod:`seqlab.config.schemes`, re-exported here. Formulas: docs/mfd.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from seqlab.config.base import StrictModel
from seqlab.config.model import HeadConfig
from seqlab.config.schemes import MfdConfig

__all__ = ["DEFAULT_COLUMNS", "DEFAULT_GROUPS", "MetadataColumnConfig", "MetadataHeadConfig", "MfdConfig"]

DEFAULT_COLUMNS: dict[str, str] = {
    "target": "categorical",
    "biosample": "categorical",
    "assay": "categorical",
    "lab": "categorical",
    "date": "date",
}
DEFAULT_GROUPS: dict[str, list[str]] = {
    "biological": ["target", "biosample"],
    "technical": ["assay", "lab", "date"],
}


class MetadataColumnConfig(StrictModel):
    """How one task-table column is encoded."""

    kind: Literal["categorical", "numeric", "date"] = Field(
        "categorical", description="categorical (comma-separated -> multi-hot), numeric (z-scored) or date."
    )
    date_mode: Literal["year", "numeric"] = Field("year", description="Dates: year one-hot or z-scored year.")
    unknown: Literal["error", "zero"] = Field(
        "error", description="A value never seen in training: an error, or encoded as zeros."
    )


class MetadataHeadConfig(HeadConfig):
    """Output weights computed from each experiment's metadata, one subspace of features per factor group.

    logit(j, e) = sum_g <z_j^g, w_e^g> + b_e with w_e^g = net_g(metadata of e in group g's columns) and
    b_e = a linear function of all of e's metadata.
    """

    kind: Literal["metadata"] = "metadata"
    columns: dict[str, MetadataColumnConfig | Literal["categorical", "numeric", "date"]] = Field(
        default_factory=lambda: dict(DEFAULT_COLUMNS), description="Task-table column -> encoding (ordered)."
    )
    groups: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_GROUPS.items()},
        description="Factor group -> its columns; the first group is the biological one.",
    )
    sizes: dict[str, float] | None = Field(
        None,
        description="Subspace size per group: integers (feature counts summing to the trunk's features) or "
        "ratios (summing to 1). None: equal split.",
    )
    hidden: int = Field(32, ge=0, description="Hidden units of each group's weight network (0: linear).")

    @model_validator(mode="after")
    def _groups_use_known_columns(self) -> MetadataHeadConfig:
        seen: set[str] = set()
        for group, columns in self.groups.items():
            for column in columns:
                if column not in self.columns:
                    raise ValueError(f"model.head.groups.{group}: column {column!r} is not in model.head.columns")
                if column in seen:
                    raise ValueError(f"model.head.groups.{group}: column {column!r} is in two groups")
                seen.add(column)
            if not columns:
                raise ValueError(f"model.head.groups.{group} has no column")
        if len(self.groups) < 1:
            raise ValueError("model.head.groups needs at least one group")
        if self.sizes is not None and set(self.sizes) != set(self.groups):
            raise ValueError(f"model.head.sizes names {sorted(self.sizes)}, groups are {sorted(self.groups)}")
        return self
