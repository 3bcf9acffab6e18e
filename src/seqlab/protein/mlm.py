"""Masked-language-model pieces: RoBERTa sizes, the masking collator, the Lightning module.

* :func:`build_mlm_model` makes a ``RobertaForMaskedLM`` from a preset (tiny/small/base/custom)
  whose vocabulary and special ids match the tokenizer.
* :class:`MlmCollator` pads a list of encoded inputs to the longest in the batch and masks them
  (15% by default, 80% ``<mask>`` / 10% random regular token / 10% unchanged; special and padding
  tokens never masked), always returning the attention mask.
* :class:`MlmModule` trains any ``*ForMaskedLM`` (RoBERTa, Longformer) with AdamW and a linear
  warm-up/decay schedule, counts the tokens it trained on and reports the held-out masked-LM loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torchmetrics.aggregation import MeanMetric
from transformers import PreTrainedModel, PreTrainedTokenizerFast, RobertaConfig, RobertaForMaskedLM

from seqlab.config import HardwareConfig
from seqlab.protein.config import MlmModelConfig, OptimConfig
from seqlab.runs import RunPaths
from seqlab.training.optim import configure_optimisation, resolve_warmup_steps
from seqlab.training.trainer import build_trainer

__all__ = [
    "POSITION_OFFSET",
    "PRESETS",
    "MlmCollator",
    "MlmModule",
    "build_mlm_model",
    "optim_trainer",
    "roberta_config",
    "evaluate_mlm",
    "model_sizes",
    "ProteinModule",
    "optim_configuration",
    "warmup_steps",
]

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128},
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
"""RoBERTa sizes per preset (``base`` is RoBERTa-base, the paper's model)."""
POSITION_OFFSET = 2
"""RoBERTa/Longformer positions start after the padding index: inputs fit ``max_position_embeddings - 2``."""


def model_sizes(config: MlmModelConfig) -> dict[str, int]:
    """The preset's sizes with every explicitly set size overriding it (``custom``: only the set ones).

    Raises:
        ValueError: ``hidden_size`` is not a multiple of ``num_attention_heads``.
    """
    sizes = dict(PRESETS.get(config.preset, {}))
    for name in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
        value = getattr(config, name)
        if value is not None:
            sizes[name] = value
    if sizes["hidden_size"] % sizes["num_attention_heads"]:
        raise ValueError(
            f"model.hidden_size ({sizes['hidden_size']}) must be a multiple of "
            f"model.num_attention_heads ({sizes['num_attention_heads']})"
        )
    return sizes


def roberta_config(config: MlmModelConfig, tokenizer: PreTrainedTokenizerFast) -> RobertaConfig:
    """The ``RobertaConfig`` sized by ``config`` and matching ``tokenizer`` (no weights are made).

    The vocabulary is ``len(tokenizer)``; pad/bos/eos ids come from the tokenizer; one token type.
    Inputs may be up to ``config.max_position_embeddings - POSITION_OFFSET`` tokens long.
    """
    return RobertaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        hidden_dropout_prob=config.hidden_dropout_prob,
        attention_probs_dropout_prob=config.attention_probs_dropout_prob,
        layer_norm_eps=1e-5,
        **model_sizes(config),
    )


def build_mlm_model(config: MlmModelConfig, tokenizer: PreTrainedTokenizerFast) -> RobertaForMaskedLM:
    """A randomly initialised ``RobertaForMaskedLM`` of :func:`roberta_config`."""
    return RobertaForMaskedLM(roberta_config(config, tokenizer))


class MlmCollator:
    """Pad encoded inputs to the batch's longest and mask them for masked-language modelling.

    Each selected position (probability ``mlm_probability`` among non-special, non-padding tokens)
    becomes ``<mask>`` with probability 0.8, a random regular (non-special) token with 0.1, and
    stays unchanged with 0.1. When no position of a batch is selected, one random eligible position
    is (so the loss is always defined).

    Args:
        tokenizer: gives ``pad_token_id``, ``mask_token_id``, the special ids and the vocabulary.
        mlm_probability: share of eligible tokens selected.
        generator: random source (default: torch's global generator, seeded by Lightning).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerFast,
        mlm_probability: float = 0.15,
        generator: torch.Generator | None = None,
    ) -> None:
        self.pad_id = int(tokenizer.pad_token_id)
        self.mask_id = int(tokenizer.mask_token_id)
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        vocab = torch.arange(len(tokenizer), dtype=torch.long)
        self.regular_ids = vocab[~torch.isin(vocab, self.special_ids)]
        self.mlm_probability = mlm_probability
        self.generator = generator

    def _coin(self, shape: torch.Size, probability: float) -> torch.Tensor:
        """Bool tensor of ``shape``, each entry True with ``probability``."""
        return torch.bernoulli(torch.full(shape, probability), generator=self.generator).bool()

    def __call__(self, examples: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        """Collate token-id lists (with their special tokens) into a masked batch.

        Returns:
            ``input_ids`` int64 (B, L) with masking applied; ``attention_mask`` int64 (B, L), 1 on
            tokens, 0 on padding; ``labels`` int64 (B, L), the original id at selected positions
            and -100 elsewhere. L is the longest input of the batch.
        """
        length = max(len(ids) for ids in examples)
        input_ids = torch.full((len(examples), length), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(examples), length), dtype=torch.long)
        for row, ids in enumerate(examples):
            input_ids[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        eligible = attention_mask.bool() & ~torch.isin(input_ids, self.special_ids)
        probability = torch.where(eligible, self.mlm_probability, 0.0)
        selected = torch.bernoulli(probability, generator=self.generator).bool()
        if not selected.any() and eligible.any():
            candidates = eligible.flatten().nonzero().squeeze(1)
            pick = candidates[torch.randint(len(candidates), (1,), generator=self.generator)]
            selected.view(-1)[pick] = True
        labels = torch.where(selected, input_ids, -100)
        to_mask = selected & self._coin(selected.shape, 0.8)
        to_random = selected & ~to_mask & self._coin(selected.shape, 0.5)
        random_ids = self.regular_ids[
            torch.randint(len(self.regular_ids), selected.shape, generator=self.generator)
        ]
        input_ids = torch.where(to_mask, self.mask_id, torch.where(to_random, random_ids, input_ids))
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def warmup_steps(optim: OptimConfig) -> int:
    """Warm-up in optimizer steps: ``warmup_steps`` if >= 1, else that fraction of ``max_steps``."""
    return resolve_warmup_steps(optim.warmup_steps, optim.max_steps)


def optim_configuration(model: torch.nn.Module, optim: OptimConfig) -> dict[str, Any]:
    """``configure_optimizers`` of every protein module: AdamW (decay on weight matrices only) and the
    linear warm-up/decay schedule of ``optim``, from the shared builder (``seqlab.training.optim``).
    """
    configured = configure_optimisation(
        model.parameters(),
        learning_rate=optim.learning_rate,
        weight_decay=optim.weight_decay,
        betas=optim.betas,
        eps=optim.eps,
        decay_matrices_only=True,
        warmup=optim.warmup_steps,
        max_steps=optim.max_steps,
    )
    assert isinstance(configured, dict)
    return configured


@torch.no_grad()
def evaluate_mlm(model: PreTrainedModel, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Masked-LM loss over pre-masked batches, averaged over masked tokens (not batches).

    Returns:
        ``{"mlm_loss": mean cross-entropy (nats), "perplexity": exp(mlm_loss), "masked_tokens": n}``.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for batch in batches:
        batch = {key: value.to(device) for key, value in batch.items()}
        n = int((batch["labels"] != -100).sum())
        total += float(model(**batch).loss) * n
        count += n
    model.train(was_training)
    loss = total / count if count else float("nan")
    return {"mlm_loss": loss, "perplexity": math.exp(loss), "masked_tokens": count}


class ProteinModule(L.LightningModule):
    """Base of the protein LightningModules: a Hugging Face ``self.model`` trained with ``self.optim``.

    ``configure_optimizers`` is the shared one (:func:`optim_configuration`: AdamW without decay on
    vectors, linear warm-up then decay, stepped per optimiser step, from ``seqlab.training.optim``).
    """

    model: PreTrainedModel
    optim: OptimConfig

    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW with decay on weight matrices only, and the linear warm-up/decay schedule."""
        return optim_configuration(self.model, self.optim)


class MlmModule(ProteinModule):
    """Masked-language-model training of any ``*ForMaskedLM`` (forward takes ``input_ids``,
    ``attention_mask``, ``labels`` and returns ``.loss``).

    Batches are :class:`MlmCollator` outputs. Logs ``train_loss`` per step, ``val_loss`` (masked
    tokens' mean cross-entropy over the whole validation set) and ``val_perplexity``. The buffer
    ``tokens_seen`` (int64 scalar, saved in checkpoints) counts the non-padding input tokens
    trained on; with ``token_budget`` training stops once it is reached.

    Optimisation: AdamW (``optim`` betas, eps, weight decay; no decay on biases and LayerNorm
    weights, i.e. parameters with fewer than 2 dimensions), learning rate warmed up linearly over
    :func:`warmup_steps` and decayed linearly to 0 at ``optim.max_steps``, stepped per optimizer step.
    """

    def __init__(self, model: PreTrainedModel, optim: OptimConfig, token_budget: int | None = None) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self.token_budget = token_budget
        self.register_buffer("tokens_seen", torch.zeros((), dtype=torch.long))
        self.val_loss = MeanMetric()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Masked-LM loss of one batch; counts its tokens (summed over devices)."""
        loss = self.model(**batch).loss
        self.tokens_seen += self.trainer.strategy.reduce(batch["attention_mask"].sum(), reduce_op="sum")
        self.log("train_loss", loss, prog_bar=True, batch_size=batch["input_ids"].shape[0])
        self.log("tokens_seen", self.tokens_seen.float(), batch_size=batch["input_ids"].shape[0])
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Stop once the token budget is spent."""
        if self.token_budget is not None and int(self.tokens_seen) >= self.token_budget:
            self.trainer.should_stop = True

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Accumulate the loss weighted by the number of masked tokens."""
        loss = self.model(**batch).loss
        self.val_loss.update(loss.detach().float(), weight=(batch["labels"] != -100).sum())

    def on_validation_epoch_end(self) -> None:
        """Log ``val_loss`` and ``val_perplexity`` over the whole validation set."""
        loss = self.val_loss.compute()
        self.val_loss.reset()
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_perplexity", torch.exp(loss))


def optim_trainer(
    run: RunPaths,
    optim: OptimConfig,
    hardware: HardwareConfig,
    *,
    monitor: str,
    mode: Literal["min", "max"],
    train_batches: int,
    patience: int | None = None,
    extra_callbacks: list[Callback] | None = None,
) -> L.Trainer:
    """The Lightning trainer of a protein run (pre-training or fine-tuning) from its ``OptimConfig``.

    Validation runs every ``optim.val_every_steps`` optimiser steps, given as a batch count of at most
    one epoch (``train_batches``), so checkpoints and early stopping act after validation, also on resume.
    """
    return build_trainer(
        run,
        monitor=monitor,
        mode=mode,
        max_steps=optim.max_steps,
        patience=patience,
        hardware=hardware,
        gradient_clip=optim.gradient_clip,
        accumulate_grad_batches=optim.accumulate_grad_batches,
        val_check_interval=min(optim.val_every_steps * optim.accumulate_grad_batches, train_batches),
        progress_bar=optim.progress_bar,
        extra_callbacks=extra_callbacks,
    )
