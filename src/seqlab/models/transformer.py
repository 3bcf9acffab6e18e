"""Transformer trunks: a BERT-style encoder trained from scratch, and Hugging Face encoders from a folder.

Both follow the trunk interface: x float32 (B, 4, L) one-hot (ACGT; N = all zeros; small input
noise is fine: a base is the arg-max channel, a column summing to < 0.5 is N) -> features float32
(B, out_features). Dinucleotide input is not supported (a ValueError at construction).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

__all__ = ["HFTrunk", "TokenPool", "TransformerTrunk", "decode_onehot", "kmer_tokens"]

_BASES = "ACGTN"


def _base_codes(x: torch.Tensor) -> torch.Tensor:
    """int64 (B, L) codes 0..3 (ACGT) or 4 (N) of a one-hot float tensor (B, 4, L)."""
    codes = x.argmax(dim=1)
    return torch.where(x.sum(dim=1) < 0.5, torch.full_like(codes, 4), codes)


def kmer_tokens(x: torch.Tensor, kmer: int, stride: int) -> torch.Tensor:
    """Token ids int64 (B, n) of the k-mers starting every ``stride`` bp of one-hot x (B, 4, L).

    A k-mer of bases b_0..b_{k-1} (0..3) is sum(b_i * 4**(k-1-i)); any N gives 4**k.
    n = (L - kmer) // stride + 1.
    """
    codes = _base_codes(x)
    windows = codes.unfold(1, kmer, stride)  # (B, n, k)
    powers = 4 ** torch.arange(kmer - 1, -1, -1, device=x.device)
    ids = (windows.clamp(max=3) * powers).sum(dim=-1)
    return torch.where((windows == 4).any(dim=-1), torch.full_like(ids, 4**kmer), ids)


def decode_onehot(x: torch.Tensor) -> list[str]:
    """Upper-case ACGTN strings of one-hot x float32 (B, 4, L)."""
    return ["".join(_BASES[c] for c in row) for row in _base_codes(x).tolist()]


class TokenPool(nn.Module):
    """Pooling of a token sequence whose first position is CLS: (B, d, 1 + n) -> (B, d), CLS or mean of the n."""

    def __init__(self, pool: str) -> None:
        super().__init__()
        self.mode = pool

    def forward(self, positional: torch.Tensor) -> torch.Tensor:
        """Map float32 (B, d, 1 + n) to float32 (B, d)."""
        return positional[:, :, 0] if self.mode == "cls" else positional[:, :, 1:].mean(dim=-1)


class TransformerTrunk(nn.Module):
    """BERT-style encoder over nucleotide or k-mer tokens: x float32 (B, 4, L) -> float32 (B, d_model).

    Tokens (``kmer_tokens``) + a CLS token, token and learned position embeddings, ``layers`` pre-norm
    ``nn.TransformerEncoderLayer`` (GELU), a final LayerNorm: the positional features (B, d_model, 1 + n),
    CLS first, then one position per token (k-mer starts every ``stride`` bp); the pooling
    (:class:`TokenPool`) keeps the CLS vector or the mean over tokens.
    Windows must have the length the trunk was built for (position embeddings), or shorter.
    """

    strand_symmetric = False

    def __init__(
        self,
        in_channels: int,
        seq_len: int,
        *,
        kmer: int = 1,
        stride: int | None = None,
        d_model: int = 64,
        layers: int = 2,
        heads: int = 4,
        feedforward: int = 128,
        dropout: float = 0.1,
        pool: str = "cls",
    ) -> None:
        super().__init__()
        if in_channels != 4:
            raise ValueError(f"the transformer trunk reads one-hot input (4 channels), got {in_channels}")
        self.kmer, self.stride = kmer, stride or kmer
        if seq_len < kmer:
            raise ValueError(f"transformer: window_length {seq_len} is shorter than one {kmer}-mer")
        n_tokens = (seq_len - kmer) // self.stride + 1
        self.cls_id = 4**kmer + 1  # ids: k-mers 0..4**k-1, N 4**k, CLS 4**k+1
        self.embed = nn.Embedding(4**kmer + 2, d_model)
        self.position = nn.Parameter(torch.zeros(1, n_tokens + 1, d_model))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.pool = TokenPool(pool)
        self.positional_features = d_model
        self.out_features = d_model

    def positional(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, 4, L) to token features float32 (B, d_model, 1 + n_tokens), CLS first."""
        ids = kmer_tokens(x, self.kmer, self.stride)
        ids = torch.cat([torch.full_like(ids[:, :1], self.cls_id), ids], dim=1)
        if ids.shape[1] > self.position.shape[1]:
            raise ValueError(f"transformer: {ids.shape[1] - 1} tokens but the trunk was built for "
                             f"{self.position.shape[1] - 1}; use windows of the training length")  # fmt: skip
        hidden = self.norm(self.encoder(self.embed(ids) + self.position[:, : ids.shape[1]]))
        return hidden.transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, 4, L) to features float32 (B, d_model)."""
        return self.pool(self.positional(x))


class HFTrunk(nn.Module):
    """A Hugging Face encoder from a local folder: x float32 (B, 4, L) -> float32 (B, hidden_size).

    ``AutoModel.from_pretrained(path, local_files_only=True)`` and ``AutoTokenizer`` from the same
    folder (nothing is downloaded; a missing folder is a FileNotFoundError). Each batch is decoded
    to ACGTN strings, tokenized (padded), encoded; features are the masked mean of the last hidden
    state or its first token. The encoder's weights train with the head unless the trunk is frozen.
    """

    strand_symmetric = False
    sized_by_files = True
    """Its size comes from the folder's weights, not from the config: ``build_trunk`` does not probe it."""

    def __init__(
        self,
        in_channels: int,
        seq_len: int,
        *,
        path: str | Path,
        pool: str = "mean",
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        if in_channels != 4:
            raise ValueError(f"the hf trunk reads one-hot input (4 channels), got {in_channels}")
        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"model.path: {folder} holds no Hugging Face model (config.json missing)")
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True,
                                                       trust_remote_code=trust_remote_code)  # fmt: skip
        self.encoder = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=trust_remote_code)
        # from_pretrained returns the encoder in eval mode; a trunk starts in training mode like any module
        # (Lightning keeps sub-module modes, so dropout would otherwise stay off during fine-tuning).
        self.encoder.train()
        self.pool = pool
        self.out_features = int(self.encoder.config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, 4, L) to features float32 (B, hidden_size)."""
        batch = self.tokenizer(decode_onehot(x), return_tensors="pt", padding=True)
        batch = {key: value.to(x.device) for key, value in batch.items()}
        output = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        hidden = output[0] if isinstance(output, tuple) else output.last_hidden_state
        if self.pool == "cls":
            return hidden[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
