import random
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from seqlab.cli.protein_pretrain import register
from seqlab.io.protein import read_sequences, read_string_links
from seqlab.protein.config import CorpusConfig
from seqlab.protein.corpus import PairCorpus, build_pair_corpus

AA = "ACDEFGHIKLMNPQRSTVWY"


def _random_graph(n_proteins=120, n_links=700, seed=0):
    rng = random.Random(seed)
    ids = [f"P{i:03d}" for i in range(n_proteins)]
    sequences = {i: "".join(rng.choice(AA) for _ in range(rng.randint(5, 15))) for i in ids}
    rows = []
    for _ in range(n_links):
        a, b = rng.sample(ids, 2)
        rows.append((a, b, rng.randint(150, 999), rng.choice(["binding", "reaction"])))
    links = pd.DataFrame(rows, columns=["protein1", "protein2", "combined_score", "mode"])
    return links, sequences


def _key(a, b):
    return (a, b) if a < b else (b, a)


def _max_scores(links):
    scores = {}
    for a, b, s in zip(links["protein1"], links["protein2"], links["combined_score"], strict=True):
        if a != b:
            scores[_key(a, b)] = max(scores.get(_key(a, b), 0), s)
    return scores


def _config(**kwargs):
    return CorpusConfig(**{"val_fraction": 0.0, "test_fraction": 0.0, "strict_split": False, **kwargs})


def test_threshold_uses_max_over_rows_and_both_orders():
    links = pd.DataFrame(
        [
            ("A", "B", 650, "binding"),
            ("B", "A", 800, "reaction"),  # max 800 -> binding
            ("A", "C", 699, "binding"),
            ("C", "A", 699, "reaction"),  # 699 -> not binding
            ("C", "D", 700, "binding"),  # exactly the threshold -> binding
            ("D", "D", 990, "binding"),  # self link: dropped
            ("E", "F", 900, "binding"),
        ],
        columns=["protein1", "protein2", "combined_score", "mode"],
    )
    sequences = {p: "MKV" for p in "ABCDEF"}
    corpus = build_pair_corpus(links, sequences, _config(negative_ratio=0.0))
    pairs = {_key(a, b): s for a, b, s in zip(corpus.frame.id_a, corpus.frame.id_b, corpus.frame.score, strict=True)}
    assert pairs == {("A", "B"): 800, ("C", "D"): 700, ("E", "F"): 900}
    assert corpus.frame["binding"].tolist() == [1, 1, 1]
    assert corpus.report["self_links_dropped"] == 1
    assert corpus.report["linked_pairs"] == 4
    assert corpus.report["binding_pairs"] == 3


def test_negatives_are_unlinked_distinct_from_the_pool_and_in_ratio():
    links, sequences = _random_graph()
    for ratio in (1.0, 2.0):
        corpus = build_pair_corpus(links, sequences, _config(negative_ratio=ratio), seed=3)
        frame = corpus.frame
        linked = _max_scores(links)
        positives = frame[frame.binding == 1]
        negatives = frame[frame.binding == 0]
        assert len(negatives) == round(ratio * len(positives))
        assert all(linked[_key(a, b)] >= 700 for a, b in zip(positives.id_a, positives.id_b, strict=True))
        assert not any(_key(a, b) in linked for a, b in zip(negatives.id_a, negatives.id_b, strict=True))
        pool = set(positives.id_a) | set(positives.id_b)
        assert set(negatives.id_a) | set(negatives.id_b) <= pool
        assert (frame.id_a != frame.id_b).all()
        keys = [_key(a, b) for a, b in zip(frame.id_a, frame.id_b, strict=True)]
        assert len(set(keys)) == len(keys)
        assert (frame.seq_a == frame.id_a.map(sequences)).all() and (frame.seq_b == frame.id_b.map(sequences)).all()
        assert (negatives.score == 0).all()


def test_pair_order_is_randomised_and_seeded():
    links, sequences = _random_graph()
    first = build_pair_corpus(links, sequences, CorpusConfig(), seed=7)
    again = build_pair_corpus(links, sequences, CorpusConfig(), seed=7)
    other = build_pair_corpus(links, sequences, CorpusConfig(), seed=8)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert not first.frame.equals(other.frame)
    swapped = (first.frame.id_a > first.frame.id_b).mean()
    assert 0.35 < swapped < 0.65


def test_strict_split_keeps_val_and_test_proteins_out_of_training():
    links, sequences = _random_graph(n_proteins=200, n_links=1500)
    corpus = build_pair_corpus(links, sequences, CorpusConfig(val_fraction=0.2, test_fraction=0.2), seed=1)
    proteins = {split: set(corpus.proteins(split)) for split in ("train", "val", "test")}
    assert proteins["val"] and proteins["test"]
    assert not (proteins["val"] | proteins["test"]) & proteins["train"]
    assert not proteins["val"] & proteins["test"]
    summary = corpus.summary()
    assert summary["val_test_proteins_in_train"] == 0
    report = corpus.report
    kept = summary["pairs"]["all"]["binding"]
    assert kept + report["binding_pairs_dropped_cross_split"] == report["binding_pairs"]
    assert sum(report["proteins_assigned"].values()) == report["binding_proteins"]
    assert (
        report["proteins_assigned"]["val"]
        == report["proteins_assigned"]["test"]
        == round(0.2 * report["binding_proteins"])
    )
    for split in ("train", "val", "test"):
        counts = summary["pairs"][split]
        assert counts["binding"] == counts["non_binding"]  # 1:1 inside every split
        # Non-binding pairs stay inside their split's proteins too.
        rows = corpus.pairs(split)
        assert set(rows.id_a) | set(rows.id_b) == proteins[split]


def test_non_strict_split_cuts_pairs():
    links, sequences = _random_graph()
    corpus = build_pair_corpus(links, sequences, CorpusConfig(strict_split=False), seed=0)
    n_binding = corpus.report["binding_pairs"]
    assert corpus.summary()["pairs"]["val"]["binding"] == round(0.1 * n_binding)
    assert corpus.summary()["pairs"]["all"]["binding"] == n_binding


def test_missing_sequences_drop_with_count_or_error():
    links, sequences = _random_graph()
    del sequences["P000"], sequences["P001"]
    lacking = sum(1 for a, b in _max_scores(links) if {a, b} & {"P000", "P001"})
    corpus = build_pair_corpus(links, sequences, _config())
    assert corpus.report["proteins_without_sequence"] == 2
    assert corpus.report["linked_pairs_dropped_without_sequence"] == lacking
    assert not {"P000", "P001"} & set(corpus.proteins())
    with pytest.raises(ValueError, match=r"2 protein\(s\) of the links have no sequence \(e\.g\. P000, P001\)"):
        build_pair_corpus(links, sequences, _config(missing_sequences="error"))


def test_too_few_unlinked_pairs_are_all_taken_and_the_shortfall_reported():
    links = pd.DataFrame(
        [("A", "B", 900), ("B", "C", 900), ("A", "C", 100), ("C", "D", 900)],
        columns=["protein1", "protein2", "combined_score"],
    )
    corpus = build_pair_corpus(links, dict.fromkeys("ABCD", "MK"), _config())
    negatives = corpus.frame[corpus.frame.binding == 0]
    assert sorted(_key(a, b) for a, b in zip(negatives.id_a, negatives.id_b, strict=True)) == [("A", "D"), ("B", "D")]
    assert corpus.report["non_binding_shortfall"] == {"all": 1}


def test_save_load_round_trip_and_singles(tmp_path):
    links, sequences = _random_graph()
    corpus = build_pair_corpus(links, sequences, CorpusConfig(), seed=3)  # seed 2 leaves no test pair: an error
    folder = corpus.save(tmp_path / "corpus")
    assert (folder / "pairs.tsv.gz").is_file() and (folder / "summary.json").is_file()
    loaded = PairCorpus.load(folder)
    pd.testing.assert_frame_equal(loaded.frame, corpus.frame)
    assert loaded.report == corpus.report
    singles = corpus.singles()
    assert list(singles.columns) == ["id", "sequence", "split"]
    for split in ("train", "val", "test"):
        rows = singles[singles.split == split]
        assert set(rows.id) == set(corpus.proteins(split))
        assert (rows.sequence == rows.id.map(sequences)).all()
    with pytest.raises(FileNotFoundError, match="no pair corpus"):
        PairCorpus.load(tmp_path / "nothing")


def test_cli_corpus(tmp_path):
    links, sequences = _random_graph()
    links_path = tmp_path / "links.txt"
    links[["protein1", "protein2", "combined_score"]].to_csv(links_path, sep=" ", index=False)
    seq_path = tmp_path / "seqs.fa"
    seq_path.write_text("".join(f">{k}\n{v}\n" for k, v in sequences.items()))
    app = typer.Typer()
    register(app)
    args = [
        "corpus",
        "--links",
        str(links_path),
        "--sequences",
        str(seq_path),
        "--out",
        str(tmp_path / "c"),
        "--threshold",
        "600",
        "--ratio",
        "1",
        "--seed",
        "4",
        "--no-strict-split",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = build_pair_corpus(links, sequences, CorpusConfig(score_threshold=600, strict_split=False), seed=4)
    pd.testing.assert_frame_equal(PairCorpus.load(tmp_path / "c").frame, expected.frame)
    bad = CliRunner().invoke(app, [*args[:4], str(tmp_path / "missing.fa"), *args[5:6], str(tmp_path / "c2")])
    assert bad.exit_code == 2 and "file not found" in bad.output and not (tmp_path / "c2").exists()
    before = (tmp_path / "c" / "pairs.tsv.gz").read_bytes()
    again = CliRunner().invoke(app, [*args[:-2], "5", "--no-strict-split"])  # another seed, same --out
    assert again.exit_code == 2 and "c: exists and is not empty; use --overwrite" in again.output, again.output
    assert (tmp_path / "c" / "pairs.tsv.gz").read_bytes() == before
    replaced = CliRunner().invoke(app, [*args[:-2], "5", "--no-strict-split", "--overwrite"])
    assert replaced.exit_code == 0 and (tmp_path / "c" / "pairs.tsv.gz").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "links.txt", "seqs.fa"]  # no temporary left
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(app, [*args[:6], str(tmp_path / "other"), *args[7:], "--overwrite"])
    assert refused.exit_code == 2 and "not an output of this command (no pairs.tsv.gz)" in refused.output


@pytest.mark.realdata
def test_shs27k_corpus_counts(shared_data):
    folder = shared_data / "protein" / "shs27k"
    links = read_string_links(folder / "protein.actions.SHS27k.STRING.txt.gz")
    sequences = read_sequences(folder / "protein.SHS27k.sequences.dictionary.tsv.gz")
    assert len(links) == 63_408 and len(sequences) == 1_690
    scores = _max_scores(links)
    assert len(scores) == 7_624
    assert sum(s >= 700 for s in scores.values()) == 2_848
    corpus = build_pair_corpus(links, sequences, CorpusConfig(), seed=0)
    report = corpus.report
    assert report["proteins_in_links"] == 1_690
    assert report["proteins_without_sequence"] == 0
    assert report["linked_pairs"] == 7_624
    assert report["binding_pairs"] == 2_848
    summary = corpus.summary()
    assert summary["val_test_proteins_in_train"] == 0
    assert summary["pairs"]["all"]["binding"] == 2_848 - report["binding_pairs_dropped_cross_split"]
    assert summary["pairs"]["all"]["binding"] == summary["pairs"]["all"]["non_binding"]


def test_a_corpus_without_validation_or_test_pairs_is_an_error_naming_the_counts(tmp_path):
    links = pd.DataFrame([("A", "B", 900, "binding"), ("B", "C", 150, "binding")],
                         columns=["protein1", "protein2", "combined_score", "mode"])  # fmt: skip
    sequences = {"A": "MKV", "B": "MST", "C": "MAA"}
    with pytest.raises(ValueError, match=r"1 training, 0 validation and 0 test binding pairs .*no val and no test"):
        build_pair_corpus(links, sequences, CorpusConfig(), seed=0)
    assert len(build_pair_corpus(links, sequences, _config(), seed=0).frame) == 1  # fractions 0: train only
    links_path, seq_path = tmp_path / "links.txt", tmp_path / "seqs.fa"
    links_path.write_text("protein1 protein2 combined_score\nA B 900\nB C 150\n")
    seq_path.write_text(">A\nMKV\n>B\nMST\n>C\nMAA\n")
    result = CliRunner().invoke(_app(), ["corpus", "--links", str(links_path), "--sequences", str(seq_path),
                                         "--out", str(tmp_path / "c")])  # fmt: skip
    assert result.exit_code == 2 and "links.txt" in result.output and "0 validation" in result.output, result.output
    assert not (tmp_path / "c").exists()


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _pairs(tmp_path, rows: list[str]) -> Path:
    import gzip

    path = tmp_path / "pairs.tsv.gz"
    path.write_bytes(gzip.compress(("id_a\tid_b\tseq_a\tseq_b\tbinding\tscore\tsplit\n" + "".join(rows)).encode()))
    return path


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("A\tB\tMKV1\tMST\t1\t900\ttrain\n", r":3: seq_a holds a character outside .* \(pair A / B\)"),
        ("A\tB\tMKV\tMS-T\t1\t900\ttrain\n", r":3: seq_b holds a character outside"),
        ("A\tB\tMKV\tMST\t2\t900\ttrain\n", r":3: binding is not 0 or 1"),
        ("A\tB\tMKV\tMST\t1\t9x\ttrain\n", r":3: score is not an integer"),
        ("A\tB\tMKV\tMST\t1\t9000\ttrain\n", r":3: score is not an integer"),
        ("A\tB\tMKV\tMST\t1\t900\tdev\n", r":3: split is not one of"),
        ("A\tB\tMKV\tMST\t1\n", r"line 3: 5 fields, but the header has 7"),
        ("A\tB\tMKV\tMST\t1\t900\ttrain\textra\n", r"line 3: 8 fields"),
        ("\tB\tMKV\tMST\t1\t900\ttrain\n", r":3: empty protein id"),
    ],
)
def test_a_bad_pair_table_is_an_error_naming_the_file_and_line(tmp_path, row, reason):
    from seqlab.io.errors import InputError

    path = _pairs(tmp_path, ["Q\tR\tMKV\tMST\t0\t0\tval\n", row])
    with pytest.raises(InputError, match=reason) as info:
        PairCorpus.load(path)
    assert info.value.file == str(path) and "\n" not in str(info.value)
