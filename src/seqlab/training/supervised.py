"""The ``supervised`` scheme: plain supervised training on labelled batches {x, y, weight, index}.

:class:`SupervisedModule` is the LightningModule (the objective's loss: weighted BCE for binary),
:func:`fit_supervised` trains one on a table through the one loop (:func:`~seqlab.training.fit.fit`), and
:data:`SUPERVISED` is the scheme's registry entry: it trains in the run folder itself (no stage sub-folder)
and writes ``model/``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from seqlab.data.table import ExampleTable
from seqlab.models.sequence_model import SequenceModel
from seqlab.runs import RunPaths
from seqlab.training.base import SeqLabModule
from seqlab.training.fit import fit
from seqlab.training.schemes import RunContext, Scheme

__all__ = ["SUPERVISED", "SupervisedModule", "derived_rows_warning", "fit_supervised", "run_supervised"]

log = logging.getLogger(__name__)


class SupervisedModule(SeqLabModule):
    """The objective's loss on the targets of every batch; evaluation and optimiser from ``SeqLabModule``.

    ``SupervisedModule(model_config, data_params, learning_rate=..., weight_decay=..., pos_weight=...)``.
    """

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss of a batch: x float32 (B, C, L), y float32 (B, T) (labels in [0, 1] for binary), weight (B, T).

        A profile batch also holds ``profile`` (B, T, L_out) and, for a head with control, ``control`` (B, T, L_out).
        """
        logits = self.model(batch["x"], batch.get("control"))
        loss = self.objective.loss(logits, batch)
        self.log_train_loss(loss, batch_size=len(logits))
        return loss


def fit_supervised(
    ctx: RunContext, stage: RunPaths, table: ExampleTable, *, init: Mapping[str, Any] | None = None
) -> tuple[SequenceModel, dict[str, Any]]:
    """Train a ``SupervisedModule`` on ``table``'s train split (early stopping on its val split) in ``stage``.

    Args:
        ctx: the run context (config: train, hardware and model sections).
        stage: the folder that receives checkpoints/, logs/ and model/ (the best weights).
        table: the examples.
        init: a state dict loaded into the model before training (fine-tuning), or None.

    Returns:
        The best model (eval mode, CPU) and facts for metrics.json (best checkpoint, epochs, parameters).
    """
    config, train = ctx.config, ctx.config.train
    module = SupervisedModule(config.model, ctx.data_params.to_dict(), learning_rate=train.learning_rate,
                              weight_decay=train.weight_decay, pos_weight=train.pos_weight)  # fmt: skip
    if init is not None:
        module.model.load_state_dict(init)
    return fit(ctx, stage, table, module)


def derived_rows_warning(table: ExampleTable) -> str | None:
    """The warning for a supervised run whose table holds derived rows (homologs), else None."""
    derived = table.derived
    if not derived.any():
        return None
    return (
        f"train.scheme supervised: {int(derived.sum()):,} of {len(table):,} examples are homologs (data.sources kind "
        "lifted); they train and validate with the reference windows, and the test metrics use the reference "
        "windows only. For a reference-only baseline remove the lifted source; to pre-train on them use "
        "train.scheme ssl"
    )


def run_supervised(ctx: RunContext) -> dict[str, Any]:
    """Plain supervised training on the labelled examples, then evaluation of the best model on val and test.

    Writes into the run folder itself (no stage sub-folder): checkpoints/, logs/, model/ and the reports.
    Derived rows (homologs of a ``lifted`` source) train and take part in model selection like the others
    (a warning says so), but the reported val/test metrics are those of the reference windows alone, as in
    every other scheme, so runs of different schemes are compared on the same windows.
    """
    warning = derived_rows_warning(ctx.table)
    if warning:
        log.warning("%s", warning)
    model, facts = fit_supervised(ctx, ctx.run, ctx.table)
    reference = ctx.table.subset(~ctx.table.derived)
    metrics = ctx.evaluate(model, reference, ctx.run.root, ("val", "test"))
    return metrics | facts


SUPERVISED = Scheme("supervised", run_supervised, objectives=("binary", "regression", "profile"))
"""``train.scheme: supervised`` (the default): one stage, the run folder itself."""
