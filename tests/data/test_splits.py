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


def _windows(rows, genome="g"):
    import pandas as pd

    return pd.DataFrame(rows, columns=["chrom", "start", "end"]).assign(genome=genome)


def test_region_split_with_gap_drops_and_counts_boundary_windows(tmp_path):
    from seqlab.data.splits import split_examples

    (tmp_path / "test.bed").write_text("chr22\t1000\t2000\nchr22\t1900\t2500\n")  # merged: 1000-2500
    (tmp_path / "val.bed").write_text("22\t5000\t6000\n")  # another spelling of chr22
    config = SplitConfig(
        test_chroms=["chr8"],
        val_chroms=[],
        test_regions=tmp_path / "test.bed",
        val_regions=tmp_path / "val.bed",
        gap=50,
    )
    frame = _windows(
        [
            ("chr22", 1050, 1250),  # test: 50 bp to spare
            ("chr22", 1049, 1249),  # 49 bp from the test boundary: dropped
            ("chr22", 2250, 2450),  # test (inside the merged region)
            ("chr22", 2400, 2600),  # straddles the end of the test region: dropped
            ("chr22", 750, 950),  # train: 50 bp before the region
            ("chr22", 751, 951),  # train window 49 bp from a test region: dropped
            ("chr22", 5100, 5300),  # val
            ("chr22", 6000, 6200),  # touches val within the gap: dropped
            ("chr8", 1000, 1200),  # test chromosome: lists come first
            ("chr1", 1000, 1200),  # train
        ]
    )
    split, counts = split_examples(frame, config, "g")
    assert split.tolist() == ["test", "", "test", "", "train", "", "val", "", "test", "train"]
    assert counts == {"excluded_chrom_dropped": 0, "region_gap_dropped": 4}


def test_split_refers_to_one_genome():
    from seqlab.data.splits import split_examples

    frame = _windows([("chr8", 0, 100), ("chr7", 0, 100)])
    frame.loc[1, "genome"] = "panTro2"
    config = SplitConfig(test_chroms=["chr8", "chr7"], val_chroms=[])
    split, _ = split_examples(frame, config, "hg19")
    assert split.tolist() == ["train", "train"]  # neither genome is the split's genome
    split, _ = split_examples(frame, config, "g")
    assert split.tolist() == ["test", "train"]  # chr7 of panTro2 never matches the human list
    split, _ = split_examples(frame, config.model_copy(update={"genome": "panTro2"}), "g")
    assert split.tolist() == ["train", "test"]


def test_overlapping_test_and_val_regions_are_an_error(tmp_path):
    from seqlab.data.splits import split_examples

    (tmp_path / "a.bed").write_text("chr1\t0\t100\n")
    (tmp_path / "b.bed").write_text("chr1\t99\t200\n")
    config = SplitConfig(test_regions=tmp_path / "a.bed", val_regions=tmp_path / "b.bed")
    with pytest.raises(ValueError, match="test_regions .* overlaps data.split.val_regions"):
        split_examples(_windows([("chr1", 0, 10)]), config, None)
