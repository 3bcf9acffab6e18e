import numpy as np
import pandas as pd
import pytest

from seqlab.data.table import ExampleTable, example_ids, inherit_splits


def _table(rows, tasks, labels, genomes=None, sequences=None, origin=None) -> ExampleTable:
    frame = pd.DataFrame(rows, columns=["genome", "chrom", "start", "end", "split"]).assign(strand="+", source="x")
    if origin is not None:
        frame["origin"] = origin
    labels = np.asarray(labels, dtype=np.float32)
    tasks = pd.DataFrame({"task": tasks})
    return ExampleTable(frame, labels, np.ones_like(labels), tasks, sequences=sequences, genomes=genomes or {})


def test_example_ids():
    frame = pd.DataFrame({"genome": ["hg19", "g"], "chrom": ["chr1", "2"], "start": [5, 0], "end": [205, 10]})
    assert example_ids(frame).tolist() == ["hg19:chr1:5-205", "g:2:0-10"]


def test_concat_aligns_tasks_and_masks_unlabelled_ones():
    a = _table([("h", "chr1", 0, 10, "train")], ["A", "B"], [[1, 0]], genomes={"h": "/g/h.fa"})
    a.tasks["target"] = ["CTCF", "POL2"]
    b = _table(
        [("h", "chr2", 0, 10, "test"), ("p", "chr2", 5, 15, "test")], ["C", "A"], [[1, 0], [0, 1]], {"p": "/g/p.fa"}
    )
    b.report = {"kind": "b"}
    table = ExampleTable.concat([a, b])
    assert table.task_names == ["A", "B", "C"]
    assert table.tasks["target"].tolist() == ["CTCF", "POL2", ""]
    np.testing.assert_array_equal(table.labels, [[1, 0, 0], [0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(table.weights, [[1, 1, 0], [1, 0, 1], [1, 0, 1]])
    assert {k: str(v) for k, v in table.genomes.items()} == {"h": "/g/h.fa", "p": "/g/p.fa"}
    assert table.frame["origin"].tolist() == ["", "", ""] and table.ids.tolist()[2] == "p:chr2:5-15"
    assert table.report["parts"] == [{}, {"kind": "b"}]
    with pytest.raises(ValueError, match="genome 'h' is /g/h.fa in one table and /x.fa in another"):
        ExampleTable.concat([a, _table([("h", "chr1", 0, 10, "train")], ["A"], [[1]], {"h": "/x.fa"})])
    with pytest.raises(ValueError, match="some tables carry sequences"):
        ExampleTable.concat([a, _table([("h", "chr1", 0, 4, "train")], ["A"], [[1]], sequences=["ACGT"])])


def test_inherit_splits_follows_origins_and_drops_orphans():
    rows = [
        ("hg19", "chr1", 0, 10, "test"),
        ("hg19", "chr1", 20, 30, "train"),
        ("pan", "chr1", 3, 13, "train"),  # homolog of the test window
        ("gor", "chr1", 3, 13, "train"),  # derived from the homolog: still test
        ("pan", "chr5", 0, 10, "train"),  # origin dropped earlier
        ("pan", "chr1", 22, 32, "test"),  # homolog of a train window
    ]
    origin = ["", "", "hg19:chr1:0-10", "pan:chr1:3-13", "hg19:chr9:0-10", "hg19:chr1:20-30"]
    table = _table(rows, ["A"], [[1]] * 6, origin=origin)
    result = inherit_splits(table)
    assert result.frame["split"].tolist() == ["test", "train", "test", "test", "train"]
    assert result.frame["chrom"].tolist() == ["chr1", "chr1", "chr1", "chr1", "chr1"]
    assert result.report["origin_missing_dropped"] == 1


def test_save_load_keeps_origin(tmp_path):
    table = _table([("h", "c", 0, 10, "train"), ("p", "c", 0, 10, "train")], ["A"], [[1], [0]], origin=["", "h:c:0-10"])
    loaded = ExampleTable.load(table.save(tmp_path / "t"))
    assert loaded.frame["origin"].tolist() == ["", "h:c:0-10"]
