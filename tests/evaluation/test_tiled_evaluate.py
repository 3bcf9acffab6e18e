"""Imbalanced (tiled) evaluation: `seqlab dna evaluate MODEL --config` with a `kind: tiling` source scores
every bin of the test regions with labels from the peaks (examples/ssl_chr22_tiled_test.yaml's route)."""

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import ModelConfig
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import build_model

runner = CliRunner()

# 20 bins of 10 bp on chr1; the test region is chr1:0-100 (bins 0-9), validation chr1:100-120, the rest training.
# Bins 2 and 4 are all A, bin 5 has 5 A, bin 7 has 7 A; every other bin has no A (and no T).
BINS = ["GCGCGCGCGC"] * 20
BINS[2] = BINS[4] = "A" * 10
BINS[5] = "AAAAAGGGGG"
BINS[7] = "AAAAAAAGGG"
# Peaks: [20, 30) covers bin 2; [45, 55) overlaps bins 4 and 5 by 5 bp each (= min_overlap: positive);
# [68, 71) overlaps bin 6 by 2 bp and bin 7 by 1 bp (under min_overlap: negative); [150, 160) is in training.
PEAKS = [(20, 30), (45, 55), (68, 71), (150, 160)]


def _count_a_model(tmp_path):
    """DeepBind with one 1-bp filter that detects A and a head reading its mean: logit = number of A / 10 * 10."""
    params = DataParams(tasks=["CTCF"], window_length=10, encoding="onehot", genome_name="toy")
    config = ModelConfig.model_validate({"trunk": {"arch": "deepbind", "filters": 1, "kernel_size": 1, "hidden": 0}})
    model = build_model(config, params).eval()
    with torch.no_grad():
        model.trunk.conv.weight.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]).view(1, 4, 1))
        model.trunk.conv.bias.zero_()
        model.head.linear.weight.copy_(torch.tensor([[0.0, 10.0]]))  # features: (max, mean) of the A track
        model.head.linear.bias.fill_(-4.0)
    return model.save_pretrained(tmp_path / "model")


def _config(tmp_path):
    (tmp_path / "genome.fa").write_text(">chr1\n" + "".join(BINS) + "\n")
    peaks = "".join(f"chr1\t{s}\t{e}\tp{i}\t0\t.\t1\t1\t1\t{(e - s) // 2}\n" for i, (s, e) in enumerate(PEAKS))
    (tmp_path / "ctcf.narrowPeak").write_text(peaks)
    (tmp_path / "tasks.tsv").write_text("task\tpeaks\nCTCF\tctcf.narrowPeak\n")
    (tmp_path / "test.bed").write_text("chr1\t0\t100\ttest\n")
    (tmp_path / "val.bed").write_text("chr1\t100\t120\tval\n")
    config = {
        "name": "tiled",
        "data": {
            "genomes": {"toy": {"fasta": "genome.fa"}},
            "tasks": "tasks.tsv",
            "sources": [{"kind": "tiling", "bin_size": 10, "stride": 10}],
            "window_length": 10,
            "min_overlap": 5,
            "split": {
                "test_chroms": [],
                "val_chroms": [],
                "test_regions": "test.bed",
                "val_regions": "val.bed",
                "gap": 0,
            },
        },
    }
    path = tmp_path / "tiled.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_tiled_evaluation_scores_every_test_bin_with_peak_overlap_labels(tmp_path):
    model, config = _count_a_model(tmp_path), _config(tmp_path)
    out = tmp_path / "eval"
    args = ["dna", "evaluate", str(model), "--config", str(config), "--out", str(out), "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_examples"] == {"test": 10}  # every bin of chr1:0-100, none of the training bins
    ctcf = metrics["test"]["per_task"]["CTCF"]
    assert (ctcf["n_pos"], ctcf["n_neg"]) == (3, 7)  # bins 2, 4, 5
    # ranking: bins 2, 4 (10 A, positive) > bin 7 (7 A, negative) > bin 5 (5 A, positive) > 6 bins without A
    assert ctcf["auroc"] == pytest.approx(20 / 21)
    assert ctcf["aupr"] == pytest.approx((1 + 1 + 3 / 4) / 3)
    lines = (out / "predictions_test.tsv").read_text().splitlines()
    assert [line.split("\t")[2] for line in lines[1:]] == [str(10 * i) for i in range(10)]
