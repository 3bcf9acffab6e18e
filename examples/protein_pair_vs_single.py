#!/usr/bin/env python
"""Pair vs single masked-LM pre-training of small protein language models, then fine-tuning (CPU scale).

The protein wing's claim: masked-LM pre-training on PAIRS of proteins (STRING binding pairs plus random
non-binding pairs, label never given) helps downstream tasks more than pre-training on SINGLE proteins.
This driver reproduces the comparison at a scale that fits a small CPU machine, with seeds:

For every seed ``s``:

1. The SHS27k binding task is built exactly as fine-tuning builds it (``load_task`` with the same
   ``FinetuneDataConfig`` and seed): strict protein-level split (val/test proteins never in a training
   pair), negatives drawn within each split.
2. The pre-training pair corpus is built ONLY from that task's training proteins (STRING links among
   them: binding = best score >= ``--corpus-threshold``, non-binding = random unlinked pairs 1:1). The
   task's validation and test proteins give the corpus's held-out pairs (MLM evaluation only, never
   trained on). Proteins whose sequence is a p-scldata validation/test sequence are left out of the
   corpus altogether. Both are asserted (by id and by sequence).
3. One BPE tokenizer is trained on the corpus's training proteins and shared by every model of the seed.
4. Pair and single pre-training: same tokenizer, architecture, optimiser, number of steps and token
   budget (``token_budget``); the single run's batch holds more sequences so that tokens per step match.
5. Fine-tuning from the pair model, the single model, and from scratch (same architecture), with the
   same budget, on SHS27k binding (strict split) and on p-scldata localization (held-out split).

Everything goes through the seqlab API (``pretrain``, ``finetune``, ``build_pair_corpus``,
``train_bpe_tokenizer``, ``evaluate_mlm``). Output::

    OUT/seed{s}/{corpus,tokenizer,pretrain-pair,pretrain-single,ft-<task>-<init>}/
    OUT/runs.tsv       one row per fine-tuning run (and per pre-training run in pretrain_runs.tsv)
    OUT/summary.tsv    mean, sd and n over seeds per task and init (and per pre-training mode)
    OUT/summary.json   settings, leakage checks, compression reports, every run, the aggregates

Completed runs (a ``metrics.json`` present) are reused, so an interrupted study can be re-run.

The defaults are the main study of docs/results.md (47 minutes on 2 shared CPU cores, one torch thread)::

    HF_HUB_OFFLINE=1 .venv/bin/python examples/protein_pair_vs_single.py --out runs/protein-pair-vs-single-4x

and its quarter-budget companion (26 minutes): ``--token-budget 300000 --binding-steps 150 --localization-steps 300``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from seqlab.atomic import write_json
from seqlab.io.protein import read_sequences, read_string_links  # noqa: E402
from seqlab.protein.config import (  # noqa: E402
    CorpusConfig,
    FinetuneConfig,
    FinetuneDataConfig,
    MlmModelConfig,
    OptimConfig,
    PretrainConfig,
    TokenizerConfig,
)
from seqlab.protein.corpus import SPLITS, PairCorpus, build_pair_corpus  # noqa: E402
from seqlab.protein.finetune import finetune  # noqa: E402
from seqlab.protein.mlm import MlmCollator, evaluate_mlm  # noqa: E402
from seqlab.protein.pretrain import encode_corpus, pretrain  # noqa: E402
from seqlab.protein.tasks import LabelledTask, load_task  # noqa: E402
from seqlab.protein.tokenizer import (  # noqa: E402
    compression_report,
    load_tokenizer,
    train_bpe_tokenizer,
    write_compression_report,
)
from seqlab.runs import write_text  # noqa: E402

MODES = ("pair", "single")
INITS = ("pair", "single", "scratch")
TASKS = ("binding", "localization")
METRICS = {"binding": ("accuracy", "macro_f1", "mcc", "auroc", "aupr"), "localization": ("accuracy", "macro_f1", "mcc")}
DEFAULT_DATA = Path(os.environ.get("SEQLAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", type=Path, default=Path("runs/protein-pair-vs-single"), help="study folder")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (split, corpus, init, order)")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="the shared data bundle (protein/shs27k)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    # pre-training corpus and tokenizer
    p.add_argument("--corpus-threshold", type=int, default=700, help="pre-training binding pairs: STRING score >= this")
    p.add_argument("--negative-ratio", type=float, default=1.0, help="pre-training non-binding pairs per binding pair")
    p.add_argument("--vocab-size", type=int, default=2000, help="BPE vocabulary (special tokens and residues included)")
    p.add_argument("--vocab-candidates", type=int, nargs="*", default=[1000, 2000, 4000, 8000],
                   help="vocabularies compared in the compression report of the first seed (none: skip)")
    p.add_argument("--max-tokens", type=int, default=256,
                   help="longest model input (special tokens included): pre-training and binding pairs")
    p.add_argument("--localization-max-tokens", type=int, default=128,
                   help="localization inputs are cut to this many tokens (the N-terminus, where sorting signals are)")
    # model
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=512)
    # pre-training
    p.add_argument("--token-budget", type=int, default=1_200_000, help="pre-training input tokens, per mode and seed")
    p.add_argument("--pretrain-batch", type=int, default=8, help="pair inputs per step (single: matched in tokens)")
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--pretrain-validations", type=int, default=2, help="validations per pre-training run")
    # fine-tuning
    p.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    p.add_argument("--inits", nargs="+", choices=INITS, default=list(INITS))
    p.add_argument("--binding-threshold", type=int, default=0,
                   help="fine-tuning positives: SHS27k pairs with a score >= this (0: every pair of the file)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="binding task: share of proteins for validation")
    p.add_argument("--test-fraction", type=float, default=0.2, help="binding task: share of proteins for test")
    p.add_argument("--binding-steps", type=int, default=300)
    p.add_argument("--localization-steps", type=int, default=600)
    p.add_argument("--finetune-batch", type=int, default=16)
    p.add_argument("--finetune-lr", type=float, default=1e-3)
    p.add_argument("--finetune-validations", type=int, default=1, help="validations per fine-tuning run (best kept)")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- data


def binding_data(args: argparse.Namespace) -> FinetuneDataConfig:
    shs = args.data_dir / "protein" / "shs27k"
    return FinetuneDataConfig(
        kind="shs27k",
        path=shs / "protein.actions.SHS27k.STRING.txt.gz",
        sequences=shs / "protein.SHS27k.sequences.dictionary.tsv.gz",
        score_threshold=args.binding_threshold,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        max_tokens=args.max_tokens,
    )


def localization_data(args: argparse.Namespace) -> FinetuneDataConfig:
    # As the protein demo: compound labels dropped, classes under 400 training proteins -> Other.
    return FinetuneDataConfig(kind="localization", compound_labels="drop", min_class_count=400,
                              max_tokens=min(args.localization_max_tokens, args.max_tokens))


def split_proteins(task: LabelledTask) -> dict[str, dict[str, str]]:
    """``{split: {id: sequence}}`` of the proteins in a pair task's rows."""
    out = {}
    for split in SPLITS:
        rows = task.split(split)
        ids = list(rows["id_a"]) + list(rows["id_b"])
        out[split] = dict(zip(ids, list(rows["seq_a"]) + list(rows["seq_b"]), strict=True))
    return out


def build_corpus(
    links: pd.DataFrame,
    sequences: dict[str, str],
    proteins: dict[str, set[str]],
    args: argparse.Namespace,
    seed: int,
) -> PairCorpus:
    """Pair corpus whose split ``X`` holds only links among ``proteins[X]`` (built by ``build_pair_corpus``)."""
    config = CorpusConfig(
        score_threshold=args.corpus_threshold,
        negative_ratio=args.negative_ratio,
        strict_split=True,
        val_fraction=0.0,
        test_fraction=0.0,
        max_tokens=args.max_tokens,
        length_policy="truncate",
    )
    frames, report = [], {}
    for i, split in enumerate(SPLITS):
        keep = links["protein1"].isin(proteins[split]) & links["protein2"].isin(proteins[split])
        part = build_pair_corpus(links[keep], sequences, config, seed=seed * 10 + i)
        frames.append(part.frame.assign(split=split))
        report[split] = part.report
    return PairCorpus(pd.concat(frames, ignore_index=True), {"per_split": report, "rule": "split X from links among "
                      "the binding task's split-X proteins (minus localization val/test sequences)"})


def leakage_check(corpus: PairCorpus, binding: dict[str, dict[str, str]], held_out_loc: set[str]) -> dict[str, Any]:
    """Assert that nothing pre-training trains on is a binding val/test protein or a localization val/test sequence."""
    trained = corpus.proteins("train")
    ids, seqs = set(trained), set(trained.values())
    held_ids = set(binding["val"]) | set(binding["test"])
    held_seqs = set(binding["val"].values()) | set(binding["test"].values())
    check = {
        "pretrain_train_proteins": len(ids),
        "binding_train_proteins": len(binding["train"]),
        "binding_val_proteins": len(binding["val"]),
        "binding_test_proteins": len(binding["test"]),
        "pretrain_train_not_in_binding_train": len(ids - set(binding["train"])),
        "binding_val_test_ids_in_pretrain_train": len(ids & held_ids),
        "binding_val_test_sequences_in_pretrain_train": len(seqs & held_seqs),
        "binding_test_ids_in_binding_train": len(set(binding["test"]) & set(binding["train"])),
        "binding_val_ids_in_binding_train": len(set(binding["val"]) & set(binding["train"])),
        "localization_val_test_sequences_in_pretrain": len(set(corpus.proteins().values()) & held_out_loc),
    }
    for key in ("pretrain_train_not_in_binding_train", "binding_val_test_ids_in_pretrain_train",
                "binding_val_test_sequences_in_pretrain_train", "binding_test_ids_in_binding_train",
                "binding_val_ids_in_binding_train", "localization_val_test_sequences_in_pretrain"):
        assert check[key] == 0, f"leakage: {key} = {check[key]}"
    return check


# --------------------------------------------------------------------------- runs


def reuse(folder: Path) -> dict[str, Any] | None:
    """The metrics of a run this driver finished in ``folder``; an unfinished run is removed."""
    path = folder / "metrics.json"
    if path.is_file():
        metrics = json.loads(path.read_text())
        if "wall_time_s" in metrics:  # written by this driver after the run and its extra evaluation
            return metrics
    shutil.rmtree(folder, ignore_errors=True)
    return None


def mean_length(examples: list[list[int]]) -> float:
    return float(np.mean([len(x) for x in examples]))


def held_out_mlm(model_dir: Path, tokenizer: Any, encoded: dict[str, dict[str, list[list[int]]]], seed: int,
                 mlm_probability: float = 0.15, batch_size: int = 16) -> dict[str, dict[str, float]]:
    """MLM loss of one model on the held-out (test) inputs of BOTH modes, with the same fixed masks for every model."""
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(model_dir)
    out = {}
    for mode, splits in encoded.items():
        collate = MlmCollator(tokenizer, mlm_probability, generator=torch.Generator().manual_seed(seed))
        examples = splits["test"]
        batches = [collate(examples[i : i + batch_size]) for i in range(0, len(examples), batch_size)]
        out[mode] = evaluate_mlm(model, batches)
    return out


def unigram_perplexity(train: list[list[int]], test: list[list[int]], special: set[int], vocab: int) -> float:
    """Perplexity of add-one-smoothed training token frequencies on the test tokens (specials excluded).

    The reference an MLM must beat to have learned more than which tokens are frequent.
    """
    counts = np.ones(vocab)
    for ids in train:
        np.add.at(counts, [i for i in ids if i not in special], 1)
    logp = np.log(counts / counts.sum())
    tokens = [i for ids in test for i in ids if i not in special]
    return float(math.exp(-logp[tokens].mean()))


def run_seed(seed: int, args: argparse.Namespace, links: pd.DataFrame, sequences: dict[str, str],
             held_out_loc: set[str], record: dict[str, Any]) -> None:
    root = args.out / f"seed{seed}"
    root.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"seed": seed}
    record["seeds"][str(seed)] = info
    model_config = MlmModelConfig(
        preset="custom", hidden_size=args.hidden, num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=args.intermediate, max_position_embeddings=args.max_tokens + 2,
    )

    # 1. The binding task as fine-tuning will build it (same config, same seed).
    started = time.monotonic()
    binding = split_proteins(load_task(binding_data(args), seed=seed))
    excluded = {p for split in SPLITS for p, s in binding[split].items() if s in held_out_loc}
    allowed = {split: set(binding[split]) - excluded for split in SPLITS}
    info["proteins_left_out_as_localization_val_test"] = len(excluded)

    # 2. Pre-training corpus from the task's training proteins only (held-out pairs from its val/test proteins).
    corpus = build_corpus(links, sequences, allowed, args, seed)
    corpus.save(root / "corpus")
    info["corpus"] = corpus.summary()["pairs"]
    info["corpus_proteins"] = corpus.summary()["proteins"]
    info["leakage"] = leakage_check(corpus, binding, held_out_loc)

    # 3. One tokenizer per seed, trained on the corpus's training proteins, shared by every model.
    tok_dir = root / "tokenizer"
    train_seqs = list(corpus.proteins("train").values())
    held_seqs = list(corpus.proteins("val").values()) + list(corpus.proteins("test").values())
    if (tok_dir / "tokenizer.json").is_file():
        tokenizer = load_tokenizer(tok_dir)
    else:
        tokenizer = train_bpe_tokenizer(train_seqs, TokenizerConfig(vocab_size=args.vocab_size,
                                                                    model_max_length=args.max_tokens), tok_dir)
        write_compression_report(compression_report(tokenizer, train_seqs, (args.max_tokens, 512)), tok_dir)
    info["tokenizer"] = {
        "vocab": len(tokenizer),
        "train": compression_report(tokenizer, train_seqs, (args.max_tokens, 512))["bpe"],
        "held_out": compression_report(tokenizer, held_seqs, (args.max_tokens, 512))["bpe"],
    }
    if args.vocab_candidates and seed == args.seeds[0]:
        rows = []
        for vocab in args.vocab_candidates:
            candidate = train_bpe_tokenizer(train_seqs, TokenizerConfig(vocab_size=vocab))
            for name, seqs in (("train", train_seqs), ("held_out", held_seqs)):
                bpe = compression_report(candidate, seqs, (args.max_tokens, 512))["bpe"]
                rows.append({"vocab": vocab, "proteins": name, "residues_per_token": bpe["mean_residues_per_token"],
                             "tokens_per_protein": bpe["mean_tokens_per_sequence"],
                             f"share_over_{args.max_tokens}": bpe["share_longer_than"][str(args.max_tokens)],
                             "share_over_512": bpe["share_longer_than"]["512"]})
        record["vocab_comparison"] = rows
        print(pd.DataFrame(rows).to_string(index=False, float_format="%.3f"), flush=True)
    info["setup_s"] = round(time.monotonic() - started, 1)

    # 4. Pair and single pre-training: same tokens per step, same steps, same token budget.
    encoded = {mode: encode_corpus(corpus, tokenizer, mode, args.max_tokens, "truncate")[0] for mode in MODES}
    lengths = {mode: mean_length(encoded[mode]["train"]) for mode in MODES}
    batch = {"pair": args.pretrain_batch,
             "single": max(1, round(args.pretrain_batch * lengths["pair"] / lengths["single"]))}
    special = set(tokenizer.all_special_ids)
    info["unigram_test_perplexity"] = {
        mode: unigram_perplexity(encoded[mode]["train"], encoded[mode]["test"], special, len(tokenizer))
        for mode in MODES
    }
    info["pretrain"] = {}
    for mode in MODES:
        folder = root / f"pretrain-{mode}"
        steps = math.ceil(1.02 * args.token_budget / (batch[mode] * lengths[mode]))
        config = PretrainConfig(
            seed=seed,
            name=f"pretrain-{mode}-s{seed}",
            mode=mode,
            corpus=CorpusConfig(max_tokens=args.max_tokens, length_policy="truncate"),
            tokenizer=tok_dir,
            model=model_config,
            token_budget=args.token_budget,
            optim=OptimConfig(learning_rate=args.pretrain_lr, max_steps=steps, batch_size=batch[mode],
                              val_every_steps=max(1, steps // args.pretrain_validations), progress_bar=False),
        )
        t0 = time.monotonic()
        metrics = reuse(folder)
        if metrics is None:
            metrics = pretrain(config, folder, corpus=corpus)
            metrics["wall_time_s"] = round(time.monotonic() - t0, 1)
            metrics["cross_mode_test"] = held_out_mlm(folder / "model", tokenizer, encoded, seed)
            write_json(folder / "metrics.json", metrics)
        info["pretrain"][mode] = {
            "batch_size": batch[mode], "mean_input_tokens": lengths[mode], "max_steps": steps,
            "steps": metrics["steps"], "tokens_seen": metrics["tokens_seen"], "val": metrics["val"],
            "test": metrics.get("test"), "cross_mode_test": metrics["cross_mode_test"],
            "examples": metrics["examples"], "length_limit": metrics["length_limit"],
            "wall_time_s": metrics["wall_time_s"],
        }
        record["pretrain_runs"].append({"seed": seed, "mode": mode, **info["pretrain"][mode]})
        print(f"[seed {seed}] pretrain {mode}: {metrics['steps']} steps, {metrics['tokens_seen']:,} tokens, "
              f"val ppl {metrics['val']['perplexity']:.3f}, test ppl {metrics['test']['perplexity']:.3f}, "
              f"{metrics['wall_time_s']:.0f} s", flush=True)

    # 5. Fine-tuning: every init with the same data, sizes, optimiser and steps.
    # Every init, scratch included, keeps the corpus's protein split (it equals the task's: asserted below).
    data = {"binding": binding_data(args).model_copy(update={"protein_splits": root / "corpus"}),
            "localization": localization_data(args)}
    steps = {"binding": args.binding_steps, "localization": args.localization_steps}
    for task in args.tasks:
        for init in args.inits:
            folder = root / f"ft-{task}-{init}"
            config = FinetuneConfig(
                seed=seed,
                name=f"ft-{task}-{init}-s{seed}",
                pretrained=None if init == "scratch" else root / f"pretrain-{init}" / "model",
                tokenizer=tok_dir,
                model=model_config,
                data=data[task],
                patience=None,
                optim=OptimConfig(learning_rate=args.finetune_lr, max_steps=steps[task], batch_size=args.finetune_batch,
                                  val_every_steps=max(1, steps[task] // args.finetune_validations), progress_bar=False),
            )
            t0 = time.monotonic()
            metrics = reuse(folder)
            if metrics is None:
                metrics = finetune(config, folder)
                metrics["wall_time_s"] = round(time.monotonic() - t0, 1)
                write_json(folder / "metrics.json", metrics)
            if task == "binding":  # the split fine-tuning used is the one the corpus was built against
                used = pd.read_csv(folder / "predictions_test.tsv", sep="\t")
                test_ids = set(used["id_a"]) | set(used["id_b"])
                assert test_ids == set(binding["test"]), "the fine-tuning test split differs from the corpus's"
                assert not test_ids & set(corpus.proteins("train")), "binding test proteins were pre-trained on"
            row = {"seed": seed, "task": task, "init": init, "steps": metrics["training"]["steps"],
                   "wall_time_s": metrics["wall_time_s"], "n_test": metrics["test"]["n"],
                   "test_examples_with_pretrained_protein": (metrics.get("pretraining_overlap") or {}).get("test"),
                   **{m: metrics["test"].get(m) for m in METRICS[task]},
                   **{f"val_{m}": metrics["val"].get(m) for m in METRICS[task]}}
            record["finetune_runs"].append(row)
            print(f"[seed {seed}] {task:12s} {init:7s} " + " ".join(f"{m} {row[m]:.3f}" for m in METRICS[task])
                  + f"  ({row['wall_time_s']:.0f} s)", flush=True)


# --------------------------------------------------------------------------- summary


def mean_sd(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else float("nan"))


def summarise(record: dict[str, Any]) -> pd.DataFrame:
    rows = []
    runs = pd.DataFrame(record["finetune_runs"])
    for (task, init), group in runs.groupby(["task", "init"], sort=False):
        row: dict[str, Any] = {"kind": "finetune", "task": task, "init": init, "n_seeds": len(group)}
        for metric in METRICS[task]:
            row[f"{metric}_mean"], row[f"{metric}_sd"] = mean_sd(group[metric].tolist())
        rows.append(row)
    pre = pd.DataFrame(record["pretrain_runs"])
    for mode, group in pre.groupby("mode", sort=False):
        row = {"kind": "pretrain", "task": "mlm", "init": mode, "n_seeds": len(group)}
        row["tokens_seen_mean"], _ = mean_sd(group["tokens_seen"].tolist())
        row["steps_mean"], _ = mean_sd(group["steps"].tolist())
        for split in ("val", "test"):
            row[f"{split}_mlm_loss_mean"], row[f"{split}_mlm_loss_sd"] = mean_sd([m["mlm_loss"] for m in group[split]])
            perplexities = [m["perplexity"] for m in group[split]]
            row[f"{split}_perplexity_mean"], row[f"{split}_perplexity_sd"] = mean_sd(perplexities)
        for inputs in MODES:  # both models on the same held-out inputs
            losses = [m[inputs]["mlm_loss"] for m in group["cross_mode_test"]]
            row[f"test_{inputs}_inputs_mlm_loss_mean"], row[f"test_{inputs}_inputs_mlm_loss_sd"] = mean_sd(losses)
        rows.append(row)
    return pd.DataFrame(rows)


def fmt(mean: float, sd: float) -> str:
    if math.isnan(mean):
        return "NA"
    return f"{mean:.3f}" if math.isnan(sd) else f"{mean:.3f} ± {sd:.3f}"


def print_table(summary: pd.DataFrame) -> str:
    lines = []
    fine = summary[summary["kind"] == "finetune"]
    for task in TASKS:
        part = fine[fine["task"] == task]
        if part.empty:
            continue
        metrics = METRICS[task]
        lines.append(f"\n{task} (test, mean ± sd over seeds)")
        lines.append("| init | n | " + " | ".join(metrics) + " |")
        lines.append("|---|---|" + "---|" * len(metrics))
        for _, r in part.iterrows():
            lines.append(f"| {r['init']} | {r['n_seeds']} | "
                         + " | ".join(fmt(r[f'{m}_mean'], r[f'{m}_sd']) for m in metrics) + " |")
    pre = summary[summary["kind"] == "pretrain"]
    if not pre.empty:
        lines.append("\npre-training (held-out MLM loss in nats / perplexity; test = the binding task's test proteins)")
        lines.append("| mode | n | tokens | steps | val loss | test loss | test ppl | loss on test pairs "
                     "| loss on test singles |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for _, r in pre.iterrows():
            lines.append(
                f"| {r['init']} | {r['n_seeds']} | {r['tokens_seen_mean']:,.0f} | {r['steps_mean']:.0f} | "
                f"{fmt(r['val_mlm_loss_mean'], r['val_mlm_loss_sd'])} | "
                f"{fmt(r['test_mlm_loss_mean'], r['test_mlm_loss_sd'])} | "
                f"{fmt(r['test_perplexity_mean'], r['test_perplexity_sd'])} | "
                f"{fmt(r['test_pair_inputs_mlm_loss_mean'], r['test_pair_inputs_mlm_loss_sd'])} | "
                f"{fmt(r['test_single_inputs_mlm_loss_mean'], r['test_single_inputs_mlm_loss_sd'])} |"
            )
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    shs = binding_data(args)
    links = read_string_links(shs.path)
    sequences = read_sequences(shs.sequences)
    localization = load_task(localization_data(args))
    held_out_loc = set(localization.frame.loc[localization.frame["split"] != "train", "seq_a"])
    record: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.is_available(), "torch": torch.__version__},
        "seeds": {}, "pretrain_runs": [], "finetune_runs": [],
    }
    for seed in args.seeds:
        run_seed(seed, args, links, sequences, held_out_loc, record)
        write_json(args.out / "summary.json", record)  # progress so far
    record["wall_time_s"] = round(time.monotonic() - started, 1)
    summary = summarise(record)
    record["summary"] = json.loads(summary.to_json(orient="records"))
    record["table"] = print_table(summary)
    summary.to_csv(args.out / "summary.tsv", sep="\t", index=False, float_format="%.6g")
    pd.DataFrame(record["finetune_runs"]).to_csv(args.out / "runs.tsv", sep="\t", index=False, float_format="%.6g")
    pre = pd.DataFrame(record["pretrain_runs"])
    for split in ("val", "test"):
        pre[f"{split}_mlm_loss"] = [m["mlm_loss"] for m in pre[split]]
        pre[f"{split}_perplexity"] = [m["perplexity"] for m in pre[split]]
    pre.drop(columns=["val", "test", "cross_mode_test", "examples", "length_limit"]).to_csv(
        args.out / "pretrain_runs.tsv", sep="\t", index=False, float_format="%.6g")
    write_json(args.out / "summary.json", record)
    write_text(args.out / "table.md", record["table"] + "\n")
    print(f"\nwall time {record['wall_time_s']:.0f} s; {args.out}/summary.tsv, summary.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
