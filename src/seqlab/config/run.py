"""Whole-run configs: the top level of a DNA run YAML."""

from __future__ import annotations

from pydantic import Field, model_validator

from seqlab.config.base import StrictModel
from seqlab.config.data import DataConfig
from seqlab.config.hardware import HardwareConfig
from seqlab.config.model import OBJECTIVE_MONITORS, ModelConfig
from seqlab.config.schemes import (
    MfdConfig,
    NoisyStudentConfig,
    SslConfig,
    check_scheme_objective,
    check_scheme_sections,
)
from seqlab.config.train import TrainConfig

__all__ = ["DnaRunConfig"]


class DnaRunConfig(StrictModel):
    """A supervised DNA run: data, model, training; the run folder gets the resolved copy."""

    seed: int = Field(0, description="Seeds sampling, shuffling, augmentation and initialisation.")
    name: str = Field("run", description="Run name (the default run folder is runs/<name>).")
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    ssl: SslConfig | None = Field(None, description="Section of train.scheme: ssl.")
    noisy_student: NoisyStudentConfig | None = Field(None, description="Section of train.scheme: noisy_student.")
    mfd: MfdConfig | None = Field(None, description="Section of train.scheme: mfd.")

    @model_validator(mode="after")
    def _sections_match_scheme(self) -> DnaRunConfig:
        check_scheme_sections(
            self.train.scheme, {"ssl": self.ssl, "noisy_student": self.noisy_student, "mfd": self.mfd}
        )
        return self

    @model_validator(mode="after")
    def _objective_fits(self) -> DnaRunConfig:
        """The scheme trains the objective's kind, and ``train.monitor`` is a metric the objective offers."""
        kind = self.model.objective.kind
        check_scheme_objective(self.train.scheme, kind)
        tracks = [i for i, source in enumerate(self.data.sources) if source.kind == "tracks"]
        quantitative = [i for i, source in enumerate(self.data.sources) if source.quantitative]
        if quantitative and kind == "binary":
            i = quantitative[0]
            raise ValueError(
                f"data.sources.{i} (kind {self.data.sources[i].kind}) gives quantitative targets; set "
                "model.objective.kind: regression (or profile), binary trains on labels"
            )
        if kind == "profile" and not any(getattr(self.data.sources[i], "profile", False) for i in tracks):
            raise ValueError(
                "model.objective.kind profile trains on base-resolution targets: add a data.sources entry of kind "
                "tracks with profile: true"
            )
        if kind == "profile" and self.model.head.kind != "profile":
            raise ValueError(
                f"model.objective.kind profile needs model.head.kind: profile, not {self.model.head.kind!r}"
            )
        offered = OBJECTIVE_MONITORS[kind]
        if "monitor" not in self.train.model_fields_set and self.train.monitor not in offered:
            self.train.monitor = next(iter(offered))  # the default follows the objective
        if self.train.monitor not in offered:
            raise ValueError(
                f"train.monitor {self.train.monitor!r} is not a metric of model.objective.kind {kind!r}; "
                f"one of {list(offered)}"
            )
        return self
