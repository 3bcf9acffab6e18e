"""Training sections: optimisation, stopping, the scheme. Hardware keys live in ``hardware`` (config/hardware.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from seqlab.config.base import StrictModel

__all__ = ["TrainConfig"]


class TrainConfig(StrictModel):
    """Optimisation, stopping and the training scheme."""

    scheme: str = Field(
        "supervised",
        description="Training scheme (seqlab.training.schemes registry): supervised; the wings add ssl, "
        "noisy_student, mfd.",
    )

    max_epochs: int = Field(20, gt=0, description="Epochs at most (early stopping may end sooner).")
    learning_rate: float = Field(1e-3, gt=0, description="AdamW learning rate.")
    weight_decay: float = Field(1e-2, ge=0, description="AdamW weight decay.")
    pos_weight: float | None = Field(
        None, gt=0, description="BCE weight on positives; None = 1, 'auto' not supported: set a number."
    )
    patience: int = Field(
        5,
        ge=1,
        description="Early-stopping patience on the monitored metric: validations without gain (one per epoch "
        "unless val_check_interval), or optimiser steps with patience_unit: steps.",
    )
    patience_unit: Literal["validations", "steps"] = Field(
        "validations", description="Unit of patience; 'steps' is turned into validations of val_check_interval."
    )
    val_check_interval: int | None = Field(
        None,
        gt=0,
        description="Validate (and checkpoint) every this many optimiser steps, across epoch ends; None: at "
        "each epoch's end, or every 10 steps when an epoch is under 10 steps (small data sets).",
    )
    monitor: str = Field(
        "val_auroc",
        description="Validation metric for early stopping and the best checkpoint, one the objective offers: "
        "binary val_auroc, val_aupr, val_loss; regression val_pearson, val_spearman, val_loss; profile "
        "val_count_pearson, val_profile_jsd, val_profile_pearson, val_loss. Left unset with another objective "
        "than binary: that objective's first.",
    )
    gradient_clip: float | None = Field(None, gt=0, description="Clip gradients to this norm.")
    limit_train_batches: int | float | None = Field(
        None, description="Train on this many batches (or this fraction) per epoch; for quick runs."
    )
    progress_bar: bool = Field(True, description="Rich progress bar.")
