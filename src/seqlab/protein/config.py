"""Validated configs of the protein wing (same conventions as ``seqlab.config``: unknown keys are errors).

Sections: ``CorpusConfig`` (pair and single corpora from STRING files), ``TokenizerConfig`` (BPE),
``MlmModelConfig`` (RoBERTa sizes), ``PretrainConfig`` (a masked-LM run), ``LongformerConfig``
(conversion and continued pre-training), ``FinetuneConfig`` (classification fine-tuning).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from seqlab.config import HardwareConfig, StrictModel

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

    learning_rate: float = Field(5e-4, gt=0, description="Peak AdamW learning rate (after warm-up).")
    betas: tuple[float, float] = Field((0.9, 0.98), description="AdamW betas (RoBERTa: 0.9, 0.98).")
    eps: float = Field(1e-6, gt=0, description="AdamW epsilon.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases and LayerNorm).")
    warmup_steps: int | float = Field(0.06, ge=0, description="Steps, or a fraction of all steps if < 1.")
    max_steps: int = Field(1000, gt=0, description="Optimiser steps (the schedule decays to 0 at this step).")
    batch_size: int = Field(16, gt=0, description="Examples per batch (per device).")
    accumulate_grad_batches: int = Field(1, gt=0, description="Batches per optimiser step.")
    val_every_steps: int = Field(200, gt=0, description="Validate (and checkpoint) every this many optimiser steps.")
    gradient_clip: float | None = Field(1.0, description="Clip gradients to this norm (None: no clipping).")
    progress_bar: bool = Field(True, description="Rich progress bar.")


class CorpusConfig(StrictModel):
    """Pair corpus from STRING links (binding: score >= threshold; non-binding: random unlinked pairs)."""

    root: Path | None = Field(
        None,
        description="Folder the data files of this section resolve against, relative to the config file; "
        "--data-dir replaces it. Default: the config's folder.",
    )
    links: Path | None = Field(
        None, description="STRING protein.links / links.detailed / actions file (gz or plain)."
    )
    sequences: Path | None = Field(None, description="Sequence dictionary TSV (id<TAB>sequence) or protein FASTA.")
    score_threshold: int = Field(
        700, ge=0, le=1000, description="Binding: the pair's highest score over rows and modes is at least this."
    )
    negative_ratio: float = Field(1.0, ge=0, description="Non-binding pairs per binding pair (in every split).")
    max_tokens: int = Field(
        512, gt=0, description="Length limit in tokens (with special tokens), applied after tokenization."
    )
    length_policy: Literal["drop", "truncate"] = Field(
        "drop", description="Inputs over max_tokens: drop them, or truncate (the longer protein of a pair first); "
        "counted either way."
    )
    unknown_residues: Literal["map_to_x", "reject"] = Field(
        "map_to_x", description="Residues outside the 20 amino acids (+X): map to X, or reject naming file and line."
    )
    missing_sequences: Literal["drop", "error"] = Field(
        "drop", description="Links naming a protein without a sequence: drop them (counted) or stop."
    )
    strict_split: bool = Field(
        True, description="Split proteins (not pairs): no protein of a validation/test pair is in pre-training."
    )
    val_fraction: float = Field(0.1, ge=0, lt=1, description="Of proteins (strict split) or of pairs.")
    test_fraction: float = Field(0.1, ge=0, lt=1, description="Of proteins (strict split) or of pairs.")

    @model_validator(mode="after")
    def _fractions_leave_training(self) -> CorpusConfig:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be below 1")
        return self


class TokenizerConfig(StrictModel):
    """Byte-pair-encoding tokenizer trained on protein sequences."""

    vocab_size: int = Field(10_000, gt=30, description="BPE vocabulary size, special tokens included.")
    min_frequency: int = Field(2, ge=1, description="Minimum count of a pair for a BPE merge.")
    model_max_length: int = Field(512, gt=0, description="Longest input in tokens the tokenizer declares.")


class MlmModelConfig(StrictModel):
    """RoBERTa sizes, from a tiny test preset to the paper's base model."""

    preset: Literal["tiny", "small", "base", "custom"] = Field(
        "tiny", description="tiny 2x64 (tests), small 4x256, base 12x768 (the paper's); set sizes override it, "
        "custom needs all four."
    )
    hidden_size: int | None = Field(None, description="Hidden size (preset custom; overrides the preset).")
    num_hidden_layers: int | None = Field(None, description="Transformer layers (preset custom).")
    num_attention_heads: int | None = Field(None, description="Attention heads (preset custom).")
    intermediate_size: int | None = Field(None, description="Feed-forward size (preset custom).")
    max_position_embeddings: int = Field(514, gt=2, description="Positions; inputs up to this minus 2 tokens.")
    hidden_dropout_prob: float = Field(0.1, ge=0, lt=1, description="Dropout of hidden states.")
    attention_probs_dropout_prob: float = Field(0.1, ge=0, lt=1, description="Dropout of attention weights.")

    @model_validator(mode="after")
    def _custom_is_complete(self) -> MlmModelConfig:
        sizes = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
        missing = [name for name in sizes if getattr(self, name) is None]
        if self.preset == "custom" and missing:
            raise ValueError(f"preset 'custom' needs {', '.join(missing)}")
        return self


class PretrainConfig(StrictModel):
    """A masked-language-model pre-training run on a pair or single-sequence corpus."""

    seed: int = Field(0, description="Seeds the corpus split, sampling, masking and initialisation.")
    name: str = Field("pretrain", description="Run name (the default run folder is runs/<name>).")
    mode: Literal["pair", "single"] = Field(
        "pair", description="pair: <s> A </s></s> B </s> per pair; single: <s> A </s> per protein of the same pairs."
    )
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    corpus_dir: Path | None = Field(
        None,
        description="Corpus folder written by 'seqlab protein corpus' (else built from corpus.links/sequences).",
        json_schema_extra={"config_relative": True},
    )
    tokenizer: Path | None = Field(
        None,
        description="Trained tokenizer folder (else the model_path's, else trained on the training proteins).",
        json_schema_extra={"config_relative": True},
    )
    tokenizer_training: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: MlmModelConfig = Field(default_factory=MlmModelConfig)
    model_path: Path | None = Field(
        None,
        description="save_pretrained MLM folder to continue from (e.g. a converted Longformer); "
        "model sizes are then ignored.",
        json_schema_extra={"config_relative": True},
    )
    mlm_probability: float = Field(0.15, gt=0, lt=1, description="Share of tokens masked (80/10/10 rule).")
    token_budget: int | None = Field(
        None, gt=0, description="Stop once this many input tokens (padding excluded) were trained on."
    )
    optim: OptimConfig = Field(default_factory=OptimConfig)
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)


class LongformerConfig(StrictModel):
    """Convert a RoBERTa MLM into a Longformer MLM and optionally continue pre-training it."""

    max_length: int = Field(2048, gt=0, description="Longest input in tokens of the Longformer.")
    attention_window: int = Field(512, gt=0, description="Local attention window (even number).")

    @model_validator(mode="after")
    def _window_is_even(self) -> LongformerConfig:
        if self.attention_window % 2:
            raise ValueError(f"attention_window must be even, got {self.attention_window}")
        return self


class FinetuneDataConfig(StrictModel):
    """A labelled protein data set for fine-tuning (loaders in ``seqlab.protein.tasks``).

    ``kind``: ``localization`` (p-scldata, no files needed), ``shs27k`` (pair binding from a STRING
    actions file + sequence dictionary), ``tcr`` (CDR3-beta / epitope binding from the MIRA TSV) or
    ``table`` (a user's TSV: sequence[, sequence_b], label[, split]).
    """

    kind: Literal["localization", "shs27k", "tcr", "table"] = Field("localization", description="The labelled task.")
    root: Path | None = Field(
        None,
        description="Folder the data files of this section resolve against, relative to the config file; "
        "--data-dir replaces it. Default: the config's folder.",
    )
    path: Path | None = Field(None, description="Data file (SHS27k actions, MIRA TSV, or a labelled table).")
    sequences: Path | None = Field(None, description="Sequence dictionary for pair data.")
    max_tokens: int = Field(512, gt=0, description="Inputs are truncated to this many tokens.")
    max_examples: int | None = Field(None, gt=0, description="Subsample for quick runs (seeded).")
    val_fraction: float = Field(
        0.1, ge=0, lt=1, description="Share of proteins (shs27k), CDR3s (tcr) or rows (table without split)."
    )
    test_fraction: float = Field(0.1, ge=0, lt=1, description="As val_fraction, for the test split.")
    negative_ratio: float = Field(1.0, gt=0, description="shs27k/tcr: negatives per positive, in every split.")
    score_threshold: int = Field(0, ge=0, le=1000, description="shs27k: positives need a score >= this.")
    compound_labels: Literal["keep", "drop", "other"] = Field(
        "keep", description="localization: keep labels like 'Cytoplasm;Nucleus' as classes, drop them, or map to Other."
    )
    protein_splits: Path | None = Field(
        None,
        description="shs27k: a pair-corpus folder (seqlab protein corpus, or a pretrain run's corpus/) whose protein "
        "split the task keeps, so no protein a pre-training run trained on lands in validation or test. Found "
        "automatically beside a seqlab pretrain run's model/.",
        json_schema_extra={"config_relative": True},
    )
    min_class_count: int = Field(
        0, ge=0, description="localization/table: classes with fewer training examples become 'Other'."
    )

    @model_validator(mode="after")
    def _inputs_present(self) -> FinetuneDataConfig:
        if self.kind in ("shs27k", "tcr", "table") and self.path is None:
            raise ValueError(f"data.kind={self.kind!r} needs data.path")
        if self.kind == "shs27k" and self.sequences is None:
            raise ValueError("data.kind='shs27k' needs data.sequences (the sequence dictionary)")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("data.val_fraction + data.test_fraction must be below 1")
        return self


class FinetuneConfig(StrictModel):
    """Fine-tune a pre-trained folder (or train from scratch) on a classification task."""

    seed: int = Field(0, description="Seeds the split, sampling and initialisation.")
    name: str = Field("finetune", description="Run name (the default run folder is runs/<name>).")
    pretrained: Path | None = Field(
        None, description="save_pretrained folder; None = from scratch.", json_schema_extra={"config_relative": True}
    )
    tokenizer: Path | None = Field(
        None,
        description="Tokenizer folder (default: the pretrained folder).",
        json_schema_extra={"config_relative": True},
    )
    model: MlmModelConfig = Field(default_factory=MlmModelConfig, description="Sizes when from scratch.")
    data: FinetuneDataConfig = Field(default_factory=FinetuneDataConfig)
    freeze_encoder: bool = Field(False, description="Train only the classification head.")
    monitor: Literal["val_macro_f1", "val_loss"] = Field(
        "val_macro_f1", description="Validation metric for early stopping and the best checkpoint."
    )
    patience: int | None = Field(5, ge=1, description="Early stopping after this many validations without gain.")
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(learning_rate=5e-5, max_steps=500))
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
