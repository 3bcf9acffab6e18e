"""Training throughput (examples/s): seqlab (SupervisedModule + build_trainer) against a bare PyTorch loop.

Both sides train the same model (``build_model``, seeded alike), with the same AdamW settings, the
same weighted BCE (``weighted_bce_with_logits``), the same batch size and number of steps, on the
same in-memory one-hot tensors with random labels (1 task), in the same batch order, on the CPU with
the same torch thread count and deterministic-algorithms flag (seqlab's trainer sets it on the CPU).
Neither side validates (no val loader). seqlab runs as in real runs: CSV logger into a run folder,
``log_every_n_steps=10``, checkpoints, progress bar off.

Two loaders, each used by both sides:

* ``batch``: a map-style dataset whose item i is the batch dict {x, y, weight, index} of step i
  (``DataLoader(batch_size=None)``): the difference is the trainer alone.
* ``example``: a map-style dataset of single examples like ``WindowDataset`` (dicts with a
  ``torch.tensor(row)`` index), shuffled, collated by the default collate: the real data path shape.

Two comparisons, both interleaved so that load from other jobs falls on both sides alike:

* A (primary): step-interleaved. A callback runs one bare step after every seqlab step, in the same
  process (the bare side keeps its own RNG stream, swapped around its step, so both sides compute
  exactly what they would alone; the final parameters are compared). Each side's step times are
  taken apart; medians and ratios over all steps after the first few.
* B: whole runs alternated (bare, seqlab, seqlab, bare...), steady-state examples/s and end-to-end
  time (model construction to the end of fit: seqlab's setup and last-checkpoint write included).

    .venv/bin/python bench/bench_training.py             # DeepBind default + DeepSEA
    .venv/bin/python bench/bench_training.py --profile   # cProfile of the steady state of each side
"""

from __future__ import annotations

import argparse
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
from common import cpu_model, header_text, load_average
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, Dataset

from seqlab.config import DeepBindConfig, DeepSEAConfig
from seqlab.losses import weighted_bce_with_logits
from seqlab.models.sequence_model import build_model
from seqlab.runs import RunPaths
from seqlab.training.base import make_data_params
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import build_trainer

WINDOW = 200
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-2

MODELS: dict[str, Callable[[], Any]] = {
    "deepbind": lambda: DeepBindConfig(preset="default"),
    "deepsea": lambda: DeepSEAConfig(),
}


# --------------------------------------------------------------------------- machine notes


def machine_header(extra: dict[str, object]) -> str:
    rows = {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "torch threads (both sides)": torch.get_num_threads(),
        "deterministic algorithms (both sides)": torch.are_deterministic_algorithms_enabled(),
        "load average (start, 1/5/15 min)": load_average(),
        **extra,
    }
    return header_text(rows)


# --------------------------------------------------------------------------- data


@dataclass
class Tensors:
    x: torch.Tensor  # float32 (N, 4, L) one-hot
    y: torch.Tensor  # float32 (N, 1) in {0, 1}
    weight: torch.Tensor  # float32 (N, 1) ones


def make_tensors(n: int, seed: int) -> Tensors:
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, WINDOW), generator=gen)
    x = torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float().contiguous()
    y = (torch.rand(n, 1, generator=gen) < 0.5).float()
    return Tensors(x, y, torch.ones(n, 1))


class BatchDataset(Dataset[dict[str, torch.Tensor]]):
    """Item i is the whole batch dict of step i (rows from a seeded shuffle, reshuffled every pass)."""

    def __init__(self, data: Tensors, batch_size: int, steps: int, seed: int) -> None:
        self.data = data
        n = len(data.x)
        gen = torch.Generator().manual_seed(seed)
        rows: list[torch.Tensor] = []
        while sum(len(r) for r in rows) < steps * batch_size:
            rows.append(torch.randperm(n, generator=gen)[: n - n % batch_size])
        order = torch.cat(rows)
        self.batches = [order[i * batch_size : (i + 1) * batch_size] for i in range(steps)]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        index = self.batches[i]
        return {"x": self.data.x[index], "y": self.data.y[index], "weight": self.data.weight[index], "index": index}


class ExampleDataset(Dataset[dict[str, torch.Tensor]]):
    """Single examples, shaped like ``WindowDataset`` items (x, y, weight, a 0-d int64 index)."""

    def __init__(self, data: Tensors) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "x": self.data.x[i],
            "y": self.data.y[i],
            "weight": self.data.weight[i],
            "index": torch.tensor(i, dtype=torch.int64),
        }


def make_loader(kind: str, data: Tensors, batch_size: int, steps: int, seed: int) -> DataLoader:
    if kind == "batch":
        return DataLoader(BatchDataset(data, batch_size, steps, seed), batch_size=None, shuffle=False, num_workers=0)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(ExampleDataset(data), batch_size=batch_size, shuffle=True, generator=generator, num_workers=0)


# --------------------------------------------------------------------------- the two sides


class BareTrainer:
    """The bare PyTorch side: model, AdamW and one training step at a time over its own loader."""

    def __init__(self, model_config: Any, loader: DataLoader, seed: int) -> None:
        L.seed_everything(seed, verbose=False)
        self.model = build_model(model_config, make_data_params(["bench"], WINDOW, "onehot", "random"))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        self.model.train()
        self.loader = loader
        self.batches = iter(loader)

    def step(self) -> None:
        try:
            batch = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            batch = next(self.batches)
        logits = self.model(batch["x"])
        loss = weighted_bce_with_logits(logits, batch["y"], batch["weight"], None)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def params(self) -> torch.Tensor:
        return flat_params(self.model)


def flat_params(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


class UnloggedModule(SupervisedModule):
    """SupervisedModule whose training_step does not call ``self.log`` (ablation of the per-step logging)."""

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self.model(batch["x"])
        return weighted_bce_with_logits(logits, batch["y"], batch["weight"], self.hparams["pos_weight"])


def make_module(model_config: Any, seed: int, unlogged: bool = False) -> SupervisedModule:
    L.seed_everything(seed, verbose=False)
    return (UnloggedModule if unlogged else SupervisedModule)(
        model_config,
        make_data_params(["bench"], WINDOW, "onehot", "random"),
        learning_rate=LEARNING_RATE,
        weight_decay=WEIGHT_DECAY,
        pos_weight=None,
    )


def make_trainer(root: Path, steps: int, callbacks: list[Callback]) -> L.Trainer:
    """seqlab's trainer as a real run builds it (CSV logger, checkpoints), progress bar off, no validation."""
    return build_trainer(
        RunPaths(root),
        monitor="val_auroc",
        mode="max",
        max_steps=steps,
        accelerator="cpu",
        devices=1,
        progress_bar=False,
        extra_callbacks=callbacks,
    )


StepHook = Callable[[int], None]  # called with the step number after every step (profiling window)


@dataclass
class Run:
    step_ends: list[float]  # perf_counter at the end of every step
    total: float  # seconds from model construction to the end of the loop / fit()
    params: torch.Tensor  # final flattened parameters (to check both sides did the same work)


def bare_run(model_config: Any, loader: DataLoader, steps: int, seed: int, hook: StepHook | None = None) -> Run:
    t0 = time.perf_counter()
    bare = BareTrainer(model_config, loader, seed)
    ends: list[float] = []
    for step in range(1, steps + 1):
        bare.step()
        ends.append(time.perf_counter())
        if hook is not None:
            hook(step)
    return Run(ends, time.perf_counter() - t0, bare.params())


class StepClock(Callback):
    def __init__(self, hook: StepHook | None = None) -> None:
        self.ends: list[float] = []
        self.hook = hook

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self.ends.append(time.perf_counter())
        if self.hook is not None:
            self.hook(len(self.ends))


def seqlab_run(
    model_config: Any, loader: DataLoader, steps: int, seed: int, root: Path, hook: StepHook | None = None
) -> Run:
    t0 = time.perf_counter()
    module = make_module(model_config, seed)
    clock = StepClock(hook)
    make_trainer(root, steps, [clock]).fit(module, train_dataloaders=loader)
    total = time.perf_counter() - t0
    if len(clock.ends) != steps:
        raise RuntimeError(f"seqlab ran {len(clock.ends)} steps, expected {steps}")
    return Run(clock.ends, total, flat_params(module.model))


def steady_rate(run: Run, warmup: int, batch_size: int) -> float:
    ends = run.step_ends
    return batch_size * (len(ends) - warmup) / (ends[-1] - ends[warmup - 1])


class PairedBare(Callback):
    """Runs one bare step after every seqlab step (A, B, A, B...) and times each side's steps apart.

    The bare side keeps its own global-RNG stream (dropout), swapped in and out around its step, so
    both sides compute exactly what they would alone. seqlab step i lasts from the end of bare step
    i-1 (after the swap back) to the end of seqlab step i; the swaps are on neither clock.
    """

    def __init__(self, bare: BareTrainer, rng_state: torch.Tensor) -> None:
        self.bare = bare
        self.rng_state = rng_state
        self.seqlab_steps: list[float] = []
        self.bare_steps: list[float] = []
        self.resumed: float | None = None

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        ended = time.perf_counter()
        if self.resumed is not None:
            self.seqlab_steps.append(ended - self.resumed)
        seqlab_state = torch.get_rng_state()
        torch.set_rng_state(self.rng_state)
        t0 = time.perf_counter()
        self.bare.step()
        self.bare_steps.append(time.perf_counter() - t0)
        self.rng_state = torch.get_rng_state()
        torch.set_rng_state(seqlab_state)
        self.resumed = time.perf_counter()


@dataclass
class Paired:
    seqlab_steps: list[float]  # seconds of seqlab steps 2..S
    bare_steps: list[float]  # seconds of bare steps 2..S (paired with the seqlab step before them)
    max_diff: float


def paired_run(
    model_config: Any, kind: str, data: Tensors, batch: int, steps: int, seed: int, unlogged: bool = False
) -> Paired:
    bare = BareTrainer(model_config, make_loader(kind, data, batch, steps, seed), seed)
    bare_state = torch.get_rng_state()
    module = make_module(model_config, seed, unlogged)
    pair = PairedBare(bare, bare_state)
    with tempfile.TemporaryDirectory(prefix="seqlab_bench_run_") as tmp:
        make_trainer(Path(tmp), steps, [pair]).fit(
            module, train_dataloaders=make_loader(kind, data, batch, steps, seed)
        )
    if len(pair.bare_steps) != steps:
        raise RuntimeError(f"seqlab ran {len(pair.bare_steps)} steps, expected {steps}")
    diff = float((flat_params(module.model) - bare.params()).abs().max())
    return Paired(pair.seqlab_steps, pair.bare_steps[1:], diff)


# --------------------------------------------------------------------------- profiling


def grouped_profile(profile: cProfile.Profile, steps: int) -> str:
    """Own (tottime) milliseconds per step grouped by package, plus the top functions."""
    stats = pstats.Stats(profile)
    groups: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/lightning" in filename:
            group = "lightning (python)"
        elif "site-packages/torch/optim" in filename:
            group = "torch.optim (python)"
        elif "site-packages/torch" in filename:
            group = "torch other (python: DataLoader, autograd...)"
        elif filename.endswith("bench_training.py"):
            group = "bench (batch gather, clock)"
        elif "/seqlab/" in filename:
            group = "seqlab (python)"
        elif filename == "~":
            group = "built-ins / C (torch ops...)"
        else:
            group = "other python (stdlib, csv...)"
        groups[group] = groups.get(group, 0.0) + tottime
        rows.append((tottime, cumtime, f"{Path(filename).name}:{line}({name})", filename))
    total = sum(groups.values())
    lines = [f"  {'group (own time)':<46} {'ms/step':>8} {'share':>6}"]
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {group:<46} {1000 * seconds / steps:>8.2f} {seconds / total:>6.1%}")
    lines.append(f"  {'total':<46} {1000 * total / steps:>8.2f}")
    lines.append("  top functions by own time (ms/step own, ms/step cumulative):")
    for tottime, cumtime, where, _ in sorted(rows, reverse=True)[:12]:
        lines.append(f"    {1000 * tottime / steps:7.2f} {1000 * cumtime / steps:7.2f}  {where}")
    # Lightning's own per-step work: its functions that do not enclose the model's forward/backward.
    mine = [r for r in rows if "lightning" in r[3] and r[1] < 0.1 * total]
    if mine:
        lines.append("  lightning functions outside forward/backward, by cumulative time (ms/step own, cumulative):")
        for tottime, cumtime, where, _ in sorted(mine, key=lambda r: -r[1])[:14]:
            lines.append(f"    {1000 * tottime / steps:7.2f} {1000 * cumtime / steps:7.2f}  {where}")
    return "\n".join(lines)


def profile_both(model_name: str, data: Tensors, args: argparse.Namespace) -> None:
    """cProfile of the steady state (after the warm-up steps, up to the last step) of one run per side."""
    config = MODELS[model_name]()
    steps = args.steps
    warmup = min(args.warmup, max(1, steps // 5))
    for side in ("bare", "seqlab"):
        loader = make_loader("batch", data, args.batch, steps, args.seed)
        profile = cProfile.Profile()

        def hook(step: int, profile: cProfile.Profile = profile) -> None:
            if step == warmup:
                profile.enable()
            elif step == steps:
                profile.disable()

        with tempfile.TemporaryDirectory(prefix="seqlab_bench_run_") as tmp:
            if side == "bare":
                result = bare_run(config, loader, steps, args.seed, hook)
            else:
                result = seqlab_run(config, loader, steps, args.seed, Path(tmp), hook)
        wall = result.step_ends[-1] - result.step_ends[warmup - 1]
        print(
            f"\n## cProfile: {side}, {model_name}, batch loader, steps {warmup + 1}..{steps} "
            f"({1000 * wall / (steps - warmup):.1f} ms/step under the profiler)"
        )
        print(grouped_profile(profile, steps - warmup))


# --------------------------------------------------------------------------- main


def table_lines(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def paired_case(
    model_name: str,
    kind: str,
    steps: int,
    data: Tensors,
    args: argparse.Namespace,
    variants: tuple[bool, ...] = (False,),
) -> list[tuple[str, ...]]:
    """Step-interleaved comparison: seqlab step, bare step, seqlab step... in one process.

    ``variants``: False for seqlab's SupervisedModule, True for the same without ``self.log``; with
    both, their runs alternate (logged, unlogged, logged...) so that they also see the same load.
    """
    config = MODELS[model_name]()
    skip = min(args.warmup, max(1, steps // 5))
    seqlab_steps: dict[bool, list[float]] = {v: [] for v in variants}
    bare_steps: dict[bool, list[float]] = {v: [] for v in variants}
    max_diff = dict.fromkeys(variants, 0.0)
    for unlogged in variants:  # untimed warm-up
        paired_run(config, kind, data, args.batch, min(steps, skip + 3), args.seed, unlogged)
    for _ in range(args.repeats):
        for unlogged in variants:
            result = paired_run(config, kind, data, args.batch, steps, args.seed, unlogged)
            seqlab_steps[unlogged] += result.seqlab_steps[skip - 1 :]
            bare_steps[unlogged] += result.bare_steps[skip - 1 :]
            max_diff[unlogged] = max(max_diff[unlogged], result.max_diff)
    rows = []
    for unlogged in variants:
        seq, bare = seqlab_steps[unlogged], bare_steps[unlogged]
        ratios = sorted(b / s for s, b in zip(seq, bare, strict=True))
        q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        med_s, med_b = statistics.median(seq), statistics.median(bare)
        rows.append(
            (
                f"{model_name} / {kind}" + (" (no self.log)" if unlogged else ""),
                f"{len(seq)}",
                f"{1000 * med_b:.1f}",
                f"{1000 * med_s:.1f}",
                f"{args.batch / med_b:,.0f}",
                f"{args.batch / med_s:,.0f}",
                f"{med_b / med_s:.3f}",
                f"{sum(bare) / sum(seq):.3f}",
                f"{statistics.median(ratios):.3f} [{q1:.2f}..{q3:.2f}]",
                f"{1000 * (med_s - med_b):+.2f}",
                f"{max_diff[unlogged]:.1e}",
            )
        )
    return rows


def runs_case(model_name: str, kind: str, steps: int, data: Tensors, args: argparse.Namespace) -> tuple[str, ...]:
    """Whole runs alternated (bare, seqlab, seqlab, bare...): steady rate and end-to-end time."""
    config = MODELS[model_name]()
    warmup = min(args.warmup, max(1, steps // 5))
    sides = ("bare", "seqlab")
    rates: dict[str, list[float]] = {side: [] for side in sides}
    totals: dict[str, list[float]] = {side: [] for side in sides}
    max_diff = 0.0
    for repeat in range(args.repeats):
        runs: dict[str, Run] = {}
        for side in sides if repeat % 2 == 0 else sides[::-1]:
            loader = make_loader(kind, data, args.batch, steps, args.seed)
            if side == "bare":
                runs[side] = bare_run(config, loader, steps, args.seed)
            else:
                with tempfile.TemporaryDirectory(prefix="seqlab_bench_run_") as tmp:
                    runs[side] = seqlab_run(config, loader, steps, args.seed, Path(tmp))
            rates[side].append(steady_rate(runs[side], warmup, args.batch))
            totals[side].append(runs[side].total)
        max_diff = max(max_diff, float((runs["bare"].params - runs["seqlab"].params).abs().max()))
    ratios = [s / b for s, b in zip(rates["seqlab"], rates["bare"], strict=True)]
    tb, ts = statistics.median(totals["bare"]), statistics.median(totals["seqlab"])
    rb, rs = statistics.median(rates["bare"]), statistics.median(rates["seqlab"])
    return (
        f"{model_name} / {kind}",
        f"{steps} x {args.repeats}",
        f"{rb:,.0f}",
        f"{rs:,.0f}",
        f"{rs / rb:.3f}",
        f"{min(ratios):.2f}..{max(ratios):.2f}",
        f"{tb:.2f}",
        f"{ts:.2f}",
        f"{tb / ts:.3f}",
        f"{max_diff:.1e}",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="random one-hot windows in memory (default 20000)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128, DataConfig's default)")
    parser.add_argument("--steps", type=int, default=60, help="DeepBind steps per run (default 60)")
    parser.add_argument("--deepsea-steps", type=int, default=8, help="DeepSEA steps per run (default 8; 0 skips)")
    parser.add_argument("--warmup", type=int, default=5, help="first steps of a run left out (default 5, <= steps/5)")
    parser.add_argument("--repeats", type=int, default=4, help="runs per case and side (default 4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads on both sides (default 1: steadier on a shared machine)"
    )
    parser.add_argument("--loaders", default="batch,example", help="DeepBind loaders (default batch,example)")
    parser.add_argument("--deepsea-loaders", default="batch", help="DeepSEA loaders (default batch)")
    parser.add_argument(
        "--ablate-log",
        action="store_true",
        help="add a DeepBind/batch row where seqlab's training_step does not call self.log (runs alternated)",
    )
    parser.add_argument("--no-runs", action="store_true", help="skip the whole-run (end-to-end) comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="cProfile one DeepBind run of each side instead")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)  # what build_trainer sets on the CPU; the bare side gets it too
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*could not find the monitored key.*")

    print("# bench_training: seqlab (SupervisedModule + build_trainer) vs a bare PyTorch loop, CPU")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(
        machine_header(
            {
                "examples in memory": f"{args.n:,} random one-hot 4x{WINDOW}, 1 task, random labels",
                "batch size": args.batch,
                "steps per run (deepbind / deepsea)": f"{args.steps} / {args.deepsea_steps}",
                "first steps left out": f"{args.warmup} (at most steps/5)",
                "runs per case and side": args.repeats,
            }
        ),
        flush=True,
    )
    data = make_tensors(args.n, args.seed)
    if args.profile:
        profile_both("deepbind", data, args)
        print(f"\nload average (end, 1/5/15 min)  {load_average()}")
        return

    cases: list[tuple[str, str, int]] = [("deepbind", kind, args.steps) for kind in args.loaders.split(",") if kind]
    if args.deepsea_steps:
        cases += [("deepsea", kind, args.deepsea_steps) for kind in args.deepsea_loaders.split(",") if kind]
    for _, kind, steps in cases:
        if kind not in ("batch", "example"):
            raise SystemExit(f"unknown loader {kind!r}: use batch or example")
        if steps < 4:
            raise SystemExit("need at least 4 steps per run")

    paired = []
    for model_name, kind, steps in cases:
        ablate = args.ablate_log and model_name == "deepbind" and kind == "batch"
        paired += paired_case(model_name, kind, steps, data, args, (False, True) if ablate else (False,))
        print(f"done: paired {model_name} / {kind} (load average now {load_average()})", flush=True)
    runs = []
    if not args.no_runs:
        for model_name, kind, steps in cases:
            if model_name == "deepbind":
                runs.append(runs_case(model_name, kind, steps, data, args))
                print(f"done: runs {model_name} / {kind} (load average now {load_average()})", flush=True)

    print()
    print("## A. step-interleaved: seqlab step, bare step, seqlab step... in one process (primary figure)")
    print("Per-step seconds of each side; medians over the steps of every run (first steps left out).")
    print("ratio = bare time / seqlab time = seqlab throughput / bare throughput (1.000: same speed, < 1: seqlab")
    print("slower). 'of medians' uses the median step times, 'of sums' the total times, 'paired' the median of")
    print("per-step ratios [quartiles]. overhead = seqlab - bare median ms/step. max |dparam|: largest difference")
    print("of the final parameters of the two sides (0: both computed exactly the same steps).")
    header = (
        "model / loader",
        "pairs",
        "bare ms/step",
        "seqlab ms/step",
        "bare ex/s",
        "seqlab ex/s",
        "ratio of medians",
        "ratio of sums",
        "paired ratio [q1..q3]",
        "overhead ms/step",
        "max |dparam|",
    )
    print("\n".join(table_lines(header, paired)))
    if runs:
        print()
        print("## B. whole runs alternated (bare, seqlab, seqlab, bare...): steady-state rate and end-to-end time")
        print("ex/s: after the first steps, to the last step; e2e s: model construction to the end of fit()")
        print("(seqlab: build_trainer, fit, last.ckpt write); e2e ratio = bare s / seqlab s. Runs last a few")
        print("seconds, so load from other jobs moves single runs more than in A.")
        header = (
            "model / loader",
            "steps x runs",
            "bare ex/s",
            "seqlab ex/s",
            "ratio of medians",
            "per-run ratios",
            "bare e2e s",
            "seqlab e2e s",
            "e2e ratio",
            "max |dparam|",
        )
        print("\n".join(table_lines(header, runs)))
    print()
    print(f"load average (end, 1/5/15 min)  {load_average()}")


if __name__ == "__main__":
    main()
