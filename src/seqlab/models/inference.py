"""Strand-averaged predictions of a model on the examples of a table (what evaluation and teachers need).

:func:`predict_table` lives at the model layer so that training schemes (a Noisy Student teacher
relabelling homologs) and evaluation (:mod:`seqlab.evaluation.predict` re-exports it) share one
implementation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from seqlab.data.dataset import WindowDataset
from seqlab.data.table import ExampleTable
from seqlab.models.model import predict_both_strands

__all__ = ["model_device", "predict_table"]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model without any)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def predict_table(
    model: nn.Module,
    table: ExampleTable,
    data_params: Mapping[str, Any],
    batch_size: int = 256,
    split: str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Strand-averaged probabilities of every example of a table (or of one split of it).

    Windows are read as training reads them (``WindowDataset``, without augmentation: genome windows
    on their strand, or the table's in-memory sequences) and go through ``predict_both_strands``
    in eval mode (the model's mode is restored afterwards) on the model's device.

    Args:
        model: maps float32 (B, C, L) to logits (B, T), L = ``data_params['window_length']``.
        table: the examples (any table: a labelled set, homolog windows for a teacher, ...).
        data_params: the model's data parameters (``encoding``, ``window_length``, ``tasks``).
        batch_size: windows per forward pass (each is run on both strands).
        split: 'train', 'val', 'test' for the rows of that split (``table.split_indices``), None for all.
        progress: show a progress bar for more than one batch.

    Returns:
        float32 (N, T) probabilities, rows in ``table.split_indices(split)`` order, T = the model's tasks.

    Raises:
        ValueError: windows of a length other than the model's.
    """
    rows = table.split_indices(split)
    n_tasks = len(data_params["tasks"])
    if rows.size == 0:
        return np.zeros((0, n_tasks), dtype=np.float32)
    length = int(data_params["window_length"])
    widths = (table.frame["end"].to_numpy()[rows] - table.frame["start"].to_numpy()[rows]).astype(np.int64)
    if table.sequences is not None:
        widths = np.array([len(table.sequences[row]) for row in rows.tolist()], dtype=np.int64)
    wrong = np.flatnonzero(widths != length)
    if wrong.size:
        row = int(rows[wrong[0]])
        raise ValueError(
            f"{wrong.size} example(s) are not {length} bp windows, the model's window length "
            f"(e.g. row {row}: {int(widths[wrong[0]])} bp)"
        )
    encoding = str(data_params["encoding"])
    dataset = WindowDataset(table, split, encoding)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    device = model_device(model)
    outputs: list[np.ndarray] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        _eval_mode(model),
        torch.inference_mode(),
        Progress(*columns, console=Console(stderr=True), transient=True, disable=not progress) as bar,
    ):
        task = bar.add_task("predicting examples", total=len(loader))
        for batch in loader:
            outputs.append(predict_both_strands(model, batch["x"].to(device), encoding).float().cpu().numpy())
            bar.advance(task)
    probs = np.concatenate(outputs, axis=0)
    if probs.shape != (rows.size, n_tasks):
        raise ValueError(f"the model gives {probs.shape[1]} outputs for the {n_tasks} tasks of its data parameters")
    return probs.astype(np.float32, copy=False)
