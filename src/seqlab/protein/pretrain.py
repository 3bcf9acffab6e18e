"""Masked-language-model pre-training on a protein pair corpus (pair or single-sequence mode).

:func:`pretrain` runs the whole step and writes a run folder::

    config.yaml               the resolved PretrainConfig
    corpus/                   pairs.tsv.gz + summary.json (the corpus used; --resume reuses it)
    tokenizer/                tokenizer.json, tokenizer_config.json, special_tokens_map.json,
                              compression.json, compression.tsv (BPE vs one token per residue)
    checkpoints/best.ckpt     lowest val_loss; checkpoints/last.ckpt: the latest state (--resume)
    logs/metrics.csv          train_loss, val_loss, val_perplexity, tokens_seen
    metrics.json              {"val": {"mlm_loss", "perplexity", "masked_tokens"}, "test": {...},
                               "tokens_seen", "steps", "mode", "examples": {...}, "length_limit": {...}}
    model/                    the final weights (save_pretrained) + tokenizer, for
                              AutoModelForMaskedLM/AutoTokenizer.from_pretrained

Inputs: pair mode ``<s> A </s></s> B </s>`` per pair of a split; single mode ``<s> A </s>`` per
protein of that split's pairs (:meth:`PairCorpus.singles`). Binding and non-binding pairs are both
used and the label is never given to the model. Inputs longer than ``corpus.max_tokens`` tokens
(special tokens included) are dropped by default (``corpus.length_policy: drop``), so that no
protein is seen cut; ``truncate`` keeps them, cut to the limit (the longer protein of a pair
first). Either way the counts per split are in metrics.json (``length_limit``). Dropping keeps
pairs of shorter proteins only: on SHS27k (strict split) at 512 tokens, 19% of the training
pairs go with a 10,000-token BPE (31% with 2,000 tokens), against 3% (6%) of single proteins.

The tokenizer, when trained here, sees only the training split's proteins. Validation and test
batches are masked once with a fixed seed, so their losses are comparable across evaluations and
runs. Single and pair runs get the same token budget with ``token_budget`` (``tokens_seen``
counts non-padding input tokens; a pair costs as many as its two proteins alone: 4 specials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import DataLoader
from transformers import AutoModelForMaskedLM, PreTrainedModel, PreTrainedTokenizerFast

from seqlab.atomic import atomic_dir, write_json
from seqlab.protein.config import PretrainConfig
from seqlab.protein.corpus import SPLITS, PairCorpus, corpus_from_config
from seqlab.protein.mlm import POSITION_OFFSET, MlmCollator, MlmModule, build_mlm_model, evaluate_mlm, optim_trainer
from seqlab.protein.tokenizer import (
    compression_report,
    load_tokenizer,
    save_tokenizer,
    train_bpe_tokenizer,
    truncation,
    write_compression_report,
)
from seqlab.runs import RunPaths, StartedRun, start_run
from seqlab.training.resume import PositionedDataset, PositionSeededCollate, ResumableSampler, ResumeState

__all__ = ["encode_corpus", "pretrain"]


def encode_corpus(
    corpus: PairCorpus,
    tokenizer: PreTrainedTokenizerFast,
    mode: Literal["pair", "single"],
    max_tokens: int,
    length_policy: Literal["drop", "truncate"] = "drop",
) -> tuple[dict[str, list[list[int]]], dict[str, dict[str, int]]]:
    """Encode every split as model inputs and apply the length limit.

    Args:
        corpus: the pair corpus.
        tokenizer: a tokenizer with the RoBERTa templates (see ``seqlab.protein.tokenizer``).
        mode: ``"pair"`` (one input per pair) or ``"single"`` (one per protein of the split).
        max_tokens: the longest input, special tokens included.
        length_policy: longer inputs are dropped, or truncated to ``max_tokens`` (in a pair, tokens
            are cut from the end of the longer protein first; the special tokens stay).

    Returns:
        ``({split: [token ids, ...]}, {split: {"kept": n, "dropped": n, "truncated": n}})``;
        ``kept`` counts the inputs returned, truncated ones included.
    """
    encoded: dict[str, list[list[int]]] = {}
    counts: dict[str, dict[str, int]] = {}
    singles = corpus.singles() if mode == "single" else None
    for split in SPLITS:
        if singles is not None:
            inputs: list[Any] = singles.loc[singles["split"] == split, "sequence"].tolist()
        else:
            rows = corpus.pairs(split)
            inputs = list(zip(rows["seq_a"], rows["seq_b"], strict=True))
        with truncation(tokenizer, None) as backend:
            ids = [enc.ids for enc in backend.encode_batch(inputs)] if inputs else []
        too_long = [i for i, x in enumerate(ids) if len(x) > max_tokens]
        if length_policy == "truncate" and too_long:
            with truncation(tokenizer, max_tokens) as backend:
                cut = backend.encode_batch([inputs[i] for i in too_long])
            for i, enc in zip(too_long, cut, strict=True):
                ids[i] = enc.ids
        encoded[split] = [x for x in ids if len(x) <= max_tokens]
        truncated = len(too_long) if length_policy == "truncate" else 0
        counts[split] = {"kept": len(encoded[split]), "dropped": len(ids) - len(encoded[split]), "truncated": truncated}
    return encoded, counts


def _masked_batches(
    examples: list[list[int]], tokenizer: PreTrainedTokenizerFast, probability: float, batch_size: int, seed: int
) -> list[dict[str, torch.Tensor]]:
    """Held-out batches masked once with a fixed seed (the same masks at every evaluation)."""
    collate = MlmCollator(tokenizer, probability, generator=torch.Generator().manual_seed(seed))
    return [collate(examples[i : i + batch_size]) for i in range(0, len(examples), batch_size)]


def _corpus(config: PretrainConfig, run: RunPaths, resume: bool, corpus: PairCorpus | None) -> PairCorpus:
    saved = run.root / "corpus"
    if corpus is None and resume and saved.is_dir():
        return PairCorpus.load(saved)
    if corpus is None and config.corpus_dir is not None:
        corpus = PairCorpus.load(config.corpus_dir)
    elif corpus is None:
        corpus = corpus_from_config(config.corpus, config.seed)
    corpus.save(saved, overwrite=True)  # inside the run folder, which start_run guards
    return corpus


def _tokenizer(config: PretrainConfig, run: RunPaths, resume: bool, corpus: PairCorpus) -> PreTrainedTokenizerFast:
    saved = run.root / "tokenizer"
    if resume and (saved / "tokenizer.json").is_file():
        return load_tokenizer(saved)
    if config.tokenizer is not None:
        tokenizer = load_tokenizer(config.tokenizer)
    elif config.model_path is not None:
        tokenizer = load_tokenizer(config.model_path)
    else:
        tokenizer = train_bpe_tokenizer(corpus.proteins("train").values(), config.tokenizer_training)
    save_tokenizer(tokenizer, saved)
    write_compression_report(compression_report(tokenizer, corpus.proteins().values()), saved)
    return tokenizer


def _model(config: PretrainConfig, tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
    if config.model_path is not None:
        model = AutoModelForMaskedLM.from_pretrained(config.model_path)
    else:
        model = build_mlm_model(config.model, tokenizer)
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model only {model.config.vocab_size}; "
            "use the model's own tokenizer"
        )
    longest = model.config.max_position_embeddings - POSITION_OFFSET
    if config.corpus.max_tokens > longest:
        raise ValueError(
            f"corpus.max_tokens={config.corpus.max_tokens} exceeds what the model takes ({longest} tokens: "
            f"max_position_embeddings {model.config.max_position_embeddings} - {POSITION_OFFSET})"
        )
    return model


def pretrain(
    config: PretrainConfig,
    out_dir: str | Path,
    resume: bool = False,
    corpus: PairCorpus | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Pre-train a masked language model and write the run folder (layout: module docstring).

    The corpus is, in order of preference: ``corpus`` (in memory), the run's saved corpus (with
    ``resume``), ``config.corpus_dir``, or one built from ``config.corpus.links``/``sequences``.
    The model starts from ``config.model_path`` (e.g. a converted Longformer) or from scratch
    (``config.model``). Training runs ``optim.max_steps`` optimizer steps or until
    ``config.token_budget`` input tokens were seen.

    Args:
        config: the run's configuration.
        out_dir: the run folder.
        resume: continue from ``checkpoints/last.ckpt`` (same corpus and tokenizer as saved).
        corpus: a ready corpus (e.g. the demo's stand-in pairs).
        overwrite: replace a run already in ``out_dir`` (refused without it; see :func:`seqlab.runs.start_run`).

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        ValueError: an empty training or validation split, a too long ``max_tokens``, or a corpus
            problem; FileNotFoundError: missing inputs, or ``resume`` without a checkpoint.
    """
    with start_run(out_dir, config, resume=resume, overwrite=overwrite) as started:
        return _pretrain(config, started, corpus)


def _pretrain(config: PretrainConfig, started: StartedRun, corpus: PairCorpus | None) -> dict[str, Any]:
    run, ckpt, resume = started.paths, started.checkpoint, started.checkpoint is not None
    corpus = _corpus(config, run, resume, corpus)
    tokenizer = _tokenizer(config, run, resume, corpus)
    model = _model(config, tokenizer)
    encoded, length_counts = encode_corpus(
        corpus, tokenizer, config.mode, config.corpus.max_tokens, config.corpus.length_policy
    )
    for split in ("train", "val"):
        if not encoded[split]:
            raise ValueError(
                f"the {split} split has no {config.mode} inputs of at most {config.corpus.max_tokens} tokens "
                f"({length_counts[split]['dropped']} too long); check the corpus fractions and max_tokens"
            )

    optim = config.optim
    # the order, the masking and the position in an epoch are functions of the seed: exact on resume
    sampler = ResumableSampler(len(encoded["train"]), config.seed)
    train_loader = DataLoader(
        PositionedDataset(encoded["train"]),
        batch_size=optim.batch_size,
        sampler=sampler,
        collate_fn=PositionSeededCollate(MlmCollator(tokenizer, config.mlm_probability), config.seed),
        generator=torch.Generator().manual_seed(config.seed),
        num_workers=config.hardware.workers,
    )
    held_out = {
        split: _masked_batches(encoded[split], tokenizer, config.mlm_probability, optim.batch_size, config.seed)
        for split in ("val", "test")
        if encoded[split]
    }
    module = MlmModule(model, optim, token_budget=config.token_budget)
    trainer = optim_trainer(
        run, optim, config.hardware, monitor="val_loss", mode="min", train_batches=len(train_loader),
        extra_callbacks=[ResumeState(sampler, optim.batch_size)],
    )  # fmt: skip
    trainer.fit(module, train_loader, DataLoader(held_out["val"], batch_size=None), ckpt_path=ckpt)
    trainer.save_checkpoint(run.last_checkpoint)

    metrics: dict[str, Any] = {split: evaluate_mlm(model, batches) for split, batches in held_out.items()}
    metrics.update(
        {
            "tokens_seen": int(module.tokens_seen),
            "steps": trainer.global_step,
            "mode": config.mode,
            "examples": {split: len(encoded[split]) for split in SPLITS},
            "length_limit": {
                "max_tokens": config.corpus.max_tokens,
                "policy": config.corpus.length_policy,
                **length_counts,
            },
        }
    )
    if trainer.is_global_zero:
        with atomic_dir(run.root / "model") as model_dir:  # a kill never leaves a half-written model/
            model.save_pretrained(model_dir)
            save_tokenizer(tokenizer, model_dir)
        write_json(run.metrics, metrics)
    return metrics
