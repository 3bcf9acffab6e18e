"""A first end-to-end MFD run on the simulated compendium: MFD vs the plain multi-task head.

``run_mfd_demo(out_dir)``: simulate a compendium (``seqlab.demo.compendium``), build peak-centred
windows from the training experiments (``holdout=no``) with the ordinary data pipeline, train the plain
multi-task head (``SupervisedModule``) and the metadata head (``MfdModule``) on the same windows and
trunk, and report:

* ``plain.test`` / ``mfd.test``: whole-split AUROC/AUPR on the test chromosome;
* ``imputation``: per held-out experiment (a factor x biosample combination never trained), the MFD
  head's AUROC on the test windows labelled by that experiment's peaks, from its metadata alone;
* ``disentanglement``: eta² association of each subspace with each factor and where each lands
  (``introspection.tsv`` and ``introspection.png`` in the run folder).

This is a driver of the modules, not yet the ``train.scheme: mfd`` pipeline (that plugs into the
scheme registry of the spine rework).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from seqlab import pipeline
from seqlab.config import DnaRunConfig, validate_config
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.encoding import reverse_complement
from seqlab.data.labels import label_matrix
from seqlab.demo.compendium import CompendiumSpec, simulate_compendium
from seqlab.evaluation.introspect import feature_factor_table, plot_feature_factor_heatmap, subspace_association
from seqlab.io.intervals import read_intervals
from seqlab.io.tasks import read_task_table
from seqlab.runs import RunPaths, write_json, write_text
from seqlab.training.base import SeqLabModule
from seqlab.training.mfd import MfdModule
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import build_trainer

__all__ = ["run_mfd_demo"]

HEAD = {
    "columns": {"target": "categorical", "biosample": "categorical", "lab": "categorical", "date": "date"},
    "groups": {"biological": ["target", "biosample"], "technical": ["lab", "date"]},
    "sizes": {"biological": 0.75, "technical": 0.25},
    "hidden": 16,
}


def _config(data: Path, tasks: Path, seed: int, chroms: list[str]) -> DnaRunConfig:
    raw = {
        "seed": seed,
        "name": "demo-mfd",
        "data": {
            "mode": "peaks",
            "genome": str(data / "genome.fa"),
            "genome_name": "simulated",
            "tasks": str(tasks),
            "window_length": 200,
            "min_overlap": 100,
            "negatives": {"ratio": 1.0, "gc_match": False},
            "split": {"val_chroms": [chroms[-2]], "test_chroms": [chroms[-1]]},
            "augment": {"max_shift": 5, "reverse_complement": True},
            "batch_size": 64,
        },
        "model": {"arch": "deepbind", "filters": 64, "kernel_size": 16, "hidden": 32, "dropout": 0.1},
    }
    return validate_config(raw, DnaRunConfig, "demo-mfd", data)


def _fit(module: SeqLabModule, dm: DnaDataModule, run: Path, max_epochs: int) -> dict[str, Any]:
    trainer = build_trainer(
        RunPaths(run), monitor="val_auroc", mode="max", max_epochs=max_epochs, patience=3, accelerator="cpu",
        progress_bar=False,
    )  # fmt: skip
    trainer.fit(module, datamodule=dm)
    trainer.test(module, dataloaders=dm.test_dataloader(), verbose=False, ckpt_path="best")
    return module.last_metrics["test"].to_dict()


@torch.no_grad()
def _impute(module: MfdModule, dm: DnaDataModule, table, held: pd.DataFrame) -> dict[str, Any]:
    """AUROC of each held-out experiment on the test windows, scored from its metadata alone."""
    module.eval()
    head = module.model.head
    codes = head.encode_metadata(held.to_dict("records"))
    probs, index = [], []
    for batch in dm.test_dataloader():
        x = batch["x"]
        both = torch.cat([x, reverse_complement(x, module.encoding)])
        p = torch.sigmoid(head.logits_for(module.model.features(both), codes))
        forward, reverse = p.chunk(2)
        probs.append(((forward + reverse) / 2).numpy())
        index.append(batch["index"].numpy())
    probs_all, rows = np.concatenate(probs), np.concatenate(index)
    windows = table.frame.iloc[rows]
    peaks = {row.task: read_intervals(row.peaks) for row in held.itertuples()}
    labels = label_matrix(windows, peaks, min_overlap=100)
    out = {}
    for t, row in enumerate(held.itertuples()):
        y = labels[:, t]
        auroc = float(roc_auc_score(y, probs_all[:, t])) if 0 < y.sum() < y.size else None
        out[row.task] = {"auroc": auroc, "n_pos": int(y.sum()), "n": int(y.size)}
    return out


def run_mfd_demo(
    out_dir: str | Path = "runs/demo-mfd",
    seed: int = 0,
    max_epochs: int = 8,
    spec: CompendiumSpec | None = None,
    penalty: str = "covariance",
) -> dict[str, Any]:
    """Simulate, train plain and MFD, impute held-out experiments, introspect; write ``metrics.json``.

    Returns:
        ``{"plain": {"test": ...}, "mfd": {"test": ...}, "imputation": {...}, "disentanglement": {...},
        "wall_time_s": ...}`` (also written to ``out_dir/metrics.json``).
    """
    started = time.perf_counter()
    out = Path(out_dir)
    spec = spec or CompendiumSpec()
    paths = simulate_compendium(out / "data", seed=seed, spec=spec)
    tasks = read_task_table(paths["tasks"])
    train_tasks = out / "data" / "tasks_train.tsv"
    keep = pd.read_csv(paths["tasks"], sep="\t", dtype=str, keep_default_na=False)
    write_text(train_tasks, keep[keep["holdout"] == "no"].to_csv(sep="\t", index=False, lineterminator="\n"))
    config = _config(out / "data", train_tasks, seed, list(spec.chrom_sizes))
    table, _ = pipeline.prepare_examples(config)
    dm = DnaDataModule(table, config.data, seed=seed)
    params = pipeline._data_params(config, table)
    optim = {"learning_rate": 3e-3, "weight_decay": 1e-2}

    L.seed_everything(seed, workers=True, verbose=False)
    plain = SupervisedModule(config.model, params, **optim)
    metrics: dict[str, Any] = {"plain": {"test": _fit(plain, dm, out / "plain", max_epochs)}}
    L.seed_everything(seed, workers=True, verbose=False)
    mfd = MfdModule(config.model, params, head=HEAD, mfd={"penalty": penalty, "weight": 0.1}, **optim)
    metrics["mfd"] = {"test": _fit(mfd, dm, out / "mfd", max_epochs), "penalty": penalty}

    held = tasks[tasks["holdout"] == "yes"]
    metrics["imputation"] = _impute(mfd, dm, table, held) if len(held) else {}
    features = feature_factor_table(mfd.model.head, params["task_metadata"], ["target", "biosample", "lab"])
    features.to_csv(out / "mfd" / "introspection.tsv", sep="\t", index=False)
    plot_feature_factor_heatmap(features, out / "mfd" / "introspection.png", title="MFD: weight variance by factor")
    association = subspace_association(features)
    metrics["disentanglement"] = {
        "association": {g: {c: float(v) for c, v in row.items()} for g, row in association.drop("lands_in").iterrows()},
        "lands_in": association.loc["lands_in"].to_dict(),
    }
    metrics["wall_time_s"] = round(time.perf_counter() - started, 1)
    write_json(out / "metrics.json", metrics)
    return metrics
