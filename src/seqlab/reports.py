"""``seqlab dna report``: summaries across finished run folders, without loading torch or Lightning.

Only ``metrics.json`` files are read, so the command starts in about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from seqlab.atomic import write_text
from seqlab.runs import RunPaths

__all__ = ["summarize_runs", "write_summary"]


def summarize_runs(run_dirs: list[str | Path], split: str = "test") -> pd.DataFrame:
    """``seqlab dna report``: per-task AUROC/AUPR across runs (e.g. seeds) as mean, sd and values.

    Returns one row per task plus a ``mean`` row (the mean over tasks of each run, then over runs):
    columns task, n_runs, auroc_mean, auroc_sd, aupr_mean, aupr_sd, auroc_values, aupr_values,
    wall_time_s_mean. The sd is the sample standard deviation (ddof=1; NaN for a single run).
    """
    records = []
    for run_dir in run_dirs:
        path = RunPaths(run_dir).metrics
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir}: no metrics.json (is it a finished run folder?)")
        document = json.loads(path.read_text())
        if split not in document:
            raise ValueError(f"{path}: no {split!r} metrics")
        entries = dict(document[split]["per_task"]) | {"mean": document[split]}
        for task, values in entries.items():
            records.append({"run": str(run_dir), "task": task, "auroc": values["auroc"], "aupr": values["aupr"],
                            "wall_time_s": document.get("wall_time_s")})  # fmt: skip
    frame = pd.DataFrame(records).astype({"auroc": float, "aupr": float, "wall_time_s": float})
    rows = []
    for task, part in frame.groupby("task", sort=False):
        rows.append({
            "task": task,
            "n_runs": len(part),
            "auroc_mean": part["auroc"].mean(),
            "auroc_sd": part["auroc"].std(ddof=1),
            "aupr_mean": part["aupr"].mean(),
            "aupr_sd": part["aupr"].std(ddof=1),
            "auroc_values": ",".join(f"{v:.4f}" for v in part["auroc"]),
            "aupr_values": ",".join(f"{v:.4f}" for v in part["aupr"]),
            "wall_time_s_mean": part["wall_time_s"].mean(),
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_summary(summary: pd.DataFrame, path: str | Path) -> Path:
    """Write a :func:`summarize_runs` table as TSV atomically (floats with 6 significant digits, NA)."""
    return write_text(path, summary.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="NA"))
