import json
import math

import numpy as np
import pytest

from seqlab.evaluation.metrics import UndefinedMetricWarning, compute_split_metrics, write_metrics_tsv


def _column(values):
    return np.array(values, dtype=np.float32)[:, None]


def test_perfect_separation_gives_one():
    y = _column([0, 0, 1, 1])
    metrics = compute_split_metrics(y, _column([0.1, 0.2, 0.8, 0.9]), None, ["t"], "test")
    assert metrics.auroc == 1.0 and metrics.aupr == 1.0
    assert metrics.per_task["t"].n_pos == 2 and metrics.per_task["t"].n_neg == 2


def test_hand_computed_case():
    # Positives 0.8, 0.4; negatives 0.6, 0.2: 3 of 4 pairs ordered -> AUROC 0.75.
    # Ranked: 0.8 (+) precision 1 at recall 1/2, 0.6 (-), 0.4 (+) precision 2/3 at recall 1 -> AP 5/6.
    metrics = compute_split_metrics(_column([1, 0, 1, 0]), _column([0.8, 0.6, 0.4, 0.2]), None, ["t"], "val")
    assert metrics.auroc == pytest.approx(0.75)
    assert metrics.aupr == pytest.approx(5 / 6)


def test_masked_entries_are_left_out_and_soft_labels_count_from_half():
    y = _column([0.9, 0.0, 0.6, 0.0, 1.0])
    probs = _column([0.8, 0.6, 0.4, 0.2, 0.01])
    weight = _column([1, 0, 1, 1, 0])
    metrics = compute_split_metrics(y, probs, weight, ["t"], "val")
    assert metrics.auroc == 1.0
    assert (metrics.per_task["t"].n_pos, metrics.per_task["t"].n_neg) == (2, 1)


def test_whole_split_auroc_differs_from_the_mean_over_chunks():
    y = _column([1, 0, 1, 0])
    probs = _column([0.9, 0.8, 0.3, 0.2])
    chunks = [compute_split_metrics(y[i : i + 2], probs[i : i + 2], None, ["t"], "val").auroc for i in (0, 2)]
    assert np.mean(chunks) == 1.0
    assert compute_split_metrics(y, probs, None, ["t"], "val").auroc == pytest.approx(0.75)


def test_single_class_task_gives_nan_a_message_and_is_skipped_in_means():
    y = np.array([[1, 1], [0, 1], [1, 1]], dtype=np.float32)
    probs = np.array([[0.9, 0.5], [0.1, 0.5], [0.8, 0.5]], dtype=np.float32)
    with pytest.warns(
        UndefinedMetricWarning, match="task 'all_pos' has 3 positive and 0 negative examples in the test split"
    ):
        metrics = compute_split_metrics(y, probs, None, ["ok", "all_pos"], "test")
    assert math.isnan(metrics.per_task["all_pos"].auroc) and math.isnan(metrics.per_task["all_pos"].aupr)
    assert metrics.auroc == 1.0 and len(metrics.messages) == 1
    entry = metrics.to_dict()
    assert entry["per_task"]["all_pos"] == {"auroc": None, "aupr": None, "n_pos": 3, "n_neg": 0}
    assert json.loads(json.dumps(entry)) == entry


def test_to_dict_has_the_metrics_json_schema():
    metrics = compute_split_metrics(_column([1, 0]), _column([0.7, 0.3]), None, ["CTCF"], "test")
    assert metrics.to_dict() == {
        "auroc": 1.0,
        "aupr": 1.0,
        "per_task": {"CTCF": {"auroc": 1.0, "aupr": 1.0, "n_pos": 1, "n_neg": 1}},
    }


def test_shapes_must_match_the_tasks():
    with pytest.raises(ValueError, match=r"must both be \(N, 2\)"):
        compute_split_metrics(_column([1, 0]), _column([0.7, 0.3]), None, ["a", "b"], "test")


def test_metrics_tsv(tmp_path):
    y = np.array([[1, 1], [0, 1]], dtype=np.float32)
    probs = np.array([[0.7, 0.2], [0.3, 0.4]], dtype=np.float32)
    with pytest.warns(UndefinedMetricWarning):
        split = compute_split_metrics(y, probs, None, ["a", "b"], "val")
    path = write_metrics_tsv(tmp_path / "metrics_per_task.tsv", {"val": split})
    assert path.read_text().splitlines() == [
        "split\ttask\tauroc\taupr\tn_pos\tn_neg",
        "val\ta\t1.000000\t1.000000\t1\t1",
        "val\tb\tNA\tNA\t2\t0",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics_per_task.tsv"]


def test_non_finite_scores_give_an_undefined_metric_naming_task_and_split():
    # a diverged model's NaN probabilities: sklearn raised "Input contains NaN." at the end of a validation
    y = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    probs = np.array([[0.1, 0.1], [np.nan, 0.9], [0.8, 0.8], [0.3, 0.3]])
    with pytest.warns(UndefinedMetricWarning, match=r"task 'a' has 1 non-finite score.* val split"):
        metrics = compute_split_metrics(y, probs, None, ["a", "b"], "val")
    assert np.isnan(metrics.per_task["a"].auroc) and np.isnan(metrics.per_task["a"].aupr)
    assert metrics.per_task["b"].auroc == 1.0 and metrics.auroc == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_aupr_equal_scikit_learn_with_ties_and_imbalance(seed):
    # the one-sort AUROC/AUPR are scikit-learn's to rounding: rare positives, float32 scores with many ties
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seqlab.metrics import binary_auroc_aupr

    rng = np.random.default_rng(seed)
    labels = (rng.random(5000) < 0.02).astype(np.int64)
    scores = np.round(rng.random(5000) + 0.3 * labels, 2).astype(np.float32)  # ~130 distinct values
    auroc, aupr = binary_auroc_aupr(labels, scores)
    assert auroc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert aupr == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    assert 0.5 < auroc < 1.0 and 0.02 < aupr < 1.0
