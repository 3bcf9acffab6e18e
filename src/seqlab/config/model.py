"""DNA model sections: ``model: {trunk: {arch: ...}, head: {kind: ...}}``.

The trunk section is picked by ``arch`` and the head section by ``kind``, each from a registry of
config classes (``TRUNK_CONFIGS``, ``HEAD_CONFIGS``), so a wing adds a trunk or head by defining its
section class with :func:`register_trunk_config` / :func:`register_head_config` (and the module
class with ``seqlab.models.trunks.register_trunk`` / ``seqlab.models.heads.register_head``). The built-in
sections are registered in :mod:`seqlab.config` (the package), in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from seqlab.config.base import StrictModel
from seqlab.config.registered import pick_section, registrar
from seqlab.registry import Registry

__all__ = [
    "DEEPBIND_PRESETS",
    "HEAD_CONFIGS",
    "TRUNK_CONFIGS",
    "BasenjiConfig",
    "DeepBindConfig",
    "DeepSEAConfig",
    "HeadConfig",
    "LinearHeadConfig",
    "ModelConfig",
    "OBJECTIVE_MONITORS",
    "ObjectiveConfig",
    "ProfileHeadConfig",
    "TrunkConfig",
    "register_head_config",
    "register_trunk_config",
]


class TrunkConfig(StrictModel):
    """Base of every trunk section; ``arch`` names the architecture (a key of ``TRUNK_CONFIGS``)."""

    registry_key: ClassVar[str] = "arch"
    arch: str

    @classmethod
    def registered(cls) -> list[type[StrictModel]]:
        """The trunk section classes, in registration order (for the config reference)."""
        return list(TRUNK_CONFIGS.values())


class HeadConfig(StrictModel):
    """Base of every head section; ``kind`` names the head (a key of ``HEAD_CONFIGS``)."""

    registry_key: ClassVar[str] = "kind"
    kind: str

    @classmethod
    def registered(cls) -> list[type[StrictModel]]:
        """The head section classes, in registration order (for the config reference)."""
        return list(HEAD_CONFIGS.values())


TRUNK_CONFIGS = Registry("model.trunk arch")
"""Trunk section class of every ``model.trunk.arch`` value."""
HEAD_CONFIGS = Registry("model.head kind")
"""Head section class of every ``model.head.kind`` value."""

_T = TypeVar("_T", bound=StrictModel)


def register_trunk_config(cls: type[_T]) -> type[_T]:
    """Class decorator: make ``cls`` (a ``TrunkConfig`` with a default ``arch``) a ``model.trunk`` choice."""
    return registrar(TRUNK_CONFIGS, "arch")(cls)


def register_head_config(cls: type[_T]) -> type[_T]:
    """Class decorator: make ``cls`` (a ``HeadConfig`` with a default ``kind``) a ``model.head`` choice."""
    return registrar(HEAD_CONFIGS, "kind")(cls)


DEEPBIND_PRESETS: dict[str, dict[str, Any]] = {
    # 10,369 parameters with one task (conv 6,208 + dense 4,128 + head 33), whatever the window length.
    "default": {"filters": 64, "kernel_size": 24, "hidden": 32, "dropout": 0.1},
    # 26,881 parameters with one task (conv 10,368 + dense 16,448 + head 65): the ~27K DeepBind-like CNN.
    "small27k": {"filters": 128, "kernel_size": 20, "hidden": 64, "dropout": 0.1},
}


class DeepBindConfig(TrunkConfig):
    """DeepBind: one convolution scanned on both strands, global max and average pooling, dense.

    ``preset`` fills the sizes from ``DEEPBIND_PRESETS``; keys given next to it override the preset.
    """

    arch: Literal["deepbind"] = "deepbind"
    preset: Literal["default", "small27k"] | None = Field(
        None, description="Named sizes (DEEPBIND_PRESETS); explicit keys override them."
    )
    filters: int = Field(64, gt=0, description="Convolution filters (motif detectors).")
    kernel_size: int = Field(24, gt=0, description="Filter width in bp.")
    hidden: int = Field(32, ge=0, description="Dense units after pooling (0: linear head on pooled).")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout before the head.")
    crop: int = Field(
        0,
        ge=0,
        description="Scan positions dropped from each end before pooling (the pooled features read the centre "
        "only; positional features keep every position).",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") in DEEPBIND_PRESETS:
            return {**DEEPBIND_PRESETS[data["preset"]], **data}
        return data


class DeepSEAConfig(TrunkConfig):
    """DeepSEA: three convolutions (320/480/960, width 8) with max-pooling and dropout, dense 925."""

    arch: Literal["deepsea"] = "deepsea"
    channels: list[int] = Field(default_factory=lambda: [320, 480, 960], description="Filters of each convolution.")
    kernel_size: int = Field(8, gt=0, description="Width of every convolution.")
    pool_size: int = Field(4, gt=0, description="Max-pooling after the first two convolutions.")
    dropout: list[float] = Field(
        default_factory=lambda: [0.2, 0.2, 0.5], description="Dropout after each convolution (one per layer)."
    )
    hidden: int = Field(925, gt=0, description="Dense units (the features).")

    @model_validator(mode="after")
    def _one_dropout_per_layer(self) -> DeepSEAConfig:
        if not self.channels or len(self.dropout) != len(self.channels):
            raise ValueError(
                f"model.trunk.dropout needs one rate per convolution: {len(self.channels)} channels, "
                f"{len(self.dropout)} dropout rates"
            )
        return self


class BasenjiConfig(TrunkConfig):
    """Basenji-like dilated residual CNN: stem, pooling tower, dilated residual blocks, crop, pointwise."""

    arch: Literal["basenji"] = "basenji"
    stem_channels: int = Field(64, gt=0, description="Filters of the stem convolution.")
    stem_kernel: int = Field(15, gt=0, description="Width of the stem convolution.")
    tower_channels: list[int] = Field(default_factory=lambda: [64, 96], description="Channels of each tower block.")
    tower_kernel: int = Field(5, gt=0, description="Width of the tower convolutions.")
    pool_size: int = Field(2, gt=0, description="Max-pooling after the stem and each tower block.")
    dilated_blocks: int = Field(4, ge=0, description="Dilated residual blocks.")
    dilation_rate: float = Field(1.5, ge=1, description="Growth of the dilation from block to block.")
    crop: int = Field(0, ge=0, description="Positions cropped from each end before pooling.")
    features: int = Field(128, gt=0, description="Channels of the final pointwise layer.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout in the residual blocks.")


class LinearHeadConfig(HeadConfig):
    """One independent linear read-out per task (``MultiTaskLinearHead``)."""

    kind: Literal["linear"] = "linear"


class ProfileHeadConfig(HeadConfig):
    """BPNet-style profile head (``ProfileHead``): base-resolution profile logits and log total counts per task.

    Reads the trunk's positional features, maps them onto the target span (nearest upsampling by
    round(window / positions), centre crop) and applies one convolution per profile; the counts come from
    the globally averaged features. With ``control`` the task's control track enters the head (BPNet).
    """

    kind: Literal["profile"] = "profile"
    kernel_size: int = Field(25, gt=0, description="Width of the final profile convolution (odd: centred).")
    control: bool = Field(
        False, description="Feed each task's control track (the task table's control column) into the head."
    )
    control_smoothing: int = Field(
        50, gt=0, description="Moving-average width in bp of log(1 + control) before it enters the profile layer."
    )


OBJECTIVE_MONITORS: dict[str, dict[str, Literal["min", "max"]]] = {
    "binary": {"val_auroc": "max", "val_aupr": "max", "val_loss": "min"},
    "regression": {"val_pearson": "max", "val_spearman": "max", "val_loss": "min"},
    "profile": {"val_count_pearson": "max", "val_profile_jsd": "min", "val_profile_pearson": "max", "val_loss": "min"},
}
"""Every objective kind (``model.objective.kind``) -> the validation metrics ``train.monitor`` may name and
their direction of improvement; the first is the kind's default monitor. The implementations (loss, link,
metrics) are the objectives registry, :data:`seqlab.objectives.OBJECTIVES`."""


class ObjectiveConfig(StrictModel):
    """What the model predicts and how it is scored: the target kind, its loss and link.

    ``binary``: one logit per task, sigmoid, weighted BCE, AUROC/AUPR. ``regression``: one value per task,
    MSE (identity link) or Poisson NLL (exp link), Pearson/Spearman. ``profile``: base-resolution profile
    logits and log total counts per task (BPNet), multinomial NLL + ``count_weight`` * MSE of log(1 + counts).
    """

    kind: Literal["binary", "regression", "profile"] = Field(
        "binary", description="Target kind: binary (default), regression or profile."
    )
    loss: Literal["mse", "poisson"] | None = Field(
        None,
        description="Regression loss: mse (identity link; the default) or poisson (exp link); kind regression only.",
    )
    count_weight: float | None = Field(
        None, ge=0, description="Profile: weight of the MSE of log(1 + total counts) (default 1); kind profile only."
    )

    @model_validator(mode="after")
    def _keys_of_kind(self) -> ObjectiveConfig:
        for key, kind in (("loss", "regression"), ("count_weight", "profile")):
            if getattr(self, key) is not None and self.kind != kind:
                raise ValueError(f"model.objective.{key} applies to kind {kind}, not to kind {self.kind}")
        return self


class ModelConfig(StrictModel):
    """The model: a trunk (sequence -> features), a head (features -> outputs per task), an objective."""

    trunk: SerializeAsAny[TrunkConfig] = Field(
        default_factory=lambda: DeepBindConfig(), description="The trunk section, picked by its arch."
    )
    head: SerializeAsAny[HeadConfig] = Field(
        default_factory=lambda: LinearHeadConfig(), description="The head section, picked by its kind."
    )
    objective: ObjectiveConfig = Field(
        default_factory=ObjectiveConfig, description="Target kind, loss and link (default binary)."
    )

    @field_validator("trunk", mode="before")
    @classmethod
    def _trunk_section(cls, value: Any) -> Any:
        if isinstance(value, dict) and "arch" not in value:  # never a silent DeepBind
            raise ValueError(f"model.trunk.arch: missing; name the architecture, one of {sorted(TRUNK_CONFIGS)}")
        return pick_section(TRUNK_CONFIGS, "arch", "deepbind", "model.trunk", value)

    @field_validator("head", mode="before")
    @classmethod
    def _head_section(cls, value: Any) -> Any:
        return pick_section(HEAD_CONFIGS, "kind", "linear", "model.head", value)
