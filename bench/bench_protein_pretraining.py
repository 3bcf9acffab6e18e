"""Masked-LM pre-training throughput (tokens/s): seqlab (MlmModule + build_trainer) vs the Hugging Face Trainer.

Both sides train the same ``RobertaForMaskedLM`` (``build_mlm_model``, one seeded initialisation
deep-copied for every run) on the same pre-tokenized inputs, batched in the same order, masked by
the same collator (seqlab's ``MlmCollator``, 15%, each run with its own generator seeded alike), on
the CPU with the same torch thread count (default 1) and deterministic-algorithms flag (seqlab's
trainer sets it on the CPU; it is set for the HF side too), for the same number of optimizer steps:

* data: the SHS27k pair corpus as ``pretrain`` builds it (``corpus_from_config``: STRING actions file
  + sequence dictionary, score >= 700, one non-binding pair per binding pair, strict split), a BPE
  tokenizer trained on the training proteins (vocab 10,000; ``--tokenizer residue``: one token per
  residue instead), pair inputs ``<s> A </s></s> B </s>`` encoded by ``encode_corpus`` and truncated
  to ``--max-tokens`` (default 256); the training split's inputs are shuffled once (seeded) and the
  first ``steps x batch`` are used, in that order, by both;
* seqlab: ``MlmModule(model, OptimConfig)`` fitted by ``build_trainer`` with the arguments
  ``pretrain`` passes (CSV logger into a run folder, ``log_every_n_steps=10``, checkpoint callbacks,
  gradient clipping 1.0, ``train_loss`` and ``tokens_seen`` logged every step), progress bar off,
  no validation loader;
* HF: ``Trainer`` with ``TrainingArguments`` of the same AdamW (``optim="adamw_torch"``, betas
  0.9/0.98, eps 1e-6, weight decay 0.01 off biases and LayerNorm weights), learning rate 5e-4, linear
  warm-up over the same steps (``warmup_steps`` of ``OptimConfig``: 6%) then linear decay, the same
  gradient clipping, the same batch size, ``train_sampling_strategy="sequential"``, no evaluation, no
  saving, logging off, ``dataloader_num_workers=0``, ``use_cpu=True``, ``report_to="none"``.

Tokens are the non-padding input tokens (special tokens included) of the steps timed. Two figures
per run: steady state (from the end of step ``--skip`` to the end of the last step, timed by a
callback on each side) and end to end (trainer construction, ``fit``/``train``, to its return).
Runs alternate (seqlab, HF, HF, seqlab, ...) after one short untimed warm-up run per side, so that
load from other jobs falls on both sides alike; figures are medians over repeats, with the ratio
seqlab / HF (1.000: same speed, < 1: seqlab slower). The final parameters of the two sides are
compared (max |dparam|; 0 or ~1e-7: both did the same computation).

    .venv/bin/python bench/bench_protein_pretraining.py
    .venv/bin/python bench/bench_protein_pretraining.py --profile          # cProfile of each side's steady state
    .venv/bin/python bench/bench_protein_pretraining.py --steps 20 --repeats 6
    .venv/bin/python bench/bench_protein_pretraining.py --tokenizer residue --steps 40 --skip 5 --repeats 6
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import logging
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
import transformers
from common import cpu_model, load_average, print_header, table_lines
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerFast, RobertaForMaskedLM, TrainerCallback

from seqlab.protein.config import CorpusConfig, MlmModelConfig, OptimConfig, TokenizerConfig
from seqlab.protein.corpus import corpus_from_config
from seqlab.protein.mlm import MlmCollator, MlmModule, build_mlm_model, warmup_steps
from seqlab.protein.pretrain import encode_corpus
from seqlab.protein.tokenizer import build_residue_tokenizer, train_bpe_tokenizer
from seqlab.runs import RunPaths
from seqlab.training.trainer import build_trainer

DATA = Path("/work/shared/data/protein/shs27k")
ACTIONS = DATA / "protein.actions.SHS27k.STRING.txt.gz"
SEQUENCES = DATA / "protein.SHS27k.sequences.dictionary.tsv.gz"
SIDES = ("seqlab", "HF")


# --------------------------------------------------------------------------- machine notes










# --------------------------------------------------------------------------- data and model


@dataclass
class Setup:
    tokenizer: PreTrainedTokenizerFast
    examples: list[list[int]]  # steps x batch inputs, in training order
    model: RobertaForMaskedLM  # the initial weights (deep-copied for every run)
    optim: OptimConfig
    notes: dict[str, object]


def make_setup(args: argparse.Namespace) -> Setup:
    t0 = time.perf_counter()
    corpus = corpus_from_config(CorpusConfig(links=args.links, sequences=args.sequences), args.seed)
    if args.tokenizer == "bpe":
        proteins = corpus.proteins("train")
        tokenizer = train_bpe_tokenizer(proteins.values(), TokenizerConfig(vocab_size=args.vocab))
        tokenizer_note = f"BPE, {len(tokenizer):,} tokens, trained on the {len(proteins):,} training proteins"
    else:
        tokenizer = build_residue_tokenizer()
        tokenizer_note = f"one token per residue ({len(tokenizer)} tokens)"
    encoded, counts = encode_corpus(corpus, tokenizer, "pair", args.max_tokens, "truncate")
    train = encoded["train"]
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed)).tolist()
    needed = args.steps * args.batch
    examples = [train[order[i % len(order)]] for i in range(needed)]
    torch.manual_seed(args.seed)
    model_config = MlmModelConfig(preset=args.preset, max_position_embeddings=max(514, args.max_tokens + 2))
    model = build_mlm_model(model_config, tokenizer)
    optim = OptimConfig(max_steps=args.steps, batch_size=args.batch, progress_bar=False)
    lengths = [len(x) for x in examples]
    padded = sum(args.batch * max(lengths[i : i + args.batch]) for i in range(0, len(lengths), args.batch))
    notes = {
        "corpus (SHS27k pairs, score >= 700)": f"{len(train):,} training pairs "
        f"({counts['train']['truncated']:,} truncated to {args.max_tokens} tokens)",
        "tokenizer": tokenizer_note,
        "model": f"RobertaForMaskedLM preset {args.preset} ({sum(p.numel() for p in model.parameters()):,} parameters)",
        "inputs per run": f"{needed:,} = {args.steps} steps x batch {args.batch}; mean {sum(lengths) / needed:.1f} "
        f"tokens; padding {1 - sum(lengths) / padded:.1%} of the padded batches",
        "setup time (corpus, tokenizer, encoding)": f"{time.perf_counter() - t0:.1f} s",
    }
    return Setup(tokenizer, examples, model, optim, notes)


def step_tokens(setup: Setup, batch: int) -> list[int]:
    """Non-padding input tokens of every step."""
    ex = setup.examples
    return [sum(len(x) for x in ex[i : i + batch]) for i in range(0, len(ex), batch)]


def collator(setup: Setup, seed: int) -> MlmCollator:
    return MlmCollator(setup.tokenizer, 0.15, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- the two sides


StepHook = Callable[[int], None]  # called with the step number after every step (profiling window)


@dataclass
class Run:
    step_ends: list[float]  # perf_counter at the end of every step
    total: float  # trainer construction to the return of fit()/train()
    model: torch.nn.Module
    threads: int  # torch threads after the run


class LightningClock(Callback):
    def __init__(self, hook: StepHook | None) -> None:
        self.ends: list[float] = []
        self.hook = hook

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self.ends.append(time.perf_counter())
        if self.hook is not None:
            self.hook(len(self.ends))


class HFClock(TrainerCallback):
    def __init__(self, hook: StepHook | None) -> None:
        self.ends: list[float] = []
        self.hook = hook

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.ends.append(time.perf_counter())
        if self.hook is not None:
            self.hook(len(self.ends))


def seqlab_run(setup: Setup, steps: int, seed: int, hook: StepHook | None = None) -> Run:
    """seqlab's loop as ``pretrain`` runs it (its build_trainer arguments), progress bar off, no validation."""
    model = copy.deepcopy(setup.model)
    optim = setup.optim.model_copy(update={"max_steps": steps})
    loader = DataLoader(
        setup.examples[: steps * optim.batch_size],
        batch_size=optim.batch_size,
        shuffle=False,
        collate_fn=collator(setup, seed),
        num_workers=0,
    )
    clock = LightningClock(hook)
    with tempfile.TemporaryDirectory(prefix="seqlab_bench_mlm_") as tmp:
        t0 = time.perf_counter()
        module = MlmModule(model, optim)
        trainer = build_trainer(
            RunPaths(tmp),
            monitor="val_loss",
            mode="min",
            max_steps=optim.max_steps,
            accelerator="cpu",
            devices=1,
            precision="32-true",
            gradient_clip=optim.gradient_clip,
            accumulate_grad_batches=optim.accumulate_grad_batches,
            val_check_interval=min(optim.val_every_steps * optim.accumulate_grad_batches, len(loader)),
            progress_bar=optim.progress_bar,
            extra_callbacks=[clock],
        )
        torch.manual_seed(seed)  # dropout: the same global-RNG stream on both sides
        trainer.fit(module, train_dataloaders=loader)
        total = time.perf_counter() - t0
    if len(clock.ends) != steps:
        raise RuntimeError(f"seqlab ran {len(clock.ends)} steps, expected {steps}")
    return Run(clock.ends, total, model, torch.get_num_threads())


def hf_run(setup: Setup, steps: int, seed: int, hook: StepHook | None = None) -> Run:
    """The Hugging Face Trainer with the same optimisation, batch order and collator."""
    model = copy.deepcopy(setup.model)
    optim = setup.optim
    clock = HFClock(hook)
    with tempfile.TemporaryDirectory(prefix="seqlab_bench_hf_") as tmp:
        t0 = time.perf_counter()
        args = transformers.TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=optim.batch_size,
            gradient_accumulation_steps=optim.accumulate_grad_batches,
            max_steps=steps,
            learning_rate=optim.learning_rate,
            optim="adamw_torch",
            adam_beta1=optim.betas[0],
            adam_beta2=optim.betas[1],
            adam_epsilon=optim.eps,
            weight_decay=optim.weight_decay,
            lr_scheduler_type="linear",
            warmup_steps=warmup_steps(optim.model_copy(update={"max_steps": steps})),
            max_grad_norm=optim.gradient_clip,
            train_sampling_strategy="sequential",
            eval_strategy="no",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
            remove_unused_columns=False,
            use_cpu=True,
            seed=seed,
        )
        trainer = transformers.Trainer(
            model=model,
            args=args,
            train_dataset=setup.examples[: steps * optim.batch_size],
            data_collator=collator(setup, seed),
            callbacks=[clock],
        )
        trainer.remove_callback(transformers.trainer_callback.PrinterCallback)  # its end-of-train print only
        torch.manual_seed(seed)  # dropout: the same global-RNG stream on both sides
        trainer.train()
        total = time.perf_counter() - t0
    if len(clock.ends) != steps:
        raise RuntimeError(f"HF ran {len(clock.ends)} steps, expected {steps}")
    return Run(clock.ends, total, model, torch.get_num_threads())


RUNNERS: dict[str, Callable[..., Run]] = {"seqlab": seqlab_run, "HF": hf_run}


def max_param_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(
        float((p.detach() - q.detach()).abs().max()) for p, q in zip(a.parameters(), b.parameters(), strict=True)
    )


# --------------------------------------------------------------------------- profiling


def grouped_profile(profile: cProfile.Profile, steps: int) -> str:
    """Own (tottime) milliseconds per step grouped by package, plus the top functions."""
    stats = pstats.Stats(profile)
    groups: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/lightning" in filename:
            group = "lightning (python)"
        elif "site-packages/torchmetrics" in filename:
            group = "torchmetrics (python)"
        elif "site-packages/transformers/models" in filename:
            group = "transformers model code (python)"
        elif "site-packages/transformers" in filename:
            group = "transformers Trainer etc. (python)"
        elif "site-packages/accelerate" in filename:
            group = "accelerate (python)"
        elif "site-packages/torch/optim" in filename:
            group = "torch.optim (python)"
        elif "site-packages/torch/nn" in filename:
            group = "torch.nn (python: modules, clip_grad)"
        elif "site-packages/torch" in filename:
            group = "torch other (python: DataLoader, autograd...)"
        elif "/seqlab/" in filename:
            group = "seqlab (python: MlmModule, MlmCollator...)"
        elif filename == "~":
            group = "built-ins / C (torch ops...)"
        else:
            group = "other python (stdlib, bench...)"
        groups[group] = groups.get(group, 0.0) + tottime
        rows.append((tottime, cumtime, f"{Path(filename).name}:{line}({name})"))
    total = sum(groups.values())
    lines = [f"  {'group (own time)':<46} {'ms/step':>8} {'share':>6}"]
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {group:<46} {1000 * seconds / steps:>8.2f} {seconds / total:>6.1%}")
    lines.append(f"  {'total':<46} {1000 * total / steps:>8.2f}")
    lines.append("  top functions by own time (ms/step own, ms/step cumulative):")
    for tottime, cumtime, where in sorted(rows, reverse=True)[:18]:
        lines.append(f"    {1000 * tottime / steps:8.2f} {1000 * cumtime / steps:8.2f}  {where}")
    lines.append("  top functions by cumulative time, outside torch ops (ms/step cumulative):")
    python_rows = [r for r in rows if not r[2].startswith("~")]
    for _tottime, cumtime, where in sorted(python_rows, key=lambda r: -r[1])[:25]:
        lines.append(f"    {1000 * cumtime / steps:8.2f}  {where}")
    return "\n".join(lines)


def profile_both(setup: Setup, args: argparse.Namespace) -> None:
    """cProfile of the steady state (end of step ``skip`` to the end of the last step) of one run per side."""
    steps, skip = args.steps, args.skip
    for side in SIDES:
        profile = cProfile.Profile()

        def hook(step: int, profile: cProfile.Profile = profile) -> None:
            if step == skip:
                profile.enable()
            elif step == steps:
                profile.disable()

        run = RUNNERS[side](setup, steps, args.seed, hook)
        wall = run.step_ends[-1] - run.step_ends[skip - 1]
        print(
            f"\n## cProfile: {side}, steps {skip + 1}..{steps} "
            f"({1000 * wall / (steps - skip):.1f} ms/step under the profiler)"
        )
        print(grouped_profile(profile, steps - skip), flush=True)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=Path, default=ACTIONS, help="STRING actions/links file (SHS27k)")
    parser.add_argument("--sequences", type=Path, default=SEQUENCES, help="sequence dictionary (SHS27k)")
    parser.add_argument("--tokenizer", default="bpe", choices=["bpe", "residue"], help="BPE (default) or per residue")
    parser.add_argument("--vocab", type=int, default=10_000, help="BPE vocabulary size (default 10000)")
    parser.add_argument("--max-tokens", type=int, default=256, help="pair inputs truncated to this (default 256)")
    parser.add_argument("--preset", default="tiny", choices=["tiny", "small", "base"], help="model size (tiny)")
    parser.add_argument("--batch", type=int, default=16, help="batch size (default 16, OptimConfig's)")
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps per run (default 10)")
    parser.add_argument("--skip", type=int, default=2, help="first steps left out of the steady state (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side, alternated (default 3)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads on both sides (default 1: steadier on a shared machine)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="cProfile one run of each side instead")
    args = parser.parse_args(argv)
    if not 1 <= args.skip < args.steps - 1:
        raise SystemExit("need 1 <= --skip < --steps - 1")

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)  # what build_trainer sets on the CPU; the HF side gets it too
    transformers.logging.set_verbosity_error()
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    logging.getLogger("seqlab").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*could not find the monitored key.*")

    import accelerate  # the HF Trainer needs it (pip install -e ".[bench]")

    print("# bench_protein_pretraining: seqlab (MlmModule + build_trainer) vs Hugging Face Trainer, masked LM, CPU")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    load_start = load_average()
    setup = make_setup(args)
    print_header(
        {
            "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "python": platform.python_version(),
            "torch / transformers / lightning / accelerate": f"{torch.__version__} / {transformers.__version__} / "
            f"{L.__version__} / {accelerate.__version__}",
            "torch threads (both sides)": torch.get_num_threads(),
            "deterministic algorithms (both sides)": torch.are_deterministic_algorithms_enabled(),
            "load average (start, 1/5/15 min)": load_start,
            **setup.notes,
            "optimizer steps per run": f"{args.steps} (steady state: steps {args.skip + 1}..{args.steps})",
            "runs per side": f"{args.repeats}, alternated, after one untimed warm-up run per side",
        }
    )
    if args.profile:
        profile_both(setup, args)
        print(f"\nload average (end, 1/5/15 min)  {load_average()}")
        return

    tokens = step_tokens(setup, args.batch)
    steady_tokens = sum(tokens[args.skip :])
    for side in SIDES:  # untimed warm-up (imports, first-call allocations)
        RUNNERS[side](setup, min(args.steps, args.skip + 2), args.seed)
    rates: dict[str, list[float]] = {side: [] for side in SIDES}
    e2e: dict[str, list[float]] = {side: [] for side in SIDES}
    step_times: dict[str, list[float]] = {side: [] for side in SIDES}  # steady steps of all runs, pooled
    diffs: list[float] = []
    threads: set[int] = set()
    for repeat in range(args.repeats):
        runs: dict[str, Run] = {}
        for side in SIDES if repeat % 2 == 0 else SIDES[::-1]:
            run = RUNNERS[side](setup, args.steps, args.seed)
            runs[side] = run
            rates[side].append(steady_tokens / (run.step_ends[-1] - run.step_ends[args.skip - 1]))
            ends = run.step_ends[args.skip - 1 :]
            step_times[side] += [b - a for a, b in zip(ends, ends[1:], strict=False)]
            e2e[side].append(sum(tokens) / run.total)
            threads.add(run.threads)
        diffs.append(max_param_diff(runs["seqlab"].model, runs["HF"].model))
        print(
            f"done: repeat {repeat + 1}/{args.repeats}: seqlab {rates['seqlab'][-1]:,.0f} tok/s, "
            f"HF {rates['HF'][-1]:,.0f} tok/s (load average now {load_average()})",
            flush=True,
        )

    print()
    print("## Tokens/s (non-padding input tokens; medians over runs [min..max])")
    print(f"steady: steps {args.skip + 1}..{args.steps}, from the end of step {args.skip} to the end of the last step;")
    print("e2e: all steps' tokens / (trainer construction + fit()/train()). ms/step: from the steady median;")
    print("median step ms: median of the single steady steps of all runs pooled (robust to short load bursts).")
    rows = []
    for side in SIDES:
        r, e = rates[side], e2e[side]
        rows.append(
            (
                side,
                f"{statistics.median(r):,.0f} [{min(r):,.0f}..{max(r):,.0f}]",
                f"{1000 * steady_tokens / (args.steps - args.skip) / statistics.median(r):.1f}",
                f"{1000 * statistics.median(step_times[side]):.1f}",
                f"{statistics.median(e):,.0f} [{min(e):,.0f}..{max(e):,.0f}]",
            )
        )
    print("\n".join(table_lines(("side", "steady tokens/s", "ms/step", "median step ms", "e2e tokens/s"), rows)))
    per_run = [s / h for s, h in zip(rates["seqlab"], rates["HF"], strict=True)]
    per_run_e2e = [s / h for s, h in zip(e2e["seqlab"], e2e["HF"], strict=True)]
    print()
    print("## Ratio seqlab / HF (1.000: same speed; < 1: seqlab slower)")
    ratio_rows = [
        ("steady, of medians", f"{statistics.median(rates['seqlab']) / statistics.median(rates['HF']):.3f}"),
        (
            "steady, median of per-repeat ratios [min..max]",
            f"{statistics.median(per_run):.3f} [{min(per_run):.3f}..{max(per_run):.3f}]",
        ),
        (
            "median single-step time, HF / seqlab",
            f"{statistics.median(step_times['HF']) / statistics.median(step_times['seqlab']):.3f}",
        ),
        ("e2e, of medians", f"{statistics.median(e2e['seqlab']) / statistics.median(e2e['HF']):.3f}"),
        (
            "e2e, median of per-repeat ratios [min..max]",
            f"{statistics.median(per_run_e2e):.3f} [{min(per_run_e2e):.3f}..{max(per_run_e2e):.3f}]",
        ),
        ("max |dparam| seqlab vs HF after the run (largest over repeats)", f"{max(diffs):.1e}"),
        ("torch threads after the runs", ", ".join(str(t) for t in sorted(threads))),
    ]
    print("\n".join(table_lines(("figure", "value"), ratio_rows)))
    print()
    print(f"load average (end, 1/5/15 min)  {load_average()}")


if __name__ == "__main__":
    main()
