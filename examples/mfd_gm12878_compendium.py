"""MFD vs the plain multi-task head on a small real compendium: five window sets of the shared data bundle.

Experiments (metadata: target, biosample, assay): CTCF, POL2 (POLR2A), H3K4me3 ChIP-seq and DNase-seq in
GM12878, DSBCapture in NHEK; each set has 200-bp positive windows and its own negative windows
(dna/gm12878_hg19/windows/<NAME>_{pos,neg}.fa.gz). A window is labelled only for the experiment whose
set it comes from (weight 0 for the others; ``kind: sequences`` sources). Split by chromosome: test
chr8 + chr9, validation chr7. Both models share the trunk config, the windows and the seed; MFD uses the
metadata head (biological = target + biosample, technical = assay) with the covariance penalty.

Run from the repository root (about 1-2 min per model and seed on 2 shared CPU cores at the defaults)::

    PYTHONPATH=src python examples/mfd_gm12878_compendium.py --out runs/mfd_gm12878 --seeds 0 1 2

``--per-set N`` keeps a random N records of each FASTA (default 1500; 0: all). Writes
``<out>/metrics.json`` (per seed and model: test AUROC/AUPR per experiment; MFD introspection) and
``<out>/summary.tsv`` (AUROC mean and sd over seeds per experiment and model), ``<out>/introspection.tsv``
(eta² per latent feature of the last seed's MFD model) and ``<out>/introspection.png``.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch

from seqlab import pipeline
from seqlab.config import DnaRunConfig, validate_config
from seqlab.data.datamodule import DnaDataModule
from seqlab.evaluation.introspect import feature_factor_table, plot_feature_factor_heatmap, subspace_association
from seqlab.runs import RunPaths, write_json, write_text
from seqlab.training.base import SeqLabModule
from seqlab.training.mfd import MfdModule
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import build_trainer

EXPERIMENTS = {
    "CTCF_GM12878": {"target": "CTCF", "biosample": "GM12878", "assay": "ChIP-seq"},
    "POL2_GM12878": {"target": "POLR2A", "biosample": "GM12878", "assay": "ChIP-seq"},
    "H3K4me3_GM12878": {"target": "H3K4me3", "biosample": "GM12878", "assay": "ChIP-seq"},
    "DNase_GM12878": {"target": "accessibility", "biosample": "GM12878", "assay": "DNase-seq"},
    "DSBCapture_NHEK": {"target": "DSB", "biosample": "NHEK", "assay": "DSBCapture"},
}
HEAD = {
    "columns": {"target": "categorical", "biosample": "categorical", "assay": "categorical"},
    "groups": {"biological": ["target", "biosample"], "technical": ["assay"]},
    "sizes": {"biological": 0.75, "technical": 0.25},
    "hidden": 16,
}
TRUNKS = {
    "deepbind": {"arch": "deepbind", "filters": 64, "kernel_size": 24, "hidden": 32, "dropout": 0.1},
    "basenji": {"arch": "basenji"},
}


def subsample_sets(windows: Path, out: Path, per_set: int, seed: int = 0) -> dict[str, dict[str, Path]]:
    """Copy a random ``per_set`` records of every pos/neg FASTA (0: all) to ``out``; name -> {pos, neg}."""
    rng = np.random.default_rng(seed)
    sets: dict[str, dict[str, Path]] = {}
    for name in EXPERIMENTS:
        sets[name] = {}
        for side in ("pos", "neg"):
            source = windows / f"{name}_{side}.fa.gz"
            with gzip.open(source, "rt") as handle:
                records = handle.read().split(">")[1:]
            if per_set and len(records) > per_set:
                records = [records[i] for i in sorted(rng.choice(len(records), per_set, replace=False))]
            path = out / f"{name}_{side}.fa"
            write_text(path, "".join(">" + record for record in records))
            sets[name][side] = path
    return sets


def make_config(sets: dict[str, dict[str, Path]], trunk: str, seed: int, root: Path) -> DnaRunConfig:
    """The run config: one ``sequences`` source with a labelled pos and neg set per experiment."""
    entries = []
    for name, paths in sets.items():
        entries += [
            {"fasta": str(paths["pos"]), "labels": {name: 1}},
            {"fasta": str(paths["neg"]), "labels": {name: 0}},
        ]
    raw = {
        "seed": seed,
        "name": "mfd_gm12878_compendium",
        "data": {
            "sources": [{"kind": "sequences", "genome": "hg19", "sets": entries}],
            "window_length": 200,
            "deduplicate": True,
            "split": {"test_chroms": ["chr8", "chr9"], "val_chroms": ["chr7"]},
            "augment": {"reverse_complement": True},
            "batch_size": 64,
        },
        "model": {"trunk": TRUNKS[trunk], "head": {"kind": "linear"}},
    }
    return validate_config(raw, DnaRunConfig, "mfd_gm12878_compendium", root)


def _fit(module: SeqLabModule, dm: DnaDataModule, run: Path, max_epochs: int, patience: int) -> dict[str, Any]:
    trainer = build_trainer(
        RunPaths(run), monitor="val_auroc", mode="max", max_epochs=max_epochs, patience=patience, accelerator="cpu",
        progress_bar=False,
    )  # fmt: skip
    trainer.fit(module, datamodule=dm)
    trainer.test(module, dataloaders=dm.test_dataloader(), verbose=False, ckpt_path="best")
    return {**module.last_metrics["test"].to_dict(), "epochs": int(trainer.current_epoch)}


def run_study(
    data_root: str | Path,
    out_dir: str | Path,
    seeds: list[int] = (0, 1, 2),
    per_set: int = 1500,
    max_epochs: int = 6,
    patience: int = 2,
    trunk: str = "deepbind",
    penalty: str = "covariance",
    penalty_weight: float = 0.1,
) -> dict[str, Any]:
    """Train the plain head and MFD for each seed; return (and write) ``metrics.json``'s document.

    Args:
        data_root: the shared data folder (holding dna/gm12878_hg19/windows).
        out_dir: output folder.
        seeds: one plain and one MFD run per seed (same windows, same trunk initialisation seed).
        per_set: random records kept per FASTA (0: all).
        max_epochs, patience: early stopping on validation AUROC.
        trunk: 'deepbind' or 'basenji'.
        penalty, penalty_weight: MFD's independence penalty (``mfd.penalty``, ``mfd.weight``).
    """
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    started = time.perf_counter()
    out = Path(out_dir)
    sets = subsample_sets(Path(data_root) / "dna" / "gm12878_hg19" / "windows", out / "data", per_set)
    config = make_config(sets, trunk, seeds[0], out)
    table, _ = pipeline.prepare_examples(config)
    records = [{"task": task, **EXPERIMENTS[task]} for task in table.task_names]
    params = pipeline._data_params(config, table).to_dict() | {"task_metadata": records}
    optim = {"learning_rate": 3e-3, "weight_decay": 1e-2}
    counts = {split: int((table.frame["split"] == split).sum()) for split in ("train", "val", "test")}
    document: dict[str, Any] = {"windows": counts, "trunk": trunk, "penalty": penalty, "runs": {}}
    for seed in seeds:
        dm = DnaDataModule(table, config.data, seed=seed)
        runs: dict[str, Any] = {}
        for kind in ("plain", "mfd"):
            L.seed_everything(seed, workers=True, verbose=False)
            tick = time.perf_counter()
            if kind == "plain":
                module: SeqLabModule = SupervisedModule(config.model, params, **optim)
            else:
                mfd = {"penalty": penalty, "weight": penalty_weight}
                module = MfdModule(config.model, params, head=HEAD, mfd=mfd, **optim)
            runs[kind] = _fit(module, dm, out / f"seed{seed}" / kind, max_epochs, patience)
            runs[kind]["wall_time_s"] = round(time.perf_counter() - tick, 1)
        table_ = feature_factor_table(module.model.head, records, ["target", "biosample", "assay"])
        association = subspace_association(table_)
        runs["mfd"]["introspection"] = {
            "association": {
                g: {c: float(v) for c, v in row.items()} for g, row in association.drop("lands_in").iterrows()
            },
            "lands_in": association.loc["lands_in"].to_dict(),
        }
        document["runs"][str(seed)] = runs
        write_json(out / "metrics.json", document)
    table_.to_csv(out / "introspection.tsv", sep="\t", index=False)
    plot_feature_factor_heatmap(table_, out / "introspection.png", title="MFD on the GM12878/NHEK compendium")
    rows = []
    for seed, runs in document["runs"].items():
        for kind in ("plain", "mfd"):
            for task, values in runs[kind]["per_task"].items():
                rows.append(
                    {"seed": seed, "model": kind, "task": task, "auroc": values["auroc"], "aupr": values["aupr"]}
                )
    long = pd.DataFrame(rows)
    summary = long.groupby(["task", "model"], sort=False).agg(
        auroc_mean=("auroc", "mean"), auroc_sd=("auroc", "std"), aupr_mean=("aupr", "mean"), n_seeds=("seed", "size")
    )
    summary.reset_index().to_csv(out / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    document["wall_time_s"] = round(time.perf_counter() - started, 1)
    write_json(out / "metrics.json", document)
    return document


def probe_study(out_dir: str | Path, seed: int = 0, regress_gc: bool = True) -> pd.DataFrame:
    """Linear probe on the frozen features of the seed's best MFD and plain models (after ``run_study``).

    For each experiment, its own positive vs negative windows (``<out>/data``): train the probe on the
    windows outside chr8/chr9, test on chr8/chr9 (the models' test chromosomes, never trained on); feature
    sets: the plain model's trunk features, MFD's full, biological and technical subspaces, with and
    without GC regressed out, and GC alone. Writes ``<out>/probe.tsv``.
    """
    from seqlab.evaluation.embed import read_fasta_windows
    from seqlab.evaluation.probe import probe_windows

    out = Path(out_dir)
    frames = []
    for kind, cls in (("plain", SupervisedModule), ("mfd", MfdModule)):
        module = cls.load_from_checkpoint(out / f"seed{seed}" / kind / "checkpoints" / "best.ckpt", map_location="cpu")
        params = module.hparams["data_params"]
        for name in EXPERIMENTS:
            sequences, labels, chroms = [], [], []
            for side, label in (("pos", 1), ("neg", 0)):
                index, seqs = read_fasta_windows(out / "data" / f"{name}_{side}.fa", 200)
                sequences += seqs
                labels += [label] * len(seqs)
                chroms += index["chrom"].astype(str).tolist()
            frame = probe_windows(
                module.model, params, sequences, np.array(labels), chroms=chroms, test_chroms=["chr8", "chr9"],
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
    parser.add_argument("--per-set", type=int, default=1500)
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--trunk", choices=sorted(TRUNKS), default="deepbind")
    parser.add_argument("--penalty", default="covariance")
    parser.add_argument("--probe-only", action="store_true", help="only the probe on an existing --out study")
    args = parser.parse_args()
    if args.probe_only:
        print(probe_study(args.out, args.seeds[0]).to_string(index=False))
        return
    document = run_study(
        args.data_root, args.out, args.seeds, args.per_set, args.max_epochs, trunk=args.trunk, penalty=args.penalty
    )
    print(pd.read_csv(Path(args.out) / "summary.tsv", sep="\t").to_string(index=False))
    print(f"wall time {document['wall_time_s']} s; windows {document['windows']}")


if __name__ == "__main__":
    main()
