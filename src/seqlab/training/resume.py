"""Exact resume: the random states and the position in the training data travel in every checkpoint.

Lightning restores the weights, optimiser, scheduler and loop counters from a checkpoint, but not the
global random generators (dropout draws from them) and not where in an epoch's shuffled order the
run stopped: it restarts the epoch's data from its first batch. :class:`ResumeState` fills both
gaps, so a run killed after a checkpoint and resumed ends with the metrics of an uninterrupted run:

- the torch (CPU and CUDA), NumPy and Python random states are saved with the checkpoint and set
  again when a fit resumes from it;
- whether early stopping had ended the fit, so a finished stage resumed trains no further;
- with a :class:`ResumableSampler` (the shuffled order of epoch ``e`` is a function of the seed and
  ``e`` only), the epoch and the number of batches trained in it are saved, and the resumed epoch
  skips the batches already trained;
- :class:`PositionSeededCollate` draws a batch's random numbers (e.g. MLM masking) from a generator
  seeded by the seed, the epoch and the batch's position, not from a stream that prefetching and
  resuming would shift.

Single-process only: under DDP Lightning wraps the sampler in a distributed one (the order is then
per-rank, and a mid-epoch resume restarts that epoch's data as Lightning does).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import Dataset, Sampler

__all__ = ["PositionSeededCollate", "PositionedDataset", "ResumablePosition", "ResumableSampler", "ResumeState"]

CHECKPOINT_KEY = "seqlab_resume"


def _seed_of(*parts: int) -> int:
    """A 32-bit seed mixed from ``parts`` (NumPy's SeedSequence)."""
    return int(np.random.SeedSequence([int(p) % (1 << 63) for p in parts]).generate_state(1, np.uint32)[0])


class ResumableSampler(Sampler[tuple[int, int, int]]):
    """A shuffled order per epoch that depends only on ``seed`` and the epoch, and can start mid-epoch.

    Yields ``(index, epoch, position)`` keys (``position`` counts the examples of the epoch before this
    one) for a :class:`PositionedDataset`. Lightning calls :meth:`set_epoch` at each epoch's start.
    """

    def __init__(self, n: int, seed: int, shuffle: bool = True) -> None:
        self.n = n
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration yields."""
        self.epoch = epoch

    def resume(self, epoch: int, examples_done: int) -> None:
        """Start the next iteration in ``epoch`` after its first ``examples_done`` examples."""
        if examples_done >= self.n:
            epoch, examples_done = epoch + 1, 0
        self.epoch, self.skip = epoch, examples_done

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        epoch, start, self.skip = self.epoch, self.skip, 0
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n) if self.shuffle else np.arange(self.n)
        for position in range(start, self.n):
            yield int(order[position]), epoch, position


class PositionedDataset(Dataset):
    """Items of a list addressed by :class:`ResumableSampler` keys: returns ``(item, (epoch, position))``."""

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int, int]) -> tuple[Any, tuple[int, int]]:
        index, epoch, position = key
        return self.items[index], (epoch, position)


class PositionSeededCollate:
    """Wrap a collate function with a ``generator`` attribute: each batch gets its own seeded generator.

    The generator is seeded by ``seed``, the epoch and the position of the batch's first example, so
    a batch is drawn the same whether it is prefetched, re-read after a resume, or read by a worker.
    """

    def __init__(self, collate: Callable[[list[Any]], Any], seed: int) -> None:
        self.collate = collate
        self.seed = seed

    def __call__(self, items: list[tuple[Any, tuple[int, int]]]) -> Any:
        """Collate the items of :class:`PositionedDataset` (their keys are dropped)."""
        epoch, position = items[0][1]
        self.collate.generator = torch.Generator().manual_seed(_seed_of(self.seed, epoch, position))  # type: ignore[attr-defined]
        return self.collate([item for item, _ in items])


def _rng_states() -> dict[str, Any]:
    """The global random states as tensors and plain Python values (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
        "python": [version, list(internal), gauss_next],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


class ResumablePosition(Protocol):
    """What :class:`ResumeState` needs from a training sampler: start the next iteration mid-epoch."""

    def resume(self, epoch: int, examples_done: int) -> None:
        """Start the next iteration in ``epoch`` after its first ``examples_done`` examples."""


class ResumeState(Callback):
    """Save the random states (and a :class:`ResumableSampler`'s position) in checkpoints; restore on resume.

    Args:
        sampler: the training loader's sampler, when it is resumable (a :class:`ResumableSampler`, or any
            object with ``resume(epoch, examples_done)``; a DNA data path can provide one).
        batch_size: examples per training batch (to turn batches trained into examples to skip).
    """

    def __init__(self, sampler: ResumablePosition | None = None, batch_size: int = 1) -> None:
        self.sampler = sampler
        self.batch_size = batch_size

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """Add ``seqlab_resume``: ``{"rng", "epoch": e, "batches": trained in epoch e, "should_stop"}``."""
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        checkpoint[CHECKPOINT_KEY] = {
            "rng": _rng_states(),
            "epoch": trainer.current_epoch,
            "batches": progress.completed,
            "should_stop": bool(trainer.should_stop),
        }

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """Set the saved random states and the sampler's position (checkpoints without them: unchanged)."""
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            return
        _set_rng_states(state["rng"])
        # early stopping had ended the fit (Lightning does not keep that decision): the fit stays ended
        trainer.should_stop = bool(state.get("should_stop", False))
        if self.sampler is not None and trainer.world_size == 1:  # DDP: the epoch restarts, as in Lightning
            self.sampler.resume(int(state["epoch"]), int(state["batches"]) * self.batch_size)
