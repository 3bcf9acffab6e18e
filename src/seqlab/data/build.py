"""From a :class:`~seqlab.config.DataConfig` to an :class:`ExampleTable` (see docs/architecture.md).

Every entry of ``data.sources`` is built by the builder registered for its kind (``peaks``, ``tiling``,
``sequences``; see :mod:`seqlab.data.sources`) and the tables are concatenated
(:meth:`ExampleTable.concat`), deduplicated across sources, and derived examples take their origin's
split (:func:`inherit_splits`).

Every step counts what it dropped (off-chromosome windows, unknown chromosomes, N-rich windows,
duplicates, label conflicts, windows near a split boundary, negatives short of the request) into
``ExampleTable.report``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from seqlab.config import ConfigError, DataConfig
from seqlab.data.sources import SourceContext, build_source
from seqlab.data.sparse import task_column
from seqlab.data.splits import SPLITS, check_splits
from seqlab.data.table import FRAME_COLUMNS, ExampleTable, deduplicate, example_ids, inherit_splits

__all__ = [
    "FRAME_COLUMNS",
    "ExampleTable",
    "build_examples",
    "check_data_files",
    "deduplicate",
    "example_ids",
    "inherit_splits",
    "summarize",
]

log = logging.getLogger(__name__)


def _data_paths(section: Any, key: str) -> list[tuple[str, Path]]:
    """(config key, path) of every path in a config section, recursively."""
    found: list[tuple[str, Path]] = []
    if isinstance(section, Path):
        found.append((key, section))
    elif isinstance(section, BaseModel):
        for name, info in type(section).model_fields.items():
            if name != "root" and not (info.json_schema_extra or {}).get("output"):  # type: ignore[union-attr]
                found.extend(_data_paths(getattr(section, name), f"{key}.{name}"))
    elif isinstance(section, dict):
        for name, value in section.items():
            found.extend(_data_paths(value, f"{key}.{name}"))
    elif isinstance(section, list):
        for i, value in enumerate(section):
            found.extend(_data_paths(value, f"{key}[{i}]"))
    return found


def check_data_files(config: DataConfig) -> None:
    """Check that every file the data section names exists (peak files of the task table are checked on reading).

    Raises:
        ConfigError: one line naming the config key, the path, and how relative paths resolve.
    """
    for key, path in _data_paths(config, "data"):
        if not path.exists():
            root = f" (data.root is {config.root})" if config.root is not None else ""
            raise ConfigError(
                f"{key}: file not found: {path}; relative data paths resolve against data.root or the config's "
                f"folder{root}; point at another data folder with --data-dir"
            )


def _check_and_report(table: ExampleTable) -> ExampleTable:
    counts = table.counts()
    table.report["split_warnings"] = check_splits(counts, binary=table.targets is None)
    table.report["counts"] = counts.to_dict("records")
    log.info("built %d examples\n%s", len(table), summarize(table))
    return table


def _merged(tables: list[ExampleTable], config: DataConfig) -> ExampleTable:
    """One table of several sources' tables, duplicates across sources merged when ``config.deduplicate``."""
    table = ExampleTable.concat(tables)
    if config.deduplicate:
        rows, labels, weights, info = deduplicate(table.frame, table.labels, table.weights)
        merged = table.subset(rows)
        merged.labels, merged.weights = labels, weights
        merged.report["duplicates_removed"] = info["duplicates_removed"]
        conflicts = dict(zip(table.task_names, info["label_conflicts"], strict=True))
        merged.report["label_conflicts"] = conflicts
        if any(conflicts.values()):
            warnings.warn(
                f"windows labelled both positive and negative were masked (weight 0): {conflicts}", stacklevel=3
            )
        table = merged
    return table


def build_examples(config: DataConfig) -> ExampleTable:
    """Build the examples that ``config`` describes: every source of ``data.sources``, concatenated.

    Args:
        config: the data section of a run (negatives are seeded by ``negatives.seed`` of their source).

    Returns:
        The :class:`ExampleTable`; ``report`` records counts of every drop and the per-split counts
        (with several sources, each source's report under ``"parts"``).

    Raises:
        ConfigError: a data file named in the config does not exist.
        ValueError: empty peak sets, windows all off chromosome or all N, an empty train/val/test split.
        KeyError: peaks whose chromosomes are all missing from the genome.
    """
    check_data_files(config)
    context = SourceContext()
    for source in config.sources:
        context.tables.append(build_source(source, config, context))
    table = context.tables[0] if len(context.tables) == 1 else _merged(context.tables, config)
    return _check_and_report(inherit_splits(table))


def _target_summary(table: ExampleTable) -> list[str]:
    """Windows with a target and their mean target (mean over bins) per task and split: a table of targets."""
    assert table.targets is not None
    split = table.frame["split"].to_numpy()
    header = "  ".join(f"{s} {int((split == s).sum()):,}" for s in SPLITS)
    grid = pd.DataFrame(index=table.task_names, columns=[s for s in SPLITS if (split == s).any()], dtype=object)
    per_window = table.targets.mean(axis=2)  # (N, T)
    for t, task in enumerate(table.task_names):
        used = task_column(table.weights, t) > 0
        for name in grid.columns:
            values = per_window[used & (split == name), t]
            grid.loc[task, name] = f"{values.size:,} ({values.mean():.3g})" if values.size else "0"
    return [f"examples per split: {header}", "windows with a target (mean target) per task and split:",
            grid.to_string()]  # fmt: skip


def summarize(table: ExampleTable) -> str:
    """Short human summary: examples per source and split, positives/negatives (or windows with a target)
    per split and task.
    """
    frame = table.frame
    sources = ", ".join(f"{k} {v:,}" for k, v in frame["source"].astype(str).value_counts(sort=False).items())
    genomes = ", ".join(sorted(frame["genome"].unique())) or "-"
    lines = [f"{len(frame):,} examples ({sources}); genome {genomes}; {table.n_tasks} task(s)"]
    counts = table.counts()
    if table.targets is not None:
        lines.extend(_target_summary(table))
    elif not counts.empty:
        counts["pos/neg"] = counts["positives"].map("{:,}".format) + " / " + counts["negatives"].map("{:,}".format)
        grid = counts.pivot(index="task", columns="split", values="pos/neg")
        grid = grid[[s for s in SPLITS if s in grid.columns]].reindex(table.task_names)
        examples = counts.groupby("split")["examples"].first()
        header = "  ".join(f"{s} {int(examples.get(s, 0)):,}" for s in SPLITS)
        lines.append(f"examples per split: {header}")
        lines.append("positives / negatives per task and split:")
        lines.append(grid.to_string())
    reports = [table.report, *table.report.get("parts", [])]  # several sources: each one's report in "parts"
    per_task = [task for report in reports for task in report.get("tasks", {}).values()]
    for key, label in (
        ("n_dropped_chrom_end", "windows crossing a chromosome end, dropped"),
        ("n_padded_chrom_end", "windows crossing a chromosome end, padded with N"),
        ("n_summit_fallback", "peaks without a summit (centred on the interval)"),
        ("peaks_unknown_chrom", "peaks on chromosomes missing from the genome, dropped"),
    ):
        total = sum(int(task.get(key, 0)) for task in per_task)
        if total:
            lines.append(f"{label}: {total:,}")
    for key, label in (
        ("duplicates_removed", "duplicates removed"),
        ("excluded_chrom_dropped", "on excluded chromosomes, dropped"),
        ("region_gap_dropped", "near a split region boundary (within data.split.gap), dropped"),
        ("positives_n_dropped", "peak windows with more N than max_n_fraction, dropped"),
        ("origin_missing_dropped", "derived examples whose origin was dropped, dropped"),
    ):
        total = sum(int(report.get(key, 0)) for report in reports)
        if total:
            lines.append(f"{label}: {total:,}")
    for report in reports:
        negatives = report.get("negatives")
        if negatives:
            lines.append(f"negatives: {negatives['found']:,} of {negatives['requested']:,} requested")
    return "\n".join(lines)
