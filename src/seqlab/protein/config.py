"""Validated configs of the protein wing (same conventions as ``seqlab.config``: unknown keys are errors).

Sections: ``CorpusConfig`` (pair and single corpora from STRING files), ``TokenizerConfig`` (BPE),
``MlmModelConfig`` (RoBERTa sizes), ``PretrainConfig`` (a masked-LM run), ``LongformerConfig``
(conversion and continued pre-training), ``FinetuneConfig`` (classification fine-tuning).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from seqlab.config import StrictModel

__all__ = [
    "CorpusConfig",
    "FinetuneConfig",
    "FinetuneDataConfig",
    "LongformerConfig",
    "MlmModelConfig",
    "OptimConfig",
    "PretrainConfig",
    "TokenizerConfig",
]


class OptimConfig(StrictModel):
    """AdamW with linear warm-up and decay (RoBERTa's settings by default)."""

    learning_rate: float = Field(5e-4, gt=0)
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = Field(1e-6, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int | float = Field(0.06, ge=0, description="Steps, or a fraction of all steps if < 1.")
    max_steps: int = Field(1000, gt=0)
    batch_size: int = Field(16, gt=0)
    accumulate_grad_batches: int = Field(1, gt=0)
    val_every_steps: int = Field(200, gt=0)
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    precision: str = Field("auto", description="'auto': bf16-mixed on a GPU with bf16, else 32-true.")
    gradient_clip: float | None = 1.0
    num_workers: int = Field(0, ge=0)
    progress_bar: bool = True


class CorpusConfig(StrictModel):
    """Pair corpus from STRING links (binding: score >= threshold; non-binding: random unlinked pairs)."""

    links: Path = Field(..., description="STRING protein.links / links.detailed / actions file (gz or plain).")
    sequences: Path = Field(..., description="Sequence dictionary TSV (id<TAB>sequence) or protein FASTA.")
    score_threshold: int = Field(700, ge=0, le=1000)
    negative_ratio: float = Field(1.0, ge=0, description="Non-binding pairs per binding pair.")
    max_tokens: int = Field(512, gt=0, description="Length limit in tokens, applied after tokenization.")
    unknown_residues: Literal["map_to_x", "reject"] = "map_to_x"
    strict_split: bool = Field(True, description="Keep proteins of validation/test pairs out of pre-training.")
    val_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.1, ge=0, lt=1)


class TokenizerConfig(StrictModel):
    """Byte-pair-encoding tokenizer trained on protein sequences."""

    vocab_size: int = Field(10_000, gt=30)
    min_frequency: int = Field(2, ge=1)
    model_max_length: int = Field(512, gt=0)


class MlmModelConfig(StrictModel):
    """RoBERTa sizes, from a tiny test preset to the paper's base model."""

    preset: Literal["tiny", "small", "base", "custom"] = "tiny"
    hidden_size: int | None = None
    num_hidden_layers: int | None = None
    num_attention_heads: int | None = None
    intermediate_size: int | None = None
    max_position_embeddings: int = Field(514, gt=2)
    hidden_dropout_prob: float = Field(0.1, ge=0, lt=1)
    attention_probs_dropout_prob: float = Field(0.1, ge=0, lt=1)


class PretrainConfig(StrictModel):
    """A masked-language-model pre-training run on a pair or single-sequence corpus."""

    seed: int = 0
    name: str = "pretrain"
    mode: Literal["pair", "single"] = "pair"
    corpus: CorpusConfig
    tokenizer: Path | None = Field(None, description="Trained tokenizer folder (trained anew when absent).")
    tokenizer_training: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: MlmModelConfig = Field(default_factory=MlmModelConfig)
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    optim: OptimConfig = Field(default_factory=OptimConfig)


class LongformerConfig(StrictModel):
    """Convert a RoBERTa MLM into a Longformer MLM and optionally continue pre-training it."""

    max_length: int = Field(2048, gt=0)
    attention_window: int = Field(512, gt=0, description="Local attention window (even number).")


class FinetuneDataConfig(StrictModel):
    """A labelled protein data set for fine-tuning."""

    kind: Literal["localization", "shs27k", "tcr", "table"] = "localization"
    path: Path | None = Field(None, description="Data file (SHS27k actions, MIRA TSV, or a labelled table).")
    sequences: Path | None = Field(None, description="Sequence dictionary for pair data.")
    max_tokens: int = Field(512, gt=0)
    max_examples: int | None = Field(None, gt=0, description="Subsample for quick runs (seeded).")


class FinetuneConfig(StrictModel):
    """Fine-tune a pre-trained folder (or train from scratch) on a classification task."""

    seed: int = 0
    name: str = "finetune"
    pretrained: Path | None = Field(None, description="save_pretrained folder; None = from scratch.")
    tokenizer: Path | None = None
    model: MlmModelConfig = Field(default_factory=MlmModelConfig, description="Sizes when from scratch.")
    data: FinetuneDataConfig = Field(default_factory=FinetuneDataConfig)
    freeze_encoder: bool = False
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(learning_rate=5e-5, max_steps=500))
