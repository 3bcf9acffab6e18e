"""Whole-run configs: the top level of a DNA run YAML."""

from __future__ import annotations

from pydantic import Field

from seqlab.config.base import StrictModel
from seqlab.config.data import DataConfig
from seqlab.config.model import ModelConfig
from seqlab.config.train import TrainConfig

__all__ = ["DnaRunConfig"]


class DnaRunConfig(StrictModel):
    """A supervised DNA run: data, model, training; the run folder gets the resolved copy."""

    seed: int = Field(0, description="Seeds sampling, shuffling, augmentation and initialisation.")
    name: str = Field("run", description="Run name (the default run folder is runs/<name>).")
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
