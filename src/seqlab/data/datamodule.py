"""LightningDataModule over an :class:`~seqlab.data.build.ExampleTable` split by chromosome.

By default (``data.store.enabled``) the windows are materialised once into a window store
(:mod:`seqlab.data.store`) and read a whole batch at a time (:mod:`seqlab.data.batches`); with the
store disabled, :class:`~seqlab.data.dataset.WindowDataset` reads the FASTA window by window.

Training batches are one-hot encoded on the accelerator after the transfer when there is one
(``on_after_batch_transfer``; the loader then yields uint8 ``codes``), else in the loader.
Validation and test loaders always yield ``x``, so they also work when passed to a trainer on their
own; on a CUDA machine the training loader needs the DataModule attached (``trainer.fit(module,
datamodule=dm)``) or ``dm.on_after_batch_transfer`` called on its batches.

The training order, the augmentation and the torch random state at the start of a training epoch
(dropout) are functions of (seed, epoch), and the sampler's epoch and position are saved in
checkpoints (``state_dict``), so a resumed run computes what an uninterrupted one would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from seqlab.config import DataConfig
from seqlab.config.data import StoreConfig
from seqlab.data.batches import StoreDataset, StoreSampler, collate_batch, encode_codes
from seqlab.data.dataset import WindowDataset
from seqlab.data.encoding import n_channels
from seqlab.data.store import WindowStore, default_store_root
from seqlab.data.table import ExampleTable

__all__ = ["DnaDataModule"]


class DnaDataModule(L.LightningDataModule):
    """Train / val / test loaders of DNA windows (batches as in docs/architecture.md).

    Args:
        table: the built examples (``split`` column decides the loaders).
        data_config: batch size, encoding, augmentation, window length, store.
        seed: seeds the training order and the augmentation.
        store_dir: folder of window stores (overrides ``data.store.dir``; the pipeline passes
            ``<run>/store``); default ``data.store.dir``, else :func:`default_store_root`.
        workers: DataLoader worker processes (``hardware.workers``).
        profiles: the targets are the table's base-resolution profiles (a profile model): batches carry
            ``profile`` (and ``control`` when the table has control profiles) (B, T, L_out), read per batch
            from the memory-mapped store; otherwise one target value per window (``with_targets_as_labels``).

    Raises:
        ValueError: ``profiles`` for a table without profiles; profiles with shift augmentation or without
            the window store.
    """

    def __init__(
        self,
        table: ExampleTable,
        data_config: DataConfig,
        seed: int = 0,
        store_dir: str | Path | None = None,
        workers: int = 0,
        profiles: bool = False,
    ) -> None:
        super().__init__()
        if profiles and table.profiles is None:
            raise ValueError("a profile model needs base-resolution targets: a tracks source with profile: true")
        # quantitative targets (tracks): one value per window and task, unless the profiles are the targets
        self.table = table if profiles else table.with_targets_as_labels()
        self.profiles = profiles
        self.config = data_config
        self.seed = seed
        self.workers = int(workers)
        store_config = getattr(data_config, "store", None) or StoreConfig()
        self.use_store = store_config.enabled and (table.sequences is not None or bool(table.genomes))
        if profiles and not self.use_store:
            raise ValueError("profile targets are read through the window store: set data.store.enabled: true")
        self.store_dir = Path(store_dir) if store_dir is not None else store_config.dir
        self.store: WindowStore | None = None
        self.datasets: dict[str, Dataset] = {}
        self.samplers: dict[str, StoreSampler] = {}
        self._pending_state: dict[str, Any] | None = None

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

    @property
    def encode_on_device(self) -> bool:
        """Whether training batches are encoded after the transfer (a CUDA device is present)."""
        return self.use_store and torch.cuda.is_available()

    def window_store(self) -> WindowStore:
        """The table's window store, built on first use (reused while its key matches)."""
        if self.store is None:
            root = self.store_dir if self.store_dir is not None else default_store_root()
            flank = self.config.augment.max_shift
            self.store = WindowStore.open_or_build(self.table, root, self.config.window_length, flank)
        return self.store

    def dataset(self, split: str) -> Dataset:
        """The dataset of ``split`` (built once; augmentation only for 'train')."""
        if split not in self.datasets:
            augment = self.config.augment if split == "train" else None
            if not self.use_store:
                self.datasets[split] = WindowDataset(self.table, split, self.config.encoding, augment, self.seed)
            else:
                self.datasets[split] = StoreDataset(
                    self.window_store(),
                    self.table.split_indices(split),
                    self.table.labels,
                    self.table.weights,
                    self.config.encoding,
                    max_shift=augment.max_shift if augment is not None else 0,
                    reverse_complement=bool(augment is not None and augment.reverse_complement),
                    seed=self.seed,
                    encode=not (split == "train" and self.encode_on_device),
                    profiles=self.table.profiles if self.profiles else None,
                    controls=self.table.control_profiles if self.profiles else None,
                )
        return self.datasets[split]

    def setup(self, stage: str | None = None) -> None:
        """Create the datasets a stage needs ('fit': train + val; 'validate': val; 'test': test)."""
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(
            stage or "", ("train", "val", "test")
        )
        for split in wanted:
            self.dataset(split)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        workers = self.workers
        dataset = self.dataset(split)
        common: dict[str, Any] = {
            "batch_size": self.config.batch_size,
            "num_workers": workers,
            "persistent_workers": workers > 0,
            "pin_memory": torch.cuda.is_available(),
        }
        if not isinstance(dataset, StoreDataset):
            generator = torch.Generator().manual_seed(self.seed) if shuffle else None
            return DataLoader(dataset, shuffle=shuffle, generator=generator, **common)
        sampler = StoreSampler(len(dataset), self.seed, shuffle=shuffle, reseed_torch=split == "train")
        if split == "train" and self._pending_state is not None:
            sampler.load_state_dict(self._pending_state)
            self._pending_state = None
        self.samplers[split] = sampler
        return DataLoader(dataset, sampler=sampler, collate_fn=collate_batch, **common)

    def train_dataloader(self) -> DataLoader:
        """Shuffled (seeded per epoch) training batches with augmentation."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in table order."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test batches in table order."""
        return self._loader("test", shuffle=False)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Encode uint8 ``codes`` (B, L) into ``x`` float32 (B, C, L) on the batch's device."""
        if isinstance(batch, dict) and "codes" in batch and "x" not in batch:
            batch = dict(batch)
            batch["x"] = encode_codes(batch.pop("codes"), self.config.encoding)
        return batch

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps for an exact resume: the training sampler's epoch and position.

        The rest of the random state is a function of (seed, epoch): the order, the augmentation and
        the torch generator at the start of every training epoch (``StoreSampler(reseed_torch=True)``).
        """
        state: dict[str, Any] = {}
        if "train" in self.samplers:
            state["train_sampler"] = self.samplers["train"].state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (called by Lightning when a fit resumes from a checkpoint)."""
        sampler_state = state_dict.get("train_sampler")
        if sampler_state is not None:
            if "train" in self.samplers:
                self.samplers["train"].load_state_dict(sampler_state)
            else:
                self._pending_state = sampler_state
