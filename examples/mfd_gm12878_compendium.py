"""MFD vs the plain multi-task head on a small real compendium, through ``seqlab dna train``'s own route.

The two example configs ``examples/mfd_gm12878_compendium.yaml`` (metadata head, ``train.scheme: mfd``
with the covariance penalty at weight 0.01, both sides) and ``examples/mfd_gm12878_compendium_plain.yaml`` (its
plain-head twin) describe five experiments of the shared bundle: CTCF, POL2 (POLR2A), H3K4me3 ChIP-seq
and DNase-seq in GM12878, DSBCapture in NHEK; each experiment's positive and negative 200-bp windows
label that experiment only (``kind: sequences`` sources); the task table ``mfd_gm12878_tasks.tsv`` gives
each experiment's target, biosample and assay. Split by chromosome: test chr8 + chr9, validation chr7.

This driver keeps a random ``--per-set`` records of each of the ten FASTA files (seed 0) in a copy of
the bundle's layout under ``<out>/data`` and trains every (seed, config) with
``seqlab.pipeline.train(load_config(yaml, data_dir=<out>/data))``: the same as
``seqlab dna train examples/mfd_gm12878_compendium.yaml --data-dir <out>/data --out <out>/seed0/mfd``.
Runs go ``--jobs`` at a time in separate processes (one torch thread each, ``hardware.threads: 1``).

Run from the repository root::

    PYTHONPATH=src python examples/mfd_gm12878_compendium.py --out runs/mfd_gm12878 --seeds 0 1 2 --jobs 2

Writes ``<out>/metrics.json`` (per seed and model: test AUROC/AUPR per experiment, epochs, wall time,
MFD's disentanglement), ``<out>/summary.tsv`` (AUROC mean and sd over seeds per experiment and model);
each run folder ``<out>/seed<S>/<plain|mfd>`` is an ordinary run folder (``model/``, metrics.json, MFD's
introspection.tsv/.png). ``--probe-only`` adds ``<out>/probe.tsv`` (linear probe on frozen features).
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

EXAMPLES = Path(__file__).resolve().parent
CONFIGS = {"plain": EXAMPLES / "mfd_gm12878_compendium_plain.yaml", "mfd": EXAMPLES / "mfd_gm12878_compendium.yaml"}
EXPERIMENTS = ["CTCF_GM12878", "POL2_GM12878", "H3K4me3_GM12878", "DNase_GM12878", "DSBCapture_NHEK"]
WINDOWS = Path("dna") / "gm12878_hg19" / "windows"


def subsample_bundle(data_root: Path, out: Path, per_set: int, seed: int = 0) -> Path:
    """Copy a random ``per_set`` records of every pos/neg FASTA (0: all) into ``out`` in the bundle's layout.

    Returns:
        ``out`` (a data folder to pass as ``--data-dir``/``data_dir``).
    """
    rng = np.random.default_rng(seed)
    for name in EXPERIMENTS:
        for side in ("pos", "neg"):
            relative = WINDOWS / f"{name}_{side}.fa.gz"
            with gzip.open(data_root / relative, "rt") as handle:
                records = handle.read().split(">")[1:]
            if per_set and len(records) > per_set:
                records = [records[i] for i in sorted(rng.choice(len(records), per_set, replace=False))]
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(out / relative, "wt", compresslevel=1) as handle:
                handle.write("".join(">" + record for record in records))
    return out


def run_one(kind: str, seed: int, data_dir: str, run_dir: str, overrides: list[str]) -> dict[str, Any]:
    """Train one config (``plain`` or ``mfd``) with one seed; its metrics.json plus the run's wall time."""
    from seqlab import pipeline
    from seqlab.config import DnaRunConfig, load_config

    config = load_config(CONFIGS[kind], DnaRunConfig, overrides=[f"seed={seed}", *overrides], data_dir=data_dir)
    tick = time.perf_counter()
    result = pipeline.train(config, run_dir, overwrite=True)
    return result.metrics | {"run_wall_time_s": round(time.perf_counter() - tick, 1)}


def _summarise(document: dict[str, Any], out: Path) -> pd.DataFrame:
    rows = [
        {"seed": seed, "model": kind, "task": task, "auroc": values["auroc"], "aupr": values["aupr"]}
        for seed, runs in document["runs"].items()
        for kind, run in runs.items()
        for task, values in run["test"]["per_task"].items()
    ]
    long = pd.DataFrame(rows)
    summary = long.groupby(["task", "model"], sort=False).agg(
        auroc_mean=("auroc", "mean"), auroc_sd=("auroc", "std"), aupr_mean=("aupr", "mean"), n_seeds=("seed", "size")
    )
    summary = summary.reset_index()
    summary.to_csv(out / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    return summary


def run_study(
    data_root: str | Path,
    out_dir: str | Path,
    seeds: list[int] = (0, 1, 2),
    per_set: int = 800,
    max_epochs: int | None = None,
    patience: int | None = None,
    jobs: int = 2,
    allow_small_splits: bool = False,
) -> dict[str, Any]:
    """Train the plain and the MFD config for each seed; return (and write) ``metrics.json``'s document.

    Args:
        data_root: the shared data folder (holding dna/gm12878_hg19/windows).
        out_dir: output folder.
        seeds: one plain and one MFD run per seed (same windows; the seed sets the initialisation).
        per_set: random records kept per FASTA (0: all).
        max_epochs, patience: override ``train.max_epochs`` / ``train.patience`` (None: the configs').
        jobs: runs trained at the same time (separate processes, one torch thread each).
        allow_small_splits: set ``data.split.allow_small_splits`` (a small ``per_set`` leaves fewer than 10
            positives or negatives of some experiments in the val/test chromosomes).
    """
    from seqlab.atomic import write_json

    started = time.perf_counter()
    out = Path(out_dir)
    data_dir = subsample_bundle(Path(data_root), out / "data", per_set)
    overrides = [f"train.max_epochs={max_epochs}"] * (max_epochs is not None)
    overrides += [f"train.patience={patience}"] * (patience is not None)
    overrides += ["data.split.allow_small_splits=true"] * allow_small_splits
    tasks = [
        (kind, seed, str(data_dir), str(out / f"seed{seed}" / kind), overrides) for seed in seeds for kind in CONFIGS
    ]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(run_one, *zip(*tasks, strict=True)))
    else:
        results = [run_one(*task) for task in tasks]
    document: dict[str, Any] = {"per_set": per_set, "overrides": overrides, "jobs": jobs, "runs": {}}
    for (kind, seed, *_), metrics in zip(tasks, results, strict=True):
        keep = ("test", "val", "epochs", "wall_time_s", "run_wall_time_s", "n_parameters", "penalty")
        run = {key: metrics[key] for key in keep if key in metrics}
        if "disentanglement" in metrics:
            run["disentanglement"] = metrics["disentanglement"]
        document["runs"].setdefault(str(seed), {})[kind] = run
    document["wall_time_s"] = round(time.perf_counter() - started, 1)
    _summarise(document, out)
    write_json(out / "metrics.json", document)
    return document


def probe_study(out_dir: str | Path, seed: int = 0, regress_gc: bool = True) -> pd.DataFrame:
    """Linear probe on the frozen features of the seed's plain and MFD models (after ``run_study``).

    For each experiment, its own positive vs negative windows (``<out>/data``): train the probe on the
    windows outside chr8/chr9, test on chr8/chr9 (the models' test chromosomes, never trained on); feature
    sets: the plain model's trunk features, MFD's full, biological and technical subspaces (with
    ``regress_gc``: also with GC regressed out, and GC alone). Writes ``<out>/probe.tsv``.
    """
    from seqlab.evaluation.embed import read_fasta_windows
    from seqlab.evaluation.probe import probe_windows
    from seqlab.models.sequence_model import SequenceModel

    out = Path(out_dir)
    frames = []
    for kind in CONFIGS:
        model = SequenceModel.from_pretrained(out / f"seed{seed}" / kind)
        for name in EXPERIMENTS:
            sequences, labels, chroms = [], [], []
            for side, label in (("pos", 1), ("neg", 0)):
                index, seqs = read_fasta_windows(out / "data" / WINDOWS / f"{name}_{side}.fa.gz", 200)
                sequences += seqs
                labels += [label] * len(seqs)
                chroms += index["chrom"].astype(str).tolist()
            frame = probe_windows(
                model, sequences, np.array(labels), chroms=chroms, test_chroms=["chr8", "chr9"],
                regress_gc=regress_gc and kind == "mfd",
            )  # fmt: skip
            frames.append(frame.assign(model=kind, experiment=name))
    result = pd.concat(frames, ignore_index=True)
    result.to_csv(out / "probe.tsv", sep="\t", index=False, float_format="%.4f")
    return result


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="/work/shared/data", help="shared data folder")
    parser.add_argument("--out", default="runs/mfd_gm12878")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-set", type=int, default=800, help="records kept per FASTA (0: all)")
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the configs' train.max_epochs")
    parser.add_argument("--patience", type=int, default=None, help="default: the configs' train.patience")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at the same time")
    parser.add_argument("--allow-small-splits", action="store_true", help="train on val/test splits of < 10 per class")
    parser.add_argument("--probe-only", action="store_true", help="only the probe on an existing --out study")
    args = parser.parse_args()
    if args.probe_only:
        print(probe_study(args.out, args.seeds[0]).to_string(index=False))
        return
    document = run_study(
        args.data_root, args.out, args.seeds, args.per_set, args.max_epochs, args.patience, args.jobs,
        args.allow_small_splits,
    )  # fmt: skip
    print(pd.read_csv(Path(args.out) / "summary.tsv", sep="\t").to_string(index=False))
    for seed, runs in document["runs"].items():
        print(seed, {kind: (run.get("epochs"), run["run_wall_time_s"]) for kind, run in runs.items()})
    print(f"wall time {document['wall_time_s']} s")


if __name__ == "__main__":
    main()
