"""Issue 16, part 1: one-factor-at-a-time ablation of noisy_student (and ssl) on chr22, through the CLI only.

Every run is ``seqlab dna train examples/ssl_chr22_primates.yaml`` with ``--set`` overrides (few peaks:
``data.sources.0.subsample: {n, by: random, seed}``, the run seed = the subsample seed); external
scores are ``seqlab dna evaluate MODEL --positives/--negatives`` on GM12878 windows of every chromosome
but chr22 (``--external``: a folder of ``{task}_GM12878_{pos,neg}.not_chr22.fa``). Nothing else is called.

Arms (``ARMS``): ``old`` pins the settings the example shipped before this ablation (so that the table
does not move when the defaults change), each other ``ns_*`` arm changes one factor of ``old``;
``shipped`` sets nothing (whatever the checkout's example and defaults are); ``supervised`` drops the
lifted source; ``supervised_eq`` is supervised with as many optimiser steps as the longest run of the
``--eq-of`` arms in the same task and size (teacher included; ``train.max_epochs`` = that / steps per
epoch, ``train.patience`` 1000, best validation checkpoint kept). Selection uses the chr22 validation
region only; ``--report`` writes ``results.tsv`` (one row per run) and ``summary.md``.

Usage (repository root)::

    PYTHONPATH=src python examples/ssl_chr22_ablation.py --out runs/abl --tasks CTCF POL2 H3K4me3 --sizes 50 \
        --arms supervised old ns_rounds2 ns_soft --jobs 2
    PYTHONPATH=src python examples/ssl_chr22_ablation.py --out runs/abl --sizes 50 --arms supervised_eq \
        --eq-of old ns_rounds2 --external runs/ext --external-arms supervised_eq old
    PYTHONPATH=src python examples/ssl_chr22_ablation.py --out runs/abl --report

Resumable: a run whose ``metrics.json`` exists is not trained again. One torch thread per run.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "ssl_chr22_primates.yaml"
PEAKS = "dna/gm12878_hg19/peaks/{task}_GM12878_hg19.narrowPeak.gz"
NS = ["--set", "train.scheme=noisy_student"]
OLD = NS + [  # the example's noisy_student before issue 16's ablation (1 round, weighted, config stage defaults)
    "--set", "noisy_student.rounds=1", "--set", "noisy_student.pseudo_labels=weighted",
    "--set", "ssl.include_human=true", "--set", "noisy_student.include_human=true",
    "--set", "data.sources.1.weight=one",
    "--set", "noisy_student.noise_sigma=0.1", "--set", "noisy_student.dropout=0.3",
    "--set", "noisy_student.student={max_epochs: 10, learning_rate: 0.001, patience: 3}",
    "--set", "noisy_student.finetune={max_epochs: 10, learning_rate: 0.0003, patience: 3}",
]  # fmt: skip
ARMS: dict[str, list[str]] = {
    "supervised": ["--set", "train.scheme=supervised", "--set", "ssl=null"],
    "supervised_eq": ["--set", "train.scheme=supervised", "--set", "ssl=null", "--set", "train.patience=1000"],
    "shipped": NS,
    "old": OLD,
    "ns_rounds2": OLD + ["--set", "noisy_student.rounds=2"],
    "ns_rounds3": OLD + ["--set", "noisy_student.rounds=3"],
    "ns_soft": OLD + ["--set", "noisy_student.pseudo_labels=soft"],
    "ns_ssl_human_off": OLD + ["--set", "ssl.include_human=false"],
    "ns_student_human_off": OLD + ["--set", "noisy_student.include_human=false"],
    "ns_identity": OLD + ["--set", "data.sources.1.weight=identity"],
    "ns_noise_off": OLD + ["--set", "noisy_student.noise_sigma=0", "--set", "noisy_student.dropout=0"],
    "ns_noise_high": OLD + ["--set", "noisy_student.noise_sigma=0.3", "--set", "noisy_student.dropout=0.5"],
    "ns_student_lr": OLD + ["--set", "noisy_student.student.learning_rate=0.003"],
    "ns_finetune_lr": OLD + ["--set", "noisy_student.finetune.learning_rate=0.001"],
    "ns_stages_long": OLD
    + ["--set", "noisy_student.student.max_epochs=20", "--set", "noisy_student.student.patience=4"]
    + ["--set", "noisy_student.finetune.max_epochs=20", "--set", "noisy_student.finetune.patience=4"],
}
LR3 = ARMS["ns_student_lr"]  # the first round's winner on validation; the second round changes one factor of it
ARMS |= {
    "ns_lr3_rounds2": LR3 + ["--set", "noisy_student.rounds=2"],
    "ns_lr3_soft": LR3 + ["--set", "noisy_student.pseudo_labels=soft"],
    "ns_lr3_finetune_lr": LR3 + ["--set", "noisy_student.finetune.learning_rate=0.001"],
    "ns_lr3_noise_off": LR3 + ["--set", "noisy_student.noise_sigma=0", "--set", "noisy_student.dropout=0"],
    "ns_lr3_noise_high": LR3 + ["--set", "noisy_student.noise_sigma=0.3", "--set", "noisy_student.dropout=0.5"],
    "ns_lr3_student_human_off": LR3 + ["--set", "noisy_student.include_human=false"],
}
# ``<arm>_t``: the same, its teacher the ``old`` run's ssl model of the same task, size and seed
# (``noisy_student.teacher``); every stage re-seeds, so the student is the one a full run would train
for _arm in [a for a in ARMS if a.startswith("ns_") or a == "old"]:
    ARMS[_arm + "_t"] = ARMS[_arm]
TEACHER = "ssl/finetune/checkpoints/best.ckpt"


def run_dir(out: Path, task: str, size: int, arm: str, seed: int) -> Path:
    """Folder of one run: ``out/runs/<task>/n<size>/<arm>/s<seed>``."""
    return out / "runs" / task / f"n{size}" / arm / f"s{seed}"


def cli(args: list[str], log: Path) -> None:
    """Run ``seqlab <args>`` (this interpreter, one thread, niced by the caller); its output goes to ``log``."""
    with log.open("w") as handle:
        subprocess.run([sys.executable, "-m", "seqlab.cli.main", *args], stdout=handle, stderr=subprocess.STDOUT,
                       check=True)  # fmt: skip


def total_steps(metrics: dict) -> int:
    """Optimiser steps of a run, its ssl teacher's included (noisy_student)."""
    return int(metrics["steps"]) + int(metrics.get("teacher_ssl", {}).get("steps", 0))


def eq_epochs(out: Path, task: str, size: int, seed: int, eq_of: list[str], seeds: list[int]) -> tuple[int, int]:
    """(max_epochs, target steps) of ``supervised_eq``: the longest ``eq_of`` run of the cell, in supervised epochs."""
    target = 0
    for arm in eq_of:
        for other in seeds:
            folder = run_dir(out, task, size, arm, other)
            if not (folder / "metrics.json").exists():
                raise FileNotFoundError(f"{folder}: supervised_eq needs the {arm} runs of {task} n{size} first")
            target = max(target, row(folder)["steps"])
    sup = json.loads((run_dir(out, task, size, "supervised", seed) / "metrics.json").read_text())
    per_epoch = sup["steps"] / sup["epochs"]
    return math.ceil(target / per_epoch), target


def guarded(out: Path, task: str, size: int, arm: str, seed: int, opts: argparse.Namespace) -> str:
    """``train_one``, a failure reported (its log named) rather than raised: the other runs go on."""
    try:
        return train_one(out, task, size, arm, seed, opts)
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        return f"{task} n{size} {arm} s{seed}: FAILED ({err}; logs in {run_dir(out, task, size, arm, seed).parent})"


def train_one(out: Path, task: str, size: int, arm: str, seed: int, opts: argparse.Namespace) -> str:
    """Train (unless done) and externally score one run; return a one-line status."""
    folder = run_dir(out, task, size, arm, seed)
    if not (folder / "metrics.json").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        subsample = f"{{n: {size}, by: random, seed: {seed}}}"
        args = ["dna", "train", str(CONFIG), "--out", str(folder), "--overwrite", "--set", f"seed={seed}"]
        args += ["--set", f"data.tasks={out / 'tasks' / (task + '.tsv')}", "--set", "hardware.threads=1"]
        if arm.startswith("supervised"):
            peaks = f"{{kind: peaks, negatives: {{ratio: 1.0, gc_match: true, seed: 0}}, subsample: {subsample}}}"
            args += ["--set", f"data.sources=[{peaks}]"]
        else:
            args += ["--set", f"data.sources.0.subsample={subsample}"]
        args += ARMS[arm]
        if arm.endswith("_t"):
            args += ["--set", f"noisy_student.teacher={run_dir(out, task, size, 'old', seed) / TEACHER}"]
        if arm == "supervised_eq":
            epochs, target = eq_epochs(out, task, size, seed, opts.eq_of, opts.seeds)
            args += ["--set", f"train.max_epochs={epochs}"]
            (folder.parent / "eq_target.json").write_text(json.dumps({"eq_of": opts.eq_of, "steps": target}))
        cli(args, folder.parent / f"s{seed}.train.log")
    if opts.external and arm in opts.external_arms:
        models = {"external": folder / "model", "external_teacher": folder / "ssl" / "finetune" / "model"}
        for name, model in models.items():
            if model.exists() and not (folder / name / "metrics.json").exists():
                fasta = [opts.external / f"{task}_GM12878_{kind}.not_chr22.fa" for kind in ("pos", "neg")]
                args = ["dna", "evaluate", str(model), "--positives", str(fasta[0]), "--negatives", str(fasta[1])]
                cli(args + ["--out", str(folder / name), "--threads", "1"], folder.parent / f"s{seed}.{name}.log")
    return f"{task} n{size} {arm} s{seed}: done"


def row(folder: Path) -> dict:
    """One results row from a run folder (chr22 val/test, steps, external scores where present)."""
    metrics = json.loads((folder / "metrics.json").read_text())
    arm, cell = folder.parent.name, folder.parent.parent
    if arm.endswith("_t"):  # the teacher's stages ran in the old run: count them here
        old = json.loads((cell / "old" / folder.name / "metrics.json").read_text())
        metrics["teacher_ssl"] = old["teacher_ssl"]
    out = {"task": cell.parent.name, "size": int(cell.name[1:]), "arm": arm, "seed": int(folder.name[1:])}
    out |= {"scheme": metrics["scheme"], "steps": total_steps(metrics), "wall_s": metrics.get("wall_time_s")}
    for split in ("val", "test"):
        out |= {f"{split}_auroc": metrics[split]["auroc"], f"{split}_aupr": metrics[split]["aupr"]}
    teacher = metrics.get("teacher_ssl")
    if teacher:
        out |= {"teacher_steps": teacher["steps"], "teacher_val_auroc": teacher["val"]["auroc"]}
        out |= {"teacher_val_aupr": teacher["val"]["aupr"], "teacher_test_auroc": teacher["test"]["auroc"]}
        out |= {"teacher_test_aupr": teacher["test"]["aupr"]}
    teacher_folder = cell / "old" / folder.name if arm.endswith("_t") else folder
    for path, prefix in ((folder / "external", "ext"), (teacher_folder / "external_teacher", "teacher_ext")):
        path = path / "metrics.json"
        if path.exists():
            ext = json.loads(path.read_text())["test"]
            out |= {f"{prefix}_auroc": ext["auroc"], f"{prefix}_aupr": ext["aupr"]}
    return out


def collect(out: Path) -> pd.DataFrame:
    """Every finished run under ``out/runs`` as one table."""
    rows = [row(p.parent) for p in sorted((out / "runs").glob("*/n*/*/s*/metrics.json"))]
    return pd.DataFrame(rows)


def selection(frame: pd.DataFrame, size: int, base: str = "old") -> str:
    """Markdown: per arm at ``size`` the chr22 validation means (per task and pooled), paired gain over ``base``."""
    part = frame[(frame["size"] == size) & frame["arm"].str.startswith(("ns_", "old"))]
    tasks = sorted(part["task"].unique())
    head = ["arm", "runs", *[f"val AUROC {t}" for t in tasks], "val AUROC", "val AUPR", f"Δval AUROC vs {base} (wins)"]
    head += ["ssl teacher val AUROC", "steps (mean, teacher incl.)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    key = ["task", "seed"]
    ref = part[part["arm"] == base].set_index(key)["val_auroc"]
    for arm, runs in part.groupby("arm"):
        delta = (runs.set_index(key)["val_auroc"] - ref).dropna()
        cells = [arm, str(len(runs))] + [f"{runs[runs['task'] == t]['val_auroc'].mean():.3f}" for t in tasks]
        cells += [f"{runs['val_auroc'].mean():.3f}", f"{runs['val_aupr'].mean():.3f}"]
        cells += [f"{delta.mean():+.3f} ({int((delta > 0).sum())}/{len(delta)})"]
        cells += [f"{runs['teacher_val_auroc'].mean():.3f}", f"{runs['steps'].mean():.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_sd(values: pd.Series) -> str:
    values = values.dropna()
    return (
        f"{values.mean():.3f} ± {values.std():.3f}"
        if len(values) > 1
        else f"{values.mean():.3f}"
        if len(values)
        else "-"
    )


def comparison(frame: pd.DataFrame, arms: list[str], teacher_of: str) -> str:
    """Markdown: per task and size the chr22 val/test and external scores of ``arms`` and the ssl teacher."""
    head = ["task", "size", "arm", "seeds", "val AUROC", "test AUROC", "test AUPR", "external AUROC", "external AUPR"]
    lines = ["| " + " | ".join(head + ["optimiser steps per seed"]) + " |", "|" + "---|" * (len(head) + 1)]
    for (task, size), cell in frame.groupby(["task", "size"]):
        for arm in arms + ["ssl"]:
            prefix = "teacher_" if arm == "ssl" else ""
            runs = cell[cell["arm"] == (teacher_of if arm == "ssl" else arm)].sort_values("seed")
            if runs.empty or f"{prefix}val_auroc" not in runs or runs[f"{prefix}val_auroc"].isna().all():
                continue
            steps = runs[f"{prefix}steps"].astype(int).astype(str)
            cells = [task, str(size), f"ssl (teacher of {teacher_of})" if arm == "ssl" else arm, str(len(runs))]
            cells += [f"{runs[prefix + 'val_auroc'].mean():.3f}", _mean_sd(runs[prefix + "test_auroc"])]
            cells += [f"{runs[prefix + 'test_aupr'].mean():.3f}"]
            ext = "teacher_ext" if arm == "ssl" else "ext"
            for metric in ("auroc", "aupr"):
                column = f"{ext}_{metric}"
                cells.append((_mean_sd if metric == "auroc" else lambda v: f"{v.mean():.3f}")(runs[column])
                             if column in runs and runs[column].notna().any() else "-")  # fmt: skip
            lines.append("| " + " | ".join(cells + [" / ".join(steps)]) + " |")
    return "\n".join(lines)


def gains(frame: pd.DataFrame, arms: list[str], teacher_of: str, ref: str = "supervised_eq") -> str:
    """Markdown: per size the paired gain of each arm (and the ssl teacher) over ``ref``, pooled over tasks x seeds."""
    metrics = ["test_auroc", "test_aupr", "ext_auroc", "ext_aupr"]
    lines = ["| size | arm | " + " | ".join(f"Δ{m} (wins)" for m in metrics) + " |", "|" + "---|" * 6]
    key = ["task", "seed"]
    for size, part in frame.groupby("size"):
        base = part[part["arm"] == ref].set_index(key)
        if base.empty:
            continue
        teacher = part[part["arm"] == teacher_of].set_index(key)
        columns = [f"teacher_{m}" for m in metrics if f"teacher_{m}" in teacher]
        teacher = teacher[columns].rename(columns=lambda c: c.removeprefix("teacher_"))
        named = [(arm, part[part["arm"] == arm].set_index(key)) for arm in arms if arm != ref]
        for arm, runs in named + [(f"ssl (teacher of {teacher_of})", teacher)]:
            cells = []
            for metric in metrics:
                delta = (runs[metric] - base[metric]).dropna() if metric in runs else pd.Series(dtype=float)
                cells.append(f"{delta.mean():+.3f} ({int((delta > 0).sum())}/{len(delta)})" if len(delta) else "-")
            lines.append(f"| {size} | {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/ssl_chr22_ablation"))
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--tasks", nargs="+", default=["CTCF", "POL2", "H3K4me3"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[50])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["supervised", "old"], choices=list(ARMS))
    parser.add_argument("--eq-of", nargs="+", default=["old"], choices=list(ARMS), help="supervised_eq matches these")
    parser.add_argument("--external", type=Path, default=None, help="folder of {task}_GM12878_{pos,neg}.not_chr22.fa")
    parser.add_argument("--external-arms", nargs="+", default=[], choices=list(ARMS))
    parser.add_argument("--chosen", default="shipped", choices=list(ARMS), help="report: the chosen arm")
    parser.add_argument("--compare", nargs="+", default=["supervised", "supervised_eq", "old", "shipped"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="only write results.tsv and summary.md")
    opts = parser.parse_args(argv)
    out = opts.out.resolve()
    if not opts.report:
        (out / "tasks").mkdir(parents=True, exist_ok=True)
        for task in opts.tasks:
            peaks = (opts.data_dir / PEAKS.format(task=task)).resolve()
            (out / "tasks" / f"{task}.tsv").write_text(f"task\tpeaks\n{task}\t{peaks}\n")
        units = [(t, n, a, s) for a in opts.arms for t in opts.tasks for n in opts.sizes for s in opts.seeds]
        started = time.time()
        with ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            futures = [pool.submit(guarded, out, *unit, opts) for unit in units]
            for future in futures:
                status = future.result()
                print(f"{time.time() - started:6.0f}s {status}", flush=True)
    frame = collect(out)
    frame.to_csv(out / "results.tsv", sep="\t", index=False, float_format="%.4f")
    parts = [selection(frame, size) for size in sorted(frame["size"].unique())]
    parts += [selection(frame, size, "ns_student_lr_t") for size in sorted(frame["size"].unique())]
    parts.append(comparison(frame, opts.compare, opts.chosen))
    parts.append(gains(frame, opts.compare, opts.chosen))
    text = "\n\n".join(parts) + "\n"
    (out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
