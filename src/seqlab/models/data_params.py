"""``DataParams``: what a trained DNA model needs to know about its data, as a typed, versioned record.

Every checkpoint and every model folder (``seqlab.models.pretrained``) carries one, so predict,
variant effects, evaluation, fine-tuning and a teacher can encode inputs exactly as training did
and name the output columns. Its plain form (``to_dict``) holds JSON values only, because Lightning
checkpoints are read with ``weights_only=True``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seqlab.data.encoding import n_channels

__all__ = ["DATA_PARAMS_VERSION", "DataParams"]

DATA_PARAMS_VERSION = 1
"""Version written by this code; ``DataParams.from_dict`` reads this and earlier records."""


def _plain(value: Any) -> Any:
    """A JSON-safe value: numpy scalars unwrapped, NaN -> None, paths -> str."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class DataParams(BaseModel):
    """The data side of a trained model.

    Attributes:
        version: record format version (``DATA_PARAMS_VERSION``).
        tasks: T task names in logit-column order.
        window_length: window length L in bp the model was trained on.
        encoding: 'onehot' (C=4) or 'dinucleotide' (C=16).
        genome_name: name of the training (reference) genome.
        task_metadata: one record per task in task order (the task table's rows; metadata heads
            build from it), or empty. A ``peaks`` file is kept by its name only: a model folder holds no
            path of the machine that trained it.
        bin_size: bp one prediction stands for (a regression model on tracks: the tracks source's target
            span, one bin per window); None: the window (BED predictions to bigWig then use window-long bins).
        target_length: bp of the centred target span a profile model predicts at base resolution (a tracks
            source with ``profile: true``); None for other models.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(DATA_PARAMS_VERSION, ge=1, le=DATA_PARAMS_VERSION)
    tasks: list[str]
    window_length: int = Field(gt=0)
    encoding: str
    genome_name: str = ""
    task_metadata: list[dict[str, Any]] = Field(default_factory=list)
    bin_size: int | None = Field(None, gt=0)
    target_length: int | None = Field(None, gt=0)

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_names(cls, value: Any) -> Any:
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            return value
        return [str(task) for task in value]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        n_channels(value)  # ValueError naming the encodings
        return value

    @field_validator("task_metadata", mode="before")
    @classmethod
    def _plain_records(cls, value: Any) -> Any:
        if value is None:
            return []
        return [
            {str(k): Path(str(v)).name if k == "peaks" and v else _plain(v) for k, v in dict(record).items()}
            for record in value
        ]

    @model_validator(mode="after")
    def _consistent(self) -> DataParams:
        if not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"data_params needs distinct task names, got {self.tasks}")
        if self.task_metadata and len(self.task_metadata) != len(self.tasks):
            raise ValueError(f"task_metadata has {len(self.task_metadata)} records for {len(self.tasks)} tasks")
        return self

    @property
    def n_tasks(self) -> int:
        """Number of tasks T."""
        return len(self.tasks)

    @property
    def in_channels(self) -> int:
        """Input channels C of the encoding (4 one-hot, 16 dinucleotide)."""
        return n_channels(self.encoding)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (config.json, checkpoint hyper-parameters); ``bin_size``, ``target_length`` when set."""
        unset = {key for key in ("bin_size", "target_length") if getattr(self, key) is None}
        return self.model_dump(mode="json", exclude=unset or None)

    @classmethod
    def from_dict(cls, data: DataParams | Mapping[str, Any], source: str = "data_params") -> DataParams:
        """Read a record (any version up to ``DATA_PARAMS_VERSION``; v1 checkpoints carry no version key).

        Raises:
            ValueError: unknown keys, a newer version, or invalid values; the message names ``source``.
        """
        if isinstance(data, DataParams):
            return data
        try:
            return cls.model_validate(dict(data))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: "
                f"{'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}"
                for e in err.errors()
            )
            raise ValueError(f"{source}: invalid data parameters: {problems}") from None
