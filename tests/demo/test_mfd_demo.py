"""Smoke test of the end-to-end MFD demo driver on a tiny compendium (one epoch)."""

from __future__ import annotations

import json

import pandas as pd

from seqlab.demo.compendium import CompendiumSpec
from seqlab.demo.mfd import run_mfd_demo

TINY = CompendiumSpec(
    chrom_sizes={"chr1": 120_000, "chr2": 60_000, "chr3": 60_000},
    factors={"CTCF": "MA0139", "GATA1": "MA0035"},
    biosamples=("GM12878", "K562"),
    sites=40,
    noise_peaks=3,
    artifact_peaks=15,
    missing=0.0,
    holdout=1,
)


def test_mfd_demo_writes_metrics_and_introspection(tmp_path):
    metrics = run_mfd_demo(tmp_path, seed=1, max_epochs=1, spec=TINY)
    assert set(metrics) == {"plain", "mfd", "imputation", "disentanglement", "wall_time_s"}
    assert json.loads((tmp_path / "metrics.json").read_text())["mfd"]["penalty"] == "covariance"
    held = pd.read_csv(tmp_path / "data" / "tasks.tsv", sep="\t").query("holdout == 'yes'")["task"]
    assert set(metrics["imputation"]) == set(held) and len(held) == 3  # one factor x biosample, 3 labs
    assert set(metrics["plain"]["test"]["per_task"]) == set(metrics["mfd"]["test"]["per_task"])
    assert not set(held) & set(metrics["mfd"]["test"]["per_task"])
    table = pd.read_csv(tmp_path / "mfd" / "introspection.tsv", sep="\t")
    assert list(table.columns) == ["feature", "group", "target", "biosample", "lab"]
    assert (tmp_path / "mfd" / "introspection.png").is_file()
    assert set(metrics["disentanglement"]["lands_in"]) == {"target", "biosample", "lab"}
