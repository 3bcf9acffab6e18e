"""Issue 7, real data: supervised vs ssl vs noisy_student on GM12878 peaks of hg19 chr22 (chimp, gorilla homologs).

Grid: human training peaks subsampled to 25, 50, 100, 200 and all (seeded), 3 seeds, three schemes, the
DeepBind trunk (``model.trunk: {arch: deepbind}``) and the ~27K CNN (``preset: small27k``); one region split
of chr22 for every run; test AUROC/AUPR on the same human test windows; the homologs used are counted.

Usage (from the repository root)::

    PYTHONPATH=src python examples/ssl_chr22_study.py --data-dir /work/shared/data --out runs/ssl_chr22 \
        --tasks CTCF --archs deepbind small27k --jobs 2
    PYTHONPATH=src python examples/ssl_chr22_study.py --out runs/ssl_chr22 --report   # tables only

How a run is built (per task, once): the run config (``config.yaml`` in the task folder) has a peaks source
(all chr22 peaks, GC-matched negatives 1:1, ``negatives.seed`` 0) and a ``lifted`` source (chimp and gorilla
chains, minMatch 0.95, leakage guard on); ``build_examples`` gives the human windows and their homologs with
their origin's split. Then per (size n, seed): n of the human *training* positive windows are drawn with the
seed (nested: the 25 are among the 50, ...) and as many training negatives; validation and test windows are
never subsampled (the driver subsamples windows of one built table, nested across n, rather than the peaks source's
``subsample:``, which keeps val/test too but draws each n afresh, not nested). The homologs used
are those whose origin was kept (lifting the subsampled table gives the same rows: lifting is per window and
the guard only looks at val/test homologs). Every scheme of a (size, seed) sees the same tables;
noisy_student's teacher is the ssl run's fine-tuned model (one round).

Control: ``--schemes supervised_long`` trains supervised with 3x the epochs and patience (ssl and noisy_student
train more steps in all). ``--report`` writes ``results.tsv`` and ``summary.md`` (per-cell mean ± sd, paired
gains per cell, paired gains pooled over tasks, trunks and seeds). Results: docs/results.md.

Every result row has ``steps``: the optimiser steps of the scheme (the noisy student's with its ssl teacher's).
Resumable: a scheme whose ``result.json`` exists is skipped; ``--deadline-min`` stops starting new units.
Each worker uses one torch thread (``hardware.threads: 1``); ``--jobs`` (default 2) units run in parallel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SPLIT_REGIONS = {"test": ("chr22", 17_400_000, 26_000_000), "val": ("chr22", 26_100_000, 32_000_000)}
SPLIT_GAP = 100_000
SIZES = ("25", "50", "100", "200", "all")
SEEDS = (0, 1, 2)
SCHEMES = ("supervised", "ssl", "noisy_student")
# control: supervised with 3x the epochs and patience (ssl and noisy_student train more steps in all)
CONTROLS = ("supervised_long",)
ARCHS = {"deepbind": {"arch": "deepbind"}, "small27k": {"arch": "deepbind", "preset": "small27k"}}
PEAKS = "dna/gm12878_hg19/peaks/{task}_GM12878_hg19.narrowPeak.gz"
BUNDLE = "dna/chr22_primates"
SETTINGS = {"max_epochs": 20, "patience": 4, "learning_rate": 0.003, "finetune_learning_rate": 0.001,
            "batch_size": 32, "rounds": 1, "pseudo_labels": "weighted"}  # fmt: skip


def study_config(data_dir: Path, task_dir: Path, task: str, arch: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The raw run config of one task and trunk (paths absolute; the split BEDs written into ``task_dir``)."""
    bundle = data_dir / BUNDLE
    for split, (chrom, start, end) in SPLIT_REGIONS.items():
        (task_dir / f"{split}.bed").write_text(f"{chrom}\t{start}\t{end}\n")
    (task_dir / "tasks.tsv").write_text(f"task\tpeaks\n{task}\t{data_dir / PEAKS.format(task=task)}\n")
    genomes = {"hg19": {"fasta": str(bundle / "hg19.chr22.fa.gz")}}
    for name, chain in (("panTro2", "hg19ToPanTro2"), ("gorilla", "hg19ToGorilla")):
        genomes[name] = {"fasta": str(bundle / f"{name}.chr22.fa.gz"), "chain": str(bundle / f"{chain}.chr22.chain.gz")}
    stage = {"max_epochs": settings["max_epochs"], "patience": settings["patience"],
             "learning_rate": settings["learning_rate"]}  # fmt: skip
    finetune = stage | {"learning_rate": settings["finetune_learning_rate"]}
    return {
        "seed": 0,
        "name": f"ssl_chr22_{task}_{arch}",
        "data": {
            "genomes": genomes,
            "tasks": str(task_dir / "tasks.tsv"),
            "sources": [
                {"kind": "peaks", "center": "summit", "negatives": {"ratio": 1.0, "gc_match": True, "seed": 0}},
                {"kind": "lifted", "min_match": 0.95, "max_length_ratio": 1.5, "max_n_fraction": 0.5, "guard": True},
            ],
            "window_length": 200,
            "min_overlap": 100,
            "split": {
                "test_chroms": [],
                "val_chroms": [],
                "test_regions": str(task_dir / "test.bed"),
                "val_regions": str(task_dir / "val.bed"),
                "gap": SPLIT_GAP,
            },  # fmt: skip
            "augment": {"max_shift": 10, "reverse_complement": True},
            "batch_size": settings["batch_size"],
        },
        "model": {"trunk": ARCHS[arch], "head": {"kind": "linear"}},
        "train": {
            "max_epochs": settings["max_epochs"],
            "patience": settings["patience"],
            "learning_rate": settings["learning_rate"],
            "progress_bar": False,
            "scheme": "noisy_student",
        },  # fmt: skip
        "hardware": {"accelerator": "cpu", "threads": 1},
        "ssl": {"include_human": False, "head": "keep", "pretrain": stage, "finetune": finetune},
        "noisy_student": {
            "rounds": settings["rounds"],
            "pseudo_labels": settings["pseudo_labels"],
            "include_human": True,
            "student": stage,
            "finetune": finetune,
        },  # fmt: skip
    }


def _validated(raw: dict[str, Any], task_dir: Path):
    from seqlab.config import DnaRunConfig, validate_config

    return validate_config(raw, DnaRunConfig, str(task_dir / "config.yaml"), task_dir)


def prepare_task(out: Path, data_dir: Path, task: str, settings: dict[str, Any]) -> Path:
    """Build (once) the human windows and homologs of ``task``; return the task folder."""
    from seqlab.config import dump_config
    from seqlab.data.build import build_examples
    from seqlab.training.ssl import split_homologs

    task_dir = out / task
    if (task_dir / "tables" / "homologs").exists():
        return task_dir
    task_dir.mkdir(parents=True, exist_ok=True)
    config = _validated(study_config(data_dir, task_dir, task, "deepbind", settings), task_dir)
    (task_dir / "config.yaml").write_text(dump_config(config))
    table = build_examples(config.data)
    human, homologs = split_homologs(table)
    (task_dir / "build_report.json").write_text(json.dumps(table.report, indent=1, default=str))
    human.save(task_dir / "tables" / "human")
    homologs.save(task_dir / "tables" / "homologs")
    return task_dir


def subsample(human, homologs, size: str, seed: int):
    """(human, homologs) with ``size`` training positives (and as many training negatives) drawn with ``seed``."""
    from seqlab.data.table import example_ids

    split = human.frame["split"].to_numpy()
    positive = (human.labels[:, 0] >= 0.5) & (human.weights[:, 0] > 0)
    keep = split != "train"
    for stream, wanted in ((1, positive), (0, ~positive)):
        rows = np.flatnonzero((split == "train") & wanted)
        n = rows.size if size == "all" else min(int(size), rows.size)
        keep[np.random.default_rng([seed, stream]).permutation(rows)[:n]] = True
    kept_ids = set(example_ids(human.frame[keep]))
    origin_kept = homologs.frame["origin"].astype(str).isin(kept_ids).to_numpy()
    return human.subset(keep), homologs.subset(origin_kept)


def _counts(human, homologs) -> dict[str, int]:
    def n(table, split, positive=None):
        rows = table.split_indices(split)
        if positive is None:
            return int(rows.size)
        return int(((table.labels[rows, 0] >= 0.5) == positive).sum())

    return {
        "human_train_pos": n(human, "train", True),
        "human_train_neg": n(human, "train", False),
        "human_test_pos": n(human, "test", True),
        "human_test_neg": n(human, "test", False),
        "human_val": n(human, "val"),
        "homolog_train_pos": n(homologs, "train", True),
        "homolog_train_neg": n(homologs, "train", False),
        "homolog_val": n(homologs, "val"),
    }


def check_no_leak(human, homologs) -> None:
    """Raise when a training homolog comes from a human val/test window."""
    from seqlab.data.table import example_ids

    held_out = set(example_ids(human.frame[human.frame["split"].isin(["val", "test"])]))
    train = homologs.frame[homologs.frame["split"] == "train"]
    leaked = train["origin"].astype(str).isin(held_out)
    if leaked.any():
        raise AssertionError(f"{int(leaked.sum())} training homologs come from val/test windows")


def run_unit(
    out: str, task: str, arch: str, size: str, seed: int, settings: dict[str, Any], schemes: tuple[str, ...] = SCHEMES
) -> list[dict]:
    """Train ``schemes`` on one (task, arch, size, seed); skip schemes with a result.json."""
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from seqlab.data.table import ExampleTable
    from seqlab.training.ssl import fit_stage, run_noisy_student, run_ssl

    task_dir = Path(out) / task
    unit = task_dir / arch / f"n{size}" / f"seed{seed}"
    raw = json.loads((task_dir / "raw_config.json").read_text())
    raw["model"]["trunk"], raw["seed"] = ARCHS[arch], seed
    raw["data"]["store"] = {"dir": str(unit / "store")}
    config = _validated(raw, task_dir)
    human, homologs = subsample(
        ExampleTable.load(task_dir / "tables" / "human"),
        ExampleTable.load(task_dir / "tables" / "homologs"),
        size,
        seed,
    )
    check_no_leak(human, homologs)
    counts = _counts(human, homologs)
    sections = {"model": config.model, "data": config.data, "train": config.train, "seed": seed,
                "hardware": config.hardware}  # fmt: skip
    results = []
    for scheme in schemes:
        done = unit / scheme / "result.json"
        if done.is_file():
            results.append(json.loads(done.read_text()))
            continue
        started = time.perf_counter()
        if scheme in ("supervised", "supervised_long"):
            times = 3 if scheme == "supervised_long" else 1
            stage = config.ssl.finetune.model_copy(
                update={"learning_rate": config.train.learning_rate, "max_epochs": times * config.train.max_epochs,
                        "patience": times * config.train.patience}
            )  # fmt: skip
            doc = fit_stage(unit / scheme, human, stage=stage, **sections).metrics
        elif scheme == "ssl":
            doc = run_ssl(human, homologs, unit / scheme, ssl=config.ssl, **sections)
        else:
            teacher = Path(json.loads((unit / "ssl" / "result.json").read_text())["best_checkpoint"])
            doc = run_noisy_student(human, homologs, unit / scheme, noisy=config.noisy_student, teacher=teacher,
                                    **sections)  # fmt: skip
        steps = doc["steps"]  # optimiser steps; the noisy student's count its ssl teacher's too
        if scheme == "noisy_student":  # None when the teacher's result.json predates step counts
            teacher_steps = json.loads((unit / "ssl" / "result.json").read_text()).get("steps")
            steps = steps + teacher_steps if teacher_steps is not None else None
        result = {"task": task, "arch": arch, "size": size, "seed": seed, "scheme": scheme, "steps": steps,
                  "test_auroc": doc["test"]["auroc"], "test_aupr": doc["test"]["aupr"],
                  "val_auroc": doc["val"]["auroc"], "best_checkpoint": doc["best_checkpoint"],
                  "wall_time_s": round(time.perf_counter() - started, 1), **counts}  # fmt: skip
        done.write_text(json.dumps(result, indent=1))
        results.append(result)
    return results


def units(tasks: list[str], archs: list[str], sizes: list[str], seeds: list[int]) -> list[tuple]:
    """Units in priority order: task, then trunk, then seed (every size of seed 0 first)."""
    return [(t, a, s, k) for t in tasks for a in archs for k in seeds for s in sizes]


def collect(out: Path) -> pd.DataFrame:
    """Every finished scheme's result.json under ``out`` as one frame."""
    rows = []
    for path in sorted(out.glob("*/*/n*/seed*/*/result.json")):
        row = json.loads(path.read_text())
        metrics = path.with_name("metrics.json")
        if row["scheme"] == "ssl" and metrics.is_file():  # the pre-trained model before fine-tuning
            pretrain = json.loads(metrics.read_text())["stages"]["pretrain"]
            row |= {"pretrain_test_auroc": pretrain["test"]["auroc"], "pretrain_test_aupr": pretrain["test"]["aupr"]}
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_sd(values: pd.Series) -> str:
    sd = f"{values.std(ddof=1):.3f}" if len(values) > 1 else "n/a"
    return f"{values.mean():.3f} ± {sd}"


def summary_table(frame: pd.DataFrame) -> str:
    """Markdown: one row per task, trunk and size; mean ± sd over seeds of each scheme's test AUROC and AUPR.

    ``train pos`` is the human training positives (windows), ``homologs`` the training homologs
    (positive/negative) the ssl and noisy_student runs used, ``seeds`` the finished seeds per scheme.
    """
    head = ["task", "trunk", "train pos", "homologs pos/neg", "seeds"]
    schemes = [scheme for scheme in SCHEMES + CONTROLS if scheme in set(frame["scheme"])]
    head += [f"{metric} {scheme}" for metric in ("AUROC", "AUPR") for scheme in schemes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {size: i for i, size in enumerate(SIZES)}
    groups = frame.groupby(["task", "arch", "size"], sort=False)
    for key in sorted(groups.groups, key=lambda k: (k[0], list(ARCHS).index(k[1]), order[k[2]])):
        g = groups.get_group(key)
        by_scheme = {scheme: g[g["scheme"] == scheme] for scheme in schemes}
        size = str(int(g["human_train_pos"].iloc[0]))
        cells = [key[0], key[1], size if key[2] != "all" else f"all ({size})"]
        cells.append(f"{g['homolog_train_pos'].mean():.0f}/{g['homolog_train_neg'].mean():.0f}")
        cells.append("/".join(str(len(part)) for part in by_scheme.values()))
        for metric in ("test_auroc", "test_aupr"):
            cells += [_mean_sd(part[metric]) if len(part) else "-" for part in by_scheme.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_table(frame: pd.DataFrame, baseline: str = "supervised") -> str:
    """Markdown: per task, trunk and size, the mean paired test AUROC/AUPR gain over ``baseline`` (same seed)
    of every other scheme, with the seeds it wins (``wins/seeds``)."""
    index = ["task", "arch", "size", "seed"]
    wide = frame.pivot_table(index=index, columns="scheme", values=["test_auroc", "test_aupr"])
    others = [scheme for scheme in SCHEMES[1:] + CONTROLS if ("test_auroc", scheme) in wide.columns]
    head = ["task", "trunk", "size"] + [f"Δ{m} {s}" for m in ("AUROC", "AUPR") for s in others]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {size: i for i, size in enumerate(SIZES)}
    groups = wide.groupby(level=["task", "arch", "size"], sort=False)
    for key in sorted(groups.groups, key=lambda k: (k[0], list(ARCHS).index(k[1]), order[k[2]])):
        g = groups.get_group(key)
        cells = list(key)
        for metric in ("test_auroc", "test_aupr"):
            for scheme in others:
                delta = (g[(metric, scheme)] - g[(metric, baseline)]).dropna()
                cells.append(f"{delta.mean():+.3f} ({int((delta > 0).sum())}/{len(delta)})" if len(delta) else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pooled_table(frame: pd.DataFrame, baseline: str = "supervised") -> str:
    """Markdown: per size, the paired gain over ``baseline`` pooled over tasks, trunks and seeds (mean, wins/n)."""
    wide = frame.pivot_table(
        index=["task", "arch", "size", "seed"], columns="scheme", values=["test_auroc", "test_aupr"]
    )
    others = [s for s in SCHEMES + CONTROLS if s != baseline and ("test_auroc", s) in wide.columns]
    head = ["size"] + [f"Δ{m} {s}" for m in ("AUROC", "AUPR") for s in others]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size in SIZES:
        part = wide[wide.index.get_level_values("size") == size]
        if part.empty:
            continue
        cells = [size]
        for metric in ("test_auroc", "test_aupr"):
            for scheme in others:
                delta = (part[(metric, scheme)] - part[(metric, baseline)]).dropna()
                cells.append(f"{delta.mean():+.3f} ({int((delta > 0).sum())}/{len(delta)})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/ssl_chr22"))
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("SEQLAB_SHARED_DATA", "../shared/data")))
    parser.add_argument("--tasks", nargs="+", default=["CTCF"])
    parser.add_argument("--archs", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument("--sizes", nargs="+", default=list(SIZES))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES + CONTROLS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--deadline-min", type=float, default=None, help="start no new unit after this many minutes")
    parser.add_argument("--report", action="store_true", help="only write results.tsv and summary.md")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if not args.report:
        started = time.time()
        for task in args.tasks:
            task_dir = prepare_task(out, args.data_dir.resolve(), task, SETTINGS)
            raw = study_config(args.data_dir.resolve(), task_dir, task, "deepbind", SETTINGS)
            (task_dir / "raw_config.json").write_text(json.dumps(raw, indent=1))
        todo = units(args.tasks, args.archs, args.sizes, args.seeds)
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
            pending = []
            for unit in todo:
                pending.append(
                    (
                        unit,
                        pool.submit(
                            _guarded, str(out), *unit, SETTINGS, started, args.deadline_min, tuple(args.schemes)
                        ),
                    )
                )
            for unit, future in pending:
                state = future.result()
                print(f"{time.time() - started:7.0f}s {unit}: {state}", flush=True)
    frame = collect(out)
    if frame.empty:
        print("no finished runs")
        return
    frame.drop(columns=["best_checkpoint"]).to_csv(out / "results.tsv", sep="\t", index=False)
    text = "\n\n".join([summary_table(frame), paired_table(frame), pooled_table(frame)])
    if "supervised_long" in set(frame["scheme"]):
        text += "\n\n" + pooled_table(frame, "supervised_long")
    text += "\n"
    (out / "summary.md").write_text(text)
    print(text)


def _guarded(out: str, task: str, arch: str, size: str, seed: int, settings: dict, started: float,
             deadline_min: float | None, schemes: tuple[str, ...]) -> str:  # fmt: skip
    """Run one unit unless past the deadline; a failure is reported, not raised (the other units go on)."""
    if deadline_min is not None and time.time() - started > 60 * deadline_min:
        return "skipped (deadline)"
    try:
        results = run_unit(out, task, arch, size, seed, settings, schemes)
    except Exception as err:  # noqa: BLE001 - one failed unit must not stop the grid
        return f"FAILED: {type(err).__name__}: {err}"
    return " ".join(f"{r['scheme']}={r['test_auroc']:.3f}/{r['test_aupr']:.3f}" for r in results)


if __name__ == "__main__":
    sys.exit(main())
