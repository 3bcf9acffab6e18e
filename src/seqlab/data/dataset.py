"""Map-style dataset over one split of an :class:`~seqlab.data.build.ExampleTable`.

Windows are read lazily from the genome (one pyfaidx handle per worker process, reopened after a
fork) or taken from the table's in-memory sequences. Training-time augmentation (random shift and
reverse complement) is applied to the training split only.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from seqlab.config import AugmentConfig
from seqlab.data.build import ExampleTable
from seqlab.data.encoding import encode, n_channels, reverse_complement_sequence
from seqlab.data.sparse import dense_rows
from seqlab.io.genome import Genome

__all__ = ["WindowDataset"]


class WindowDataset(Dataset[dict[str, torch.Tensor]]):
    """Examples of one split as batch items ``{"x", "y", "weight", "index"}``.

    Args:
        table: the examples.
        split: 'train', 'val', 'test', or None for every row.
        encoding: 'onehot' (C=4) or 'dinucleotide' (C=16).
        augment: shift/reverse-complement settings; used only when ``split == 'train'``.
        seed: base seed of the augmentation random numbers (combined with the worker's seed).

    Items:
        ``x`` float32 (C, L), ``y`` float32 (T,), ``weight`` float32 (T,), ``index`` int64 scalar
        (the row of ``table.frame``).
    """

    def __init__(
        self,
        table: ExampleTable,
        split: str | None,
        encoding: str = "onehot",
        augment: AugmentConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.table = table
        self.split = split
        self.encoding = encoding
        self.channels = n_channels(encoding)
        self.rows = table.split_indices(split)
        self.augment = augment if split == "train" else None
        self.shift = self.augment.max_shift if self.augment is not None else 0
        self.flip = bool(self.augment is not None and self.augment.reverse_complement)
        self.seed = seed
        frame = table.frame
        self._chrom = frame["chrom"].to_numpy(dtype=object)
        self._start = frame["start"].to_numpy(dtype=np.int64)
        self._end = frame["end"].to_numpy(dtype=np.int64)
        self._minus = (frame["strand"] == "-").to_numpy()
        self._genome_of = frame["genome"].to_numpy(dtype=object)
        self._sparse = table.sparse  # sparse labels/weights: one row densified per item
        self._labels = table.labels if self._sparse else torch.from_numpy(table.labels)
        self._weights = table.weights if self._sparse else torch.from_numpy(table.weights)
        self._genomes: dict[str, Genome] = {}
        self._rng: np.random.Generator | None = None
        self._rng_key: tuple[int, int] | None = None
        if table.sequences is None:
            missing = sorted(set(self._genome_of[self.rows].tolist()) - set(table.genomes))
            if missing:
                raise ValueError(f"examples refer to genome(s) {missing} that the table has no FASTA for")

    def __len__(self) -> int:
        return int(self.rows.size)

    def _generator(self) -> np.random.Generator:
        """Augmentation RNG of this process: seeded by ``seed`` and the DataLoader worker seed."""
        info = get_worker_info()
        key = (os.getpid(), info.seed if info is not None else 0)
        if self._rng is None or self._rng_key != key:
            self._rng = np.random.default_rng([self.seed, key[1] % (1 << 63)])
            self._rng_key = key
        return self._rng

    def _genome(self, name: str) -> Genome:
        genome = self._genomes.get(name)
        if genome is None:
            genome = self._genomes[name] = Genome(self.table.genomes[name], name)
        return genome

    def sequence(self, row: int, shift: int = 0) -> str:
        """Sequence of example ``row`` (a frame row), moved ``shift`` bp along the genome, on its strand.

        Genome windows read the shifted range (N off the chromosome); in-memory sequences are
        shifted with N fill.
        """
        if self.table.sequences is not None:
            sequence = self.table.sequences[row]
            if shift:
                length = len(sequence)
                padded = "N" * abs(shift) + sequence + "N" * abs(shift)
                sequence = padded[abs(shift) + shift : abs(shift) + shift + length]
            return sequence
        sequence = self._genome(self._genome_of[row]).fetch(
            self._chrom[row], self._start[row] + shift, self._end[row] + shift, pad=True
        )
        return reverse_complement_sequence(sequence) if self._minus[row] else sequence

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        row = int(self.rows[item])
        shift, flip = 0, False
        if self.augment is not None:
            rng = self._generator()
            if self.shift:
                shift = int(rng.integers(-self.shift, self.shift + 1))
            flip = self.flip and bool(rng.random() < 0.5)
        sequence = self.sequence(row, shift)
        if flip:
            sequence = reverse_complement_sequence(sequence)
        return {
            "x": torch.from_numpy(encode(sequence, self.encoding)),
            "y": torch.from_numpy(dense_rows(self._labels, [row])[0]) if self._sparse else self._labels[row],
            "weight": torch.from_numpy(dense_rows(self._weights, [row])[0]) if self._sparse else self._weights[row],
            "index": torch.tensor(row, dtype=torch.int64),
        }
