"""seqlab dna alleles: exact figures on toy scorers and toy pairs, input errors, the CLI and the real PWM figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from seqlab.config import ModelConfig
from seqlab.evaluation.alleles import (
    AllelePairs,
    agreement,
    allele_table,
    jaspar_log_odds,
    model_scorer,
    pwm_best_scores,
    read_allele_pairs,
    shifted,
)
from seqlab.io.errors import InputError
from seqlab.models.sequence_model import SequenceModel
from tests.evaluation.toy import toy_model


def _fasta(path, records):
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    return path


def test_agreement_counts_ties_as_one_half_with_a_clopper_pearson_interval():
    row = agreement(np.array([1.0, -1.0, 0.0, 2.0]))
    assert row["n_pairs"] == 4
    assert row["fraction_a_above_b"] == pytest.approx(2.5 / 4)
    assert row["chance"] == 0.5
    assert row["ci_low"] == pytest.approx(stats.beta.ppf(0.025, 2.5, 2.5))
    assert row["ci_high"] == pytest.approx(stats.beta.ppf(0.975, 3.5, 1.5))
    assert "spearman" not in row


def test_agreement_with_measured_effects_gives_sign_agreement_label_balance_and_spearman():
    effect = np.array([1.0, -1.0, 0.0, 2.0, 3.0])
    measured = np.array([1.0, 1.0, -1.0, 1.0, 0.5])
    row = agreement(effect, measured, n_boot=200)
    assert row["sign_agreement"] == pytest.approx(3.5 / 5)  # +, -, tie (one half), +, +
    assert row["sign_chance"] == pytest.approx(0.8)  # four of five measured effects are positive
    assert row["spearman"] == pytest.approx(stats.spearmanr(effect, measured).statistic)
    assert row["spearman_ci_low"] <= row["spearman"] <= row["spearman_ci_high"]


def test_all_pairs_right_has_an_upper_bound_of_one():
    row = agreement(np.ones(10))
    assert row["fraction_a_above_b"] == 1.0 and row["ci_high"] == 1.0
    assert row["ci_low"] == pytest.approx(0.025 ** (1 / 10))  # Clopper-Pearson for 10 of 10


@pytest.mark.parametrize(
    ("sequence", "offset", "length", "placed"),
    [
        ("ACG", 0, 7, "ACG"),
        ("ACG", 1, 7, "NNACG"),  # centred by predict: NN|ACG -> N NNACG N, the bases one bp right
        ("ACG", -2, 7, "ACGNNNN"),
        ("ACG", 3, 7, None),  # no room: the sequence would be cropped
        ("ACGTACG", 0, 7, "ACGTACG"),  # as long as the window: centred only
        ("ACGTACG", 1, 7, None),
    ],
)
def test_shifted_places_a_sequence_off_centre_by_n_padding(sequence, offset, length, placed):
    assert shifted(sequence, offset, length) == placed


def test_model_scorer_averages_both_strands_of_the_padded_window():
    score = model_scorer(toy_model())
    logits, tasks = score(["AAAA", "CCCCCCCCCC", "AAAAATTTTTGG"])
    assert tasks == ["up", "down"]
    # the toy trunk counts A; the reverse strand's A are the forward T: the strand mean is (A + T) / 2
    a_plus_t = np.array([4.0, 0.0, 9.0])  # the 12-bp record is cropped to its centre 10 bp (AAAATTTTTG)
    np.testing.assert_allclose(logits[:, 0], 0.5 * a_plus_t / 2 - 1.0, rtol=1e-6)
    np.testing.assert_allclose(logits[:, 1], -0.25 * a_plus_t / 2 + 2.0, rtol=1e-6)


def test_shifts_move_a_short_sequence_inside_the_window_and_average():
    score = model_scorer(toy_model(), shifts=2)
    logits, _ = score(["AAAA"])  # the A count does not depend on where the sequence sits
    np.testing.assert_allclose(logits[0], [0.5 * 2 - 1.0, -0.25 * 2 + 2.0], rtol=1e-6)


@pytest.mark.parametrize("loss", ["mse", "poisson"])
def test_model_scorer_ranks_a_regression_model_by_its_raw_outputs(loss):
    toy = toy_model()
    config = ModelConfig(objective={"kind": "regression", "loss": loss})
    model = SequenceModel(toy.trunk, toy.head, toy.data_params, config)
    values, _ = model_scorer(model)(["AAAA", "CCCCCCCCCC"])
    # the raw outputs, as a binary model's logits: values (mse) or log rates (poisson), strand mean (A + T) / 2
    np.testing.assert_allclose(values[:, 0], [0.5 * 2 - 1.0, -1.0], rtol=1e-6)
    predicted = model.predict(["AAAA", "CCCCCCCCCC"]).probabilities[:, 0]  # the strands' outputs: (1, -1), (-1, -1)
    expected = [(np.e + 1 / np.e) / 2, 1 / np.e] if loss == "poisson" else values[:, 0]  # strand mean of the rates
    np.testing.assert_allclose(predicted, expected, rtol=1e-6)


def test_allele_table_rows_for_models_ensemble_and_pwm():
    c8 = "CCCCCCCC"  # the toy model's window is 10 bp: these 16-bp records are centre-cropped to bases 3-12
    pairs = AllelePairs(
        ["p1", "p2", "p3"], [c8 + "AAAACGTC", c8 + c8, c8 + "AAAACCCC"], [c8 + c8, c8 + c8, c8 + "TTTTCCCC"]
    )
    scorers = {"m1": model_scorer(toy_model()), "m2": model_scorer(toy_model())}
    summary, per_pair = allele_table(scorers, pairs, jaspar="MA0139.2")
    assert list(summary["model"]) == ["m1", "m1", "m2", "m2", "ensemble", "ensemble", "jaspar"]
    up = summary[(summary["model"] == "m1") & (summary["task"] == "up")].iloc[0]
    # effects on "up": 4 A vs none (CCCCC|AAAAC vs C..): +1; equal pair: tie; 4 A vs 4 T: equal strand means, tie
    assert up["fraction_a_above_b"] == pytest.approx(2 / 3)
    down = summary[(summary["model"] == "m1") & (summary["task"] == "down")].iloc[0]
    assert down["fraction_a_above_b"] == pytest.approx(1 / 3)
    ensemble = summary[summary["model"] == "ensemble"].reset_index(drop=True)
    m1 = summary[summary["model"] == "m1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ensemble.drop(columns="model"), m1.drop(columns="model"))
    assert len(per_pair) == 3 * 7
    first = per_pair[(per_pair["model"] == "m1") & (per_pair["task"] == "up")].iloc[0]
    assert first["effect"] == pytest.approx(first["score_a"] - first["score_b"]) == pytest.approx(1.0)


def test_pwm_best_scores_take_the_best_hit_on_either_strand():
    log_odds = np.log2(np.array([[0.7, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.7]]) / 0.25)  # motif "AT"
    best_at = 2 * np.log2(0.7 / 0.25)
    # "GGAT": forward hit; "GGAA" reverse strand holds "TTCC": no AT anywhere; "NNAT": N scores 0
    scores = pwm_best_scores(["GGAT", "CCAA", "NNAT"], log_odds)
    assert scores[0] == pytest.approx(best_at)
    assert scores[2] == pytest.approx(best_at)
    # "CCAA": forward CA/AA; reverse complement TTGG: its best is "AA" or the reverse matrix's "TT" hit
    assert scores[1] == pytest.approx(np.log2(0.7 / 0.25) + np.log2(0.1 / 0.25))


def test_jaspar_log_odds_from_the_local_database():
    log_odds = jaspar_log_odds("MA0139.2")
    assert log_odds.shape == (4, 19) or log_odds.shape[0] == 4
    with pytest.raises(ValueError, match="MA9999.9"):
        jaspar_log_odds("MA9999.9")


def test_read_allele_pairs_errors_name_the_problem(tmp_path):
    a = _fasta(tmp_path / "a.fa", [("x", "ACGT"), ("y", "ACGT")])
    with pytest.raises(InputError, match="record 2 is 'z' but 'y'"):
        read_allele_pairs(a, _fasta(tmp_path / "b.fa", [("x", "ACGA"), ("z", "ACGA")]))
    with pytest.raises(InputError, match="2 records here but 1"):
        read_allele_pairs(a, _fasta(tmp_path / "c.fa", [("x", "ACGA")]))
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(ValueError, match="empty.fa"):
        read_allele_pairs(a, tmp_path / "empty.fa")
    (tmp_path / "m.tsv").write_text("id\teffect\nx\t0.5\n")
    with pytest.raises(InputError, match="no measured effect for 1 pair.*'y'"):
        read_allele_pairs(a, a, tmp_path / "m.tsv")
    (tmp_path / "m.tsv").write_text("id\teffect\nx\t0.5\ny\thigh\n")
    with pytest.raises(InputError, match=":3: .*'high' is not a number"):
        read_allele_pairs(a, a, tmp_path / "m.tsv")
    (tmp_path / "m.tsv").write_text("id\teffect\ny\t-0.5\nx\t0.5\n")
    np.testing.assert_array_equal(read_allele_pairs(a, a, tmp_path / "m.tsv").measured, [0.5, -0.5])


def test_alleles_command_writes_both_tables_and_refuses_to_overwrite(tmp_path):
    from typer.testing import CliRunner

    from seqlab.cli.main import app
    from seqlab.models.sequence_model import build_model
    from seqlab.training.base import make_data_params

    params = make_data_params(["t"], 24, "onehot", "toy")
    torch.manual_seed(0)
    model = build_model({"trunk": {"arch": "deepbind", "filters": 4, "kernel_size": 5, "hidden": 3}}, params)
    folder = model.save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 16)) for _ in range(12)]
    alt = [s[:8] + {"A": "C", "C": "G", "G": "T", "T": "A"}[s[8]] + s[9:] for s in seqs]
    a = _fasta(tmp_path / "a.fa", [(f"p{i}", s) for i, s in enumerate(seqs)])
    b = _fasta(tmp_path / "b.fa", [(f"p{i}", s) for i, s in enumerate(alt)])
    args = ["dna", "alleles", str(folder), str(folder), "--pairs-a", str(a), "--pairs-b", str(b)]
    args += ["--out", str(tmp_path / "out")]
    runner = CliRunner()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "out" / "alleles.tsv", sep="\t")
    assert list(summary.columns[:7]) == [
        "model",
        "task",
        "n_pairs",
        "fraction_a_above_b",
        "ci_low",
        "ci_high",
        "chance",
    ]
    name = f"{tmp_path.name}/model"  # a folder called model is named with its parent (a run folder's model/)
    assert list(summary["model"]) == [f"{name}#0", f"{name}#1", "ensemble"]
    expected, _ = allele_table({"m": model_scorer(model)}, read_allele_pairs(a, b))
    assert summary["fraction_a_above_b"].iloc[0] == pytest.approx(expected["fraction_a_above_b"].iloc[0], abs=1e-6)
    assert len(pd.read_csv(tmp_path / "out" / "pairs.tsv", sep="\t")) == 3 * 12
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


@pytest.mark.realdata
def test_jaspar_ctcf_baseline_reproduces_the_bundle_figure(shared_data):
    folder = shared_data / "dna" / "allelic"
    pairs = read_allele_pairs(folder / "ctcf_asb_dev_binding.fa", folder / "ctcf_asb_dev_nonbinding.fa")
    summary, per_pair = allele_table({}, pairs, jaspar="MA0139.2")
    assert summary["n_pairs"].iloc[0] == 198
    assert summary["fraction_a_above_b"].iloc[0] == pytest.approx(0.702, abs=5e-4)  # the bundle README's figure
    differing = per_pair["effect"].to_numpy() != 0
    assert differing.sum() == 98 and (per_pair["effect"][differing] > 0).mean() == pytest.approx(0.908, abs=5e-4)
