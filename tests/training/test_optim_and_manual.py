"""The shared optimiser/schedule builder, and manual optimisation through build_trainer."""

import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from transformers.optimization import get_linear_schedule_with_warmup

from seqlab.config.hardware import HardwareConfig
from seqlab.runs import RunPaths
from seqlab.training.optim import build_adamw, configure_optimisation, linear_warmup_decay, resolve_warmup_steps
from seqlab.training.trainer import ManualOptimisationMixin, build_trainer


def test_schedule_equals_transformers_linear_warmup():
    layer = torch.nn.Linear(2, 1)
    ours = linear_warmup_decay(torch.optim.SGD(layer.parameters(), lr=1.0), 3, 10)
    theirs = get_linear_schedule_with_warmup(torch.optim.SGD(layer.parameters(), lr=1.0), 3, 10)
    factors = [ours.lr_lambdas[0](step) for step in range(12)]
    assert factors == [theirs.lr_lambdas[0](step) for step in range(12)]
    assert factors[:5] == [0.0, 1 / 3, 2 / 3, 1.0, 6 / 7] and factors[10:] == [0.0, 0.0]
    assert resolve_warmup_steps(0.06, 1000) == 60 and resolve_warmup_steps(7, 1000) == 7


def test_adamw_leaves_frozen_out_and_can_spare_vectors_from_decay():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 1))
    model[2].requires_grad_(False)
    plain = build_adamw(model.parameters(), learning_rate=0.1, weight_decay=0.01)
    assert len(plain.param_groups) == 1 and len(plain.param_groups[0]["params"]) == 4
    grouped = build_adamw(model.parameters(), learning_rate=0.1, weight_decay=0.01, decay_matrices_only=True)
    assert [len(g["params"]) for g in grouped.param_groups] == [1, 3]
    assert [g["weight_decay"] for g in grouped.param_groups] == [0.01, 0.0]
    configured = configure_optimisation(model.parameters(), learning_rate=0.1, warmup=0.5, max_steps=4)
    assert configured["lr_scheduler"]["interval"] == "step"
    assert configured["lr_scheduler"]["scheduler"].lr_lambdas[0](1) == 0.5
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_adamw(model[2].parameters(), learning_rate=0.1)


DIRECTION = torch.tensor([3.0, 4.0, 0.0])  # norm 5


class ManualModule(ManualOptimisationMixin, L.LightningModule):
    """w (3,) trained by SGD(lr=1) on loss = -<w, 2 * DIRECTION> per batch: every gradient has norm 10."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.w = torch.nn.Parameter(torch.zeros(3))
        self.steps = 0

    def training_step(self, batch, batch_idx):
        optimiser = self.optimizers()
        loss = -(self.w * 2 * DIRECTION).sum() + 0 * batch[0].sum()
        self.manual_backward(loss / self.accumulate)
        if self.accumulation_boundary(batch_idx):
            self.clip_and_step(optimiser)
            self.steps += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1.0)


def test_manual_optimisation_clips_and_accumulates_in_the_module(tmp_path):
    module = ManualModule()
    trainer = build_trainer(
        RunPaths(tmp_path), monitor="train_loss", mode="min", max_epochs=1, hardware=HardwareConfig(accelerator="cpu"),
        gradient_clip=0.5, accumulate_grad_batches=2, progress_bar=False, module=module,
    )  # fmt: skip
    assert trainer.gradient_clip_val is None and trainer.accumulate_grad_batches == 1
    assert module.gradient_clip == 0.5 and module.accumulate == 2
    loader = DataLoader(TensorDataset(torch.zeros(5, 1)), batch_size=1)  # 5 batches: steps after 2, 4 and 5
    trainer.fit(module, loader)
    assert module.steps == 3
    # every step moves w by the clipped gradient: norm 0.5 along DIRECTION
    torch.testing.assert_close(module.w.detach(), 3 * 0.5 * DIRECTION / 5)
    assert math.isclose(float(module.w.detach().norm()), 1.5, rel_tol=1e-6)


def test_automatic_optimisation_keeps_lightning_clipping(tmp_path):
    module = torch.nn.Module()
    lightning_module = L.LightningModule()
    lightning_module.add_module("m", module)
    trainer = build_trainer(
        RunPaths(tmp_path), monitor="val_loss", mode="min", gradient_clip=0.5,
        hardware=HardwareConfig(accelerator="cpu"),
        accumulate_grad_batches=3, progress_bar=False, module=lightning_module,
    )  # fmt: skip
    assert trainer.gradient_clip_val == 0.5 and trainer.accumulate_grad_batches == 3
