"""Plain supervised training on labelled batches {x, y, weight, index} (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from seqlab.training.base import SeqLabModule
from seqlab.training.losses import weighted_bce_with_logits

__all__ = ["SupervisedModule"]


class SupervisedModule(SeqLabModule):
    """Weighted BCE on the labels of every batch; evaluation and optimiser from ``SeqLabModule``.

    ``SupervisedModule(model_config, data_params, learning_rate=..., weight_decay=..., pos_weight=...)``.
    """

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss of a batch: x float32 (B, C, L), y float32 (B, T) in [0, 1], weight float32 (B, T)."""
        logits = self.model(batch["x"])
        loss = weighted_bce_with_logits(logits, batch["y"], batch["weight"], self.hparams["pos_weight"])
        self.log_train_loss(loss, batch_size=len(logits))
        return loss
