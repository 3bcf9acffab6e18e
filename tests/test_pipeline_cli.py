"""End to end: simulated files on disk -> seqlab dna train/evaluate/predict/variant-effect from the CLI and API."""

import fcntl
import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from seqlab import pipeline
from seqlab.cli.main import app
from seqlab.config import DnaRunConfig, load_config
from seqlab.demo.dna import write_demo_vcf
from seqlab.demo.simulate import FactorSpec, simulate_dna_demo
from seqlab.io.genome import Genome

SIZES = {"chr1": 900_000, "chr2": 300_000, "chr3": 300_000}
FACTORS = (
    FactorSpec("CTCF", "MA0139", sites=600, decoys=60, noise_peaks=10, biosample="GM12878", date="2023-06-12"),
    FactorSpec("REST", "MA0138", sites=120, decoys=20, noise_peaks=5, biosample="K562", date="2024-02-20"),
)
runner = CliRunner()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sim")
    paths = simulate_dna_demo(folder / "data", seed=1, chrom_sizes=SIZES, factors=FACTORS)
    config = {
        "seed": 1,  # seed 0 is an unlucky start for this tiny set (test AUROC 0.51 store path, 0.75 FASTA path)
        "name": "tiny",
        "data": {
            "genomes": {"genome": {"fasta": "data/genome.fa"}},
            "tasks": "data/tasks.tsv",
            "min_overlap": 100,
            "split": {"val_chroms": ["chr2"], "test_chroms": ["chr3"]},
            "batch_size": 64,
        },
        "model": {"trunk": {"arch": "deepbind", "filters": 32, "kernel_size": 20, "hidden": 16}},
        "train": {"max_epochs": 10, "patience": 10, "learning_rate": 0.003, "progress_bar": False},
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(config))
    paths["config"] = folder / "run.yaml"
    paths["root"] = folder
    return paths


@pytest.fixture(scope="module")
def trained(simulated) -> Path:
    out = simulated["root"] / "run"
    result = runner.invoke(app, ["dna", "train", str(simulated["config"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_the_run_folder(trained):
    for name in ("config.yaml", "metrics.json", "metrics_per_task.tsv", "checkpoints/best.ckpt",
                 "checkpoints/last.ckpt", "plots/roc_test.png", "plots/pr_test.png", "audit.json",
                 "predictions_test.tsv", "examples/labels.npy"):  # fmt: skip
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert set(metrics["test"]["per_task"]) == {"CTCF", "REST"}
    assert 0.0 <= metrics["test"]["auroc"] <= 1.0
    # a planted motif is learnable in a few epochs
    assert metrics["test"]["per_task"]["CTCF"]["auroc"] > 0.65
    resolved = yaml.safe_load((trained / "config.yaml").read_text())
    assert Path(resolved["data"]["genomes"]["genome"]["fasta"]).is_absolute()
    assert resolved["train"]["max_epochs"] == 10


def test_test_predictions_cover_only_test_chromosome(trained):
    frame = pd.read_csv(trained / "predictions_test.tsv", sep="\t")
    assert set(frame["chrom"]) == {"chr3"}
    assert {"prob.CTCF", "label.CTCF", "prob.REST"} <= set(frame.columns)


def test_evaluate_reproduces_training_metrics_and_leaves_the_training_log_alone(trained):
    before = json.loads((trained / "metrics.json").read_text())
    log_before = (trained / "logs" / "metrics.csv").read_bytes()
    result = pipeline.evaluate(trained)
    assert result.metrics["test"]["auroc"] == pytest.approx(before["test"]["auroc"], abs=1e-6)
    assert result.metrics["val"]["per_task"] == before["val"]["per_task"]  # the same code path: identical
    assert result.metrics["n_parameters"] == before["n_parameters"]
    assert (trained / "logs" / "metrics.csv").read_bytes() == log_before  # issue 9.5: nothing appended
    checkpoint = pipeline.evaluate(trained / "checkpoints" / "best.ckpt")  # the same weights as model/
    assert checkpoint.metrics["test"]["per_task"] == result.metrics["test"]["per_task"]


def test_evaluate_cli_with_a_checkpoint_and_bad_split(trained, tmp_path):
    out = tmp_path / "ckpt_eval"
    best = str(trained / "checkpoints" / "best.ckpt")
    threads = torch.get_num_threads()
    args = ["dna", "evaluate", str(trained), "--checkpoint", best, "--out", str(out), "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == threads  # restored after the command
    document = json.loads((out / "metrics.json").read_text())
    assert document["evaluated_model"] == best and set(document["n_examples"]) == {"val", "test"}
    result = runner.invoke(app, ["dna", "evaluate", str(trained), "--split", "holdout"])
    assert result.exit_code == 2 and "'holdout' is not one of" in result.output


def test_trained_run_has_a_model_folder_that_predicts_like_the_checkpoint(trained, simulated, tmp_path):
    assert json.loads((trained / "model" / "config.json").read_text())["model"]["head"] == {"kind": "linear"}
    frames = []
    for source in (trained / "model", trained / "checkpoints" / "best.ckpt", trained):
        out = tmp_path / f"{source.name}.tsv"
        frames.append(pipeline.predict(source, out, bed=simulated["peaks_REST"], genome=simulated["genome"]))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_evaluate_on_another_data_set_from_cli(simulated, trained, tmp_path):
    before = json.loads((trained / "metrics.json").read_text())
    out = tmp_path / "other"
    result = runner.invoke(app, ["dna", "evaluate", str(trained / "model"), "--config", str(simulated["config"]),
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    # the same config and seed rebuild the same test windows: the same metrics as after training
    for task, values in before["test"]["per_task"].items():
        assert metrics["test"]["per_task"][task] == pytest.approx(values, abs=1e-6)
    assert "val" not in metrics and metrics["n_examples"]["test"] == len(
        pd.read_csv(out / "predictions_test.tsv", sep="\t")
    )
    for name in ("metrics_per_task.tsv", "plots/roc_test.png", "plots/pr_test.png"):
        assert (out / name).is_file(), name
    assert not (out / "logs").exists()


def test_evaluate_labelled_fasta_sets(simulated, trained, tmp_path):
    predictions = pd.read_csv(trained / "predictions_test.tsv", sep="\t")
    genome = Genome(simulated["genome"])
    paths = {}
    for label in (0, 1):
        rows = predictions[predictions["label.CTCF"] == label]
        paths[label] = tmp_path / f"ctcf_{label}.fa"
        paths[label].write_text(
            "".join(f">w{i}\n{genome.fetch(r.chrom, r.start, r.end)}\n" for i, r in enumerate(rows.itertuples()))
        )
    out = tmp_path / "fasta_eval"
    result = pipeline.evaluate(trained / "model", out, fasta_sets=[f"{paths[1]}:CTCF=1", (paths[0], {"CTCF": 0.0})])
    expected = json.loads((trained / "metrics.json").read_text())["test"]["per_task"]["CTCF"]
    assert result.metrics["test"]["per_task"]["CTCF"] == pytest.approx(expected, abs=1e-6)
    assert list(result.metrics["test"]["per_task"]) == ["CTCF"]
    with pytest.raises(ValueError, match=r"task\(s\) \['ATF3'\] that the model does not predict"):
        pipeline.evaluate(trained / "model", tmp_path / "atf3", fasta_sets=[f"{paths[1]}:ATF3=1"])


def test_resume_continues_to_more_epochs(simulated, trained, tmp_path):
    run = tmp_path / "resumed"
    run.mkdir()
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes((trained / "checkpoints" / "last.ckpt").read_bytes())
    (run / "config.yaml").write_bytes((trained / "config.yaml").read_bytes())
    config = load_config(simulated["config"], DnaRunConfig, overrides=["train.max_epochs=11"])
    result = pipeline.train(config, run, resume=True)
    assert result.metrics["epochs"] == 11


def test_predict_bed_and_variant_effect_from_cli(simulated, trained, tmp_path):
    ckpt = str(trained / "checkpoints" / "best.ckpt")
    out = tmp_path / "preds.tsv"
    result = runner.invoke(app, ["dna", "predict", ckpt, "--bed", str(simulated["peaks_CTCF"]), "--genome",
                                 str(simulated["genome"]), "--out", str(out), "--threads", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out, sep="\t")
    assert len(preds) == sum(1 for _ in open(simulated["peaks_CTCF"]))
    assert preds[["CTCF", "REST"]].stack().between(0, 1).all()

    sites = pd.read_csv(simulated["sites"], sep="\t")
    variants = write_demo_vcf(sites, Genome(simulated["genome"]), "chr3", tmp_path / "snps.vcf", seed=0)
    effects = tmp_path / "effects.tsv"
    result = runner.invoke(app, ["dna", "variant-effect", ckpt, "--vcf", str(tmp_path / "snps.vcf"),
                                 "--genome", str(simulated["genome"]), "--out", str(effects)])  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(effects, sep="\t")
    assert len(scores) == 2 * len(variants)  # one row per variant and task
    ctcf = scores[scores["task"] == "CTCF"].merge(variants[["id", "kind"]], on="id")
    means = ctcf.groupby("kind")["delta_prob"].mean()
    assert means["motif"] < means["random"]  # breaking a bound CTCF site lowers the CTCF prediction


def test_existing_outputs_are_refused_unless_overwrite(simulated, trained, tmp_path):
    model = str(trained / "model")
    predict = ["dna", "predict", model, "--bed", str(simulated["peaks_CTCF"]), "--genome", str(simulated["genome"])]
    evaluate = ["dna", "evaluate", model, "--config", str(simulated["config"]), "--out", str(tmp_path / "eval")]
    sites = pd.read_csv(simulated["sites"], sep="\t")
    write_demo_vcf(sites, Genome(simulated["genome"]), "chr3", tmp_path / "snps.vcf", seed=0)
    effects = [
        "dna",
        "variant-effect",
        model,
        "--vcf",
        str(tmp_path / "snps.vcf"),
        "--genome",
        str(simulated["genome"]),
    ]
    commands = {
        "predict": ([*predict, "--out", str(tmp_path / "p.tsv")], tmp_path / "p.tsv"),
        "variant-effect": ([*effects, "--out", str(tmp_path / "e.tsv")], tmp_path / "e.counts.tsv"),
        "evaluate": (evaluate, tmp_path / "eval" / "metrics.json"),
    }
    for name, (args, output) in commands.items():
        assert runner.invoke(app, args).exit_code == 0, name
        output.write_text("kept\n")
        before = sorted(tmp_path.rglob("*"))
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "use --overwrite to replace it" in _flat(result.output), (name, result.output)
        assert output.read_text() == "kept\n" and sorted(tmp_path.rglob("*")) == before, name
        result = runner.invoke(app, [*args, "--overwrite"])
        assert result.exit_code == 0 and output.read_text() != "kept\n", (name, result.output)
        assert sorted(tmp_path.rglob("*")) == before, name  # replaced in place, no temporary left
    with pytest.raises(ValueError, match=r"p.tsv: exists; use --overwrite"):
        pipeline.predict(model, tmp_path / "p.tsv", bed=simulated["peaks_CTCF"], genome=simulated["genome"])


def test_paired_fasta_variant_effect_from_cli_matches_the_vcf_path(simulated, trained, tmp_path):
    ckpt = str(trained / "checkpoints" / "best.ckpt")
    genome = Genome(simulated["genome"])
    chrom, size = next(iter(genome.chrom_sizes.items()))
    start = next(s for s in range(size // 2, size - 300, 50) if "N" not in genome.fetch(chrom, s, s + 260).upper())
    ref = genome.fetch(chrom, start, start + 260).upper()
    alt_base = "A" if ref[130] != "A" else "C"
    alt = ref[:130] + alt_base + ref[131:]
    name = f"{chrom}:{start + 131}:{ref[130]}>{alt_base}|{chrom}:{start}-{start + 260}"
    (tmp_path / "ref.fa").write_text(f">{name}\n{ref}\n")
    (tmp_path / "alt.fa").write_text(f">{name}\n{alt}\n")
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    (tmp_path / "one.vcf").write_text(f"{header}{chrom}\t{start + 131}\tv\t{ref[130]}\t{alt_base}\t.\t.\t.\n")
    outputs = {}
    for mode, args in (
        ("paired", ["--ref-fasta", str(tmp_path / "ref.fa"), "--alt-fasta", str(tmp_path / "alt.fa")]),
        ("vcf", ["--vcf", str(tmp_path / "one.vcf"), "--genome", str(simulated["genome"])]),
    ):
        out = tmp_path / f"{mode}.tsv"
        result = runner.invoke(app, ["dna", "variant-effect", ckpt, *args, "--shifts", "2", "--out", str(out)])
        assert result.exit_code == 0, result.output
        outputs[mode] = pd.read_csv(out, sep="\t")
        assert len(outputs[mode]) == 2, result.output  # one variant, two tasks
    assert list(outputs["paired"].columns) == list(outputs["vcf"].columns)
    for metric in ("ref_prob", "alt_prob", "delta_logit"):
        assert outputs["paired"][metric].tolist() == pytest.approx(outputs["vcf"][metric].tolist(), rel=1e-5)


def test_unknown_config_key_fails_loudly_from_cli(simulated, tmp_path):
    result = runner.invoke(app, ["dna", "train", str(simulated["config"]), "--set", "train.max_epoch=3",
                                 "--out", str(tmp_path / "bad")])  # fmt: skip
    assert result.exit_code == 2
    assert "train.max_epoch: unknown key" in result.output
    assert not (tmp_path / "bad").exists()


def test_audit_command_prints_findings(simulated, tmp_path):
    result = runner.invoke(app, ["dna", "audit", str(simulated["config"]), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "audit.json").read_text())
    assert report["n_examples"] > 0


def test_every_command_has_help():
    dna = ("train", "evaluate", "predict", "variant-effect", "audit", "report")
    for command in (*(["dna", name] for name in dna), ["demo", "dna"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_report_summarises_runs_as_mean_and_sd(trained, tmp_path):
    metrics = json.loads((trained / "metrics.json").read_text())
    out = tmp_path / "summary.tsv"
    result = runner.invoke(app, ["dna", "report", str(trained), str(trained), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out, sep="\t").set_index("task")
    assert summary.loc["CTCF", "n_runs"] == 2
    assert summary.loc["CTCF", "auroc_mean"] == pytest.approx(metrics["test"]["per_task"]["CTCF"]["auroc"], abs=1e-6)
    assert summary.loc["CTCF", "auroc_sd"] == pytest.approx(0.0)
    assert summary.loc["mean", "aupr_mean"] == pytest.approx(metrics["test"]["aupr"], abs=1e-6)


def test_last_checkpoint_is_the_latest_epoch_not_the_best(trained):
    import torch

    last = torch.load(trained / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    metrics = json.loads((trained / "metrics.json").read_text())
    assert last["epoch"] == metrics["epochs"] - 1  # saved after the final epoch's validation


def test_error_messages_are_not_read_as_markup(tmp_path):
    folder = tmp_path / "d[rep1]"
    folder.mkdir()
    bed = folder / "p.bed"
    bed.write_text("chr1\tx\t10\n")
    result = runner.invoke(app, ["dna", "predict", "none.ckpt", "--bed", str(bed), "--genome", str(bed)])
    assert result.exit_code == 2
    # the checkpoint is checked first; its path (with brackets) must appear verbatim
    weird = tmp_path / "x[/]y.ckpt"
    result = runner.invoke(app, ["dna", "predict", str(weird), "--fasta", str(bed)])
    assert result.exit_code == 2 and "x[/]y.ckpt" in result.output


def _flat(output: str) -> str:
    """CLI output with Rich's line wrapping undone."""
    return " ".join(output.split())


def test_train_into_a_used_or_locked_folder_is_refused(simulated, trained, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    result = runner.invoke(app, ["dna", "train", str(simulated["config"]), "--out", str(run)])
    assert result.exit_code == 2
    assert "already holds a run; use --resume to continue it, --overwrite to replace it" in _flat(result.output)
    # a live run holding the folder refuses a second one (issue 9, item 1)
    with open(run / ".lock", "w") as holder:  # what a live run holds: an OS lock on .lock
        holder.write(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "started": "x"}))
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_EX)
        result = runner.invoke(app, ["dna", "train", str(simulated["config"]), "--out", str(run), "--overwrite"])
        assert result.exit_code == 2
        assert f"is in use by another run (pid {os.getppid()}" in _flat(result.output)
        result = runner.invoke(app, ["dna", "evaluate", str(run)])  # nor re-evaluated meanwhile
        assert result.exit_code == 2 and "is in use by another run" in _flat(result.output)


def test_resume_with_another_seed_is_refused_and_leaves_the_folder_intact(simulated, trained, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    args = ["dna", "train", str(simulated["config"]), "--out", str(run), "--resume"]
    result = runner.invoke(app, [*args, "--set", "seed=2", "--set", "model.trunk.filters=8"])
    assert result.exit_code == 2
    message = _flat(result.output)
    assert "config differs from the run's" in message and "in model.trunk.filters, seed (" in message
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert pipeline.evaluate(run).metrics["test"]["auroc"] > 0.5  # still a valid run folder


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_beginning(simulated, trained, tmp_path):
    # issue 17, item 3: config.yaml, examples and a log written, then killed before the first last.ckpt
    run = tmp_path / "killed"
    run.mkdir()
    for name in ("config.yaml", "examples", "logs"):
        (shutil.copytree if (trained / name).is_dir() else shutil.copy)(trained / name, run / name)
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / ".last.ckpt.4242.tmp").write_bytes(b"PK half")  # the killed checkpoint write
    args = ["dna", "train", str(run / "config.yaml"), "--out", str(run)]  # its own config.yaml (item 2)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "already holds a run; use --resume" in _flat(result.output)
    result = runner.invoke(app, [*args, "--resume", "--set", "train.max_epochs=1"])
    assert result.exit_code == 0, result.output
    assert "--resume found no checkpoint" in _flat(result.output)
    assert "starting the run from the beginning" in _flat(result.output)
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "metrics.json").is_file()
    assert not (run / "checkpoints" / ".last.ckpt.4242.tmp").exists()
    assert len(pd.read_csv(run / "logs" / "metrics.csv")["epoch"].dropna().unique()) == 1  # the old log is gone


def test_a_run_stopped_after_an_epoch_and_resumed_ends_as_an_uninterrupted_one(simulated, tmp_path):
    def config(epochs):
        return load_config(simulated["config"], DnaRunConfig, overrides=[f"train.max_epochs={epochs}"])

    whole = pipeline.train(config(3), tmp_path / "whole")
    pipeline.train(config(1), tmp_path / "parts")
    log = tmp_path / "parts/logs/metrics.csv"
    header = log.read_text().splitlines()[0].split(",")
    killed = ",".join({"epoch": "1", "step": "9999"}.get(name, "") for name in header)
    log.write_text(log.read_text() + killed + "\n")  # a row of the killed epoch 1
    parts = pipeline.train(config(3), tmp_path / "parts", resume=True)
    assert parts.metrics["epochs"] == whole.metrics["epochs"] == 3
    assert parts.metrics["test"]["auroc"] == pytest.approx(whole.metrics["test"]["auroc"], abs=1e-6)
    logs = [pd.read_csv(tmp_path / run / "logs/metrics.csv") for run in ("whole", "parts")]
    assert logs[1]["step"].max() == logs[0]["step"].max()  # the killed epoch's row is gone
    assert logs[1]["val_loss"].dropna().tolist() == pytest.approx(logs[0]["val_loss"].dropna().tolist(), abs=1e-6)


def test_a_validation_split_without_positives_fails_before_training(simulated, tmp_path, monkeypatch):
    build = pipeline.prepare_examples

    def without_val_positives(config):
        table, report = build(config)
        table.labels[table.split_indices("val")] = 0
        return table, report

    monkeypatch.setattr(pipeline, "prepare_examples", without_val_positives)
    config = load_config(simulated["config"], DnaRunConfig)
    with pytest.raises(ValueError, match=r"train.monitor=val_auroc is undefined: no task has both .* \(CTCF \(0 pos"):
        pipeline.train(config, tmp_path / "noval")
    assert not any((tmp_path / "noval/checkpoints").glob("*.ckpt"))
    assert not (tmp_path / "noval/.lock").exists()


def test_validation_every_n_steps_with_patience_in_steps(simulated, tmp_path):
    overrides = ["train.max_epochs=2", "train.val_check_interval=7", "train.patience=700", "train.patience_unit=steps"]
    config = load_config(simulated["config"], DnaRunConfig, overrides=overrides)
    pipeline.train(config, tmp_path / "steps")
    log = pd.read_csv(tmp_path / "steps/logs/metrics.csv")
    assert np.diff(log.dropna(subset=["val_loss"])["step"].to_numpy())[:2].tolist() == [7, 7]  # across epoch ends


def test_evaluate_prints_which_windows_it_scored():
    from seqlab.cli.dna import scored_lines

    left_out = {"val": {"chimp": 20, "gorilla": 19}, "test": {"chimp": 17, "gorilla": 17}}
    metrics = {"n_examples": {"val": 20, "test": 17}, "homologs_left_out": left_out}
    assert scored_lines(metrics) == [
        "val: 20 reference windows scored; 39 homolog windows left out (chimp 20, gorilla 19)",
        "test: 17 reference windows scored; 34 homolog windows left out (chimp 17, gorilla 17)",
    ]
    assert scored_lines({"n_examples": {"test": 1200}}) == ["test: 1,200 windows scored"]


def test_threads_option_sets_torch_threads_for_the_command_only(monkeypatch):
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: seen.append(n))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 7)
    with pipeline.torch_threads(1):
        pass
    with pipeline.torch_threads(None):
        pass
    assert seen == [1, 7]
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        with pipeline.torch_threads(0):
            pass
    result = runner.invoke(app, ["dna", "predict", "m", "--fasta", "f.fa", "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output


def test_a_copied_model_folder_holds_no_machine_path_and_predicts_without_the_data(trained, simulated, tmp_path):
    copy = tmp_path / "other_machine" / "model"
    shutil.copytree(trained / "model", copy)
    text = (copy / "config.json").read_text()
    assert str(simulated["root"]) not in text and '"/' not in text  # no absolute path at all
    assert json.loads(text)["data"]["task_metadata"][0]["peaks"] == "CTCF.narrowPeak"
    for suffix in ("", ".fai"):
        shutil.copy(f"{simulated['genome']}{suffix}", tmp_path / f"genome.fa{suffix}")
    shutil.copy(simulated["peaks_REST"], tmp_path / "regions.bed")
    expected = pipeline.predict(trained / "model", tmp_path / "a.tsv", bed=tmp_path / "regions.bed",
                                genome=tmp_path / "genome.fa")  # fmt: skip
    data, hidden = simulated["root"] / "data", simulated["root"] / "data.hidden"
    data.rename(hidden)  # the training data is gone
    try:
        got = pipeline.predict(copy, tmp_path / "b.tsv", bed=tmp_path / "regions.bed", genome=tmp_path / "genome.fa")
    finally:
        hidden.rename(data)
    pd.testing.assert_frame_equal(expected, got)
