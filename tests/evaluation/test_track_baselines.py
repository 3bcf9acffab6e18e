"""Track baselines: exact answers on tiny arrays (GC, k-mer counts, profile baselines, scores)."""

import numpy as np
import pytest

from seqlab.evaluation.track_baselines import (
    KmerRidge,
    average_profile_baseline,
    control_profile_baseline,
    gc_baseline,
    gc_fraction,
    kmer_baseline,
    kmer_counts,
    score_profile,
    score_regression,
)


def test_gc_fraction_of_strings_and_one_hot():
    assert gc_fraction(["GGCA", "ATAT", "NNGC", "NNNN"]).tolist() == [0.75, 0.0, 1.0, 0.5]
    onehot = np.zeros((1, 4, 5), np.float32)
    onehot[0, [2, 2, 1, 0], [0, 1, 2, 3]] = 1  # G G C A N
    assert gc_fraction(onehot).tolist() == [0.75]
    assert gc_fraction(np.swapaxes(onehot, 1, 2)).tolist() == [0.75]


def test_kmer_counts_columns_and_skipped_n():
    counts = kmer_counts(["AAAAC", "ANAAA", "GTTTT"], sizes=(4,)).toarray()
    assert counts.shape == (3, 136)  # (256 + 16 palindromes) / 2 canonical 4-mers
    assert counts[0, 0] == 1 and counts[0, 1] == 1 and counts[0].sum() == 2  # AAAA, AAAC
    assert counts[1].sum() == 0  # every 4-mer holds the N
    np.testing.assert_array_equal(counts[2], counts[0])  # GTTTT is the reverse complement of AAAAC
    assert kmer_counts(["ACGTACGT"]).shape == (1, 136 + 512 + 2080)


def test_kmer_ridge_matches_sklearn():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(300)]
    y = rng.normal(size=(300, 2))
    for n in (40, 300):  # fewer windows than features (the dual solve), then more (the primal)
        model = KmerRidge.fit(seqs[:n], y[:n], sizes=(4,))
        x = kmer_counts(seqs, (4,)).toarray().astype(np.float64)
        expected = Ridge(alpha=3.0).fit(x[:n], y[:n]).predict(x[:5])
        np.testing.assert_allclose(model.predict(seqs[:5], 3.0), expected, rtol=1e-6, atol=1e-8)


def test_gc_baseline_recovers_a_linear_gc_signal():
    rng = np.random.default_rng(0)
    gc = rng.integers(0, 21, 60)
    seqs = ["G" * g + "A" * (20 - g) for g in gc]
    targets = np.stack([2.0 + 3.0 * gc / 20, 1.0 - gc / 20], axis=1)[:, :, None].astype(np.float32)  # (60, 2, 1)
    weights = np.ones((60, 2), np.float32)
    weights[:5, 1] = 0
    targets[:5, 1] = 100.0  # masked outliers do not move task 1's fit
    predicted = gc_baseline(seqs, targets, ["G" * 10 + "A" * 10], weights)
    assert predicted.shape == (1, 2, 1)
    assert predicted[0, :, 0] == pytest.approx([3.5, 0.5], abs=1e-5)


def test_kmer_baseline_beats_gc_on_a_motif_signal():
    rng = np.random.default_rng(1)

    def windows(n):
        seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(n)]
        hits = rng.integers(0, 3, n)
        seqs = [s[:10] + "GATTACA" * h + s[10 + 7 * h :] for s, h in zip(seqs, hits, strict=True)]
        return seqs, (hits + rng.normal(0, 0.2, n)).astype(np.float32)[:, None, None]

    train, val, test = windows(300), windows(100), windows(100)
    (predicted,), alpha = kmer_baseline(train, val, [test[0]], sizes=(4,))
    kmer = score_regression(predicted, test[1])["pearson"]
    gc = score_regression(gc_baseline(train[0], train[1], test[0]), test[1])["pearson"]
    assert alpha in [10.0**e for e in range(8)]
    assert kmer > 0.8 and kmer > gc + 0.3


def test_average_profile_is_mean_shape_times_mean_log_counts():
    train = np.array([[[1.0, 3.0]], [[0.0, 0.0]], [[6.0, 2.0]]], np.float32)  # (3, 1, 2); one empty window
    predicted = average_profile_baseline(train, 2)
    shape = np.array([(0.25 + 0.75) / 2, (0.75 + 0.25) / 2])  # mean of [0.25, 0.75] and [0.75, 0.25]
    counts = np.expm1(np.mean(np.log1p([4.0, 0.0, 8.0])))
    assert predicted.shape == (2, 1, 2)
    np.testing.assert_allclose(predicted[1, 0], shape * counts, rtol=1e-6)


def test_control_scaled_uses_the_training_ratio_and_control_shape():
    train = np.full((2, 1, 4), 2.0, np.float32)  # signal total 16
    train_controls = np.full((2, 1, 4), 1.0, np.float32)  # control total 8: ratio 2
    controls = np.array([[[3.0, 1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]], np.float32)
    predicted = control_profile_baseline(train, train_controls, controls)
    expected = (np.array([3.0, 1.0, 0.0, 0.0]) + 0.25) / 5.0 * 4.0 * 2.0
    np.testing.assert_allclose(predicted[0, 0], expected, rtol=1e-6)
    assert predicted[0, 0].sum() == pytest.approx(8.0)  # counts: control total 4 x ratio 2
    assert predicted[1, 0].tolist() == [0.0] * 4  # no control: no counts


def test_scores_known_values():
    observed = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    scores = score_regression(observed * 2 + 1, observed, tasks=["a", "b"])
    assert scores["pearson"] == pytest.approx(1.0) and scores["per_task"]["b"]["spearman"] == pytest.approx(1.0)
    weights = np.array([[1, 1], [1, 0], [1, 1]], np.float32)
    assert score_regression(observed, observed, weights)["per_task"]["task1"]["n"] == 2
    profile = np.array([[[1.0, 0.0]], [[0.0, 2.0]], [[1.0, 1.0]]], np.float32)
    same = score_profile(profile, profile)
    assert same["jsd"] == pytest.approx(0.0, abs=1e-6) and same["count_pearson"] == pytest.approx(1.0)
    swapped = score_profile(profile[:, :, ::-1], profile)
    assert swapped["per_task"]["task0"]["jsd"] == pytest.approx(1.0)  # median of 1, 1, 0
