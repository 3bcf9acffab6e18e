"""noisy_student.teacher_windows: windows of the other genomes outside the lifted ones, labelled by the teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.config import DataConfig, DeepBindConfig, ModelConfig
from seqlab.config.schemes import NoisyStudentConfig, StageConfig, TeacherWindowsConfig
from seqlab.data.homologs import LiftOptions, lift_examples
from seqlab.data.labels import overlaps_any
from seqlab.data.table import ExampleTable
from seqlab.data.teacher_windows import candidate_windows
from seqlab.demo.evolve import Branch, evolve_species
from seqlab.demo.simulate import FactorSpec
from seqlab.io.genome import Genome
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import build_model
from seqlab.training.noisy_student import confident_labels, run_noisy_student


def test_confident_labels_thresholds_caps_and_modes() -> None:
    probs = np.array([[0.95, 0.5], [0.91, 0.02], [0.5, 0.97], [0.05, 0.92], [0.08, 0.5], [0.899, 0.101]], np.float32)
    windows = TeacherWindowsConfig(threshold=0.9, max_positives=5, max_negatives=5)
    rows, labels, weights, counts = confident_labels(probs, windows, "weighted", np.random.default_rng(0))
    assert rows.tolist() == [0, 1, 2, 3, 4]  # row 5 is confident for no task
    expected_labels = [[1, 0], [1, 0], [0, 1], [0, 1], [0, 0]]
    expected_weights = [[0.95, 0], [0.91, 0.98], [0, 0.97], [0.95, 0.92], [0.92, 0]]
    np.testing.assert_allclose(labels, expected_labels)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    assert counts["0"] == {
        "positive": 2,
        "negative": 2,
        "p_positive_min": pytest.approx(0.91),
        "p_negative_max": pytest.approx(0.08),
    }
    assert counts["1"] == {
        "positive": 2,
        "negative": 1,
        "p_positive_min": pytest.approx(0.92),
        "p_negative_max": pytest.approx(0.02),
    }
    _, soft, soft_weights, _ = confident_labels(probs, windows, "soft", np.random.default_rng(0))
    np.testing.assert_allclose(soft[:, 0], probs[:5, 0])  # soft: the teacher's p, weight 1 where kept
    np.testing.assert_allclose(soft_weights, [[1, 0], [1, 1], [0, 1], [1, 1], [1, 0]])
    capped = TeacherWindowsConfig(threshold=0.9, max_positives=1, max_negatives=0)
    rows, labels, _, counts = confident_labels(probs, capped, "weighted", np.random.default_rng(0))
    assert counts["0"]["positive"] == counts["1"]["positive"] == 1 and counts["0"]["negative"] == 0
    assert len(rows) <= 2 and labels.max(axis=0).tolist() == [1, 1]
    top = TeacherWindowsConfig(select="top", max_positives=1, max_negatives=2)  # the threshold plays no part
    rows, labels, weights, counts = confident_labels(probs, top, "weighted", np.random.default_rng(0))
    assert rows.tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(labels, [[1, 0], [0, 0], [0, 1], [0, 0], [0, 0], [0, 0]])
    # task 0: top 0.95 (row 0), bottom 0.05, 0.08 (rows 3, 4); task 1: top 0.97 (row 2), bottom 0.02, 0.101
    assert (weights > 0).astype(int).tolist() == [[1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [0, 1]]
    assert counts["1"]["p_negative_max"] == pytest.approx(0.101)


@pytest.fixture(scope="module")
def species(tmp_path_factory: pytest.TempPathFactory):
    """Human windows on chr1 (train, val) and chr2 (test) of a simulated genome, their ape homologs, the data config."""
    root = tmp_path_factory.mktemp("tw")
    tree = (Branch("ape", substitution_rate=0.02, indel_rate=0.002, inversions=1, transpositions=1),)
    factors = (FactorSpec("REST", "MA0138", sites=20, decoys=4, noise_peaks=2),)
    evolved = evolve_species(root, seed=2, chrom_sizes={"chr1": 60_000, "chr2": 40_000}, factors=factors, tree=tree)
    starts = np.arange(1_000, 38_000, 1_000)
    chroms = np.where(np.arange(starts.size) % 2 == 0, "chr1", "chr2")
    split = np.where(chroms == "chr2", "test", np.where(np.arange(starts.size) % 4 == 0, "train", "val"))
    frame = pd.DataFrame({"genome": "human", "chrom": chroms, "start": starts, "end": starts + 200, "strand": "+",
                          "split": split, "source": "peaks", "origin": ""})  # fmt: skip
    labels = (np.arange(starts.size) % 3 == 0)[:, None].astype(np.float32)
    human = ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["REST"]}),
                         genomes={"human": evolved.human["genome"]})  # fmt: skip
    genomes = {"ape": {"fasta": evolved.genomes["ape"], "chain": evolved.chains["ape"]}}
    homologs = lift_examples(human, genomes, LiftOptions(min_match=0.5))
    data = DataConfig(
        genomes={"human": {"fasta": evolved.human["genome"]}, **genomes},
        tasks=evolved.human["tasks"],
        sources=[{"kind": "tiling"}, {"kind": "lifted", "min_match": 0.5}],
        window_length=200,
        split={"test_chroms": ["chr2"], "val_chroms": [], "gap": 0},
        batch_size=64,
    )
    return human, homologs, data


def test_candidate_windows_are_training_homologs_outside_every_lifted_window(species) -> None:
    human, homologs, data = species
    candidates = candidate_windows(data, human, homologs, stride=500)
    frame = candidates.frame.astype({"genome": str, "chrom": str, "split": str, "origin": str})
    report = candidates.report["teacher_windows"]
    genome = Genome(data.genomes["human"].fasta, "human")
    tiles = {  # 200-bp tiles every 500 bp with at most 1 % (2 bp) not ACGT, counted here base by base
        chrom: [
            t
            for t in range(0, size - 199, 500)
            if sum(b not in "ACGT" for b in genome.fetch(chrom, t, t + 200).upper()) <= 2
        ]
        for chrom, size in genome.chrom_sizes.items()
    }
    labelled = set(human.frame["start"][human.frame["chrom"] == "chr1"])  # each overlaps the one tile at its start
    assert report["tiles"] == len(tiles["chr1"]) + len(tiles["chr2"])
    assert report["training_tiles"] == len(tiles["chr1"])  # chr2 is the test chromosome
    assert report["tiles_outside_labelled_windows"] == len(set(tiles["chr1"]) - labelled)
    assert 0 < len(candidates) <= report["lifted"] and report["candidates"] == {"ape": len(candidates)}
    assert set(frame["genome"]) == {"ape"} and set(frame["split"]) == {"train"}
    assert set(frame["source"]) == {"teacher_windows"} and (frame["end"] - frame["start"] == 200).all()
    assert frame["origin"].str.startswith("human:chr1:").all()  # lifted from chr1 tiles only
    held = homologs.frame.astype({"chrom": str})
    assert not overlaps_any(frame, held).any()  # outside every homolog of the run
    assert candidates.weights.sum() == 0  # unlabelled until a teacher scores them


def test_noisy_student_trains_the_student_on_the_confident_teacher_windows(species, tmp_path: Path) -> None:
    from tests.training.test_ssl import _ctx

    human, homologs, data = species
    params = DataParams(tasks=["REST"], window_length=200, encoding="onehot", genome_name="human")
    trunk = DeepBindConfig(filters=4, kernel_size=12, hidden=4)
    teacher = build_model(ModelConfig(trunk=trunk), params).eval()
    with torch.no_grad():  # p = sigmoid(4) = 0.982 for every window: every candidate is a confident positive
        teacher.head.linear.weight.zero_()
        teacher.head.linear.bias.fill_(4.0)
    folder = teacher.save_pretrained(tmp_path / "teacher")
    one = StageConfig(max_epochs=1, learning_rate=0.01, patience=1)
    windows = TeacherWindowsConfig(stride=500, threshold=0.9, max_positives=7, max_negatives=7)
    noisy = NoisyStudentConfig(student=one, finetune=one, teacher_windows=windows)
    ctx = _ctx(tmp_path / "ns", human, data, "noisy_student", trunk=trunk, noisy_student=noisy)
    result, _ = run_noisy_student(ctx, human, homologs, ctx.run, folder)
    n_homologs = int((homologs.frame["split"] == "train").sum())
    n_human = int((human.frame["split"] == "train").sum())
    assert result["stages"]["round_1/student"]["n_train"] == n_homologs + n_human + 7
    assert result["rounds"][0]["teacher_windows"]["REST"]["positive"] == 7
    assert result["rounds"][0]["teacher_windows"]["REST"]["negative"] == 0
    assert (tmp_path / "ns" / "teacher_windows.json").is_file()
