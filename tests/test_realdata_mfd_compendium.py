"""The MFD real-compendium study (examples/mfd_gm12878_compendium.py, its two YAMLs), small: 60 windows per set."""

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
def test_mfd_compendium_study_trains_both_example_configs(tmp_path, shared_data):
    spec = importlib.util.spec_from_file_location("mfd_gm12878_compendium", EXAMPLE)
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    document = driver.run_study(shared_data, tmp_path, seeds=[0], per_set=60, max_epochs=1, jobs=1,
                                allow_small_splits=True)  # fmt: skip
    runs = document["runs"]["0"]
    for kind in ("plain", "mfd"):
        per_task = runs[kind]["test"]["per_task"]
        assert sorted(per_task) == sorted(driver.EXPERIMENTS)
        assert all(values["n_pos"] + values["n_neg"] > 0 for values in per_task.values())
        assert runs[kind]["epochs"] == 1 and (tmp_path / "seed0" / kind / "model" / "config.json").is_file()
    config = json.loads((tmp_path / "seed0" / "mfd" / "model" / "config.json").read_text())
    assert config["model"]["head"]["kind"] == "metadata" and runs["mfd"]["penalty"] == "covariance"
    metadata = {row["task"]: row for row in config["data"]["task_metadata"]}
    assert metadata["DSBCapture_NHEK"] | {"task": ""} == {"task": "", "target": "DSB", "biosample": "NHEK",
                                                          "assay": "DSBCapture"}  # fmt: skip
    lands = runs["mfd"]["disentanglement"]["lands_in"]
    assert set(lands) == {"target", "biosample", "assay"} and lands["assay"] in ("biological", "technical")
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert len(summary) == 2 * len(driver.EXPERIMENTS) and set(summary["model"]) == {"plain", "mfd"}
    introspection = pd.read_csv(tmp_path / "seed0" / "mfd" / "introspection.tsv", sep="\t")
    assert introspection["group"].value_counts().to_dict() == {"biological": 24, "technical": 8}  # 32 dense features
    probe = driver.probe_study(tmp_path, seed=0, regress_gc=False)
    assert set(probe["model"]) == {"plain", "mfd"} and set(probe["experiment"]) == set(driver.EXPERIMENTS)
    assert set(probe.loc[probe["model"] == "mfd", "feature_set"]) == {"full", "biological", "technical"}
    assert probe["scheme"].eq("chrom:chr8,chr9").all() and probe["auroc"].dropna().between(0, 1).all()
    assert probe["auroc"].notna().sum() >= 10  # NaN only where 60 windows per set leave one class on chr8/9
