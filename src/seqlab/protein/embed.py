"""Per-protein embeddings from any Hugging Face model folder (pre-trained MLM or fine-tuned classifier).

The encoder (``AutoModel``) of the folder runs on batches of sequences sorted by length and padded
per batch; ``mean`` pooling averages the last hidden states over the tokens that are neither
padding nor special (``<s>``, ``</s>``) using the attention and special-token masks, so a
sequence's embedding does not depend on the batch it is in. ``cls`` takes the ``<s>`` state.

Files: ``FILE.npy`` (float32 (N, H)) and ``FILE.ids.tsv`` beside it (header ``id``, then one id per
line, row i of the array), both written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from transformers import AutoModel

from seqlab.atomic import atomic_open, write_text
from seqlab.io.protein import read_sequences
from seqlab.protein.finetune import position_limit
from seqlab.protein.tokenizer import load_tokenizer

__all__ = ["Pooling", "embed_sequences", "ids_path", "write_embeddings"]

Pooling = Literal["mean", "cls"]


@torch.inference_mode()
def embed_sequences(
    model_dir: str | Path,
    sequences: Mapping[str, str] | str | Path,
    batch_size: int = 8,
    pooling: Pooling = "mean",
    max_tokens: int | None = None,
    device: str | None = None,
) -> tuple[list[str], np.ndarray]:
    """Embed every sequence with the encoder of ``model_dir``.

    Args:
        model_dir: ``save_pretrained`` folder holding the model and its tokenizer.
        sequences: ``{id: sequence}``, or a protein FASTA / sequence dictionary TSV (plain or gzip).
        batch_size: sequences per forward pass.
        pooling: ``mean`` over non-padding, non-special tokens, or ``cls`` (the ``<s>`` token).
        max_tokens: truncate inputs to this many tokens, special tokens included (default and
            upper bound: what the model's positions allow).
        device: torch device (default: ``cuda`` when available, else ``cpu``).

    Returns:
        ``(ids, embeddings)``: ids in input order and a float32 array (N, H), H the hidden size.

    Raises:
        ValueError: a sequence is empty, or ``pooling`` / ``batch_size`` is invalid.
    """
    if pooling not in ("mean", "cls"):
        raise ValueError(f"unknown pooling {pooling!r}; use 'mean' or 'cls'")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    seqs = dict(sequences) if isinstance(sequences, Mapping) else read_sequences(sequences)
    empty = [key for key, seq in seqs.items() if not seq]
    if empty:
        raise ValueError(f"empty sequence for id(s) {empty[:3]}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = load_tokenizer(model_dir)
    model = AutoModel.from_pretrained(model_dir).to(device).eval()
    limit = position_limit(model.config)
    if limit is not None:
        max_tokens = min(max_tokens or limit, limit)
    ids = list(seqs)
    order = sorted(range(len(ids)), key=lambda i: len(seqs[ids[i]]), reverse=True)
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        encoded = tokenizer(
            [seqs[ids[i]] for i in rows],
            truncation=max_tokens is not None,
            max_length=max_tokens,
            padding=True,
            return_tensors="pt",
            return_special_tokens_mask=True,
            return_token_type_ids=False,
        )
        attention_mask = encoded["attention_mask"].to(device)
        hidden = model(input_ids=encoded["input_ids"].to(device), attention_mask=attention_mask)
        hidden = hidden.last_hidden_state.float()  # (B, L, H)
        if pooling == "cls":
            pooled = hidden[:, 0]
        else:
            keep = (attention_mask.bool() & ~encoded["special_tokens_mask"].to(device).bool()).unsqueeze(-1)
            pooled = (hidden * keep).sum(1) / keep.sum(1).clamp(min=1)
        out[rows] = pooled.cpu().numpy()
    return ids, out


def ids_path(out: str | Path) -> Path:
    """The ids file beside an embeddings file: ``emb.npy`` -> ``emb.ids.tsv``."""
    return Path(out).with_suffix(".ids.tsv")


def write_embeddings(ids: list[str], embeddings: np.ndarray, out: str | Path) -> tuple[Path, Path]:
    """Write ``embeddings`` (float32 (N, H)) to ``out`` (.npy) and the ids to ``out``'s ``.ids.tsv``.

    Returns:
        ``(npy path, ids path)``.

    Raises:
        ValueError: ``out`` does not end in ``.npy``, or ids and rows differ in number.
    """
    out = Path(out)
    if out.suffix != ".npy":
        raise ValueError(f"embeddings are written as .npy; got {out}")
    if len(ids) != embeddings.shape[0]:
        raise ValueError(f"{len(ids)} ids for {embeddings.shape[0]} embeddings")
    with atomic_open(out, "wb") as handle:
        np.save(handle, np.asarray(embeddings, dtype=np.float32))
    id_file = write_text(ids_path(out), "id\n" + "".join(f"{key}\n" for key in ids))
    return out, id_file
