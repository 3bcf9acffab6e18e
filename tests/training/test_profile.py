"""Profile models (BPNet-style) end to end: head shapes, strand handling, profile batches, training and predict."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.config import DataConfig, DnaRunConfig
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.encoding import encode, reverse_complement
from seqlab.data.table import ExampleTable
from seqlab.data.targets import ProfileWriter
from seqlab.models.sequence_model import SequenceModel, build_model
from seqlab.pipeline import predict, train

from ..data.conftest import random_dna, write_fasta

MOTIF = "GATAAGGCTT"  # not its own reverse complement
PARAMS = {"tasks": ["A", "B"], "window_length": 60, "encoding": "onehot", "target_length": 40}
MODEL = {
    "trunk": {"arch": "deepbind", "filters": 4, "kernel_size": 5, "hidden": 0, "dropout": 0.0},
    "head": {"kind": "profile", "kernel_size": 3},
    "objective": {"kind": "profile"},
}


def test_profile_head_shapes_and_the_position_rule() -> None:
    torch.manual_seed(0)
    model = build_model(MODEL, PARAMS).eval()
    x = torch.from_numpy(np.stack([encode(random_dna(np.random.default_rng(i), 60, 0.5), "onehot") for i in range(3)]))
    out = model(x)
    assert out.shape == (3, 2, 41)  # (B, T, L_out + 1): profile logits, then log(1 + counts)
    # DeepBind: P = 60 - 5 + 1 = 56 positions, no upsampling, the centred 40 kept: positions 8..47
    positional = model.positional_features(x)
    assert positional.shape == (3, 4, 56)  # both strands' scans summed: F = filters
    assert torch.equal(model.head.to_span(positional), positional[..., 8:48])
    # a profile model is never treated as strand symmetric: both strands run, the reverse profile flipped back
    assert not model.strand_symmetric
    both = model.strand_logits(x)
    assert both.shape == (3, 2, 2, 41)
    reverse = model(reverse_complement(x, "onehot"))
    assert torch.allclose(both[:, 1, :, :-1], reverse[..., :-1].flip(-1), atol=1e-6)
    assert torch.allclose(both[:, 1, :, -1], reverse[..., -1], atol=1e-6)
    assert model.strand_predictions(x).shape == (3, 2, 40)


def test_profile_head_with_control_and_refusals() -> None:
    config = {**MODEL, "head": {"kind": "profile", "kernel_size": 3, "control": True, "control_smoothing": 4}}
    model = build_model(config, PARAMS).eval()
    x = torch.zeros(2, 4, 60)
    control = torch.zeros(2, 2, 40)
    control[:, :, 20] = 8.0
    assert model(x, control).shape == (2, 2, 41)
    assert model.head.profile.in_channels == 4 + 2 and model.head.counts.in_features == 2 * 4 + 2
    smoothed = model.head.smoothed_control(control)
    assert smoothed[0, 0].sum().item() == pytest.approx(math.log(9.0), rel=1e-5)  # moving average keeps the mass
    with pytest.raises(ValueError, match="needs the control profiles"):
        model(x)
    # the count layer starts at weight 1 on its own task's log control total: zero the rest, counts = log(1 + 8)
    assert model.head.counts.weight[:, -2:].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with torch.no_grad():
        model.head.counts.weight[:, :-2] = 0.0
        model.head.counts.bias.zero_()
    control[1, 1, :4] = 1.0
    counts = model(x, control)[..., -1]
    torch.testing.assert_close(counts, torch.tensor([[math.log(9.0)] * 2, [math.log(9.0), math.log(13.0)]]))
    with pytest.raises(ValueError, match="needs base-resolution targets"):
        build_model(MODEL, {**PARAMS, "target_length": None})
    with pytest.raises(ValueError, match="fewer bases than the target span"):
        build_model(MODEL, {**PARAMS, "target_length": 58})(x)


def _table(tmp_path, n: int = 6, length: int = 40) -> ExampleTable:
    """In-memory windows with a profile per task that increases along the span (so a flip shows)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"genome": "g", "chrom": "c", "start": np.arange(n) * 60, "end": np.arange(n) * 60 + 60,
                          "strand": "+", "split": "train", "source": "tracks"})  # fmt: skip
    profiles = np.broadcast_to(np.arange(length, dtype=np.float32), (n, 2, length)) + np.arange(n)[:, None, None]
    writer = ProfileWriter(tmp_path / "profiles.f32", 2, length)
    writer.append(profiles)
    controls = ProfileWriter(tmp_path / "controls.f32", 2, length)
    controls.append(profiles * 10)
    return ExampleTable(frame, np.zeros((n, 2)), np.ones((n, 2)), pd.DataFrame({"task": ["A", "B"]}),
                        sequences=[random_dna(rng, 60, 0.5) for _ in range(n)], profiles=writer.finish(),
                        control_profiles=controls.finish())  # fmt: skip


def test_profile_batches_flip_targets_and_controls_with_the_strand(tmp_path) -> None:
    table = _table(tmp_path)
    sets = [{"fasta": tmp_path / "unused.fa", "labels": {"A": 1}}]
    data = DataConfig(sources=[{"kind": "sequences", "sets": sets}], window_length=60, batch_size=6,
                      augment={"max_shift": 0, "reverse_complement": True})  # fmt: skip
    dm = DnaDataModule(table, data, seed=3, store_dir=tmp_path / "store", profiles=True)
    dataset = dm.dataset("train")
    batch = dataset.__getitems__(list(range(6)))
    plain = DnaDataModule(table, data.model_copy(update={"augment": data.augment.model_copy(
        update={"reverse_complement": False})}), seed=3, store_dir=tmp_path / "store2", profiles=True)  # fmt: skip
    forward = plain.dataset("train").__getitems__(list(range(6)))
    flipped = ~torch.all(batch["x"] == forward["x"], dim=(1, 2))
    assert 0 < int(flipped.sum()) < 6  # some windows reverse-complemented, not all
    for i in range(6):
        expected = forward["profile"][i].flip(-1) if flipped[i] else forward["profile"][i]
        assert torch.equal(batch["profile"][i], expected)
        assert torch.equal(batch["control"][i], expected * 10)
        assert torch.equal(batch["y"][i], forward["y"][i]) and torch.equal(batch["weight"][i], forward["weight"][i])
    assert forward["profile"].shape == (6, 2, 40) and torch.equal(forward["profile"][2, 0], torch.arange(40.0) + 2)
    with pytest.raises(ValueError, match="max_shift must be 0 with profile targets"):
        shifted = data.model_copy(update={"augment": data.augment.model_copy(update={"max_shift": 3})})
        DnaDataModule(table, shifted, store_dir=tmp_path / "store3", profiles=True).dataset("train")


# --------------------------------------------------------------------------- toy data set, trained end to end

BLOCK, SPAN = 200, 100


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Three chromosomes of 200-bp blocks; half the target spans hold MOTIF (either strand) at a random place.

    The track: 0.02 per base everywhere, plus 3 per base over the 10 bases of every motif: the profile is a
    bump at the motif and the counts are about 30 with the motif, 2 without. The control: 1 per base.
    """
    folder = tmp_path_factory.mktemp("profile_toy")
    rng = np.random.default_rng(1)
    records, lines = {}, []
    for chrom in ("chr1", "chr2", "chr3"):
        sequence = list(random_dna(rng, BLOCK * 60, 0.5))
        bumps = np.full(len(sequence), 0.02)
        for block in range(60):
            if rng.random() < 0.5:
                where = block * BLOCK + int(rng.integers(10, SPAN - 20))  # inside the span [200k, 200k + 100)
                motif = MOTIF if rng.random() < 0.5 else MOTIF[::-1].translate(str.maketrans("ACGT", "TGCA"))
                sequence[where : where + len(MOTIF)] = motif
                bumps[where : where + len(MOTIF)] += 3.0
        records[chrom] = "".join(sequence)
        lines += [f"{chrom}\t{i}\t{i + 1}\t{v:.2f}\n" for i, v in enumerate(bumps)]
        (folder / "control.bdg").open("a").write(f"{chrom}\t0\t{len(sequence)}\t1\n")
    write_fasta(folder / "g.fa", records)
    (folder / "signal.bdg").write_text("".join(lines))
    (folder / "tasks.tsv").write_text("task\ttrack\tcontrol\nS\tsignal.bdg\tcontrol.bdg\n")
    return folder


def _config(folder, run) -> DnaRunConfig:
    source = {"kind": "tracks", "bin_size": SPAN, "target_length": SPAN, "stride": BLOCK, "profile": True,
              "profile_dir": str(run) + "-profiles"}  # fmt: skip
    return DnaRunConfig.model_validate(
        {
            "seed": 0,
            "data": {
                "genomes": {"g": {"fasta": str(folder / "g.fa")}},
                "tasks": str(folder / "tasks.tsv"),
                "window_length": BLOCK,
                "split": {"val_chroms": ["chr2"], "test_chroms": ["chr3"], "allow_small_splits": True},
                "sources": [source],
                "batch_size": 8,
                "augment": {"reverse_complement": True, "max_shift": 0},
            },
            "model": {
                "trunk": {"arch": "deepbind", "filters": 16, "kernel_size": 10, "hidden": 0, "dropout": 0.0},
                "head": {"kind": "profile", "kernel_size": 9, "control": True, "control_smoothing": 10},
                "objective": {"kind": "profile", "count_weight": 10.0},
            },
            "train": {"max_epochs": 12, "learning_rate": 0.02, "patience": 12, "progress_bar": False},
            "hardware": {"threads": 1},
        }
    )


@pytest.fixture(scope="module")
def trained(toy, tmp_path_factory):
    """A profile run on the toy tracks (a few seconds)."""
    run = tmp_path_factory.mktemp("profile_run") / "run"
    config = _config(toy, run)
    assert config.train.monitor == "val_count_pearson"
    train(config, run)
    return run


def test_a_profile_model_learns_the_bump_and_the_counts(trained) -> None:
    test = json.loads((trained / "metrics.json").read_text())["test"]
    metrics = test["per_task"]["S"]
    assert set(metrics) == {"count_pearson", "profile_pearson", "jsd", "n"}
    assert metrics["count_pearson"] > 0.8
    assert metrics["jsd"] < 0.4 and metrics["profile_pearson"] > 0.8  # a uniform profile: JSD 0.78
    assert (trained / "plots" / "profiles_test.png").stat().st_size > 0
    tsv = pd.read_csv(trained / "metrics_per_task.tsv", sep="\t")
    assert list(tsv.columns) == ["split", "task", "count_pearson", "profile_pearson", "jsd", "n"]
    frame = pd.read_csv(trained / "predictions_test.tsv", sep="\t")
    assert {"target.S", "pred.S"} <= set(frame.columns)


def test_predict_of_a_control_model_needs_controls(toy, trained, tmp_path) -> None:
    model = SequenceModel.from_pretrained(trained)
    assert model.data_params.target_length == SPAN and model.uses_control
    bed = tmp_path / "regions.bed"
    bed.write_text("chr3\t0\t100\n")
    with pytest.raises(ValueError, match="takes control profiles"):
        predict(trained, tmp_path / "pred.tsv", bed=bed, genome=toy / "g.fa")


def test_predict_gives_counts_and_a_base_resolution_bigwig(toy, tmp_path) -> None:
    import pyBigWig

    from seqlab.io.genome import Genome

    torch.manual_seed(0)
    params = {"tasks": ["S"], "window_length": BLOCK, "encoding": "onehot", "target_length": SPAN, "bin_size": SPAN}
    model = build_model({**MODEL, "head": {"kind": "profile", "kernel_size": 5}}, params).eval()
    bed = tmp_path / "regions.bed"
    bed.write_text("chr3\t1000\t1150\n")
    out = tmp_path / "pred.bw"
    frame = predict(model, tmp_path / "pred.tsv", bigwig_out=out, bed=bed, genome=toy / "g.fa")
    # bins of the 100-bp span: [1000, 1100) and the shorter [1100, 1150)
    assert list(zip(frame["start"], frame["end"], strict=True)) == [(1000, 1100), (1100, 1150)]
    genome = Genome(toy / "g.fa")
    x = torch.from_numpy(encode(genome.fetch("chr3", 950, 1150), "onehot"))[None]  # window centred on bin 1
    with torch.no_grad():
        expected = model.strand_predictions(x)[0, 0].double().numpy()  # (100,) expected counts per base
    with pyBigWig.open(str(out)) as handle:
        values = np.array(handle.values("chr3", 1000, 1100))
    assert values == pytest.approx(expected, rel=1e-4)
    assert frame["S"].iloc[0] == pytest.approx(expected.sum(), rel=1e-4)
    tsv = pd.read_csv(tmp_path / "pred.tsv", sep="\t")
    assert tsv["S"].iloc[0] == pytest.approx(expected.sum(), rel=1e-4)
    # without --bigwig-out: one row per region, the predicted counts of the window centred on it
    windows = predict(model, tmp_path / "windows.tsv", bed=bed, genome=toy / "g.fa")
    x = torch.from_numpy(encode(genome.fetch("chr3", 975, 1175), "onehot"))[None]
    with torch.no_grad():
        total = model.strand_predictions(x)[0, 0].sum().item()
    assert len(windows) == 1 and windows["S"].iloc[0] == pytest.approx(total, rel=1e-4)
