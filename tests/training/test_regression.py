"""Regression end to end: a tracks table trains a regression DeepBind; evaluate and predict give values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import DnaRunConfig
from seqlab.models.sequence_model import SequenceModel
from seqlab.pipeline import evaluate, predict, train

from ..data.conftest import random_dna, write_fasta

BLOCK = 200


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    """Three chromosomes of 200-bp blocks of varying GC; the track is 10 x each block's GC fraction."""
    folder = tmp_path_factory.mktemp("tracks")
    rng = np.random.default_rng(0)
    records, lines = {}, []
    for chrom in ("chr1", "chr2", "chr3"):
        blocks = [random_dna(rng, BLOCK, gc) for gc in rng.uniform(0.2, 0.8, 40)]
        records[chrom] = "".join(blocks)
        for i, block in enumerate(blocks):
            gc = (block.count("G") + block.count("C")) / BLOCK
            lines.append(f"{chrom}\t{i * BLOCK}\t{(i + 1) * BLOCK}\t{10 * gc:.4f}\n")
    write_fasta(folder / "g.fa", records)
    (folder / "signal.bdg").write_text("".join(lines))
    (folder / "tasks.tsv").write_text("task\ttrack\nS\tsignal.bdg\n")
    return folder


def _config(folder, **objective) -> DnaRunConfig:
    return DnaRunConfig.model_validate(
        {
            "seed": 0,
            "data": {
                "genomes": {"g": {"fasta": str(folder / "g.fa")}},
                "tasks": str(folder / "tasks.tsv"),
                "window_length": 200,
                "split": {"val_chroms": ["chr2"], "test_chroms": ["chr3"], "allow_small_splits": True},
                "sources": [{"kind": "tracks", "bin_size": 200, "target_length": 200, "stride": 100}],
                "batch_size": 16,
            },
            "model": {
                "trunk": {"arch": "deepbind", "filters": 8, "kernel_size": 4, "hidden": 8, "dropout": 0.0},
                "objective": {"kind": "regression", **objective},
            },
            "train": {"max_epochs": 6, "learning_rate": 0.01, "patience": 6, "progress_bar": False},
            "hardware": {"threads": 1},
        }
    )


def test_binary_on_tracks_is_a_config_error(tracks):
    raw = _config(tracks).model_dump(mode="json")
    raw["model"]["objective"] = {"kind": "binary"}
    raw["train"]["monitor"] = "val_auroc"
    with pytest.raises(ValueError, match=r"data.sources.0 \(kind tracks\) gives quantitative targets"):
        DnaRunConfig.model_validate(raw)


@pytest.fixture(scope="module")
def trained(tracks, tmp_path_factory):
    """A regression run on the tracks (about 3 s)."""
    config = _config(tracks)
    assert config.train.monitor == "val_pearson"
    folder = tmp_path_factory.mktemp("run")
    train(config, folder / "run")
    return folder


def test_regression_trains_evaluates_and_predicts_values(tracks, trained):
    tmp_path = trained
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert set(test["per_task"]["S"]) == {"pearson", "spearman", "n"}
    assert test["per_task"]["S"]["pearson"] > 0.5  # GC is learnable by the mean-pooled scan
    assert (tmp_path / "run" / "plots" / "scatter_test.png").stat().st_size > 0
    frame = pd.read_csv(tmp_path / "run" / "predictions_test.tsv", sep="\t")
    assert {"target.S", "pred.S"} <= set(frame.columns)
    assert frame["target.S"].between(0, 10).all() and frame["target.S"].std() > 0.5
    tsv = pd.read_csv(tmp_path / "run" / "metrics_per_task.tsv", sep="\t")
    assert list(tsv.columns) == ["split", "task", "pearson", "spearman", "n"]

    model = SequenceModel.from_pretrained(tmp_path / "run")
    assert model.objective.kind == "regression"
    bed = tmp_path / "regions.bed"
    bed.write_text("chr3\t1000\t1200\nchr3\t3000\t3200\n")
    predicted = predict(tmp_path / "run", bed=bed, genome=tracks / "g.fa", out=tmp_path / "pred.tsv")
    values = predicted["S"].to_numpy()
    assert "logit.S" not in predicted.columns
    direct = model.predict(["ACGT" * 50, "GGCC" * 50]).probabilities[:, 0]
    assert not np.allclose(direct, 1 / (1 + np.exp(-direct)))  # values, not squashed into (0, 1)
    assert np.isfinite(values).all()

    evaluated = evaluate(tmp_path / "run", tmp_path / "eval", splits=["test"]).metrics
    assert evaluated["test"]["per_task"]["S"]["pearson"] == pytest.approx(test["per_task"]["S"]["pearson"], abs=1e-6)
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["test"]["pearson"] is not None


def test_bigwig_out_round_trip_and_refusal(tracks, trained, tmp_path):
    import pyBigWig

    from seqlab.outputs import OutputExistsError

    bed = tmp_path / "regions.bed"
    bed.write_text("chr3\t1000\t1500\nchr3\t1400\t1700\nchr1\t0\t300\n")
    out = tmp_path / "pred.bw"
    frame = predict(trained / "run", None, bigwig_out=out, bed=bed, genome=tracks / "g.fa")
    # bins of the model's 200 bp: chr1 [0, 200) [200, 300); chr3 merged [1000, 1700) in 4 bins
    assert list(zip(frame["chrom"], frame["start"], frame["end"], strict=True)) == [
        ("chr1", 0, 200), ("chr1", 200, 300), ("chr3", 1000, 1200), ("chr3", 1200, 1400),
        ("chr3", 1400, 1600), ("chr3", 1600, 1700),
    ]  # fmt: skip
    with pyBigWig.open(str(out)) as handle:
        assert handle.chroms() == {"chr1": 8000, "chr3": 8000}
        read = handle.intervals("chr1") + handle.intervals("chr3")
    assert [(s, e) for s, e, _ in read] == list(zip(frame["start"], frame["end"], strict=True))
    assert np.array_equal(np.array([v for _, _, v in read], dtype=np.float32), frame["S"].to_numpy(np.float32))
    with pytest.raises(OutputExistsError):
        predict(trained / "run", None, bigwig_out=out, bed=bed, genome=tracks / "g.fa")


def test_bigwig_names_and_tiles():
    from seqlab.evaluation.bigwig_out import bigwig_paths, tile_regions

    assert bigwig_paths("out/pred.bw", ["A"]) == [Path("out/pred.bw")]
    assert bigwig_paths("out/pred.bw", ["A", "B"]) == [Path("out/pred.A.bw"), Path("out/pred.B.bw")]
    assert bigwig_paths("pred", ["A", "B"]) == [Path("pred.A.bw"), Path("pred.B.bw")]
    regions = pd.DataFrame({"chrom": ["c2", "c1", "c1"], "start": [0, 50, 0], "end": [10, 120, 60]})
    tiles = tile_regions(regions, 50, ["c1", "c2"])
    assert tiles.values.tolist() == [["c1", 0, 50], ["c1", 50, 100], ["c1", 100, 120], ["c2", 0, 10]]
