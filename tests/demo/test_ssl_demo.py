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
    metrics = run_ssl_demo(tmp_path, seed=1, max_epochs=1, train_peaks=10, chrom_sizes=sizes, factors=factors,
                           allow_small_splits=True)  # fmt: skip
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert list(metrics["schemes"]) == ["supervised", "ssl", "noisy_student"]
    tests = [metrics["schemes"][name]["test"]["per_task"]["REST"] for name in metrics["schemes"]]
    assert len({(t["n_pos"], t["n_neg"]) for t in tests}) == 1  # the same human test windows
    assert metrics["counts"]["human_train_positive"] == {"REST": 10}
    assert set(metrics["schemes"]["noisy_student"]["stages"]) == {"round_1/student", "round_1/finetune"}
    for species in ("chimp", "gorilla", "macaque", "marmoset"):
        labels = metrics["pseudo_labels"][species]["REST"]
        assert 0 <= labels["positives_right"] <= labels["lifted_positive"] <= labels["homologs"]
        assert labels["right"] <= labels["homologs"]
        lift = metrics["lift"][species]
        assert lift["kept"] + sum(lift["failed"].values()) + sum(lift["guard_removed"].values()) == lift["windows"]
    assert {row["scheme"] for row in comparison_rows(metrics)} == set(metrics["schemes"])
    assert metrics["snp_effects"]["ssl"]["motif"]["n"] > 0
    for stage in ("supervised", "ssl/pretrain", "ssl/finetune", "noisy_student/round_1/student"):
        assert (tmp_path / stage / "checkpoints" / "best.ckpt").is_file()
    # ordinary run folders of `seqlab dna train`: the noisy student's teacher is the ssl run's model
    noisy = yaml.safe_load((tmp_path / "noisy_student" / "config.yaml").read_text())
    assert noisy["train"]["scheme"] == "noisy_student" and [s["kind"] for s in noisy["data"]["sources"]] == [
        "peaks", "lifted"]  # fmt: skip
    assert Path(noisy["noisy_student"]["teacher"]) == tmp_path / "ssl" / "finetune" / "checkpoints" / "best.ckpt"
    assert list(noisy["data"]["genomes"]) == ["human", "chimp", "gorilla", "macaque", "marmoset"]
