"""The MFD real-compendium driver (examples/mfd_gm12878_compendium.py), small: 60 windows per set, 1 epoch."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

torch.set_num_threads(1)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mfd_gm12878_compendium.py"


@pytest.mark.realdata
def test_mfd_compendium_driver_runs_small(tmp_path, shared_data):
    spec = importlib.util.spec_from_file_location("mfd_gm12878_compendium", EXAMPLE)
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    document = driver.run_study(shared_data, tmp_path, seeds=[0], per_set=60, max_epochs=1)
    runs = document["runs"]["0"]
    experiments = list(driver.EXPERIMENTS)
    for kind in ("plain", "mfd"):
        assert sorted(runs[kind]["per_task"]) == sorted(experiments)
        assert all(values["n_pos"] + values["n_neg"] > 0 for values in runs[kind]["per_task"].values())
    assert document["windows"]["train"] > document["windows"]["test"] > 0
    lands = runs["mfd"]["introspection"]["lands_in"]
    assert set(lands) == {"target", "biosample", "assay"} and lands["assay"] in ("biological", "technical")
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert len(summary) == 2 * len(experiments) and set(summary["model"]) == {"plain", "mfd"}
    introspection = pd.read_csv(tmp_path / "introspection.tsv", sep="\t")
    assert introspection["group"].value_counts().to_dict() == {"biological": 24, "technical": 8}  # 32 dense features
    assert json.loads((tmp_path / "metrics.json").read_text())["trunk"] == "deepbind"
    probe = driver.probe_study(tmp_path, seed=0, regress_gc=False)
    assert set(probe["model"]) == {"plain", "mfd"} and set(probe["experiment"]) == set(experiments)
    assert set(probe.loc[probe["model"] == "mfd", "feature_set"]) == {"full", "biological", "technical"}
    assert probe["scheme"].eq("chrom:chr8,chr9").all() and probe["auroc"].dropna().between(0, 1).all()
    assert probe["auroc"].notna().sum() >= 10  # NaN only where 60 windows per set leave one class on chr8/9
