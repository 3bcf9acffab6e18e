import numpy as np
import pytest

from seqlab.config import SplitConfig
from seqlab.data.splits import assign_splits, check_splits, split_counts


def test_assign_splits_through_aliases():
    config = SplitConfig(test_chroms=["chr8", "chr9"], val_chroms=["7"], exclude_chroms=["chrM"])
    split = assign_splits(["8", "chr7", "MT", "chr1", "chrX", "chr9", "chr19"], config)
    assert split.tolist() == ["test", "val", "", "train", "train", "test", "train"]


def test_chromosome_in_two_lists_is_an_error():
    with pytest.raises(ValueError, match="'7' is in both val_chroms and exclude_chroms"):
        assign_splits(["chr1"], SplitConfig(test_chroms=["chr8"], val_chroms=["chr7"], exclude_chroms=["7"]))


def _counts():
    split = np.array(["train", "train", "val", "test", "test", "train"])
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [1, 0.6], [0.4, 1]], dtype=np.float32)
    weights = np.array([[1, 1], [1, 1], [1, 1], [1, 0], [1, 1], [1, 0]], dtype=np.float32)
    return split_counts(split, labels, weights, ["A", "B"])


def test_split_counts_exact():
    counts = _counts()
    assert counts.to_dict("records") == [
        {"split": "train", "task": "A", "examples": 3, "positives": 1, "negatives": 2},
        {"split": "train", "task": "B", "examples": 3, "positives": 1, "negatives": 1},
        {"split": "val", "task": "A", "examples": 1, "positives": 1, "negatives": 0},
        {"split": "val", "task": "B", "examples": 1, "positives": 0, "negatives": 1},
        {"split": "test", "task": "A", "examples": 2, "positives": 1, "negatives": 1},
        {"split": "test", "task": "B", "examples": 2, "positives": 1, "negatives": 0},
    ]


def test_check_splits_warns_per_task_and_split():
    with pytest.warns(UserWarning) as record:
        messages = check_splits(_counts())
    assert messages == [
        "task 'A' has no negatives in the val split: its metrics there are undefined",
        "task 'B' has no positives in the val split: its metrics there are undefined",
        "task 'B' has no negatives in the test split: its metrics there are undefined",
    ]
    assert len(record) == 3


@pytest.mark.parametrize("empty", ["test", "val", "train"])
def test_empty_split_is_an_error(empty):
    split = np.array([s for s in ("train", "val", "test") if s != empty])
    counts = split_counts(split, np.eye(len(split), 1, dtype=np.float32), np.ones((len(split), 1), np.float32), ["A"])
    with pytest.raises(ValueError, match=f"the {empty} split is empty"):
        check_splits(counts)
