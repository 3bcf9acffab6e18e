"""Scoring helpers shared by every prediction path: the window rule, batched forward passes, strand averaging.

* :func:`fit_to_window`: the one rule for a sequence whose length is not the model's window ``L``:
  the ``L`` bp centred on the sequence are scored (they start ``len // 2 - L // 2`` bp in), so a
  longer sequence is centre-cropped and a shorter one is padded with ``N`` on both sides (base
  ``len // 2`` of the sequence sits at position ``L // 2`` of the window either way), as genome windows
  crossing a chromosome end are padded.
* :func:`map_batches`: encode batches of equal-length sequences and run a forward function on each, in
  eval mode under ``torch.inference_mode``, with an optional progress bar on stderr.
* :func:`strand_scores`: probabilities (mean of the sigmoids) and logits (mean) over the strand axis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from seqlab.data.encoding import encode_batch

__all__ = [
    "eval_mode",
    "fit_to_window",
    "map_batches",
    "model_device",
    "n_fraction",
    "strand_scores",
    "warn_fitted",
]

log = logging.getLogger(__name__)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model without any)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block and restore its previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def fit_to_window(sequences: Sequence[str], length: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The ``length``-bp window centred on each sequence (module docstring): cropped or padded with N.

    Args:
        sequences: N strings of any length.
        length: the model's window length L.

    Returns:
        ``(windows, cropped, padded)``: N strings of ``length`` bp, and bool (N,) arrays saying which
        sequences were longer (centre-cropped) and which shorter (padded with N) than the window.
    """
    windows: list[str] = []
    lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
    for sequence, size in zip(sequences, lengths.tolist(), strict=True):
        offset = size // 2 - length // 2
        if offset >= 0:
            windows.append(sequence[offset : offset + length])
        else:
            windows.append(("N" * -offset + sequence).ljust(length, "N"))
    return windows, lengths > length, lengths < length


def warn_fitted(cropped: np.ndarray, padded: np.ndarray, length: int) -> None:
    """Log one warning counting the cropped and one counting the padded sequences of :func:`fit_to_window`."""
    if cropped.any():
        log.warning("%d of %d sequences are longer than the %d bp window: their centre %d bp were scored",
                    int(cropped.sum()), cropped.size, length, length)  # fmt: skip
    if padded.any():
        log.warning("%d of %d sequences are shorter than the %d bp window: padded with N on both sides",
                    int(padded.sum()), padded.size, length)  # fmt: skip


def n_fraction(sequences: Sequence[str]) -> np.ndarray:
    """float64 (N,): the share of ``N``/``n`` in each sequence (0 for an empty one)."""
    return np.array([(s.count("N") + s.count("n")) / len(s) if s else 0.0 for s in sequences], dtype=np.float64)


def map_batches(
    model: nn.Module,
    batches: Iterable[list[str]],
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    encoding: str,
    total: int | None = None,
    description: str = "predicting",
    progress: bool = True,
) -> np.ndarray:
    """Encode batches of equal-length sequences and run ``forward(model, x)`` on each.

    The model is put in eval mode (its previous mode is restored afterwards) and runs under
    ``torch.inference_mode`` on its own device. A progress bar (on stderr) is shown when
    ``progress`` is set and there is more than one batch (or their number is unknown).

    Args:
        model: the network.
        batches: at least one non-empty list of sequences of one length per batch.
        forward: maps the model and float32 (B, C, L) inputs to a tensor with B rows.
        encoding: 'onehot' or 'dinucleotide'.
        total: number of batches, for the progress bar (None: unknown).
        description: label of the progress bar.
        progress: allow the progress bar.

    Returns:
        float32 numpy array: the outputs of every batch concatenated along the first axis.
    """
    device = model_device(model)
    outputs: list[np.ndarray] = []
    show = progress and (total is None or total > 1)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        eval_mode(model),
        torch.inference_mode(),
        Progress(*columns, console=Console(stderr=True), transient=True, disable=not show) as bar,
    ):
        task = bar.add_task(description, total=total)
        for sequences in batches:
            x = encode_batch(sequences, encoding).to(device)
            outputs.append(forward(model, x).float().cpu().numpy())
            bar.advance(task)
    if not outputs:
        raise ValueError("map_batches needs at least one batch")
    return np.concatenate(outputs, axis=0)


def strand_scores(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and logits averaged over the strand axis (and any axes before the last but one).

    Args:
        logits: float (..., S, T) logits, S the strands (and shifts) to average.

    Returns:
        ``(prob, logit)``, float64 (..., T): the mean of the sigmoids, and the mean of the logits.
    """
    values = np.asarray(logits, dtype=np.float64)
    prob = (0.5 + 0.5 * np.tanh(values / 2)).mean(axis=-2)  # sigmoid without overflow warnings
    return prob, values.mean(axis=-2)
