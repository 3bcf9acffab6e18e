"""LightningDataModule over an :class:`~seqlab.data.build.ExampleTable` split by chromosome."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader

from seqlab.config import DataConfig
from seqlab.data.build import ExampleTable
from seqlab.data.dataset import WindowDataset
from seqlab.data.encoding import n_channels

__all__ = ["DnaDataModule"]


class DnaDataModule(L.LightningDataModule):
    """Train / val / test loaders of DNA windows (batches as in docs/architecture.md).

    Args:
        table: the built examples (``split`` column decides the loaders).
        data_config: batch size, workers, encoding, augmentation, window length.
        seed: seeds the training shuffle (a torch Generator) and the augmentation.
    """

    def __init__(self, table: ExampleTable, data_config: DataConfig, seed: int = 0) -> None:
        super().__init__()
        self.table = table
        self.config = data_config
        self.seed = seed
        self.datasets: dict[str, WindowDataset] = {}

    @property
    def n_tasks(self) -> int:
        """Number of tasks T (label columns)."""
        return self.table.n_tasks

    @property
    def task_names(self) -> list[str]:
        """Task names in label-column order."""
        return self.table.task_names

    @property
    def in_channels(self) -> int:
        """Input channels C of the configured encoding (4 one-hot, 16 dinucleotide)."""
        return n_channels(self.config.encoding)

    @property
    def seq_len(self) -> int:
        """Window length L in bp."""
        return self.config.window_length

    def dataset(self, split: str) -> WindowDataset:
        """The dataset of ``split`` (built once; augmentation only for 'train')."""
        if split not in self.datasets:
            augment = self.config.augment if split == "train" else None
            self.datasets[split] = WindowDataset(self.table, split, self.config.encoding, augment, self.seed)
        return self.datasets[split]

    def setup(self, stage: str | None = None) -> None:
        """Create the datasets a stage needs ('fit': train + val; 'validate': val; 'test': test)."""
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(
            stage or "", ("train", "val", "test")
        )
        for split in wanted:
            self.dataset(split)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        workers = self.config.num_workers
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            self.dataset(split),
            batch_size=self.config.batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled (seeded) training batches with augmentation."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in table order."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test batches in table order."""
        return self._loader("test", shuffle=False)
