"""MfdModule: manual optimisation with alternating adversaries, accumulation, clipping, checkpoints."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from seqlab.config.hardware import HardwareConfig
from seqlab.models.metadata_head import MetadataHead
from seqlab.runs import RunPaths
from seqlab.training.base import make_data_params
from seqlab.training.mfd import MfdModule
from seqlab.training.trainer import build_trainer

HEAD = {
    "columns": {"target": "categorical", "lab": "categorical"},
    "groups": {"biological": ["target"], "technical": ["lab"]},
    "sizes": {"biological": 0.75, "technical": 0.25},
    "hidden": 8,
}
METADATA = [{"task": "gata", "target": "GATA", "lab": "L1"}, {"task": "ebox", "target": "EBOX", "lab": "L2"}]


def _module(motifs, **mfd) -> MfdModule:
    L.seed_everything(0)
    params = make_data_params(["gata", "ebox"], motifs.length, "onehot", "synthetic", METADATA)
    return MfdModule(
        motifs.config,
        params,
        head=HEAD,
        mfd=mfd,
        learning_rate=3e-2,
        gradient_clip=mfd.pop("clip", None),
        accumulate=mfd.pop("accumulate", 1),
    )


def _fit(module, tmp_path, motifs, epochs=2, n_train=256):
    trainer = build_trainer(
        RunPaths(tmp_path),
        monitor="val_auroc",
        mode="max",
        max_epochs=epochs,
        hardware=HardwareConfig(accelerator="cpu"),
        progress_bar=False,
    )
    train, val, _ = motifs.loaders(n_train=n_train, n_eval=128)
    trainer.fit(module, train, val)
    return trainer


def test_mfd_covariance_learns_and_round_trips_through_the_checkpoint(tmp_path, motifs):
    module = _module(motifs, penalty="covariance", weight=0.1)
    assert isinstance(module.model.head, MetadataHead)
    assert module.model.head.sizes == {"biological": 6, "technical": 2}
    trainer = _fit(module, tmp_path, motifs, epochs=4, n_train=512)
    assert float(trainer.callback_metrics["val_auroc"]) > 0.6  # 0.616 (deterministic on the CPU); chance 0.5
    assert trainer.global_step == 4 * 8
    loaded = MfdModule.load_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu")
    x = torch.randn(3, 4, motifs.length)
    module.eval(), loaded.eval()
    torch.testing.assert_close(loaded(x), module(x))


@pytest.mark.parametrize("kind", ["cross_prediction", "shuffle"])
def test_adversary_steps_alternate_and_do_not_count_as_global_steps(tmp_path, motifs, kind):
    module = _module(motifs, penalty=kind, adversary_steps=3, accumulate=2)
    before = [p.detach().clone() for p in module.penalty.parameters()]
    trainer = _fit(module, tmp_path, motifs, epochs=1, n_train=256)  # 4 batches of 64
    encoder, adversary = (opt.optimizer for opt in module.optimizers())
    assert trainer.global_step == 2  # 4 batches, accumulated by 2
    assert max(int(state["step"]) for state in adversary.state.values()) == 3 * 4
    assert max(int(state["step"]) for state in encoder.state.values()) == 2
    changed = [not torch.equal(b, p) for b, p in zip(before, module.penalty.parameters(), strict=True)]
    assert all(changed)
    assert {id(p) for p in module.penalty.parameters()}.isdisjoint({id(p) for p in module.model.parameters()})


def test_clipping_is_done_by_the_module(tmp_path, motifs):
    calls = []

    class Counting(MfdModule):
        def clip_gradients(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
            calls.append(gradient_clip_val)
            super().clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    L.seed_everything(0)
    params = make_data_params(["gata", "ebox"], motifs.length, "onehot", "synthetic", METADATA)
    module = Counting(motifs.config, params, head=HEAD, mfd={"penalty": "shuffle"}, gradient_clip=0.5)
    trainer = _fit(module, tmp_path, motifs, epochs=1, n_train=129)  # last batch: one row, no penalty
    assert trainer.gradient_clip_val is None
    assert calls == [0.5, 0.5, 0.5]


def test_penalty_needs_two_groups(motifs):
    params = make_data_params(["gata", "ebox"], motifs.length, "onehot", "synthetic", METADATA)
    head = {**HEAD, "groups": {"biological": ["target"]}, "sizes": None}
    with pytest.raises(ValueError, match="needs two groups"):
        MfdModule(motifs.config, params, head=head, mfd={"penalty": "covariance"})


def test_variance_floor_term_of_the_encoder_loss(motifs):
    """floor_weight * (floor(a) + floor(b)); off with variance_floor 0 (and never with penalty none)."""
    a = torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.0, 1.0], [0.0, -1.0]])  # one dead unit, one with sd 1
    b = torch.zeros(4, 2)  # a dead subspace
    logs = {}
    module = _module(motifs, penalty="covariance", variance_floor=0.1, floor_weight=2.0)
    assert module._floor(a, b, logs).item() == pytest.approx(2.0 * (0.5 + 1.0), abs=1e-4)
    assert logs["train_floor"].item() == pytest.approx(1.5, abs=1e-4)
    off = _module(motifs, penalty="covariance", variance_floor=0.0)
    assert off._floor(a, b, {}).item() == 0.0


@pytest.mark.parametrize(("side", "technical_moves"), [("biological", False), ("both", True)])
def test_penalty_side_decides_which_subspace_the_penalty_moves(motifs, side, technical_moves):
    """weight * penalty(a, b); with side 'biological' (the default) no penalty gradient reaches b."""
    module = _module(
        motifs, penalty="cross_prediction", weight=0.5, **({} if side == "biological" else {"penalty_side": side})
    )
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(16, 6, generator=generator)
    b = (a[:, :2] + 0.1 * torch.randn(16, 2, generator=generator)).requires_grad_(True)
    a.requires_grad_(True)
    logs = {}
    term = module._independence(a, b, logs)
    assert term.item() == pytest.approx(0.5 * module.penalty.penalty(a, b).item())
    assert logs["train_penalty"].item() == pytest.approx(term.item() / 0.5)
    term.backward()
    assert a.grad.abs().sum() > 0
    assert (b.grad is not None and b.grad.abs().sum() > 0) == technical_moves
