"""What every training scheme shares: data parameters, whole-split metrics, evaluation, optimiser.

``SeqLabModule`` is the base LightningModule of every scheme (supervised now; semi-supervised
pre-train/fine-tune, Noisy Student, MFD later). A scheme subclasses it and writes its own
``training_step`` (and, for alternating optimisers, ``configure_optimizers`` with manual
optimisation); validation and test are shared and identical for every scheme:

* every batch is predicted on both strands (``SequenceModel.strand_predictions``: the objective's link,
  averaged over strands) and kept;
* at the end of the epoch predictions of the whole split (gathered across processes) give the
  objective's per-task metrics and loss (binary: AUROC/AUPR; regression: Pearson/Spearman);
  ``{split}_<metric>`` and ``{split}_loss`` (means over tasks) and ``{split}_<metric>/{task}``... are logged;
* the split's metrics stay in ``last_metrics[split]`` (for tests and callbacks). Predictions are not
  kept: reports predict with ``seqlab.models.inference.predict_table`` on the saved best model.

Checkpoints hold ``hyper_parameters`` = {model_config (dict), data_params (dict), learning_rate,
weight_decay, pos_weight, scheme extras}, so ``SequenceModel.from_pretrained`` rebuilds the model from the file.

The metric functions (``compute_split_metrics``, ``SplitPredictions``...) live in :mod:`seqlab.metrics`,
shared by training, evaluation, reports and the protein side; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch

from seqlab.config import ModelConfig
from seqlab.metrics import (
    SplitMetrics,
    SplitPredictions,
    TaskMetrics,
    UndefinedMetricWarning,
    compute_split_metrics,
    nanmean,
    task_entries,
)
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import SequenceModel, build_model, parse_model_config
from seqlab.objectives import Objective, build_objective
from seqlab.training.optim import build_adamw

__all__ = [
    "SeqLabModule",
    "SplitMetrics",
    "SplitPredictions",
    "TaskMetrics",
    "UndefinedMetricWarning",
    "compute_split_metrics",
    "make_data_params",
    "task_entries",
]


# --------------------------------------------------------------------------- data parameters


def make_data_params(
    tasks: Sequence[str],
    window_length: int,
    encoding: str,
    genome_name: str,
    task_metadata: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The data parameters stored in every checkpoint (``DataParams(...).to_dict()``), as plain values.

    Args:
        tasks: task names in label-column order (T).
        window_length: window length L in bp.
        encoding: 'onehot' or 'dinucleotide'.
        genome_name: name of the training genome.
        task_metadata: one record per task (e.g. ``tasks_frame.to_dict("records")``), in task order.

    Raises:
        ValueError: no tasks, duplicate tasks, unknown encoding, metadata not one record per task.
    """
    return DataParams.from_dict(
        {
            "tasks": list(tasks),
            "window_length": window_length,
            "encoding": encoding,
            "genome_name": str(genome_name),
            "task_metadata": list(task_metadata or []),
        }
    ).to_dict()


# --------------------------------------------------------------------------- module


class SeqLabModule(L.LightningModule):
    """Base of every training scheme: model, optimiser, strand-averaged whole-split evaluation.

    Subclasses implement ``training_step``. Scheme-specific hyper-parameters are passed up as
    keyword arguments (``super().__init__(model_config, data_params, teacher=..., **optim)``) so
    that they are saved in the checkpoint and ``load_from_checkpoint`` rebuilds the scheme.

    Args:
        model_config: a model config section or its dict form.
        data_params: ``make_data_params(...)`` (or a dict with the same keys).
        learning_rate, weight_decay: AdamW settings.
        pos_weight: BCE weight on positives (float or one per task), None for 1.
        **scheme_hparams: further hyper-parameters of the subclass, recorded in the checkpoint; plain
            values only (str, numbers, lists, dicts: checkpoints are read with ``weights_only=True``).
    """

    def __init__(
        self,
        model_config: ModelConfig | Mapping[str, Any],
        data_params: Mapping[str, Any],
        *,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-2,
        pos_weight: float | list[float] | None = None,
        **scheme_hparams: Any,
    ) -> None:
        super().__init__()
        params = DataParams.from_dict(data_params).to_dict()
        config = parse_model_config(model_config)
        self.save_hyperparameters(
            {
                "model_config": config.model_dump(mode="json"),
                "data_params": params,
                "learning_rate": learning_rate,
                "weight_decay": weight_decay,
                "pos_weight": pos_weight,
                **scheme_hparams,
            }
        )
        self.model: SequenceModel = build_model(config, params)
        self.objective: Objective = build_objective(config.objective, pos_weight)
        self.last_metrics: dict[str, SplitMetrics] = {}
        self._collected: dict[str, list[dict[str, torch.Tensor]]] = {}
        self._train_loss_sum: torch.Tensor | float = 0.0
        self._train_loss_count = 0

    @property
    def tasks(self) -> list[str]:
        """Task names in label-column order."""
        return self.hparams["data_params"]["tasks"]

    @property
    def encoding(self) -> str:
        """Input encoding ('onehot' or 'dinucleotide')."""
        return self.hparams["data_params"]["encoding"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to logits float32 (B, T)."""
        return self.model(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW over the trainable parameters (a frozen trunk is left out)."""
        return build_adamw(
            self.parameters(), learning_rate=self.hparams["learning_rate"], weight_decay=self.hparams["weight_decay"]
        )

    # ----------------------------------------------------------------- shared evaluation

    def _collect(self, split: str, batch: Mapping[str, torch.Tensor]) -> None:
        probs = self.model.strand_predictions(batch["x"], batch.get("control"))
        targets = batch[self.objective.target_key]  # y (B, T); a profile objective's profile (B, T, L)
        self._collected[split].append(
            {"index": batch["index"], "y": targets, "probs": probs, "weight": batch["weight"]}
        )

    def _gathered(self, split: str) -> SplitPredictions | None:
        """The split's predictions from every process, de-duplicated by index when distributed."""
        batches = self._collected.pop(split)
        if not batches:
            return None
        arrays = {key: torch.cat([batch[key] for batch in batches]) for key in batches[0]}
        if self.trainer.world_size > 1:
            # DistributedSampler gives every process the same count (it repeats a few examples).
            arrays = {key: value.flatten(0, 1) for key, value in self.all_gather(arrays).items()}
        numpy = {key: value.detach().cpu().numpy() for key, value in arrays.items()}
        if self.trainer.world_size > 1:
            _, first = np.unique(numpy["index"], return_index=True)
            numpy = {key: value[first] for key, value in numpy.items()}
        return SplitPredictions(
            split=split,
            tasks=list(self.tasks),
            index=numpy["index"].astype(np.int64),
            y=numpy["y"].astype(np.float32),
            probs=numpy["probs"].astype(np.float32),
            weight=numpy["weight"].astype(np.float32),
        )

    def _evaluate(self, split: str) -> None:
        predictions = self._gathered(split)
        if predictions is None:
            return
        metrics = self.objective.split_metrics(predictions.y, predictions.probs, predictions.weight, self.tasks, split)
        losses = self.objective.split_loss(predictions.probs, predictions.y, predictions.weight)
        per_task: dict[str, float] = {}
        for task, loss in zip(self.tasks, losses, strict=True):
            for name, value in metrics.task_values(task).items():
                per_task[f"{split}_{name}/{task}"] = value
            per_task[f"{split}_loss/{task}"] = loss
        means = {f"{split}_{name}": value for name, value in metrics.means().items()}
        # Every process holds the same gathered values: no further reduction.
        self.log_dict({f"{split}_loss": nanmean(losses), **means}, prog_bar=True)
        self.log_dict(per_task)
        self.last_metrics[split] = metrics

    # ----------------------------------------------------------------- training loss

    def log_train_loss(self, loss: torch.Tensor, batch_size: int) -> None:
        """Record a training step's loss: ``train_loss_step`` every ``log_every_n_steps`` steps, and
        ``train_loss_epoch`` (the example-weighted mean) once at the end of the epoch.

        Logging every step through ``self.log`` costs ~2 ms per step in Lightning's bookkeeping (see
        docs/benchmarks.md); the running sum stays on the device, so no step waits for a sync.
        """
        detached = loss.detach()
        self._train_loss_sum = self._train_loss_sum + detached * batch_size
        self._train_loss_count += batch_size
        if self.global_step % self.trainer.log_every_n_steps == 0:
            self.log("train_loss_step", detached, on_step=True, on_epoch=False, prog_bar=True, batch_size=batch_size)

    def on_train_epoch_end(self) -> None:
        """Log the epoch's mean training loss (averaged across processes) and reset the sum."""
        if self._train_loss_count:
            mean = torch.as_tensor(self._train_loss_sum / self._train_loss_count)
            self.log("train_loss_epoch", mean, prog_bar=True, sync_dist=True)
        self._train_loss_sum, self._train_loss_count = 0.0, 0

    def on_validation_epoch_start(self) -> None:
        """Start collecting validation predictions."""
        self._collected["val"] = []

    def validation_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> None:
        """Predict a validation batch {x, y, weight, index} on both strands and keep it."""
        self._collect("val", batch)

    def on_validation_epoch_end(self) -> None:
        """Metrics and loss over the whole validation split; logged as ``val_*``."""
        self._evaluate("val")

    def on_test_epoch_start(self) -> None:
        """Start collecting test predictions."""
        self._collected["test"] = []

    def test_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> None:
        """Predict a test batch {x, y, weight, index} on both strands and keep it."""
        self._collect("test", batch)

    def on_test_epoch_end(self) -> None:
        """Metrics and loss over the whole test split; logged as ``test_*``, kept in ``last_*``."""
        self._evaluate("test")
