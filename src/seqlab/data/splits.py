"""Splits by chromosome and by region: test and validation chromosomes or BED regions, everything else trains.

Chromosome names match through the genome aliasing (:func:`seqlab.io.genome.canonical_chrom`), so a
config saying ``chr8`` splits examples on ``8`` too. Windows are never split at random: neighbouring
windows share sequence and would leak between splits.

Regions (``split.test_regions`` / ``val_regions``, BED files) split one chromosome: a window is test
(val) when it lies inside a test (val) region with ``split.gap`` bp to spare on both sides, train when
it is at least ``gap`` bp away from every test and val region, and dropped (counted) otherwise.
Chromosome lists take precedence over regions. The split refers to one genome (``split.genome``,
default the reference); examples of other genomes are train unless they inherit their origin's split.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.config import SplitConfig
from seqlab.data.labels import overlaps_any
from seqlab.data.sparse import label_counts
from seqlab.io.genome import canonical_chrom
from seqlab.io.intervals import read_intervals

__all__ = ["SPLITS", "assign_splits", "check_splits", "read_regions", "split_counts", "split_examples"]

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
    codes, unique = pd.factorize(np.asarray(chroms, dtype=object))  # per distinct name, not per row
    mapping = np.array([owner.get(canonical_chrom(str(chrom)), "train") for chrom in unique] + [""], dtype=object)
    return mapping[codes]


def read_regions(path: Path) -> pd.DataFrame:
    """Regions of a BED file, chromosome names canonical (:func:`canonical_chrom`), merged per chromosome.

    Returns:
        DataFrame ``chrom`` (str), ``start``, ``end`` (int64), sorted, no two overlapping or touching.
    """
    regions = read_intervals(path, "bed")[["chrom", "start", "end"]]
    regions = regions.assign(chrom=regions["chrom"].astype(str).map(canonical_chrom))
    merged = []
    for chrom, group in regions.sort_values(["chrom", "start"]).groupby("chrom", sort=True):
        starts, ends = group["start"].to_numpy(np.int64), np.maximum.accumulate(group["end"].to_numpy(np.int64))
        new = np.concatenate([[True], starts[1:] > ends[:-1]])  # a gap before this region: a new block
        merged.append(
            pd.DataFrame({"chrom": chrom, "start": starts[new], "end": np.maximum.reduceat(ends, np.flatnonzero(new))})
        )
    if not merged:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype=np.int64),
                             "end": pd.Series(dtype=np.int64)})  # fmt: skip
    return pd.concat(merged, ignore_index=True)


def _regions(path: Path) -> pd.DataFrame:
    """:func:`read_regions` of ``path``, read once while the file is unchanged.

    Sources split their windows block by block (tiling) and round by round (negative sampling), so
    :func:`split_examples` runs many times on the same BED files. The frame is shared: do not modify it.
    """
    stat = Path(path).stat()
    return _read_regions_once(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read_regions_once(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return read_regions(Path(path))


def _contained(windows: pd.DataFrame, regions: pd.DataFrame) -> np.ndarray:
    """Whether each window (canonical chrom, start, end) lies inside one of the merged ``regions``."""
    inside = np.zeros(len(windows), dtype=bool)
    for chrom, group in regions.groupby("chrom", sort=False):
        rows = np.flatnonzero(windows["chrom"].to_numpy() == chrom)
        if rows.size == 0:
            continue
        starts, ends = group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64)
        at = np.searchsorted(starts, windows["start"].to_numpy(np.int64)[rows], side="right") - 1
        ok = at >= 0
        inside[rows[ok]] = ends[at[ok]] >= windows["end"].to_numpy(np.int64)[rows[ok]]
    return inside


def split_examples(frame: pd.DataFrame, config: SplitConfig, genome: str | None) -> tuple[np.ndarray, dict[str, int]]:
    """Split of every example from its chromosome, its region and its genome.

    Args:
        frame: examples (N rows) with ``genome, chrom, start, end``.
        config: chromosome lists, region BEDs, gap.
        genome: the genome the split refers to (``config.genome`` wins); None: every example's genome.

    Returns:
        ``(split, counts)``: object array (N,) of 'train', 'val', 'test' or '' (dropped), and
        ``{"excluded_chrom_dropped": int, "region_gap_dropped": int}``.

    Raises:
        ValueError: a chromosome in two lists, or a test region overlapping a validation region.
    """
    target = config.genome or genome
    own = np.ones(len(frame), dtype=bool) if target is None else (frame["genome"].to_numpy() == target)
    split = np.full(len(frame), "train", dtype=object)
    split[own] = assign_splits(frame["chrom"].to_numpy()[own], config)
    counts = {"excluded_chrom_dropped": int((split == "").sum()), "region_gap_dropped": 0}
    if config.test_regions is None and config.val_regions is None:
        return split, counts
    regions = {name: _regions(path) for name, path in (("test", config.test_regions), ("val", config.val_regions))
               if path is not None}  # fmt: skip
    if len(regions) == 2 and overlaps_any(regions["val"], regions["test"]).any():
        raise ValueError(f"data.split.test_regions ({config.test_regions}) overlaps data.split.val_regions")
    rows = np.flatnonzero(own & (split == "train"))
    part = frame.iloc[rows]
    widened = pd.DataFrame({
        "chrom": part["chrom"].astype(str).map(canonical_chrom).to_numpy(),
        "start": part["start"].to_numpy(np.int64) - config.gap,
        "end": part["end"].to_numpy(np.int64) + config.gap,
    })  # fmt: skip
    result = np.full(rows.size, "", dtype=object)
    touches = np.zeros(rows.size, dtype=bool)
    for bed in regions.values():
        touches |= overlaps_any(widened, bed)
    result[~touches] = "train"
    for name, bed in regions.items():
        result[_contained(widened, bed)] = name
    split[rows] = result
    counts["region_gap_dropped"] = int((result == "").sum())
    return split, counts


def split_counts(
    split: Sequence[str] | pd.Series, labels: np.ndarray, weights: np.ndarray, task_names: Sequence[str]
) -> pd.DataFrame:
    """Examples, positives and negatives per split and task.

    A label counts for a task when its weight is > 0; it is positive when >= 0.5.

    Args:
        split: split of every example (N,).
        labels: float32 (N, T), dense or CSR.
        weights: float32 (N, T), dense or :class:`~seqlab.data.sparse.SparseWeights`.
        task_names: T names.

    Returns:
        DataFrame with one row per (split, task), splits in train/val/test order: ``split``,
        ``task``, ``examples`` (rows in the split), ``positives``, ``negatives`` (int64).
    """
    split = np.asarray(split, dtype=object)
    rows = []
    for name in SPLITS:
        index = np.flatnonzero(split == name)
        used, positive = label_counts(labels, weights, index)
        for t, task in enumerate(task_names):
            rows.append(
                {
                    "split": name,
                    "task": task,
                    "examples": int(index.size),
                    "positives": int(positive[t]),
                    "negatives": int(used[t] - positive[t]),
                }
            )
    return pd.DataFrame(rows, columns=["split", "task", "examples", "positives", "negatives"])


def check_splits(counts: pd.DataFrame, binary: bool = True) -> list[str]:
    """Check a :func:`split_counts` table (``binary=False``: quantitative targets, no positive/negative check).

    Raises:
        ValueError: the train, validation or test split has no examples.

    Returns:
        Warning messages (also issued with ``warnings.warn``) for every task without positives or
        without negatives in a split.
    """
    where = {
        "test": "on data.split.test_chroms or inside data.split.test_regions",
        "val": "on data.split.val_chroms or inside data.split.val_regions",
        "train": "outside the test, validation and excluded chromosomes and regions",
    }
    for name in ("test", "val", "train"):
        examples = counts.loc[counts["split"] == name, "examples"]
        if examples.empty or int(examples.max()) == 0:
            raise ValueError(
                f"the {name} split is empty: no example lies {where[name]}; check the chromosome "
                "names against the genome or FASTA names"
            )
    messages = []
    for row in counts.itertuples() if binary else ():
        for kind in ("positives", "negatives"):
            if getattr(row, kind) == 0 and row.examples > 0:
                messages.append(
                    f"task {row.task!r} has no {kind} in the {row.split} split: its metrics there are undefined"
                )
    for message in messages:
        warnings.warn(message, stacklevel=2)
    return messages
