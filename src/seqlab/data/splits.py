"""Chromosome-level splits: test and validation chromosomes from the config, everything else trains.

Chromosome names match through the genome aliasing (:func:`seqlab.io.genome.canonical_chrom`), so a
config saying ``chr8`` splits examples on ``8`` too. Windows are never split at random: neighbouring
windows share sequence and would leak between splits.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from seqlab.config import SplitConfig
from seqlab.io.genome import canonical_chrom

__all__ = ["SPLITS", "assign_splits", "check_splits", "split_counts"]

SPLITS = ("train", "val", "test")


def assign_splits(chroms: Sequence[str] | pd.Series, config: SplitConfig) -> np.ndarray:
    """Split of each example from its chromosome.

    Args:
        chroms: chromosome of every example (N,).
        config: test/val/excluded chromosome lists.

    Returns:
        object array (N,) of 'train', 'val', 'test', or '' for examples on excluded chromosomes.

    Raises:
        ValueError: a chromosome is listed in two of test, val and exclude.
    """
    groups = {"test": config.test_chroms, "val": config.val_chroms, "": config.exclude_chroms}
    owner: dict[str, str] = {}
    for split, names in groups.items():
        for name in names:
            key = canonical_chrom(name)
            if key in owner and owner[key] != split:
                first = owner[key] or "exclude"
                raise ValueError(f"chromosome {name!r} is in both {first}_chroms and {split or 'exclude'}_chroms")
            owner[key] = split
    series = pd.Series(np.asarray(chroms, dtype=object)).astype(str)
    unique = series.unique()
    mapping = {chrom: owner.get(canonical_chrom(chrom), "train") for chrom in unique}
    return series.map(mapping).to_numpy(dtype=object)


def split_counts(
    split: Sequence[str] | pd.Series, labels: np.ndarray, weights: np.ndarray, task_names: Sequence[str]
) -> pd.DataFrame:
    """Examples, positives and negatives per split and task.

    A label counts for a task when its weight is > 0; it is positive when >= 0.5.

    Args:
        split: split of every example (N,).
        labels: float32 (N, T).
        weights: float32 (N, T).
        task_names: T names.

    Returns:
        DataFrame with one row per (split, task), splits in train/val/test order: ``split``,
        ``task``, ``examples`` (rows in the split), ``positives``, ``negatives`` (int64).
    """
    split = np.asarray(split, dtype=object)
    rows = []
    for name in SPLITS:
        mask = split == name
        used = weights[mask] > 0
        positive = (labels[mask] >= 0.5) & used
        for t, task in enumerate(task_names):
            rows.append(
                {
                    "split": name,
                    "task": task,
                    "examples": int(mask.sum()),
                    "positives": int(positive[:, t].sum()),
                    "negatives": int((used[:, t] & ~positive[:, t]).sum()),
                }
            )
    return pd.DataFrame(rows, columns=["split", "task", "examples", "positives", "negatives"])


def check_splits(counts: pd.DataFrame) -> list[str]:
    """Check a :func:`split_counts` table.

    Raises:
        ValueError: the train, validation or test split has no examples.

    Returns:
        Warning messages (also issued with ``warnings.warn``) for every task without positives or
        without negatives in a split.
    """
    where = {
        "test": "on data.split.test_chroms",
        "val": "on data.split.val_chroms",
        "train": "outside data.split.test_chroms, val_chroms and exclude_chroms",
    }
    for name in ("test", "val", "train"):
        examples = counts.loc[counts["split"] == name, "examples"]
        if examples.empty or int(examples.max()) == 0:
            raise ValueError(
                f"the {name} split is empty: no example lies {where[name]}; check the chromosome "
                "names against the genome or FASTA names"
            )
    messages = []
    for row in counts.itertuples():
        for kind in ("positives", "negatives"):
            if getattr(row, kind) == 0 and row.examples > 0:
                messages.append(
                    f"task {row.task!r} has no {kind} in the {row.split} split: its metrics there are undefined"
                )
    for message in messages:
        warnings.warn(message, stacklevel=2)
    return messages
