"""seqlab demo tracks: the simulated signal has its known values; the demo's data, baselines and truth."""

import json

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from seqlab.demo.tracks import AMPLITUDE, FOOTPRINT, background_rate, expected_signal, run_tracks_demo, simulate_tracks
from seqlab.io.genome import Genome

SMALL = {"chr1": 80_000, "chr2": 30_000, "chr3": 30_000}


def test_expected_signal_and_background_known_values():
    background = np.full(400, 0.5)
    signal = expected_signal(background, np.array([100, 300]), np.array([2.0, 4.0]))
    assert signal[100] == pytest.approx(2.5)  # the other site is 200 bp away, past the 4-SD (160 bp) reach
    assert signal[140] == pytest.approx(0.5 + 2.0 * np.exp(-0.5) + 4.0 * np.exp(-(160**2) / (2 * FOOTPRINT**2)))
    assert signal[300] == pytest.approx(4.5, abs=1e-6)
    gc = np.frombuffer(b"G" * 3000, np.uint8)
    assert background_rate(gc)[1500] == pytest.approx(0.2 * np.exp(4 * 0.58))
    at = np.frombuffer(b"AT" * 1500, np.uint8)
    assert background_rate(at)[1500] == pytest.approx(0.2 * np.exp(-4 * 0.42))


def test_simulated_sites_tracks_and_truth(tmp_path):
    paths = simulate_tracks(tmp_path, seed=3, chrom_sizes=SMALL)
    sites = pd.read_csv(paths["sites"], sep="\t")
    assert sites.groupby("task").size().to_dict() == {"TF_A": 70, "TF_B": 70}  # 140 kb / 2 kb per task
    genome = Genome(paths["genome"])
    for row in sites.sample(10, random_state=0).itertuples():
        assert genome.fetch(row.chrom, row.start, row.end) == row.sequence
    assert sites["strength"].max() <= AMPLITUDE * 4 and 0.6 < sites["bound"].mean() < 0.95
    assert pd.read_csv(paths["tasks"], sep="\t")["track"].tolist() == ["TF_A.bw", "TF_B.bw"]
    bound = sites[sites["bound"] & (sites["task"] == "TF_A") & (sites["strength"] > 3)]
    unbound = sites[~sites["bound"] & (sites["task"] == "TF_A")]
    with pyBigWig.open(str(paths["TF_A"])) as track, pyBigWig.open(str(paths["control"])) as control:
        assert track.chroms() == SMALL
        near = [np.nansum(track.values(r.chrom, r.centre - 40, r.centre + 40)) / 80 for r in bound.itertuples()]
        off = [np.nansum(track.values(r.chrom, r.centre - 40, r.centre + 40)) / 80 for r in unbound.itertuples()]
        at_sites = [np.nansum(control.values(r.chrom, r.centre - 40, r.centre + 40)) / 80 for r in bound.itertuples()]
    assert np.mean(near) > 2.0 > 0.6 > np.mean(off)  # footprint mean over +-40 bp: ~0.86 x strength
    assert np.mean(at_sites) < 0.6  # the control has no footprint


def test_demo_without_training_scores_baselines_below_the_truth(tmp_path):
    metrics = run_tracks_demo(tmp_path, seed=1, train=False, chrom_sizes=SMALL)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    kmer = metrics["baselines"]["kmer"]["test"]["pearson"]
    assert saved["baselines"]["kmer"]["test"]["pearson"] == pytest.approx(kmer)
    assert set(saved["baselines"]["gc"]["test"]["per_task"]) == {"TF_A", "TF_B"}
    truth = saved["truth"]["test"]["pearson"]
    assert truth > 0.9  # Poisson noise leaves the noise-free signal near, not at, 1
    assert saved["baselines"]["gc"]["test"]["pearson"] < 0.5 and saved["baselines"]["kmer"]["test"]["pearson"] < truth
    assert (tmp_path / "demo.yaml").read_text().count("kind: tracks") == 1


def test_demo_trains_and_writes_model_baseline_and_truth_scores(tmp_path):
    metrics = run_tracks_demo(tmp_path, seed=0, max_epochs=1, chrom_sizes=SMALL)  # one epoch of 7 steps
    saved = json.loads((tmp_path / "metrics.json").read_text())
    model = saved["test"]["per_task"]
    assert set(model) == {"TF_A", "TF_B"} and all(-1 <= model[t]["pearson"] <= 1 for t in model)
    assert (
        model["TF_A"]["n"] == metrics["baselines"]["n_examples"]["test"] == 144
    )  # chr3 tiled every 200 bp, less ends and N gaps
    assert saved["baselines"]["kmer"]["test"]["pearson"] == pytest.approx(
        metrics["baselines"]["kmer"]["test"]["pearson"]
    )
    assert saved["truth"]["test"]["pearson"] > 0.9 and (tmp_path / "run" / "model").is_dir()


def test_dna_baselines_command_writes_metrics_and_refuses_to_overwrite(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from seqlab.cli.main import app
    from seqlab.demo.tracks import demo_config

    paths = simulate_tracks(tmp_path / "data", seed=2, chrom_sizes={"chr1": 50_000, "chr2": 20_000, "chr3": 20_000})
    raw = demo_config(paths, seed=0, max_epochs=1)
    raw["model"]["head"] = {"kind": "linear"}  # the data section is what the baselines read
    raw["data"]["sources"][0].update(profile=True, profile_dir=str(tmp_path / "ignored"))
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw))
    args = ["dna", "baselines", str(config), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    metrics = saved["baselines"]
    assert saved["data"]["windows"] == sum(metrics["n_examples"].values())
    assert set(metrics) == {"gc", "kmer", "average_profile", "control_scaled", "n_examples"}
    assert metrics["kmer"]["test"]["per_task"]["TF_A"]["n"] == metrics["n_examples"]["test"] > 50
    assert metrics["kmer"]["alpha"] in [10.0**e for e in range(8)]
    assert metrics["control_scaled"]["test"]["jsd"] > 0 and not (tmp_path / "ignored").exists()
    assert CliRunner().invoke(app, args).exit_code == 2  # metrics.json exists: refused without --overwrite
