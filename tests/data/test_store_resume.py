"""Exact resume through the window store: n epochs in one go == k epochs, then --resume to n."""

from __future__ import annotations

import lightning as L
import numpy as np
import pandas as pd
import torch

from seqlab.config import DataConfig, DeepBindConfig
from seqlab.config.hardware import HardwareConfig
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.table import ExampleTable
from seqlab.runs import RunPaths
from seqlab.training.base import make_data_params
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import build_trainer

LENGTH = 32
DROPOUT = 0.3


def _table(n: int = 240) -> ExampleTable:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, size=(n, LENGTH))
    labels = (rng.random((n, 1)) < 0.5).astype(np.float32)
    codes[labels[:, 0] == 1, 10:16] = [2, 0, 3, 0, 0, 2]  # GATAAG
    sequences = ["".join("ACGT"[c] for c in row) for row in codes]
    split = np.where(np.arange(n) % 6 == 0, "val", np.where(np.arange(n) % 6 == 1, "test", "train"))
    frame = pd.DataFrame(
        {"genome": "toy", "chrom": "chr1", "start": np.arange(n) * 100, "strand": "+", "split": split, "source": "x"}
    )
    frame["end"] = frame["start"] + LENGTH
    return ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["gata"]}), sequences=sequences)


def _fit(table, folder, store, max_epochs, resume=False):
    config = DataConfig(
        sources=[{"kind": "sequences", "sets": [{"fasta": "unused.fa", "labels": {"gata": 1}}]}],
        window_length=LENGTH,
        batch_size=32,
        augment={"max_shift": 3, "reverse_complement": True},
    )
    L.seed_everything(0, verbose=False)
    module = SupervisedModule(
        DeepBindConfig(filters=4, kernel_size=5, hidden=8, dropout=DROPOUT),
        make_data_params(["gata"], LENGTH, "onehot", "toy"),
        learning_rate=1e-2,
    )
    run = RunPaths(folder)
    trainer = build_trainer(run, monitor="val_loss", mode="min", max_epochs=max_epochs,
                            hardware=HardwareConfig(accelerator="cpu"),
                            progress_bar=False)  # fmt: skip
    dm = DnaDataModule(table, config, seed=5, store_dir=store)
    trainer.fit(module, datamodule=dm, ckpt_path=run.last_checkpoint if resume else None)
    return module


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    table = _table()
    straight = _fit(table, tmp_path / "a", tmp_path / "store", 3)
    _fit(table, tmp_path / "b", tmp_path / "store", 1)
    resumed = _fit(table, tmp_path / "b", tmp_path / "store", 3, resume=True)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    # the store was built once and reused by the three runs
    assert len([p for p in (tmp_path / "store").iterdir()]) == 1
