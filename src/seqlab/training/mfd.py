"""MFD training: a metadata head, an independence penalty and its adversaries, with manual optimisation.

``MfdModule`` is a :class:`~seqlab.training.base.SeqLabModule` whose model has a
:class:`~seqlab.models.metadata_head.MetadataHead`; evaluation (both strands, whole-split AUROC/AUPR)
is the base's. Each training batch {x float32 (B, C, L), y float32 (B, T), weight float32 (B, T)}:

1. features z = trunk(x) (B, F), cut into the subspaces of the first two groups, a (biological) and
   b (technical);
2. adversary (penalties with networks only): ``adversary_steps`` steps of its own Adam optimiser on
   ``penalty.adversary_loss(a.detach(), b.detach())``, each with the gradient clipped to
   ``gradient_clip`` (norm); the gradient is taken with ``torch.autograd.grad`` and averaged over DDP
   processes by hand (a second ``manual_backward`` per batch would trip DDP's reducer);
3. encoder (trunk + head): loss = weighted BCE(head(z), y, weight) + ``weight`` * penalty.penalty(a, b)
   + ``floor_weight`` * (variance_floor(a) + variance_floor(b)) (the floor with any penalty but 'none');
   with ``penalty_side: biological`` (the default) b enters the penalty detached, so only the biological
   features are moved by it;
   gradients of ``accumulate`` batches are summed (each loss divided by ``accumulate``), then clipped
   (``self.clip_gradients``, norm ``gradient_clip``) and one AdamW step is taken.

Lightning must not clip or accumulate itself under manual optimisation: the trainer is built without
``gradient_clip_val`` / ``accumulate_grad_batches`` and the module reads ``self.gradient_clip`` and
``self.accumulate``. ``trainer.global_step`` counts encoder steps only (the adversary optimiser is
stepped directly, not through Lightning's step counter), so ``max_steps`` means encoder steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from seqlab.config import ModelConfig
from seqlab.config.mfd import MetadataHeadConfig, MfdConfig
from seqlab.losses import weighted_bce_with_logits
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import parse_model_config
from seqlab.training.base import SeqLabModule
from seqlab.training.penalties import Penalty, build_penalty, variance_floor

__all__ = ["MfdModule"]


def _dump(section: Any, cls: type) -> dict[str, Any]:
    if section is None:
        section = cls()
    elif isinstance(section, Mapping):
        section = cls(**section)
    return section.model_dump(mode="json")


class MfdModule(SeqLabModule):
    """A metadata-head model trained with an independence penalty between its first two subspaces.

    Args:
        model_config: the model section (or its dict form); its head is replaced by the metadata head
            ``head`` (default: ``model_config.head`` when it is a metadata head, else the defaults).
        data_params: ``make_data_params(...)`` with ``task_metadata`` (one record per experiment).
        head: ``MetadataHeadConfig`` or its dict (None: defaults).
        mfd: ``MfdConfig`` or its dict (None: defaults: cross_prediction penalty on the biological side,
            weight 0.1).
        gradient_clip: clip every optimiser's gradient norm to this (None: no clipping).
        accumulate: batches whose encoder gradients are summed before a step (the trainer factory of
            the spine sets ``module.gradient_clip`` / ``module.accumulate`` from the train section).
        learning_rate, weight_decay, pos_weight: as in ``SeqLabModule``.

    Raises:
        ValueError: a penalty other than 'none' with fewer than two groups.
    """

    def __init__(
        self,
        model_config: ModelConfig | Mapping[str, Any],
        data_params: Mapping[str, Any],
        *,
        head: MetadataHeadConfig | Mapping[str, Any] | None = None,
        mfd: MfdConfig | Mapping[str, Any] | None = None,
        gradient_clip: float | None = None,
        accumulate: int = 1,
        **optim: Any,
    ) -> None:
        config = parse_model_config(model_config)
        if head is None and isinstance(config.head, MetadataHeadConfig):
            head = config.head
        head_dict, mfd_dict = _dump(head, MetadataHeadConfig), _dump(mfd, MfdConfig)
        # the model config records the metadata head, so checkpoints and model folders rebuild it
        config = config.model_copy(update={"head": MetadataHeadConfig(**head_dict)})
        super().__init__(
            config, data_params, head=head_dict, mfd=mfd_dict, gradient_clip=gradient_clip, accumulate=accumulate,
            **optim,
        )  # fmt: skip
        self.automatic_optimization = False
        self.gradient_clip = gradient_clip
        if accumulate < 1:
            raise ValueError(f"accumulate must be >= 1, got {accumulate}")
        self.accumulate = int(accumulate)
        metadata_head: MetadataHead = self.model.head
        self.pair = list(metadata_head.groups)[:2]
        if mfd_dict["penalty"] != "none" and len(self.pair) < 2:
            raise ValueError(f"mfd.penalty {mfd_dict['penalty']!r} needs two groups in model.head.groups")
        sizes = [metadata_head.sizes[group] for group in self.pair] + [1, 1]
        self.penalty: Penalty | None = build_penalty(
            mfd_dict["penalty"], sizes[0], sizes[1], int(mfd_dict["adversary_hidden"])
        )

    @property
    def has_adversary(self) -> bool:
        """Whether the penalty trains networks of its own."""
        return self.penalty is not None and self.penalty.has_adversary

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[AdamW over the trainable model parameters] + [Adam over the adversaries, if any]."""
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        optimisers: list[torch.optim.Optimizer] = [
            torch.optim.AdamW(trainable, lr=self.hparams["learning_rate"], weight_decay=self.hparams["weight_decay"])
        ]
        if self.has_adversary:
            optimisers.append(torch.optim.Adam(self.penalty.parameters(), lr=self.hparams["mfd"]["adversary_lr"]))
        return optimisers

    def on_fit_start(self) -> None:
        """Refuse float16 loss scaling with adversaries (their optimiser is stepped without the scaler)."""
        if self.has_adversary and str(self.trainer.precision).startswith("16"):
            raise ValueError("MFD adversaries do not support precision 16-mixed; use bf16-mixed or 32-true")

    def pair_subspaces(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The first two groups' subspaces (B, P), (B, Q) of features (B, F); None with one group."""
        if len(self.pair) < 2:
            return None
        parts = self.model.head.subspaces(features)
        return parts[self.pair[0]], parts[self.pair[1]]

    def _adversary_steps(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``adversary_steps`` Adam steps of the adversaries on detached a, b; returns the last adversary loss.

        The gradients come from ``torch.autograd.grad``, not ``manual_backward``: under DDP a second backward
        through the wrapped module would meet the reducer, which expects one backward per forward and every
        trunk parameter used; here they are averaged over the processes by hand, so every rank's adversaries
        stay the same.
        """
        optimiser = self.optimizers()[1].optimizer  # raw: its steps do not count as global steps
        a, b = a.detach(), b.detach()
        params = list(self.penalty.parameters())
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        loss = torch.zeros(())
        for _ in range(int(self.hparams["mfd"]["adversary_steps"])):
            optimiser.zero_grad(set_to_none=True)
            loss = self.penalty.adversary_loss(a, b)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad  # None for a parameter the loss does not use: the optimiser skips it
                if distributed and grad is not None:
                    torch.distributed.all_reduce(param.grad)
                    param.grad /= torch.distributed.get_world_size()
            if self.gradient_clip is not None:
                torch.nn.utils.clip_grad_norm_(self.penalty.parameters(), self.gradient_clip)
            optimiser.step()
        return loss.detach()

    def _independence(self, a: torch.Tensor, b: torch.Tensor, logs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted penalty, weight * penalty(a, b), b detached with side biological; logged as train_penalty.

        a (B, P), b (B, Q): the biological and technical subspaces. With side 'biological' the penalty's
        gradient reaches the trunk only through a: the biological features must become unpredictable
        from (and unpredictive of) the technical ones, which stay free to carry the technical signal.
        """
        if self.hparams["mfd"]["penalty_side"] == "biological":
            b = b.detach()
        penalty = self.penalty.penalty(a, b)
        logs["train_penalty"] = penalty.detach()
        return self.hparams["mfd"]["weight"] * penalty

    def _floor(self, a: torch.Tensor, b: torch.Tensor, logs: dict[str, torch.Tensor]) -> torch.Tensor:
        """floor_weight * (variance_floor(a) + variance_floor(b)), float32 scalar; logged as train_floor."""
        floor, weight = float(self.hparams["mfd"]["variance_floor"]), float(self.hparams["mfd"]["floor_weight"])
        if floor <= 0 or weight == 0:
            return a.new_zeros(())
        term = variance_floor(a, floor) + variance_floor(b, floor)
        logs["train_floor"] = term.detach()
        return weight * term

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """One adversary round and one (accumulated) encoder step; returns the encoder loss (detached)."""
        optimisers = self.optimizers()
        encoder = optimisers[0] if isinstance(optimisers, list) else optimisers
        features = self.model.features(batch["x"])
        # A batch of one row (the last of an epoch) has no covariance to penalise: BCE only.
        pair = self.pair_subspaces(features) if len(features) > 1 else None
        logs: dict[str, torch.Tensor] = {}
        if self.has_adversary and pair is not None:
            logs["train_adversary_loss"] = self._adversary_steps(*pair)
        logits = self.model.head(features)
        loss = weighted_bce_with_logits(logits, batch["y"], batch["weight"], self.hparams["pos_weight"])
        logs["train_bce"] = loss.detach()
        if self.penalty is not None and pair is not None:
            loss = loss + self._independence(*pair, logs) + self._floor(*pair, logs)
        self.manual_backward(loss / self.accumulate)
        last = self.trainer.num_training_batches == batch_idx + 1
        if (batch_idx + 1) % self.accumulate == 0 or last:
            if self.gradient_clip is not None:
                self.clip_gradients(encoder, gradient_clip_val=self.gradient_clip, gradient_clip_algorithm="norm")
            encoder.step()
            encoder.zero_grad(set_to_none=True)
        self.log_train_loss(loss, batch_size=len(logits))
        if self.global_step % self.trainer.log_every_n_steps == 0:
            self.log_dict(logs, on_step=True, on_epoch=False, batch_size=len(logits))
        return loss.detach()
