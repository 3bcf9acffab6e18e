"""The ssl wing's speed: training throughput of the ``ssl`` scheme vs supervised, and homolog table building.

Data: the species simulator of ``seqlab demo ssl`` (:func:`seqlab.demo.evolve.evolve_species`: a human
genome with REST sites evolved into chimp, gorilla, macaque and marmoset, with chains) and the demo's
run config (:func:`seqlab.demo.ssl.demo_config`: peaks + GC-matched negatives, ``lifted`` source).

1. Training throughput (windows/s of training steps; validation, checkpoint writing and testing are
   left out): the ``ssl`` scheme's two stages (:func:`seqlab.training.ssl.run_ssl`: pre-training on the
   homologs + human training windows, fine-tuning on the human training windows) against supervised
   training as ``train.scheme: supervised`` runs it (:func:`seqlab.training.schemes.fit_supervised`) on
   the same tables (same number of examples) with the same model (DeepBind default), batch size and
   epochs. Runs alternate (supervised, ssl, ssl, supervised, ...) so that load from other jobs falls on
   both alike. A callback times every training step (batch end to batch end, the first
   ``SKIP`` steps of each epoch left out) and counts the windows; the rate is windows / time.
2. Homolog table building (:func:`seqlab.data.homologs.lift_examples`: chain reading, centre and
   interval liftover, N filter, leakage guard, report) for 1, 2 and 4 target genomes: human windows
   lifted per second (windows x genomes / wall time), median of ``--repeats``.

    .venv/bin/python bench/bench_ssl.py                 # --repeats 3 --epochs 2
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model, header_text, load_average, table_lines  # noqa: E402

import seqlab.training.schemes as schemes_module  # noqa: E402
import seqlab.training.ssl as ssl_module  # noqa: E402
from seqlab.config import DnaRunConfig, validate_config  # noqa: E402
from seqlab.config.schemes import SslConfig, StageConfig  # noqa: E402
from seqlab.data.build import build_examples  # noqa: E402
from seqlab.data.homologs import LiftOptions, lift_examples  # noqa: E402
from seqlab.demo.evolve import evolve_species  # noqa: E402
from seqlab.demo.simulate import FactorSpec  # noqa: E402
from seqlab.demo.ssl import DEMO_MIN_MATCH, demo_config, few_peak_tasks  # noqa: E402
from seqlab.models.data_params import DataParams  # noqa: E402
from seqlab.runs import RunPaths  # noqa: E402
from seqlab.training.schemes import RunContext, fit_supervised  # noqa: E402
from seqlab.training.ssl import run_ssl, split_homologs, stage_table  # noqa: E402

SKIP = 2  # first steps of every epoch left out (loader start-up)


class StepTimer(Callback):
    """Windows and wall time of the training steps of every fit (batch end to batch end)."""

    def __init__(self) -> None:
        self.windows = 0
        self.seconds = 0.0
        self._last: float | None = None
        self._step = 0

    def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
        self._last, self._step = None, 0

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        if self._step == SKIP:
            self._last = time.perf_counter()

    def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._step += 1
        if self._step > SKIP and self._last is not None:
            now = time.perf_counter()
            self.seconds += now - self._last
            self.windows += int(batch["x"].shape[0])
            self._last = now

    @property
    def rate(self) -> float:
        return self.windows / self.seconds if self.seconds else float("nan")


class Timers:
    """Patches ``build_trainer`` in the scheme modules so that every fit gets a fresh StepTimer."""

    def __init__(self) -> None:
        self.fits: list[StepTimer] = []
        for module in (schemes_module, ssl_module):
            original = module.build_trainer

            def patched(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                timer = StepTimer()
                self.fits.append(timer)
                kwargs["extra_callbacks"] = [*(kwargs.get("extra_callbacks") or []), timer]
                return _original(*args, **kwargs)

            module.build_trainer = patched


def simulate(root: Path, seed: int) -> tuple[Any, Path]:
    sizes = {f"chr{i}": 200_000 for i in range(1, 7)}
    factors = (FactorSpec("REST", "MA0138", sites=200, decoys=100, noise_peaks=20, biosample="K562"),)
    evolved = evolve_species(root / "sim", seed=seed, chrom_sizes=sizes, factors=factors)
    return evolved, few_peak_tasks(evolved, None, seed)


def training(evolved: Any, tasks: Path, root: Path, repeats: int, epochs: int) -> list[tuple[str, ...]]:
    raw = demo_config(evolved, tasks, "ssl", max_epochs=epochs)
    raw["train"]["patience"] = 100
    config = validate_config(raw, DnaRunConfig, "bench", root)
    table = build_examples(config.data)
    human, homologs = split_homologs(table)
    stage = StageConfig(max_epochs=epochs, learning_rate=0.003, patience=100)
    ssl = SslConfig(include_human=True, pretrain=stage, finetune=stage)
    pre_table = stage_table([(homologs, "train", "train"), (human, "train", "train"), (homologs, "val", "val"),
                             (human, "test", "test")])  # fmt: skip
    params = DataParams(tasks=table.task_names, window_length=config.data.window_length,
                        encoding=config.data.encoding, genome_name="human", task_metadata=[])  # fmt: skip
    timers = Timers()
    rates: dict[str, list[float]] = {k: [] for k in ("ssl_pre", "ssl_fine", "sup_pre", "sup_fine")}
    sections = {"model": config.model, "data": config.data, "train": config.train, "hardware": config.hardware}

    def supervised(r: int) -> None:
        for name, part in (("sup_pre", pre_table), ("sup_fine", human)):
            run = RunPaths(root / f"sup_{name}_{r}")
            ctx = RunContext(config=config, run=run, table=part, data_params=params, seed=0, evaluate=None)  # type: ignore[arg-type]
            fit_supervised(ctx, run, part)
            rates[name].append(timers.fits[-1].rate)

    def semi(r: int) -> None:
        run_ssl(human, homologs, root / f"ssl_{r}", ssl=ssl, seed=0, **sections)
        rates["ssl_pre"].append(timers.fits[-2].rate)
        rates["ssl_fine"].append(timers.fits[-1].rate)

    for r in range(repeats):
        for step in (supervised, semi) if r % 2 == 0 else (semi, supervised):
            step(r)
    n_pre, n_fine = len(pre_table.split_indices("train")), len(human.split_indices("train"))
    rows = []
    for label, ssl_key, sup_key, n in (("pre-training", "ssl_pre", "sup_pre", n_pre),
                                       ("fine-tuning", "ssl_fine", "sup_fine", n_fine)):  # fmt: skip
        ssl_rate, sup_rate = statistics.median(rates[ssl_key]), statistics.median(rates[sup_key])
        spread = lambda v: f"{min(v):,.0f}-{max(v):,.0f}"  # noqa: E731
        rows.append((label, f"{n:,}", f"{ssl_rate:,.0f} ({spread(rates[ssl_key])})",
                     f"{sup_rate:,.0f} ({spread(rates[sup_key])})", f"{ssl_rate / sup_rate:.3f}"))  # fmt: skip
    return rows


def homolog_building(evolved: Any, tasks: Path, root: Path, repeats: int) -> list[tuple[str, ...]]:
    raw = demo_config(evolved, tasks, "supervised")
    config = validate_config(raw, DnaRunConfig, "bench", root)
    human = build_examples(config.data)
    names = list(evolved.genomes)
    rows = []
    for n in (1, 2, 4):
        targets = {name: {"fasta": evolved.genomes[name], "chain": evolved.chains[name]} for name in names[:n]}
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            lifted = lift_examples(human, targets, LiftOptions(min_match=DEMO_MIN_MATCH))
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        rows.append((str(n), ", ".join(names[:n]), f"{len(human):,}", f"{len(lifted):,}", f"{seconds:.3f}",
                     f"{len(human) * n / seconds:,.0f}"))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    print(header_text({"date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), "cpu": cpu_model(),
                       "torch threads": torch.get_num_threads(), "load average (start, 1/5/15 min)": load_average(),
                       "repeats": args.repeats, "epochs per stage": args.epochs}), flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        evolved, tasks = simulate(root, args.seed)
        started = time.perf_counter()
        lift_rows = homolog_building(evolved, tasks, root, args.repeats)
        print("\n## Homolog table building (lift_examples, 200 kb x 6 human chromosomes)")
        header = ("genomes", "targets", "human windows", "homologs", "seconds", "windows x genomes / s")
        print("\n".join(table_lines(header, lift_rows)), flush=True)
        train_rows = training(evolved, tasks, root, args.repeats, args.epochs)
        print("\n## Training throughput, windows/s (median (min-max) over interleaved runs)")
        header = ("stage", "training windows", "ssl scheme", "supervised, same table", "ssl / supervised")
        print("\n".join(table_lines(header, train_rows)))
        print(f"\nload average (end, 1/5/15 min): {load_average()}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
