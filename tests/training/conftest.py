"""Synthetic planted-motif data and a tiny DeepBind for training tests (fixture ``motifs``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from seqlab.config import DeepBindConfig
from seqlab.training.base import make_data_params

LENGTH = 40
MOTIFS = {"gata": "GATAAG", "ebox": "CACGTG"}
TINY = DeepBindConfig(filters=8, kernel_size=6, hidden=8, dropout=0.0)
DATA_PARAMS = make_data_params(
    list(MOTIFS), LENGTH, "onehot", "synthetic", [{"task": t, "target": t.upper()} for t in MOTIFS]
)


class MotifDataset(Dataset):
    """Random sequences; task t is positive (independently, p=0.5) when its motif is planted."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        codes = rng.integers(0, 4, size=(n, LENGTH))
        labels = rng.random((n, len(MOTIFS))) < 0.5
        for column, motif in enumerate(MOTIFS.values()):
            motif_codes = np.array(["ACGT".index(base) for base in motif])
            for row in np.nonzero(labels[:, column])[0]:
                start = rng.integers(0, LENGTH - len(motif) + 1)
                codes[row, start : start + len(motif)] = motif_codes
        self.x = torch.nn.functional.one_hot(torch.from_numpy(codes), 4).float().transpose(1, 2).contiguous()
        self.y = torch.from_numpy(labels.astype(np.float32))
        self.weight = torch.ones_like(self.y)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i], "weight": self.weight[i], "index": torch.tensor(i)}


def loaders(n_train: int = 512, n_eval: int = 256, batch_size: int = 64) -> tuple[DataLoader, DataLoader, DataLoader]:
    """Train (shuffled), validation and test loaders of the planted-motif data."""
    return (
        DataLoader(MotifDataset(n_train, seed=1), batch_size=batch_size, shuffle=True),
        DataLoader(MotifDataset(n_eval, seed=2), batch_size=batch_size),
        DataLoader(MotifDataset(n_eval, seed=3), batch_size=batch_size),
    )


@pytest.fixture(scope="session")
def motifs() -> SimpleNamespace:
    """The tiny model config, its data parameters and the loader factory."""
    return SimpleNamespace(config=TINY, data_params=DATA_PARAMS, loaders=loaders, length=LENGTH)

