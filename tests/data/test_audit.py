import json

import numpy as np
import pandas as pd
import pytest

from seqlab.data.audit import audit_examples
from seqlab.data.build import ExampleTable


def _random(rng, n, gc, length=100):
    probs = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return ["".join(rng.choice(list("ACGT"), length, p=probs)) for _ in range(n)]


def _table(pos_gc: float, neg_gc: float, chry_negatives: int) -> ExampleTable:
    rng = np.random.default_rng(0)
    n = 120
    chroms = [f"chr{1 + i % 3}" for i in range(2 * n)]
    chroms[n : n + chry_negatives] = ["chrY"] * chry_negatives
    frame = pd.DataFrame(
        {
            "genome": "g",
            "chrom": chroms,
            "start": np.arange(2 * n) * 1000,
            "end": np.arange(2 * n) * 1000 + 100,
            "strand": "+",
            "split": "train",
            "source": "fasta",
        }
    )
    labels = np.zeros((2 * n, 1), dtype=np.float32)
    labels[:n] = 1
    sequences = _random(rng, n, pos_gc) + _random(rng, n, neg_gc)
    return ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["T"]}), sequences=sequences)


def test_planted_shortcuts_are_flagged():
    table = _table(0.7, 0.4, chry_negatives=15)
    # plant a duplicate window that is positive in one row and negative in the other
    frame = table.frame.copy()
    frame.loc[0, ["chrom", "start", "end"]] = frame.loc[200, ["chrom", "start", "end"]].to_numpy()
    table = ExampleTable(frame, table.labels, table.weights, table.tasks, sequences=table.sequences)
    report = audit_examples(table)
    assert report.gc_auroc["T"] > 0.95
    assert report.warnings[0] == (
        f"GC fraction alone gives AUROC outside 0.30-0.70 for 1 task(s): GC content is a shortcut "
        f"(T {report.gc_auroc['T']:.3f})"
    )
    assert report.one_class_chroms["T"] == [{"chrom": "chrY", "class": "negative", "count": 15}]
    assert any("chrY has 15 negatives and no positives" in w for w in report.warnings)
    assert report.duplicates == 1 and report.label_conflicts == {"T": 1}
    gc = {row["class"]: row for row in report.gc}
    assert gc["positive"]["n"] == gc["negative"]["n"] == 120
    assert gc["positive"]["mean"] > 0.65 and gc["negative"]["mean"] < 0.45
    assert gc["positive"]["q25"] <= gc["positive"]["median"] <= gc["positive"]["q75"]
    json.dumps(report.to_dict())
    text = report.to_text()
    assert "GC-only AUROC" in text and "chrY" in text


def test_clean_table_has_no_warnings():
    report = audit_examples(_table(0.5, 0.5, chry_negatives=0))
    assert report.warnings == []
    assert 0.35 < report.gc_auroc["T"] < 0.65
    assert "no shortcut or leak found" in report.to_text()


def test_reversed_gc_shortcut_and_masked_conflicts():
    table = _table(0.35, 0.7, chry_negatives=0)
    table.report["label_conflicts"] = {"T": 3}
    report = audit_examples(table, max_gc_examples=50)
    assert report.gc_sampled == 50
    assert report.gc_auroc["T"] < 0.3
    assert report.masked_conflicts == {"T": 3}
    assert any(
        "3 windows are labelled both positive and negative (3 of them masked at build)" in w for w in report.warnings
    )


@pytest.mark.realdata
def test_audit_on_genome_windows(shared_data):
    frame = pd.DataFrame(
        {
            "genome": "hg19",
            "chrom": "chr22",
            "start": [20_000_000, 30_000_000, 40_000_000, 45_000_000],
            "end": [20_000_200, 30_000_200, 40_000_200, 45_000_200],
            "strand": "+",
            "split": "train",
            "source": "peak",
        }
    )
    table = ExampleTable(
        frame,
        np.array([[1], [0], [1], [0]], dtype=np.float32),
        np.ones((4, 1), dtype=np.float32),
        pd.DataFrame({"task": ["T"]}),
        genomes={"hg19": shared_data / "dna/chr22_primates/hg19.chr22.fa.gz"},
    )
    report = audit_examples(table)
    assert report.gc_sampled == 4 and report.duplicates == 0


def test_n_fraction_auroc_is_reported_and_flagged():
    table = _table(0.5, 0.5, chry_negatives=0)
    assert audit_examples(table).n_auroc == {"T": 0.5}
    # half the positives carry 10 N: N fraction alone ranks them above every negative
    table.sequences = ["N" * 10 + s[10:] if i < 60 else s for i, s in enumerate(table.sequences)]
    report = audit_examples(table)
    assert report.n_auroc == {"T": 0.75}
    assert (
        report.warnings[0]
        == "task T: N fraction alone gives AUROC 0.750 (more than 0.02 from 0.5): N content is a shortcut"
    )
    assert "N-fraction-only AUROC 0.750" in report.to_text()


def test_gc_shortcuts_of_many_tasks_are_one_warning():
    table = _table(0.7, 0.4, chry_negatives=0)
    many = ExampleTable(
        table.frame,
        np.repeat(table.labels, 3, axis=1),
        np.ones((len(table.frame), 3), dtype=table.weights.dtype),
        pd.DataFrame({"task": ["A", "B", "C"]}),
        sequences=table.sequences,
    )
    report = audit_examples(many)
    gc_lines = [w for w in report.warnings if "GC fraction alone" in w]
    assert len(gc_lines) == 1
    assert "for 3 task(s)" in gc_lines[0] and "(A " in gc_lines[0] and ", C " in gc_lines[0]


def test_a_table_of_targets_is_audited_by_correlation_not_classes():
    """Targets equal to 10 x the planted GC fraction: Spearman with GC is that of GC with itself (measured),
    no class checks (the labels of a target table are all 0), and the summary shows targets, not pos/neg."""
    from seqlab.data.build import summarize

    rng = np.random.default_rng(0)
    gc_planted = rng.uniform(0.2, 0.8, 200)
    sequences = [_random(rng, 1, gc)[0] for gc in gc_planted]
    measured = np.array([(s.count("G") + s.count("C")) / len(s) for s in sequences])
    targets = (10 * measured).astype(np.float32).reshape(200, 1, 1)
    frame = pd.DataFrame(
        {"genome": "g", "chrom": ["chr1"] * 100 + ["chrY"] * 100, "start": np.arange(200) * 1000,
         "end": np.arange(200) * 1000 + 100, "strand": "+", "split": ["train"] * 150 + ["val"] * 50,
         "source": "fasta"}
    )  # fmt: skip
    labels = np.zeros((200, 1), dtype=np.float32)
    table = ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["T"]}), sequences=sequences,
                         targets=targets)  # fmt: skip
    report = audit_examples(table)
    assert report.quantitative and report.gc_spearman["T"] == pytest.approx(1.0)
    assert report.n_spearman == {"T": None}  # no N anywhere: undefined, not 0
    assert report.targets[0]["n"] == 200 and report.targets[0]["mean"] == pytest.approx(targets.mean(), rel=1e-6)
    assert report.one_class_chroms == {} and report.gc_auroc == {} and report.label_conflicts == {}
    assert report.warnings == [
        "GC fraction alone has |Spearman| > 0.50 with the target for 1 task(s): GC content is a shortcut (T 1.000)"
    ]
    assert "Spearman of target with GC fraction 1.000, with N fraction n/a" in report.to_text()
    summary = summarize(table)
    assert "windows with a target (mean target) per task and split:" in summary and "positives" not in summary
    assert f"150 ({targets[:150].mean():.3g})" in summary
