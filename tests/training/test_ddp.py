"""Multi-process training on the CPU (issue 6): 2 DDP processes (gloo) gather whole-split metrics that
equal a single process's on the same data and weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_gathers_the_whole_split_metrics(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        import ddp_job
    finally:
        sys.path.remove(str(HERE))
    import torch

    from seqlab.config.hardware import HardwareConfig
    from seqlab.runs import RunPaths
    from seqlab.training.trainer import build_trainer

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1] / "src"), *sys.path]))
    job = subprocess.run([sys.executable, str(HERE / "ddp_job.py"), str(tmp_path / "ddp"), "2"], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert job.returncode == 0, job.stderr[-3000:]
    gathered = json.loads((tmp_path / "ddp" / "gathered.json").read_text())
    assert gathered["world_size"] == 2
    assert gathered["val"]["n"] == 101 and gathered["test"]["n"] == 77  # every window once (padding removed)

    # one process, the same data and the DDP run's final weights
    model = ddp_job.module()
    model.load_state_dict(torch.load(tmp_path / "ddp" / "weights.pt"))
    data = ddp_job.loaders()
    trainer = build_trainer(RunPaths(tmp_path / "single"), monitor="val_auroc", mode="max",
                            hardware=HardwareConfig(accelerator="cpu", devices=1), progress_bar=False)  # fmt: skip
    trainer.validate(model, data["val"], verbose=False)
    trainer.test(model, data["test"], verbose=False)
    for split in ("val", "test"):
        single = model.last_metrics[split]
        assert ddp_job._windows(single) == gathered[split]["n"]
        assert single.auroc == pytest.approx(gathered[split]["auroc"], abs=1e-6)
        for task, auroc in gathered[split]["per_task"].items():
            assert single.per_task[task].auroc == pytest.approx(auroc, abs=1e-6)
    assert 0.6 < gathered["val"]["per_task"]["A"] < 1.0  # a learnt, non-trivial value is compared


def test_a_wrapped_store_sampler_gets_the_epoch_so_augmentation_differs_per_epoch(tmp_path):
    """Under DDP Lightning wraps the training sampler (DistributedSamplerWrapper); SamplerEpoch hands the epoch to
    the StoreSampler inside, so each epoch has its own order, shifts and flips on every rank."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd
    import torch
    from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
    from lightning.pytorch.utilities.data import _update_dataloader

    from seqlab.config import DataConfig
    from seqlab.data.datamodule import DnaDataModule
    from seqlab.data.table import ExampleTable
    from seqlab.training.trainer import SamplerEpoch

    rng = np.random.default_rng(0)
    n, length = 40, 24
    frame = pd.DataFrame({"genome": "g", "chrom": "c", "start": np.arange(n) * 100, "end": np.arange(n) * 100 + length,
                          "strand": "+", "split": "train", "source": "x"})  # fmt: skip
    sequences = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    table = ExampleTable(frame, np.zeros((n, 1)), np.ones((n, 1)), pd.DataFrame({"task": ["T"]}), sequences=sequences)
    data = DataConfig(sources=[{"kind": "sequences", "sets": [{"fasta": tmp_path / "unused.fa", "labels": {"T": 1}}]}],
                      window_length=length, batch_size=8,
                      augment={"max_shift": 3, "reverse_complement": True})  # fmt: skip
    loader = DnaDataModule(table, data, seed=1, store_dir=tmp_path / "store").train_dataloader()
    epochs: dict[int, dict[int, torch.Tensor]] = {}
    for epoch in (0, 1):
        seen: dict[int, torch.Tensor] = {}
        for rank in (0, 1):
            wrapped = DistributedSamplerWrapper(loader.sampler, num_replicas=2, rank=rank, shuffle=False)
            ddp_loader = _update_dataloader(loader, wrapped)
            SamplerEpoch().on_train_epoch_start(SimpleNamespace(train_dataloader=ddp_loader, current_epoch=epoch), None)
            assert loader.sampler.epoch == epoch
            for batch in ddp_loader:
                seen.update(zip(batch["index"].tolist(), batch["x"], strict=True))
        assert sorted(seen) == list(range(n))  # the two ranks share every window of the epoch once
        epochs[epoch] = seen
    changed = sum(not torch.equal(epochs[0][row], epochs[1][row]) for row in range(n))
    assert changed > n // 2  # shifts and flips are drawn anew in epoch 1 (they were epoch 0's again)


def _ssl_config(tmp_path):
    from seqlab.demo.evolve import Branch, evolve_species
    from seqlab.demo.simulate import FactorSpec

    tree = (Branch("ape", substitution_rate=0.02, indel_rate=0.001, inversions=1, transpositions=0),)
    factors = (FactorSpec("REST", "MA0138", sites=36, decoys=6, noise_peaks=2),)
    evolved = evolve_species(tmp_path / "sim", seed=4, chrom_sizes={f"chr{i}": 40_000 for i in range(1, 7)},
                             factors=factors, tree=tree)  # fmt: skip
    one = {"max_epochs": 2, "learning_rate": 0.01, "patience": 2}
    return {
        "data": {
            "genomes": {"human": {"fasta": str(evolved.human["genome"])},
                        "ape": {"fasta": str(evolved.genomes["ape"]), "chain": str(evolved.chains["ape"])}},
            "tasks": str(evolved.human["tasks"]),
            "sources": [{"kind": "peaks", "negatives": {"ratio": 1.0}}, {"kind": "lifted", "min_match": 0.5}],
            "split": {"val_chroms": ["chr5"], "test_chroms": ["chr6"]},
            "batch_size": 32,
        },
        "model": {"trunk": {"arch": "deepbind", "filters": 8, "kernel_size": 12, "hidden": 8}},
        "train": {"scheme": "ssl"},
        "ssl": {"pretrain": one, "finetune": one},
    }  # fmt: skip


def _mfd_config(tmp_path):
    from seqlab.demo.compendium import simulate_compendium
    from seqlab.demo.mfd import demo_configs
    from tests.demo.test_mfd_demo import TINY

    paths = simulate_compendium(tmp_path / "sim", seed=1, spec=TINY)
    raw = demo_configs(paths, 1, 2, list(TINY.chrom_sizes))["mfd"]
    raw["mfd"]["holdout_reference"] = False
    return raw


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["ssl", "mfd"])
def test_ssl_and_mfd_runs_on_two_cpu_processes_select_on_the_single_process_metrics(tmp_path, scheme):
    """An ssl and an mfd run through ``seqlab train`` with hardware.devices 2 (DDP, gloo): every stage's best
    checkpoint was selected on a validation AUROC gathered from both processes; it equals the AUROC that one
    process computes on the whole validation split with the same weights (the stage's metrics.json)."""
    import torch
    import yaml

    raw = _ssl_config(tmp_path) if scheme == "ssl" else _mfd_config(tmp_path)
    raw["seed"] = 0
    raw["data"]["split"]["allow_small_splits"] = True  # tiny simulated sets
    raw["train"] |= {"progress_bar": False, "monitor": "val_auroc"}
    raw["hardware"] = {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "threads": 1}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1] / "src"), str(HERE.parents[1]), *sys.path]))
    job = subprocess.run([sys.executable, str(HERE / "ddp_schemes_job.py"), str(config), str(tmp_path / "run")],
                         env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert job.returncode == 0, job.stderr[-3000:]
    run = tmp_path / "run"
    stages = ["pretrain", "finetune"] if scheme == "ssl" else [""]
    for stage in stages:
        best = torch.load(run / stage / "checkpoints" / "best.ckpt", weights_only=False)
        gathered = next(v["best_model_score"] for k, v in best["callbacks"].items()
                        if k.startswith("ModelCheckpoint") and "val_auroc" in k)
        single = json.loads((run / stage / "metrics.json").read_text())["val"]["auroc"]
        assert 0.0 < single < 1.0 and single != 0.5  # a non-trivial value is compared
        assert float(gathered) == pytest.approx(single, abs=1e-6)
