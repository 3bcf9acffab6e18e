"""Multi-process job of tests/training/test_ddp.py (not a test module itself).

``python ddp_job.py OUT DEVICES`` trains a small DeepBind model with ``strategy=ddp`` on ``DEVICES``
CPU processes (gloo) and, on rank 0, writes ``OUT/gathered.json`` (the whole-split metrics each
validation/test epoch gathered from every process) and ``OUT/weights.pt`` (the final weights).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from seqlab.config.hardware import HardwareConfig
from seqlab.runs import RunPaths
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import build_trainer

TASKS = ["A", "B"]
LENGTH = 40
MOTIF = np.array([0, 3, 2, 1, 0, 3], dtype=np.int64)  # ATGCAT


class Windows(Dataset):
    """Random one-hot windows; task A positive when the motif is planted, B when planted twice."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        bases = rng.integers(0, 4, size=(n, LENGTH))
        planted = rng.integers(0, 3, size=n)
        for i in np.flatnonzero(planted):
            for k in range(planted[i]):
                start = 4 + 15 * k + int(rng.integers(0, 5))
                if rng.random() < 0.85:
                    bases[i, start : start + len(MOTIF)] = MOTIF
        self.x = torch.nn.functional.one_hot(torch.from_numpy(bases), 4).permute(0, 2, 1).float()
        self.y = torch.from_numpy(np.stack([planted >= 1, planted >= 2], axis=1).astype(np.float32))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i], "weight": torch.ones(len(TASKS)), "index": torch.tensor(i)}


def loaders() -> dict[str, DataLoader]:
    """Train (shuffled), val (101 windows: uneven across 2 processes) and test (77) loaders."""
    sizes = {"train": (256, 1), "val": (101, 2), "test": (77, 3)}
    return {
        split: DataLoader(Windows(n, seed), batch_size=32, shuffle=split == "train",
                          generator=torch.Generator().manual_seed(0) if split == "train" else None)
        for split, (n, seed) in sizes.items()
    }  # fmt: skip


def module() -> SupervisedModule:
    """A small DeepBind of the same initial weights in every process."""
    torch.manual_seed(0)
    data_params = {"tasks": TASKS, "window_length": LENGTH, "encoding": "onehot", "genome_name": "toy"}
    model = {"trunk": {"arch": "deepbind", "filters": 8, "kernel_size": 6, "hidden": 8}}
    return SupervisedModule(model, data_params, learning_rate=0.01)


def _windows(metrics) -> int:
    """Windows a split's metrics were computed on (every label of task A is unmasked)."""
    return int(metrics.per_task["A"].n_pos + metrics.per_task["A"].n_neg)


def main(out: Path, devices: int) -> None:
    """Fit 2 epochs, test, and write the gathered metrics and the weights (rank 0)."""
    torch.set_num_threads(1)
    L.seed_everything(0, workers=True, verbose=False)
    data = loaders()
    model = module()
    strategy = "ddp" if devices > 1 else "auto"
    hardware = HardwareConfig(accelerator="cpu", devices=devices, strategy=strategy)
    trainer = build_trainer(RunPaths(out), monitor="val_auroc", mode="max", max_epochs=2, hardware=hardware,
                            progress_bar=False)  # fmt: skip
    trainer.fit(model, data["train"], data["val"])
    trainer.test(model, data["test"], verbose=False)
    if trainer.is_global_zero:
        gathered = {split: {"n": _windows(model.last_metrics[split]),
                            "auroc": model.last_metrics[split].auroc,
                            "per_task": {t: model.last_metrics[split].per_task[t].auroc for t in TASKS}}
                    for split in ("val", "test")}  # fmt: skip
        gathered["world_size"] = trainer.world_size
        (out / "gathered.json").write_text(json.dumps(gathered))
        torch.save(model.state_dict(), out / "weights.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
