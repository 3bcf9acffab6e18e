"""The MFD workflow end to end on a tiny simulated compendium (one run of the demo, shared by the tests):
train.scheme: mfd through written configs, held-out experiments, model folder, imputation through
``seqlab dna predict``, ``seqlab dna introspect``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.demo.compendium import CompendiumSpec
from seqlab.demo.mfd import run_mfd_demo
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import SequenceModel

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
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-mfd")
    return out, run_mfd_demo(out, seed=1, max_epochs=1, spec=TINY, allow_small_splits=True)


def test_demo_metrics_runs_and_introspection(demo):
    out, metrics = demo
    assert set(metrics) == {
        "plain",
        "mfd",
        "mfd_no_penalty",
        "imputation",
        "disentanglement",
        "collapse",
        "variant_effects",
        "warnings",
        "runs",
        "wall_time_s",
    }
    # the fair baseline: the same learning-rate grid, epochs and patience for MFD and the plain head
    for name in ("mfd", "plain"):
        assert set(metrics[name]["lr_search"]) == {"0.003", "0.01"}
        chosen = max(metrics[name]["lr_search"].items(), key=lambda kv: (kv[1], -float(kv[0])))[0]
        assert metrics[name]["learning_rate"] == float(chosen)
        other = "0.003" if chosen == "0.01" else "0.01"
        assert (out / "lr_search" / f"{name}-lr{other}" / "metrics.json").is_file()
    assert metrics["mfd_no_penalty"]["learning_rate"] == metrics["mfd"]["learning_rate"]
    assert set(metrics["disentanglement"]["live_fraction"]) == {"biological", "technical"}
    assert set(metrics["plain"]["live_fraction"]) == {"all"}
    assert all(0.0 <= v <= 1.0 for v in metrics["disentanglement"]["live_fraction"].values())
    assert -1.0 <= metrics["collapse"]["mean_logit_r"] <= 1.0
    assert set(metrics["collapse"]["per_model"]) == {"mfd", "plain", "mfd_no_penalty"}
    assert metrics["imputation"]["seen"]["on_seen_experiments"]["auroc"] is not None
    assert json.loads((out / "metrics.json").read_text())["mfd"]["penalty"] == "cross_prediction"
    tasks = pd.read_csv(out / "data" / "tasks.tsv", sep="\t")
    held = sorted(tasks.query("holdout == 'yes'")["task"])
    assert len(held) == 3  # one factor x biosample, 3 labs
    assert sorted(metrics["imputation"]["held_out"]) == held
    assert (
        sorted(metrics["imputation"]["imputed"]["per_task"])
        == held
        == sorted(metrics["imputation"]["seen"]["per_task"])
    )
    seen = set(tasks["task"]) - set(held)
    assert set(metrics["plain"]["test"]["per_task"]) == set(metrics["mfd"]["test"]["per_task"]) == seen
    assert set(metrics["mfd_no_penalty"]["test"]["per_task"]) == seen
    # the runs came from the written configs through the scheme registry
    run = json.loads((out / "mfd" / "metrics.json").read_text())
    assert run["scheme"] == "mfd" and run["head"] == "metadata"
    assert json.loads((out / "plain" / "metrics.json").read_text())["head"] == "linear"
    assert run["holdout"]["tasks"] == [t for t in tasks["task"] if t in held]
    table = pd.read_csv(out / "mfd" / "introspection.tsv", sep="\t")
    assert list(table.columns) == ["feature", "group", "target", "biosample", "assay", "lab", "date", "live"]
    assert int(table["live"].sum()) == run["disentanglement"]["live_features"]
    assert (out / "mfd" / "introspection.png").is_file() and (out / "mfd" / "imputation" / "metrics.json").is_file()
    # each group's weights are functions of its own columns: exact by construction
    lands = metrics["disentanglement"]["lands_in"]
    assert lands == {
        "target": "biological",
        "biosample": "biological",
        "lab": "technical",
        "date": "technical",
        "assay": "none",
    }  # fmt: skip  (one assay in every experiment: no association)
    assert metrics["disentanglement"]["lab_probe"]["classes"]["none"] > 0
    attribution = metrics["disentanglement"]["artefact_attribution"]["per_experiment"]
    assert attribution and all(set(v) == {"biological", "technical", "technical_share"} for v in attribution.values())
    assert all(task.split("_")[-1] in ("LabGC", "LabKmer") for task in attribution)  # biased labs only


def test_model_folder_rebuilds_the_metadata_head(demo):
    out, _ = demo
    model = SequenceModel.from_pretrained(out / "mfd")
    params = model.data_params
    assert isinstance(model.head, MetadataHead)
    assert model.head.encoder.columns[3].vocabulary == ["LabDrop", "LabGC", "LabKmer"]
    held = json.loads((out / "mfd" / "metrics.json").read_text())["holdout"]["tasks"]
    assert not set(held) & set(params.tasks) and len(params.tasks) == 9
    best = SequenceModel.from_pretrained(out / "mfd" / "checkpoints" / "best.ckpt")
    x = np.random.default_rng(0).random((2, 4, 200)).astype(np.float32)
    import torch

    torch.testing.assert_close(model(torch.from_numpy(x)), best(torch.from_numpy(x)))


def _bed(out, path, n=6):
    frame = pd.read_csv(out / "mfd" / "predictions_test.tsv", sep="\t").head(n)
    frame[["chrom", "start", "end"]].to_csv(path, sep="\t", header=False, index=False)
    return frame


def test_predict_imputes_experiments_from_metadata(demo, tmp_path):
    out, _ = demo
    frame = _bed(out, tmp_path / "w.bed")
    table = tmp_path / "rows.tsv"
    # a seen experiment's metadata gives exactly its own column of the model
    tasks = pd.read_csv(out / "data" / "tasks.tsv", sep="\t", dtype=str)
    seen = tasks[tasks["holdout"] == "no"].iloc[[0]].drop(columns=["peaks"])
    seen.to_csv(table, sep="\t", index=False)
    result = runner.invoke(app, [
        "dna", "predict", str(out / "mfd" / "model"), "--bed", str(tmp_path / "w.bed"), "--genome",
        str(out / "data" / "genome.fa"), "--center", "center", "--out", str(tmp_path / "p.tsv"),
        "--metadata", "target=GATA1,biosample=GM12878,K562,assay=ChIP-seq,lab=LabGC,date=2012-03-15",
        "--metadata-table", str(table),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    task = seen["task"].iloc[0]
    assert [c for c in predictions.columns if c.startswith("logit.")] == [
        "logit.GATA1_GM12878+K562_ChIP-seq_LabGC_2012-03-15",
        f"logit.{task}",
    ]
    np.testing.assert_allclose(predictions[task], frame[f"prob.{task}"], rtol=1e-4, atol=1e-6)
    bad = runner.invoke(app, [
        "dna", "predict", str(out / "mfd"), "--bed", str(tmp_path / "w.bed"), "--genome",
        str(out / "data" / "genome.fa"),
        "--metadata", "target=GATA1,biosample=HepG2,assay=ChIP-seq,lab=LabGC,date=2012",
    ])  # fmt: skip
    assert bad.exit_code != 0
    assert "column 'biosample': value 'HepG2' was never seen in training" in " ".join(bad.output.split())
    plain = runner.invoke(app, ["dna", "predict", str(out / "plain"), "--bed", str(tmp_path / "w.bed"), "--genome",
                                str(out / "data" / "genome.fa"), "--metadata", "target=GATA1"])  # fmt: skip
    assert plain.exit_code != 0 and "metadata head" in plain.output


def test_introspect_command_matches_the_run(demo, tmp_path):
    out, _ = demo
    result = runner.invoke(app, ["dna", "introspect", str(out / "mfd" / "model"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    mine = pd.read_csv(tmp_path / "introspection.tsv", sep="\t")
    run = pd.read_csv(out / "mfd" / "introspection.tsv", sep="\t")
    # a model folder has no test windows: every feature counts as live there
    assert mine["live"].all()
    pd.testing.assert_frame_equal(mine.drop(columns="live"), run.drop(columns="live"))
    assert (tmp_path / "introspection.png").is_file()
    plain = runner.invoke(app, ["dna", "introspect", str(out / "plain")])
    assert plain.exit_code != 0 and "not a metadata head" in plain.output


def test_variant_effects_at_planted_sites_per_subspace(demo):
    out, metrics = demo
    effects = metrics["variant_effects"]
    assert effects["chrom"] == "chr3" and 0 < effects["n_motif"] <= 60 == effects["n_random"]
    assert effects["n_bound_pairs"] > 0
    scorings = ["mfd_full", "mfd_biological", "mfd_technical", "plain_full"]
    assert list(effects["mean_delta_logit"]) == scorings
    assert all(set(v) == {"motif_bound", "random"} for v in effects["mean_delta_logit"].values())
    assert json.loads((out / "metrics.json").read_text())["variant_effects"]["mean_delta_logit"].keys() == set(scorings)


@pytest.mark.parametrize("where", ["", "checkpoints/best.ckpt"])
def test_embed_and_subspace_variant_effects_from_the_cli_on_the_mfd_run(demo, tmp_path, where):
    out, _ = demo
    model = str(out / "mfd" / where) if where else str(out / "mfd")
    genome = str(out / "data" / "genome.fa")
    _bed(out, tmp_path / "w.bed", n=5)
    result = runner.invoke(app, ["dna", "embed", model, "--bed", str(tmp_path / "w.bed"), "--genome", genome,
                                 "--center", "center", "--out", str(tmp_path / "emb")])  # fmt: skip
    assert result.exit_code == 0, result.output
    bio, tech = (
        np.load(tmp_path / "emb" / "features.biological.npy"),
        np.load(tmp_path / "emb" / "features.technical.npy"),
    )
    np.testing.assert_array_equal(np.concatenate([bio, tech], axis=1), np.load(tmp_path / "emb" / "features.full.npy"))
    assert bio.shape == (5, 48) and tech.shape == (5, 16)  # 64 features split 0.75 / 0.25
    vcf = tmp_path / "v.vcf"
    ref = open_genome_base(genome, "chr3", 30_000)
    alt = "ACGT"[("ACGT".index(ref) + 2) % 4]
    vcf.write_text(
        f"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr3\t30001\tv1\t{ref}\t{alt}\t.\t.\t.\n"
    )
    effects = {}
    for subspace in ("bio", "full"):
        path = tmp_path / f"{subspace}.tsv"
        result = runner.invoke(app, ["dna", "variant-effect", model, "--vcf", str(vcf), "--genome", genome,
                                     "--subspace", subspace, "--out", str(path)])  # fmt: skip
        assert result.exit_code == 0, result.output
        effects[subspace] = pd.read_csv(path, sep="\t")
    assert len(effects["bio"]) == 9
    # the same reference scores, to the TSV's last digit (the two runs batch the windows differently)
    np.testing.assert_allclose(effects["bio"]["ref_logit"], effects["full"]["ref_logit"], atol=2e-6)
    assert not np.allclose(effects["bio"]["delta_logit"], effects["full"]["delta_logit"])


def open_genome_base(path, chrom, pos0):
    from seqlab.io.genome import Genome

    return Genome(path).fetch(chrom, pos0, pos0 + 1).upper()


def test_a_rerun_into_the_same_folder_replaces_the_runs(tmp_path):
    """As the other demos: a second run into the same folder replaces the first (same seed, same figures),
    with no run nested in the chosen folders."""
    first = run_mfd_demo(tmp_path, seed=2, max_epochs=1, spec=TINY, allow_small_splits=True)
    second = run_mfd_demo(tmp_path, seed=2, max_epochs=1, spec=TINY, allow_small_splits=True)
    assert second["mfd"]["test"]["auroc"] == first["mfd"]["test"]["auroc"]
    assert second["plain"]["test"]["auroc"] == first["plain"]["test"]["auroc"]
    for name in ("mfd", "plain"):
        assert (tmp_path / name / "model").is_dir()
        assert not any(p.name.startswith(name + "-lr") for p in (tmp_path / name).iterdir())
