"""predict_table and the evaluation of a model on a table (task matching, reports)."""

import json

import numpy as np
import pandas as pd
import pytest

from seqlab.data.build import FRAME_COLUMNS, ExampleTable
from seqlab.evaluation.evaluate import evaluate_table, task_columns
from seqlab.models.inference import predict_table

from .toy import WEIGHTS, sigmoid, toy_model

SEQUENCES = ["AAAACCCCGG", "CCCCCCCCCC", "AAAAAAAAAA", "ACGTACGTTT"]  # A counts 4, 0, 10, 2; T counts 0, 0, 0, 4


def _table(tasks=("up",), sequences=SEQUENCES, splits=("test", "test", "val", "test")) -> ExampleTable:
    n = len(sequences)
    frame = pd.DataFrame({"genome": "g", "chrom": "c", "start": np.arange(n) * 10, "end": np.arange(n) * 10 + 10,
                          "strand": "+", "split": list(splits), "source": "fasta"})  # fmt: skip
    for column in FRAME_COLUMNS:
        if column not in frame:
            frame[column] = ""
    labels = np.array([[1.0], [0.0], [1.0], [0.0]], dtype=np.float32)[:n].repeat(len(tasks), axis=1)
    return ExampleTable(
        frame=frame[list(FRAME_COLUMNS)], labels=labels, weights=np.ones_like(labels),
        tasks=pd.DataFrame({"task": list(tasks)}), sequences=list(sequences), genomes={}, report={},
    )  # fmt: skip


def _expected(a_count: int, t_count: int) -> list[float]:
    # both strands: the reverse complement has as many A as the window has T
    return [(sigmoid(w * a_count + b) + sigmoid(w * t_count + b)) / 2 for w, b in WEIGHTS]


def test_predict_table_gives_strand_averaged_probabilities_of_every_row_or_split():
    probs = predict_table(toy_model(), _table(), batch_size=3)
    assert probs.shape == (4, 2) and probs.dtype == np.float32
    expected = np.array([_expected(4, 0), _expected(0, 0), _expected(10, 0), _expected(2, 4)], dtype=np.float32)
    np.testing.assert_allclose(probs, expected, rtol=1e-6)
    np.testing.assert_allclose(
        predict_table(toy_model(), _table(), split="test"), expected[[0, 1, 3]], rtol=1e-6
    )
    assert predict_table(toy_model(), _table(), split="train").shape == (0, 2)


def test_predict_table_rejects_windows_of_another_length():
    with pytest.raises(ValueError, match=r"1 example\(s\) are not 10 bp windows.*row 1: 9 bp"):
        predict_table(toy_model(), _table(sequences=["A" * 10, "A" * 9, "A" * 10, "A" * 10]))


def test_tasks_are_matched_by_name():
    np.testing.assert_array_equal(task_columns(["up", "down"], ["down"]), [1])
    np.testing.assert_array_equal(task_columns(["CTCF"], ["CTCF_K562"]), [0])  # one task each: matched
    with pytest.raises(ValueError, match=r"task\(s\) \['x'\] that the model does not predict"):
        task_columns(["up", "down"], ["x"])


def test_evaluate_table_writes_the_reports(tmp_path):
    metrics = evaluate_table(toy_model(), _table(tasks=("down",)), tmp_path, splits=("test", "all"))
    # task 'down' on test rows: positive row 0 scores (sig(1) + sig(2)) / 2 = 0.806, negatives sig(2) = 0.881
    # and (sig(1.5) + sig(1)) / 2 = 0.775: one of two pairs ordered (AUROC 0.5), the positive ranked second (AP 0.5)
    probs = {row: _expected(*counts)[1] for row, counts in enumerate([(4, 0), (0, 0), (10, 0), (2, 4)])}
    assert probs[3] < probs[0] < probs[1]
    assert metrics["test"]["per_task"]["down"] == {"auroc": 0.5, "aupr": 0.5, "n_pos": 1, "n_neg": 2}
    assert metrics["all"]["per_task"]["down"]["n_pos"] == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["test"]["auroc"] == 0.5
    frame = pd.read_csv(tmp_path / "predictions_test.tsv", sep="\t")
    assert list(frame.columns[-2:]) == ["label.down", "prob.down"] and len(frame) == 3
    assert (tmp_path / "plots" / "roc_all.png").is_file() and (tmp_path / "metrics_per_task.tsv").is_file()
