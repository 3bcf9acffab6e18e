"""Protein tokenizers: byte-pair encoding over amino-acid letters, and one token per residue.

Both share the RoBERTa conventions, so either can feed ``RobertaForMaskedLM``:

* special tokens and ids: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` 4; then the 21
  residue letters (20 standard amino acids + ``X``), then (BPE only) the learned merges;
* one sequence is one word (no pre-tokenizer, no byte-level alphabet): merges never cross proteins;
* inputs: ``<s> A </s>`` for one protein, ``<s> A </s></s> B </s>`` for a pair (token type ids all 0);
* decoding concatenates tokens (``decode(encode(s), skip_special_tokens=True) == s``).

A saved folder holds ``tokenizer.json``, ``tokenizer_config.json`` (class
``PreTrainedTokenizerFast``) and ``special_tokens_map.json``, so
``transformers.AutoTokenizer.from_pretrained(folder)`` loads it, with old and new transformers.

The compression report compares BPE with one token per residue: mean residues per token (total
residues / total tokens, special tokens excluded) and the share of sequences whose model input
(tokens + ``<s>`` and ``</s>``) is longer than 512, 1,024 and 2,048 tokens.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from seqlab.atomic import write_json, write_text
from seqlab.io.protein import ALPHABET
from seqlab.protein.config import TokenizerConfig

__all__ = [
    "LENGTH_THRESHOLDS",
    "SPECIAL_TOKENS",
    "build_residue_tokenizer",
    "letter_tokenizer",
    "compression_report",
    "load_tokenizer",
    "save_tokenizer",
    "train_bpe_tokenizer",
    "truncation",
    "write_compression_report",
]

SPECIAL_TOKENS: tuple[str, ...] = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
"""Special tokens in id order (0..4), as in RoBERTa."""

_ROLES = {
    "bos_token": "<s>",
    "cls_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
}
LENGTH_THRESHOLDS: tuple[int, ...] = (512, 1024, 2048)
"""Input lengths (tokens with specials) reported by :func:`compression_report`."""


def _wrap(tokenizer: Tokenizer, model_max_length: int) -> PreTrainedTokenizerFast:
    """Add the RoBERTa post-processor and a concatenating decoder, and wrap for transformers."""
    bos, eos = SPECIAL_TOKENS[0], SPECIAL_TOKENS[2]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tokenizer.token_to_id(bos)), (eos, tokenizer.token_to_id(eos))],
    )
    tokenizer.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=model_max_length, **_ROLES)


def train_bpe_tokenizer(
    sequences: Iterable[str],
    config: TokenizerConfig | None = None,
    out_dir: str | Path | None = None,
) -> PreTrainedTokenizerFast:
    """Train a BPE tokenizer on protein sequences (upper-case residue letters).

    Every letter of ``ALPHABET`` gets a token even when absent from ``sequences``; other characters
    encode as ``<unk>``. The vocabulary holds at most ``config.vocab_size`` tokens (fewer when the
    sequences allow fewer merges at ``config.min_frequency``).

    Args:
        sequences: training sequences (e.g. the proteins of the training split only).
        config: vocabulary size, minimum merge frequency, ``model_max_length``.
        out_dir: when given, the tokenizer is saved there (see :func:`save_tokenizer`).
    """
    config = config or TokenizerConfig()
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(ALPHABET),
        show_progress=False,
    )
    tokenizer.train_from_iterator(sequences, trainer=trainer)
    fast = _wrap(tokenizer, config.model_max_length)
    if out_dir is not None:
        save_tokenizer(fast, out_dir)
    return fast


def letter_tokenizer(letters: str, model_max_length: int) -> PreTrainedTokenizerFast:
    """One token per letter of ``letters`` (other characters: ``<unk>``), the RoBERTa specials and templates."""
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *letters])}
    return _wrap(Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>")), model_max_length)


def build_residue_tokenizer(model_max_length: int = 1024, out_dir: str | Path | None = None) -> PreTrainedTokenizerFast:
    """A tokenizer with one token per residue (the ``ALPHABET`` letters), same specials and templates as BPE."""
    fast = letter_tokenizer(ALPHABET, model_max_length)
    if out_dir is not None:
        save_tokenizer(fast, out_dir)
    return fast


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: str | Path) -> Path:
    """Save so that ``AutoTokenizer.from_pretrained(out_dir)`` loads it (old and new transformers).

    Writes ``tokenizer.json``, ``tokenizer_config.json`` (``tokenizer_class`` ``PreTrainedTokenizerFast``)
    and ``special_tokens_map.json``, first into a hidden folder beside ``out_dir``: a new ``out_dir`` is
    that folder renamed (complete or absent, never half-written); into an existing one (e.g. a model
    folder) each file is renamed in, replacing only these three files. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        _write_tokenizer(tokenizer, staging)
        if not out_dir.exists():
            os.chmod(staging, 0o755)  # mkdtemp makes 0700 folders
            staging.rename(out_dir)
            return out_dir
        for file in staging.iterdir():
            os.replace(file, out_dir / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _write_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    tokenizer.save_pretrained(out_dir)
    config_path = out_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(config_path.read_text())
    tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    write_json(config_path, tokenizer_config)
    write_json(out_dir / "special_tokens_map.json", dict(_ROLES))


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer folder (this module's, or any ``save_pretrained`` folder with a tokenizer).

    Raises:
        FileNotFoundError: ``path`` is not a folder with a ``tokenizer.json``.
    """
    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(f"no tokenizer at {path} (expected {path / 'tokenizer.json'})")
    return AutoTokenizer.from_pretrained(path)


@contextmanager
def truncation(tokenizer: PreTrainedTokenizerFast, max_length: int | None) -> Iterator[Tokenizer]:
    """Yield the fast backend with truncation to ``max_length`` (None: none); restore it afterwards.

    Calls of a transformers tokenizer with ``truncation=...`` leave the shared backend truncating,
    so raw ``encode_batch`` calls set the state they need through this.
    """
    backend = tokenizer.backend_tokenizer
    before = backend.truncation
    if max_length is None:
        backend.no_truncation()
    else:
        backend.enable_truncation(max_length, strategy="longest_first")
    try:
        yield backend
    finally:
        if before is None:
            backend.no_truncation()
        else:
            backend.enable_truncation(**before)


def _lengths(tokenizer: PreTrainedTokenizerFast, sequences: Sequence[str]) -> list[int]:
    """Tokens per sequence without special tokens (fast backend, no length warnings)."""
    with truncation(tokenizer, None) as backend:
        encodings = backend.encode_batch(list(sequences), add_special_tokens=False)
    return [len(enc.ids) for enc in encodings]


def _stats(token_counts: Sequence[int], residues: int, thresholds: Sequence[int]) -> dict[str, Any]:
    n = len(token_counts)
    tokens = int(sum(token_counts))
    return {
        "tokens": tokens,
        "mean_residues_per_token": residues / tokens if tokens else 0.0,
        "mean_tokens_per_sequence": tokens / n if n else 0.0,
        "share_longer_than": {
            str(limit): (sum(1 for count in token_counts if count + 2 > limit) / n if n else 0.0)
            for limit in thresholds
        },
    }


def compression_report(
    tokenizer: PreTrainedTokenizerFast,
    sequences: Iterable[str],
    thresholds: Sequence[int] = LENGTH_THRESHOLDS,
) -> dict[str, Any]:
    """Compare ``tokenizer`` (BPE) with one token per residue on ``sequences``.

    Returns:
        ``{"sequences": N, "residues": R, "thresholds": [...], "bpe": stats, "residue": stats}`` with
        stats ``{"tokens", "mean_residues_per_token", "mean_tokens_per_sequence",
        "share_longer_than": {"512": share, ...}}``. Token counts exclude special tokens; a
        sequence is longer than ``t`` when its tokens + 2 (``<s>``, ``</s>``) exceed ``t``.
    """
    seqs = list(sequences)
    residue_counts = [len(seq) for seq in seqs]
    residues = int(sum(residue_counts))
    return {
        "sequences": len(seqs),
        "residues": residues,
        "thresholds": list(thresholds),
        "bpe": _stats(_lengths(tokenizer, seqs), residues, thresholds),
        "residue": _stats(residue_counts, residues, thresholds),
    }


def write_compression_report(report: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``compression.json`` and ``compression.tsv`` (one row per tokenizer) into ``out_dir``."""
    out_dir = Path(out_dir)
    thresholds = report["thresholds"]
    header = ["tokenizer", "sequences", "residues", "tokens", "mean_residues_per_token", "mean_tokens_per_sequence"]
    header += [f"share_longer_than_{t}" for t in thresholds]
    rows = ["\t".join(header)]
    for name in ("bpe", "residue"):
        stats = report[name]
        values = [
            name,
            report["sequences"],
            report["residues"],
            stats["tokens"],
            f"{stats['mean_residues_per_token']:.6g}",
            f"{stats['mean_tokens_per_sequence']:.6g}",
        ]
        values += [f"{stats['share_longer_than'][str(t)]:.6g}" for t in thresholds]
        rows.append("\t".join(str(v) for v in values))
    tsv = write_text(out_dir / "compression.tsv", "\n".join(rows) + "\n")
    return write_json(out_dir / "compression.json", report), tsv
