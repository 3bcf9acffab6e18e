"""Audit of an :class:`~seqlab.data.build.ExampleTable` for leaks and shortcuts.

Checks, per task where it matters:

* duplicate windows (same genome, chrom, start, end) and windows labelled both positive and
  negative (e.g. the same coordinates in a positive and a negative FASTA), including those the
  build already masked;
* chromosomes present in only one class (chrY only among negatives lets a model learn the
  chromosome, not the sequence);
* GC content per class (mean, quartiles) and the AUROC of GC fraction alone as a score; above
  ``gc_auroc_limit`` or below ``1 - gc_auroc_limit`` it is flagged as a shortcut.

A table with quantitative targets (``tracks`` sources, ``sequences`` sets with ``targets``) has no
classes: there the audit counts duplicates, reports each task's target distribution (windows with a
target, mean, quartiles of the per-window mean over bins) and the Spearman correlation of GC fraction
and of N fraction with the target; |GC rho| above ``gc_spearman_limit`` is flagged as a shortcut.

Nothing is fixed: findings are listed in ``AuditReport.warnings``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqlab.data.build import ExampleTable
from seqlab.data.sparse import labelled_rows, task_column
from seqlab.data.windows import sequence_content
from seqlab.io.genome import Genome
from seqlab.metrics import binary_auroc_aupr, weighted_spearman

__all__ = ["AuditReport", "audit_examples"]

_KEYS = ["genome", "chrom", "start", "end"]


@dataclass
class AuditReport:
    """Findings of :func:`audit_examples`.

    Attributes:
        n_examples: rows audited.
        tasks: task names.
        duplicates: rows whose coordinates repeat an earlier row.
        label_conflicts: task -> coordinate groups labelled both positive and negative in the table.
        masked_conflicts: task -> such windows the build already merged and masked (weight 0).
        one_class_chroms: task -> [{"chrom", "class", "count"}] chromosomes seen in one class only.
        gc: one record per (task, class): n, mean, q25, median, q75 of the GC fraction.
        gc_auroc: task -> AUROC of GC fraction alone (None without both classes).
        gc_sampled: examples whose GC was measured (a random subset of large tables).
        n_auroc: task -> AUROC of the N fraction alone (None without both classes), measured on the same rows.
        quantitative: the table has quantitative targets (no classes; the fields below instead of the above).
        targets: one record per task: n windows with a target, mean, q25, median, q75 of the per-window target.
        gc_spearman: task -> Spearman correlation of GC fraction and target (None when undefined).
        n_spearman: task -> Spearman correlation of N fraction and target (None when undefined).
        warnings: human-readable findings, the shortcuts first.
    """

    n_examples: int
    tasks: list[str]
    duplicates: int = 0
    label_conflicts: dict[str, int] = field(default_factory=dict)
    masked_conflicts: dict[str, int] = field(default_factory=dict)
    one_class_chroms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    gc: list[dict[str, Any]] = field(default_factory=list)
    gc_auroc: dict[str, float | None] = field(default_factory=dict)
    gc_sampled: int = 0
    n_auroc: dict[str, float | None] = field(default_factory=dict)
    quantitative: bool = False
    targets: list[dict[str, Any]] = field(default_factory=list)
    gc_spearman: dict[str, float | None] = field(default_factory=dict)
    n_spearman: dict[str, float | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able copy."""
        return asdict(self)

    def to_text(self) -> str:
        """Multi-line human summary."""
        lines = [f"audit of {self.n_examples:,} examples, {len(self.tasks)} task(s)"]
        lines.append(f"duplicate windows: {self.duplicates:,}")
        lines.extend(self._target_lines() if self.quantitative else self._class_lines())
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        else:
            lines.append("no shortcut or leak found")
        return "\n".join(lines)

    def _class_lines(self) -> list[str]:
        lines = []
        for task in self.tasks:
            shown, n_shown = (_shown(self.gc_auroc.get(task)), _shown(self.n_auroc.get(task)))
            lines.append(
                f"task {task}: GC-only AUROC {shown}; N-fraction-only AUROC {n_shown}; "
                f"label conflicts {self.label_conflicts.get(task, 0)} "
                f"(+{self.masked_conflicts.get(task, 0)} masked at build); "
                f"one-class chromosomes {len(self.one_class_chroms.get(task, []))}"
            )
        if self.gc:
            gc = pd.DataFrame(self.gc).set_index(["task", "class"])
            lines.append(f"GC fraction per class ({self.gc_sampled:,} examples measured):")
            lines.append(gc.to_string(float_format=lambda v: f"{v:.3f}"))
        return lines

    def _target_lines(self) -> list[str]:
        lines = [
            f"task {task}: Spearman of target with GC fraction {_shown(self.gc_spearman.get(task))}, "
            f"with N fraction {_shown(self.n_spearman.get(task))}"
            for task in self.tasks
        ]
        if self.targets:
            lines.append(f"target per window, mean over bins ({self.gc_sampled:,} examples measured):")
            lines.append(pd.DataFrame(self.targets).set_index("task").to_string(float_format=lambda v: f"{v:.3f}"))
        return lines


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _content_of_rows(table: ExampleTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction (float64, NaN for all-N) and N fraction (float64) of the given frame rows."""
    if table.sequences is not None:
        return sequence_content([table.sequences[i] for i in rows.tolist()])
    frame = table.frame.iloc[rows]
    gc, n_fraction = np.full(rows.size, np.nan), np.zeros(rows.size)
    for name, part in frame.groupby("genome", sort=False):
        genome = Genome(table.genomes[str(name)], str(name))
        position = np.flatnonzero(frame["genome"].to_numpy() == name)
        content = sequence_content(genome.fetch_many(part["chrom"], part["start"], part["end"], pad=True))
        gc[position], n_fraction[position] = content
    return gc, n_fraction


def audit_examples(
    table: ExampleTable,
    gc_auroc_limit: float = 0.7,
    max_gc_examples: int | None = 200_000,
    seed: int = 0,
    n_auroc_tolerance: float = 0.02,
    gc_spearman_limit: float = 0.5,
) -> AuditReport:
    """Audit a table for duplicates, label conflicts, one-class chromosomes and GC shortcuts.

    Args:
        table: the examples.
        gc_auroc_limit: GC-only AUROC above this (or below 1 - this) is a shortcut.
        max_gc_examples: measure GC on at most this many random rows (None: all).
        seed: seed of that subsample.
        n_auroc_tolerance: an N-fraction-only AUROC further than this from 0.5 is a shortcut.
        gc_spearman_limit: a table with quantitative targets: |Spearman of GC fraction and target| above
            this is a shortcut.

    Returns:
        The :class:`AuditReport`.
    """
    frame = table.frame
    report = AuditReport(n_examples=len(frame), tasks=table.task_names, quantitative=table.targets is not None)
    report.duplicates = int(frame.duplicated(_KEYS).sum())
    if report.duplicates:
        report.warnings.append(f"{report.duplicates:,} duplicate windows (same genome, chrom, start, end)")
    rows = np.flatnonzero(labelled_rows(table.weights))
    if max_gc_examples is not None and rows.size > max_gc_examples:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_gc_examples, replace=False))
    gc, n_fraction = _content_of_rows(table, rows)
    report.gc_sampled = int(rows.size)
    if report.quantitative:
        _audit_targets(table, report, rows, gc, n_fraction, gc_spearman_limit)
        return report
    _audit_conflicts(table, report)
    _audit_chromosomes(table, report)
    _audit_classes(table, report, rows, gc, n_fraction, n_auroc_tolerance)
    shortcut = {t: a for t, a in report.gc_auroc.items() if a is not None and abs(a - 0.5) > gc_auroc_limit - 0.5}
    if shortcut:  # one line for the data set, however many tasks
        report.warnings.insert(
            0,
            f"GC fraction alone gives AUROC outside {1 - gc_auroc_limit:.2f}-{gc_auroc_limit:.2f} for "
            f"{len(shortcut)} task(s): GC content is a shortcut ("
            + ", ".join(f"{task} {auroc:.3f}" for task, auroc in shortcut.items())
            + ")",
        )
    return report


def _columns(table: ExampleTable, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Task ``t``'s (labelled, positive) boolean columns (N,): one task at a time, labels may be sparse."""
    return task_column(table.weights, t) > 0, task_column(table.labels, t) >= 0.5


def _audit_conflicts(table: ExampleTable, report: AuditReport) -> None:
    """Windows of the same coordinates labelled both positive and negative, per task."""
    frame = table.frame
    repeated = np.flatnonzero(frame.duplicated(_KEYS, keep=False).to_numpy())
    group = frame.iloc[repeated].groupby(_KEYS, sort=False).ngroup().to_numpy()
    built = table.report.get("label_conflicts", {})
    for t, task in enumerate(report.tasks):
        used, positive = (column[repeated] for column in _columns(table, t))
        has_pos = pd.Series(positive & used).groupby(group).any()
        has_neg = pd.Series(~positive & used).groupby(group).any()
        report.label_conflicts[task] = int((has_pos & has_neg).sum())
        report.masked_conflicts[task] = int(built.get(task, 0)) if isinstance(built, dict) else 0
        conflicts = report.label_conflicts[task] + report.masked_conflicts[task]
        if conflicts:
            report.warnings.append(
                f"task {task}: {conflicts:,} windows are labelled both positive and negative "
                f"({report.masked_conflicts[task]:,} of them masked at build)"
            )


def _audit_chromosomes(table: ExampleTable, report: AuditReport) -> None:
    """Chromosomes present in one class only, per task."""
    chrom_names, chrom_codes = np.unique(table.frame["chrom"].astype(str).to_numpy(), return_inverse=True)
    for t, task in enumerate(report.tasks):
        mask, positive = _columns(table, t)
        counts = {  # examples per chromosome of each class, in chromosome-name order
            kind: np.bincount(chrom_codes[mask & select], minlength=chrom_names.size)
            for kind, select in (("positive", positive), ("negative", ~positive))
        }
        lonely = [
            {"chrom": str(chrom_names[c]), "class": kind, "count": int(counts[kind][c])}
            for c in range(chrom_names.size)
            for kind, other in (("positive", "negative"), ("negative", "positive"))
            if counts[kind][c] > 0 and counts[other][c] == 0
        ]
        report.one_class_chroms[task] = lonely
        for item in lonely:
            report.warnings.append(
                f"task {task}: {item['chrom']} has {item['count']:,} {item['class']}s and no "
                f"{'negatives' if item['class'] == 'positive' else 'positives'}: chromosome identity is a shortcut"
            )


def _audit_classes(
    table: ExampleTable,
    report: AuditReport,
    rows: np.ndarray,
    gc: np.ndarray,
    n_fraction: np.ndarray,
    n_auroc_tolerance: float,
) -> None:
    """GC per class and the AUROC of GC and of N fraction alone, per task, on ``rows`` (GC/N measured there)."""
    for t, task in enumerate(report.tasks):
        used, positive = (column[rows] for column in _columns(table, t))
        y_all = positive[used]
        n_auroc = binary_auroc_aupr(y_all, n_fraction[used])[0] if 0 < y_all.sum() < y_all.size else None
        report.n_auroc[task] = n_auroc
        if n_auroc is not None and abs(n_auroc - 0.5) > n_auroc_tolerance:
            report.warnings.insert(
                0,
                f"task {task}: N fraction alone gives AUROC {n_auroc:.3f} (more than {n_auroc_tolerance:.2f} from "
                "0.5): N content is a shortcut",
            )
        mask = used & ~np.isnan(gc)
        y, values = positive[mask], gc[mask]
        for kind, select in (("positive", y), ("negative", ~y)):
            if select.any():
                report.gc.append({"task": task, "class": kind, **_quartiles(values[select])})
        report.gc_auroc[task] = binary_auroc_aupr(y, values)[0] if 0 < y.sum() < y.size else None


def _audit_targets(
    table: ExampleTable,
    report: AuditReport,
    rows: np.ndarray,
    gc: np.ndarray,
    n_fraction: np.ndarray,
    gc_spearman_limit: float,
) -> None:
    """Target distribution and the Spearman correlation of GC and N fraction with the target, per task."""
    assert table.targets is not None
    per_window = table.targets[rows].mean(axis=2)  # (rows, T): mean over bins
    for t, task in enumerate(report.tasks):
        used = task_column(table.weights, t)[rows] > 0
        target = per_window[used, t]
        if target.size:
            report.targets.append({"task": task, **_quartiles(target)})
        known = ~np.isnan(gc[used])
        report.gc_spearman[task] = _spearman(gc[used][known], target[known])
        report.n_spearman[task] = _spearman(n_fraction[used], target)
    shortcut = {
        task: rho for task, rho in report.gc_spearman.items() if rho is not None and abs(rho) > gc_spearman_limit
    }
    if shortcut:
        report.warnings.insert(
            0,
            f"GC fraction alone has |Spearman| > {gc_spearman_limit:.2f} with the target for {len(shortcut)} "
            "task(s): GC content is a shortcut (" + ", ".join(f"{t} {rho:.3f}" for t, rho in shortcut.items()) + ")",
        )


def _quartiles(values: np.ndarray) -> dict[str, Any]:
    """n, mean, q25, median, q75 of a non-empty float array."""
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return {"n": int(values.size), "mean": float(values.mean()), "q25": float(q25), "median": float(median),
            "q75": float(q75)}  # fmt: skip


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman correlation of x (n,) and y (n,); None with fewer than 2 values or a constant x or y."""
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = weighted_spearman(x, y)
    return None if np.isnan(rho) else rho
