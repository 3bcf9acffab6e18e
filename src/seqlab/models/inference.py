"""Strand-averaged predictions of a model on the examples of a table (what evaluation and teachers need).

:func:`predict_table` lives at the model layer so that training schemes (a Noisy Student teacher
relabelling homologs) and evaluation (:mod:`seqlab.evaluation.predict` re-exports it) share one
implementation.
"""

from __future__ import annotations

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seqlab.data.batches import window_batches
from seqlab.data.table import ExampleTable
from seqlab.models.scoring import eval_mode, model_device
from seqlab.models.sequence_model import SequenceModel

__all__ = ["predict_table"]


def predict_table(
    model: SequenceModel,
    table: ExampleTable,
    batch_size: int = 256,
    split: str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Strand-averaged predictions of every example of a table (or of one split of it).

    Windows are read as training reads them (:func:`~seqlab.data.batches.window_batches`: an in-memory
    window store of the rows, genome windows on their strand or the table's in-memory sequences, no
    augmentation) and go through ``model.strand_predictions`` (probabilities of a binary model, values
    of a regression model) in eval mode (the model's mode is restored afterwards) on the model's device.

    Args:
        model: the model; its windows are ``model.window_length`` bp.
        table: the examples (any table: a labelled set, homolog windows for a teacher, ...).
        batch_size: windows per forward pass (each is run on both strands).
        split: 'train', 'val', 'test' for the rows of that split (``table.split_indices``), None for all.
        progress: show a progress bar for more than one batch.

    A profile model gives expected counts per base, float32 (N, T, L_out) (its head's control profiles read
    from ``table.control_profiles`` a batch at a time).

    Returns:
        float32 (N, T) predictions, rows in ``table.split_indices(split)`` order, T = the model's tasks.

    Raises:
        ValueError: windows of a length other than the model's.
    """
    rows = table.split_indices(split)
    if rows.size == 0:
        return np.zeros((0, model.n_tasks), dtype=np.float32)  # (a profile model: no rows, no span either)
    length = model.window_length
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
    device = model_device(model)
    outputs: list[np.ndarray] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        eval_mode(model),
        torch.inference_mode(),
        Progress(*columns, console=Console(stderr=True), transient=True, disable=not progress) as bar,
    ):
        task = bar.add_task("predicting examples", total=-(-rows.size // batch_size))
        for first, x in zip(
            range(0, rows.size, batch_size),
            window_batches(table.subset(rows), length, model.encoding, batch_size),
            strict=True,
        ):
            control = _control(model, table, rows[first : first + batch_size])
            outputs.append(model.strand_predictions(x.to(device), control).float().cpu().numpy())
            bar.advance(task)
    return np.concatenate(outputs, axis=0).astype(np.float32, copy=False)


def _control(model: SequenceModel, table: ExampleTable, rows: np.ndarray) -> torch.Tensor | None:
    """float32 (B, T, L_out) control profiles of table rows ``rows`` when the model's head takes them, else None.

    Raises:
        ValueError: the head takes control profiles and the table has none.
    """
    if not model.uses_control:
        return None
    if table.control_profiles is None:
        raise ValueError("the model's profile head takes control profiles; the table has none (no control column)")
    return torch.from_numpy(table.control_profiles[rows]).to(model_device(model))
