"""Transformer trunk sections: ``transformer`` (BERT-style, from scratch) and ``hf`` (a local Hugging Face encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from seqlab.config.model import TrunkConfig

__all__ = ["HFConfig", "TransformerConfig"]


class TransformerConfig(TrunkConfig):
    """A small BERT-style encoder over nucleotide (kmer 1) or k-mer tokens, trained from scratch.

    Tokens: every ``stride`` bp the k-mer starting there (any N: one N token); a CLS token first;
    learned position embeddings; pre-norm encoder layers; features = the CLS vector or the mean.
    """

    arch: Literal["transformer"] = "transformer"
    kmer: int = Field(1, ge=1, le=8, description="Bases per token (1: nucleotides; DNABERT used 6).")
    stride: int | None = Field(None, ge=1, description="bp between token starts (None: kmer, non-overlapping).")
    d_model: int = Field(64, gt=0, description="Hidden size (the features).")
    layers: int = Field(2, ge=1, description="Encoder layers.")
    heads: int = Field(4, ge=1, description="Attention heads (must divide d_model).")
    feedforward: int = Field(128, gt=0, description="Feed-forward width of each layer.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout in the encoder layers.")
    pool: Literal["cls", "mean"] = Field("cls", description="Features: the CLS token or the mean over tokens.")

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.d_model % self.heads:
            raise ValueError(f"model.heads ({self.heads}) must divide model.d_model ({self.d_model})")
        return self


class HFConfig(TrunkConfig):
    """Any Hugging Face encoder (``AutoModel``) and its tokenizer, loaded from a local folder (nothing downloads).

    Windows are decoded to upper-case ACGTN strings, tokenized by the folder's tokenizer, encoded,
    and pooled (mean over the attention mask, or the first token).
    """

    arch: Literal["hf"] = "hf"
    path: Path = Field(..., description="Folder with config.json, the weights and the tokenizer files.")
    pool: Literal["cls", "mean"] = Field("mean", description="Features: the first token or the masked mean.")
    trust_remote_code: bool = Field(
        False, description="Allow the folder's own model code (DNABERT-2 needs it); only for folders you trust."
    )
