"""``seqlab demo protein``: the protein wing end to end, offline, on real UniProt proteins (p-scldata).

Steps: a BPE tokenizer trained on real proteins, a tiny RoBERTa pre-trained by masked-language
modelling on protein *pairs*, then subcellular-localization fine-tuning from that model and, with
the same architecture, data and budget, from scratch, both evaluated on p-scldata's held-out set.

**The pairs are a declared stand-in.** No interaction data ships with the install, so the demo's
"binding" pairs are two proteins annotated with the same compartment and its "non-binding" pairs
two proteins of different compartments. These are not physical interactions; the demo says so in
its printed output and in ``metrics.json`` (``stand_in_pairs``). Only proteins of p-scldata's
*training* split enter the pair corpus (cut to their first residues so that a pair fits in
``max_tokens``), so pre-training never sees a validation or test protein of the fine-tuning.
Real pair corpora come from STRING files (``seqlab protein corpus``).

Localization classes: proteins with compound labels (``Cytoplasm;Nucleus``) are dropped and the
classes with fewer than 400 training proteins (ER, cell projection, peroxisome) become ``Other``.

Output folder::

    metrics.json               the comparison (returned by :func:`run_protein_demo`)
    pretrain/                  pre-training run (corpus/, tokenizer/, model/, metrics.json, ...)
    finetune-pretrained/       fine-tuning run from pretrain/model (metrics.json, predictions, plots, model/)
    finetune-scratch/          the same fine-tuning from a randomly initialised model

Re-running into the same folder replaces these three run folders.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from seqlab.atomic import write_json
from seqlab.config import HardwareConfig
from seqlab.protein.config import (
    CorpusConfig,
    FinetuneConfig,
    FinetuneDataConfig,
    MlmModelConfig,
    OptimConfig,
    PretrainConfig,
    TokenizerConfig,
)
from seqlab.protein.corpus import SPLITS, PairCorpus
from seqlab.protein.finetune import finetune
from seqlab.protein.pretrain import pretrain
from seqlab.protein.tasks import OTHER, load_localization

__all__ = ["STAND_IN_NOTE", "run_protein_demo", "stand_in_pairs"]

STAND_IN_NOTE = (
    "The demo's protein pairs are a STAND-IN, not interaction data: 'binding' = two proteins annotated "
    "with the same subcellular compartment (p-scldata), 'non-binding' = two proteins of different "
    "compartments. No interaction data ships with the install; build real pair corpora from STRING "
    "files with 'seqlab protein corpus'."
)
_MIN_CLASS_COUNT = 400

# Sizes of the full demo (about 3-5 minutes on 2 CPU cores) and of the quick one (under a minute).
_SETTINGS: dict[bool, dict[str, Any]] = {
    False: {
        "pair_proteins": 6000,
        "pairs": 8000,
        "residues_per_protein": 110,
        "max_tokens": 128,
        "vocab_size": 1000,
        "pretrain_steps": 600,
        "finetune_examples": 4000,
        "finetune_steps": 300,
        "batch_size": 16,
    },
    True: {
        "pair_proteins": 400,
        "pairs": 400,
        "residues_per_protein": 60,
        "max_tokens": 64,
        "vocab_size": 300,
        "pretrain_steps": 20,
        "finetune_examples": 400,
        "finetune_steps": 20,
        "batch_size": 8,
    },
}


def _draw_pairs(
    members: np.ndarray, compartments: np.ndarray, n: int, same: bool, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Up to ``n`` distinct unordered pairs of ``members`` (row numbers), same or different compartment."""
    chosen: dict[tuple[int, int], None] = {}
    for _ in range(100):
        if len(chosen) >= n or len(members) < 2:
            break
        a, b = rng.choice(members, (2, 8 * n + 16))
        keep = (a != b) & ((compartments[a] == compartments[b]) == same)
        for i, j in zip(a[keep], b[keep], strict=True):
            chosen[(min(i, j), max(i, j))] = None
            if len(chosen) == n:
                break
    return list(chosen)


def stand_in_pairs(
    ids: np.ndarray,
    sequences: np.ndarray,
    compartments: np.ndarray,
    n_pairs: int,
    seed: int = 0,
    fractions: tuple[float, float] = (0.1, 0.1),
) -> PairCorpus:
    """A stand-in pair corpus: same compartment = "binding", different compartments = "non-binding".

    Args:
        ids: str array (N,), protein ids.
        sequences: str array (N,), their sequences.
        compartments: int or str array (N,), their compartments.
        n_pairs: pairs in all; each split gets its share of proteins' share, half of each kind.
        seed: seed of the protein split and the pairs.
        fractions: (val, test) shares of proteins; the split is strict (by protein).

    Pairs are distinct and never self pairs. ``score`` is 1000 for stand-in binding pairs, else 0.
    This is not interaction data (see ``STAND_IN_NOTE``).
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    n_val, n_test = (int(round(f * len(ids))) for f in fractions)
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    rows = []
    for split in SPLITS:
        wanted = int(round(n_pairs * len(parts[split]) / len(ids)))
        for binding, n in ((1, wanted // 2), (0, wanted - wanted // 2)):
            pairs = _draw_pairs(parts[split], compartments, n, bool(binding), rng)
            rows += [(i, j, binding, split) for i, j in pairs]
    table = pd.DataFrame(rows, columns=["i", "j", "binding", "split"])
    frame = pd.DataFrame(
        {
            "id_a": ids[table["i"]],
            "id_b": ids[table["j"]],
            "seq_a": sequences[table["i"]],
            "seq_b": sequences[table["j"]],
            "binding": table["binding"],
            "score": table["binding"] * 1000,
            "split": table["split"],
        }
    )
    return PairCorpus(frame.sample(frac=1.0, random_state=seed), report={"stand_in": STAND_IN_NOTE})


def _result_table(metrics: dict[str, Any]) -> Table:
    table = Table(title="Localization on p-scldata's held-out split: same model, data and budget")
    for column in ("start", "accuracy", "macro-F1", "MCC", "val macro-F1", "steps"):
        table.add_column(column, justify="left" if column == "start" else "right")
    for key, label in (("pretrained", "pre-trained"), ("scratch", "from scratch")):
        run = metrics["finetune"][key]
        test = run["test"]
        table.add_row(
            label,
            f"{test['accuracy']:.3f}",
            f"{test['macro_f1']:.3f}",
            f"{test['mcc']:.3f}",
            f"{run['val']['macro_f1']:.3f}",
            str(run["steps"]),
        )
    pre = metrics["pretrain"]
    table.caption = (
        f"pair MLM pre-training on stand-in pairs: {pre['steps']} steps, {pre['tokens_seen']:,} tokens, "
        f"val perplexity {pre['val']['perplexity']:.2f}; {metrics['finetune']['n_classes']} classes, "
        f"test n = {metrics['finetune']['pretrained']['test']['n']}"
    )
    return table


def run_protein_demo(out_dir: str | Path = "runs/demo-protein", seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """Run the protein demo offline, print its result table and return (and write) its metrics.

    Args:
        out_dir: demo folder (layout in the module docstring); its three run folders are replaced.
        seed: seed of the protein sampling, the stand-in pairs, the tokenizer data and training.
        quick: a much smaller run (under a minute) for smoke tests; its numbers mean little.

    Returns:
        The content of ``metrics.json``: ``stand_in_pairs`` (True) and ``note``, ``settings``,
        ``corpus`` (pairs per split and kind), ``pretrain`` (steps, tokens_seen, val/test MLM loss),
        ``finetune`` (``pretrained`` / ``scratch``: test and val metrics, steps; ``classes``),
        ``delta_test_macro_f1`` (pre-trained minus scratch) and ``wall_time_s``.
    """
    started = time.monotonic()
    settings = _SETTINGS[quick]
    out = Path(out_dir).absolute()  # written into configs that resolve relative paths against their own folder
    out.mkdir(parents=True, exist_ok=True)
    for name in ("pretrain", "finetune-pretrained", "finetune-scratch"):
        shutil.rmtree(out / name, ignore_errors=True)
    console = Console()
    console.print(Panel(STAND_IN_NOTE, title="stand-in pairs", border_style="yellow"))

    # Pair corpus from training proteins with one named compartment (not Other), cut to bound lengths.
    task = load_localization(compound_labels="drop", min_class_count=_MIN_CLASS_COUNT)
    proteins = task.split("train")
    if OTHER in task.classes:
        proteins = proteins[proteins["label"] != task.classes.index(OTHER)]
    proteins = proteins.sample(n=min(settings["pair_proteins"], len(proteins)), random_state=seed)
    corpus = stand_in_pairs(
        proteins["id_a"].to_numpy(),
        proteins["seq_a"].str[: settings["residues_per_protein"]].to_numpy(),
        proteins["label"].to_numpy(),
        settings["pairs"],
        seed=seed,
    )
    max_tokens = settings["max_tokens"]
    model = MlmModelConfig(preset="tiny", max_position_embeddings=max_tokens + 2)
    batch_size = settings["batch_size"]
    pre_steps = settings["pretrain_steps"]
    pre_metrics = pretrain(
        PretrainConfig(
            seed=seed,
            name="demo-protein-pretrain",
            mode="pair",
            corpus=CorpusConfig(max_tokens=max_tokens),
            tokenizer_training=TokenizerConfig(vocab_size=settings["vocab_size"], model_max_length=max_tokens),
            model=model,
            optim=OptimConfig(
                learning_rate=1e-3,
                max_steps=pre_steps,
                batch_size=batch_size,
                val_every_steps=max(pre_steps // 4, 1),
                progress_bar=not quick,
            ),
            hardware=HardwareConfig(threads=1),  # small models: one thread is far faster on a shared machine
        ),
        out / "pretrain",
        corpus=corpus,
        overwrite=True,
    )

    # Fine-tuning from the pre-trained model and from scratch: same data, sizes, steps, no early stop.
    ft_steps = settings["finetune_steps"]
    common: dict[str, Any] = {
        "seed": seed,
        "model": model,
        "patience": None,
        "data": FinetuneDataConfig(
            kind="localization",
            compound_labels="drop",
            min_class_count=_MIN_CLASS_COUNT,
            max_examples=settings["finetune_examples"],
            max_tokens=max_tokens,
        ),
        "optim": OptimConfig(
            learning_rate=1e-3,
            max_steps=ft_steps,
            batch_size=batch_size,
            val_every_steps=max(ft_steps // 5, 1),
            progress_bar=not quick,
        ),
        "hardware": HardwareConfig(threads=1),  # small models: one thread is far faster on a shared machine
    }
    runs = {
        "pretrained": FinetuneConfig(name="demo-protein-pretrained", pretrained=out / "pretrain" / "model", **common),
        "scratch": FinetuneConfig(name="demo-protein-scratch", tokenizer=out / "pretrain" / "tokenizer", **common),
    }
    results = {key: finetune(config, out / f"finetune-{key}", overwrite=True) for key, config in runs.items()}

    summary = corpus.summary()["pairs"]
    metrics: dict[str, Any] = {
        "stand_in_pairs": True,
        "note": STAND_IN_NOTE,
        "seed": seed,
        "quick": quick,
        "settings": settings,
        "corpus": {split: summary[split] for split in SPLITS},
        "pretrain": {
            "steps": pre_metrics["steps"],
            "tokens_seen": pre_metrics["tokens_seen"],
            "length_limit": pre_metrics["length_limit"],
            **{split: pre_metrics[split] for split in ("val", "test") if split in pre_metrics},
        },
        "finetune": {
            **{
                key: {"test": result["test"], "val": result["val"], "steps": result["training"]["steps"]}
                for key, result in results.items()
            },
            "classes": results["pretrained"]["task"]["classes"],
            "n_classes": len(results["pretrained"]["task"]["classes"]),
        },
        "delta_test_macro_f1": results["pretrained"]["test"]["macro_f1"] - results["scratch"]["test"]["macro_f1"],
        "wall_time_s": round(time.monotonic() - started, 1),
    }
    write_json(out / "metrics.json", metrics)
    console.print(_result_table(metrics))
    console.print(Panel(STAND_IN_NOTE, title="stand-in pairs", border_style="yellow"))
    console.print(f"{metrics['wall_time_s']:.0f} s; demo folder: {out} (metrics.json, pretrain/, finetune-*/)")
    return metrics
