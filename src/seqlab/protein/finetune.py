"""Fine-tune a protein language model (or the same architecture from scratch) on a classification task.

The model is ``AutoModelForSequenceClassification`` built from any Hugging Face folder
(``save_pretrained`` output of RoBERTa, Longformer, ...) with a new head of one output per class,
or, with ``pretrained: null``, a randomly initialised RoBERTa of the ``model`` sizes: the baseline
with the same architecture and training budget. Single sequences are encoded ``<s> A </s>``,
pairs ``<s> A </s></s> B </s>`` (the tokenizer's template), truncated to ``max_tokens`` (pairs:
the longer sequence first) and padded per batch; the attention mask is always passed.

Training: AdamW with linear warm-up and decay (``optim``), validation every ``val_every_steps``
optimizer steps (or at each epoch's end when an epoch is shorter), best checkpoint and early
stopping on ``monitor`` (validation macro-F1 over the whole split, or loss; ``patience: null``
trains the whole budget). Validation and test metrics come from the best checkpoint (the final
weights if no validation ran). A run folder that already holds a run is refused unless ``resume``;
a resumed run that had reached ``max_steps`` is only evaluated again; ``overwrite`` replaces the run.
Metrics and predictions are computed on one device (multi-device strategies are not gathered).

Run folder::

    config.yaml              resolved config
    checkpoints/{best,last}.ckpt
    logs/metrics.csv
    metrics.json             {"test": {...}, "val": {...}, "task": {...}, "model": {...}, "training": {...}}
    predictions_test.tsv     id_a [id_b] label prediction p_<class>... (one row per test example)
    plots/confusion_test.png
    model/                   fine-tuned model + tokenizer (save_pretrained; AutoModelForSequenceClassification)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from transformers import (
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from seqlab.atomic import atomic_dir, atomic_open, write_json
from seqlab.evaluation.classification import confusion_matrix, plot_confusion_matrix
from seqlab.io.weights import read_checkpoint
from seqlab.metrics import classification_metrics, json_safe
from seqlab.protein.config import FinetuneConfig, OptimConfig
from seqlab.protein.corpus import PAIRS_FILE, PairCorpus
from seqlab.protein.mlm import ProteinModule, optim_trainer, roberta_config
from seqlab.protein.tasks import SPLITS, LabelledTask, load_task
from seqlab.protein.tokenizer import load_tokenizer, save_tokenizer
from seqlab.runs import StartedRun, start_run

__all__ = [
    "ClassificationModule",
    "EncodedExamples",
    "PadCollator",
    "build_classifier",
    "encode_examples",
    "finetune",
    "position_limit",
]

log = logging.getLogger(__name__)

# Families whose position ids start after the padding index (RoBERTa convention).
_OFFSET_POSITIONS = {"roberta", "longformer", "xlm-roberta", "camembert", "esm"}


def position_limit(config: PretrainedConfig) -> int | None:
    """Most tokens (specials included) the model can embed, or None when it does not say."""
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return None
    if config.model_type in _OFFSET_POSITIONS and config.pad_token_id is not None:
        return int(positions) - int(config.pad_token_id) - 1
    return int(positions)


def encode_examples(tokenizer: PreTrainedTokenizerBase, frame: pd.DataFrame, max_tokens: int) -> list[list[int]]:
    """Token ids of every row: ``<s> A </s>`` or, with ``seq_b``, ``<s> A </s></s> B </s>``.

    Sequences are truncated so that no encoding (special tokens included) exceeds ``max_tokens``;
    for pairs the longer sequence is shortened first.
    """
    kwargs: dict[str, Any] = {"truncation": True, "max_length": max_tokens, "return_token_type_ids": False}
    seq_a = frame["seq_a"].tolist()
    if "seq_b" in frame.columns:
        encoded = tokenizer(seq_a, frame["seq_b"].tolist(), **kwargs)
    else:
        encoded = tokenizer(seq_a, **kwargs)
    return encoded["input_ids"]


class EncodedExamples(Dataset):
    """Token ids and class labels of one split; items are ``(input_ids, label, row)``."""

    def __init__(self, input_ids: list[list[int]], labels: np.ndarray) -> None:
        if len(input_ids) != len(labels):
            raise ValueError(f"{len(input_ids)} encodings but {len(labels)} labels")
        self.input_ids = input_ids
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> tuple[list[int], int, int]:
        return self.input_ids[i], int(self.labels[i]), i


class PadCollator:
    """Pad a list of examples to the longest one of the batch (dynamic padding) and stack them."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[list[int], int, int]]) -> dict[str, torch.Tensor]:
        """Collate ``(input_ids, label, row)`` items.

        Returns:
            ``input_ids`` int64 (B, L) right-padded with ``pad_id``, ``attention_mask`` int64 (B, L)
            (1 on tokens, 0 on padding), ``labels`` int64 (B,), ``index`` int64 (B,) (row in the split);
            L is the longest input of the batch.
        """
        length = max(len(ids) for ids, _, _ in items)
        input_ids = torch.full((len(items), length), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(items), length), dtype=torch.long)
        for row, (ids, _, _) in enumerate(items):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": torch.tensor([label for _, label, _ in items], dtype=torch.long),
            "index": torch.tensor([index for _, _, index in items], dtype=torch.long),
        }


class ClassificationModule(ProteinModule):
    """Cross-entropy training of a sequence-classification model; whole-split validation metrics.

    Logs ``train_loss``, ``val_loss``, ``val_accuracy`` and ``val_macro_f1`` (over all validation
    examples). ``predict_step`` returns class probabilities, float32 (B, C).
    """

    def __init__(self, model: PreTrainedModel, optim: OptimConfig, freeze_encoder: bool = False) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        if freeze_encoder:
            for parameter in model.base_model.parameters():
                parameter.requires_grad_(False)
        self.save_hyperparameters({"optim": optim.model_dump(mode="json"), "freeze_encoder": freeze_encoder})
        self._val_logits: list[torch.Tensor] = []
        self._val_labels: list[torch.Tensor] = []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits float32 (B, C) of token ids int64 (B, L) under attention mask int64 (B, L)."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits.float()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Cross-entropy loss of one batch."""
        loss = F.cross_entropy(self(batch["input_ids"], batch["attention_mask"]), batch["labels"])
        self.log("train_loss", loss, prog_bar=True, batch_size=batch["labels"].numel())
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Log the loss and keep logits for the whole-split metrics."""
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits, batch["labels"])
        self.log("val_loss", loss, prog_bar=True, on_epoch=True, batch_size=batch["labels"].numel())
        self._val_logits.append(logits.detach().cpu())
        self._val_labels.append(batch["labels"].detach().cpu())

    def on_validation_epoch_end(self) -> None:
        """Accuracy and macro-F1 over the whole validation split."""
        if not self._val_logits:
            return
        probs = torch.cat(self._val_logits).softmax(-1).numpy()
        metrics = classification_metrics(torch.cat(self._val_labels).numpy(), probs)
        self.log("val_accuracy", metrics["accuracy"])
        self.log("val_macro_f1", metrics["macro_f1"], prog_bar=True)
        self._val_logits.clear()
        self._val_labels.clear()

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Class probabilities float32 (B, C)."""
        return self(batch["input_ids"], batch["attention_mask"]).softmax(-1)


def build_classifier(config: FinetuneConfig, tokenizer: PreTrainedTokenizerBase, classes: list[str]) -> PreTrainedModel:
    """The model to fine-tune: ``config.pretrained`` with a new head, or a fresh RoBERTa of ``config.model``.

    Raises:
        ValueError: the tokenizer has more tokens than the model's vocabulary.
    """
    labels = {
        "num_labels": len(classes),
        "id2label": dict(enumerate(classes)),
        "label2id": {name: i for i, name in enumerate(classes)},
        "problem_type": "single_label_classification",
    }
    if config.pretrained is not None:
        model = AutoModelForSequenceClassification.from_pretrained(
            config.pretrained, ignore_mismatched_sizes=True, **labels
        )
    else:
        hf_config = roberta_config(config.model, tokenizer)
        hf_config.update(labels)
        model = AutoModelForSequenceClassification.from_config(hf_config)
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model's vocabulary only "
            f"{model.config.vocab_size}: use the tokenizer the model was pre-trained with"
        )
    return model


def _loader(
    tokenizer: PreTrainedTokenizerBase, task: LabelledTask, split: str, max_tokens: int, config: FinetuneConfig
) -> DataLoader:
    frame = task.split(split)
    dataset = EncodedExamples(encode_examples(tokenizer, frame, max_tokens), frame["label"].to_numpy())
    train = split == "train"
    return DataLoader(
        dataset,
        batch_size=config.optim.batch_size,
        shuffle=train,
        generator=torch.Generator().manual_seed(config.seed) if train else None,
        collate_fn=PadCollator(tokenizer.pad_token_id),
        num_workers=config.hardware.workers,
    )


def _write_predictions(path: Path, frame: pd.DataFrame, probs: np.ndarray, classes: list[str]) -> None:
    ids = [c for c in ("id_a", "id_b") if c in frame.columns]
    table = frame[ids].copy()
    table["label"] = [classes[i] for i in frame["label"]]
    table["prediction"] = [classes[i] for i in probs.argmax(axis=1)]
    for i, name in enumerate(classes):
        table[f"p_{name}"] = probs[:, i]
    with atomic_open(path, "w", newline="") as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6g")


def _pretraining_corpus(config: FinetuneConfig) -> Path | None:
    """The pair corpus the pre-trained model was trained on: ``data.protein_splits``, else the
    ``corpus/`` folder a seqlab pretrain run keeps beside its ``model/``; None when unknown.
    """
    if config.data.protein_splits is not None:
        return Path(config.data.protein_splits)
    if config.pretrained is not None:
        beside = Path(config.pretrained).parent / "corpus"
        if (beside / PAIRS_FILE).is_file():
            return beside
    return None


def _pretraining_overlap(task: LabelledTask, corpus: Path | None) -> dict[str, Any]:
    """How many validation/test examples hold a sequence the pre-training corpus trained on.

    Returns ``{"corpus": path or None, "val": n, "test": n}`` (n: examples with such a sequence in
    either position); a warning is logged when held-out examples were seen in pre-training.
    """
    if corpus is None:
        return {"corpus": None, "val": None, "test": None}
    seen = set(PairCorpus.load(corpus).proteins("train").values())
    frame = task.frame
    hit = frame["seq_a"].isin(seen)
    if "seq_b" in frame.columns:
        hit |= frame["seq_b"].isin(seen)
    counts = {split: int(hit[frame["split"] == split].sum()) for split in ("val", "test")}
    if any(counts.values()):
        log.warning(
            "%d validation and %d test examples contain proteins the pre-training corpus %s trained on",
            counts["val"], counts["test"], corpus,
        )  # fmt: skip
    return {"corpus": str(corpus), **counts}


def finetune(
    config: FinetuneConfig, out_dir: str | Path, resume: bool = False, overwrite: bool = False
) -> dict[str, Any]:
    """Fine-tune ``config.pretrained`` (or train from scratch) on ``config.data`` and evaluate it.

    Args:
        config: the run's config (``pretrained: null`` needs ``tokenizer``).
        out_dir: run folder (layout in the module docstring).
        resume: continue from ``checkpoints/last.ckpt`` (the config must match the stored one apart from
            :data:`seqlab.runs.RESUMABLE_KEYS`).
        overwrite: replace a run already in ``out_dir`` (see :func:`seqlab.runs.start_run`).

    Returns:
        The dict written to ``metrics.json``: ``{"test": {"n", "accuracy", "macro_f1", "mcc"[, "auroc",
        "aupr"]}, "val": {...}, "task": ..., "model": ..., "training": ...}``.

    Raises:
        ValueError: no tokenizer for a from-scratch run, or a split of the task is empty.
        FileNotFoundError: ``resume`` without a last checkpoint, or a missing folder or data file.
    """
    if config.pretrained is None and config.tokenizer is None:
        raise ValueError("from scratch (pretrained: null) needs a tokenizer folder (tokenizer: PATH)")
    for folder in (config.pretrained, config.tokenizer):
        if folder is not None and not Path(folder).is_dir():
            raise FileNotFoundError(f"model or tokenizer folder not found: {folder}")
    corpus = _pretraining_corpus(config)
    if corpus is not None and config.data.kind == "shs27k" and config.data.protein_splits is None:
        log.info("keeping the protein split of the pre-training corpus %s", corpus)
        config = config.model_copy(update={"data": config.data.model_copy(update={"protein_splits": corpus})})
    with start_run(out_dir, config, resume=resume, overwrite=overwrite) as started:
        return _finetune(config, started, corpus)


def _finetune(config: FinetuneConfig, started: StartedRun, corpus: Path | None) -> dict[str, Any]:
    run = started.paths
    tokenizer = load_tokenizer(config.tokenizer or config.pretrained)
    task = load_task(config.data, seed=config.seed)
    overlap = _pretraining_overlap(task, corpus)
    for split, n in ((s, int((task.frame["split"] == s).sum())) for s in SPLITS):
        if n == 0:
            raise ValueError(
                f"task {task.name!r}: the {split} split is empty; raise data.max_examples or the split fractions"
            )
    model = build_classifier(config, tokenizer, task.classes)
    limit = position_limit(model.config)
    max_tokens = min(config.data.max_tokens, limit) if limit is not None else config.data.max_tokens
    loaders = {split: _loader(tokenizer, task, split, max_tokens, config) for split in SPLITS}

    model.train()  # from_pretrained returns eval mode, and Lightning keeps submodules' modes (dropout)
    module = ClassificationModule(model, config.optim, config.freeze_encoder)
    optim = config.optim
    trainer = optim_trainer(
        run,
        optim,
        config.hardware,
        monitor=config.monitor,
        mode="max" if config.monitor == "val_macro_f1" else "min",
        train_batches=len(loaders["train"]),
        patience=config.patience,
    )
    last = started.checkpoint
    state = read_checkpoint(last) if last is not None else None
    if state is not None and state["global_step"] >= optim.max_steps:  # finished: nothing left to train
        module.load_state_dict(state["state_dict"])
        steps = state["global_step"]
    else:
        trainer.fit(module, loaders["train"], loaders["val"], ckpt_path=last)
        trainer.save_checkpoint(run.last_checkpoint)  # the final state (Lightning saves last only on improvement)
        steps = trainer.global_step
    best_score = None
    if run.best_checkpoint.is_file():
        best = read_checkpoint(run.best_checkpoint)
        module.load_state_dict(best["state_dict"])
        best_score = next(v["best_model_score"] for k, v in best["callbacks"].items() if "ModelCheckpoint" in k)
    else:
        log.warning("no validation ran, so no best checkpoint: evaluating the final weights")

    metrics: dict[str, Any] = {}
    for split in ("test", "val"):
        probs = torch.cat(trainer.predict(module, loaders[split])).float().cpu().numpy()
        labels = loaders[split].dataset.labels
        metrics[split] = classification_metrics(labels, probs)
        if split == "test":
            _write_predictions(run.root / "predictions_test.tsv", task.split("test"), probs, task.classes)
            matrix = confusion_matrix(labels, probs.argmax(axis=1), len(task.classes))
            metrics["test"]["confusion_matrix"] = matrix.tolist()
            plot_confusion_matrix(matrix, task.classes, run.plots / "confusion_test.png", f"{task.name}: test")

    with atomic_dir(run.root / "model") as model_dir:  # a kill never leaves a half-written model/
        module.model.save_pretrained(model_dir)
        save_tokenizer(tokenizer, model_dir)
    metrics["task"] = task.summary()
    metrics["pretraining_overlap"] = overlap
    metrics["model"] = {
        "pretrained": str(config.pretrained) if config.pretrained is not None else None,
        "architecture": module.model.config.model_type,
        "parameters": sum(p.numel() for p in module.model.parameters()),
        "trainable_parameters": sum(p.numel() for p in module.model.parameters() if p.requires_grad),
        "freeze_encoder": config.freeze_encoder,
        "max_tokens": max_tokens,
    }
    metrics["training"] = {
        "steps": int(steps),
        "monitor": config.monitor,
        "best_score": float(best_score) if best_score is not None else None,
        "evaluated": "best checkpoint" if best_score is not None else "final weights",
    }
    write_json(run.metrics, json_safe(metrics))
    return metrics
