from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from seqlab.demo.simulate import FactorSpec
from seqlab.demo.ssl import comparison_rows, run_ssl_demo


@pytest.mark.slow
def test_ssl_demo_small(tmp_path: Path) -> None:
    sizes = {f"chr{i}": 40_000 for i in range(1, 7)}
    factors = (FactorSpec("REST", "MA0138", sites=42, decoys=12, noise_peaks=3),)
    metrics = run_ssl_demo(tmp_path, seed=1, seeds=(0, 1), max_epochs=1, train_peaks=10, chrom_sizes=sizes,
                           factors=factors, allow_small_splits=True)  # fmt: skip
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert list(metrics["schemes"]) == ["supervised", "supervised_equal_steps", "ssl", "noisy_student"]
    tests = [metrics["schemes"][name]["test"]["per_task"]["REST"] for name in metrics["schemes"]]
    assert len({(t["n_pos"], t["n_neg"]) for t in tests}) == 1  # the same human test windows
    for name, entry in metrics["schemes"].items():
        seeds = entry["seeds"]
        assert [r["seed"] for r in seeds] == [0, 1], name
        aupr = [r["test"]["per_task"]["REST"]["aupr"] for r in seeds]
        assert entry["test"]["per_task"]["REST"]["aupr"] == pytest.approx(sum(aupr) / 2, abs=1e-4)
        assert entry["steps"] == pytest.approx(sum(r["steps"] for r in seeds) / 2, abs=1e-3)
        assert isinstance(entry["test"]["per_task"]["REST"]["n_pos"], int)
    steps = {name: [r["steps"] for r in entry["seeds"]] for name, entry in metrics["schemes"].items()}
    for k in range(2):  # the control takes at least the longest semi-supervised run's steps (teacher counted)
        longest = max(steps["ssl"][k], steps["noisy_student"][k])
        assert steps["noisy_student"][k] > steps["ssl"][k] and steps["supervised_equal_steps"][k] >= longest
    assert metrics["counts"]["human_train_positive"] == {"REST": 10}
    assert set(metrics["homolog_identity"]) == {"chimp", "gorilla", "macaque", "marmoset"}
    assert 0.5 < metrics["homolog_identity"]["marmoset"] < metrics["homolog_identity"]["chimp"] < 0.98
    for species in ("chimp", "gorilla", "macaque", "marmoset"):
        labels = metrics["pseudo_labels"][species]["REST"]
        assert 0 <= labels["positives_right"] <= labels["lifted_positive"] <= labels["homologs"]
        assert labels["right"] <= labels["homologs"]
        lift = metrics["lift"][species]
        assert lift["kept"] + sum(lift["failed"].values()) + sum(lift["guard_removed"].values()) == lift["windows"]
    assert {row["scheme"] for row in comparison_rows(metrics)} == set(metrics["schemes"])
    assert metrics["schemes"]["ssl"]["snp_effects"]["motif"]["n"] > 0
    for stage in (
        "supervised",
        "supervised_equal_steps",
        "ssl/pretrain",
        "ssl/finetune",
        "noisy_student/round_1/student",
    ):
        assert (tmp_path / "seed_0" / stage / "checkpoints" / "best.ckpt").is_file()
    # ordinary run folders of `seqlab dna train`: the noisy student's teacher is the ssl run's model
    noisy = yaml.safe_load((tmp_path / "seed_1" / "noisy_student" / "config.yaml").read_text())
    assert noisy["train"]["scheme"] == "noisy_student" and [s["kind"] for s in noisy["data"]["sources"]] == [
        "peaks", "lifted"]  # fmt: skip
    teacher = tmp_path / "seed_1" / "ssl" / "finetune" / "checkpoints" / "best.ckpt"
    assert Path(noisy["noisy_student"]["teacher"]) == teacher and noisy["seed"] == 1
    assert noisy["data"]["sources"][0]["negatives"]["seed"] == 1  # the data seed: the same windows for every seed
    assert list(noisy["data"]["genomes"]) == ["human", "chimp", "gorilla", "macaque", "marmoset"]
