"""Homolog windows, pseudo-labels, counts and the leakage guard on a hand-made two-genome toy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.data.encoding import reverse_complement_sequence as reverse_complement
from seqlab.data.homologs import (
    LiftError,
    LiftOptions,
    TargetGenome,
    guard_leakage,
    lift_examples,
    lift_report_rows,
    lift_windows,
)
from seqlab.data.table import ExampleTable, inherit_splits
from seqlab.io.chain import read_chain
from seqlab.io.genome import Genome
from tests.data.conftest import random_dna, write_fasta

S = 3000
CHAINS = f"""\
chain 1 chr1 {S} + 50 200 chrA {S} + 0 150 1
150

chain 1 chr1 {S} + 200 800 chrA {S} + 300 895 2
300 5 0
295

chain 1 chr1 {S} + 1200 1600 chrA {S} - {S - 1400} {S - 1000} 3
400

chain 1 chr1 {S} + 1700 1900 chrA {S} + 1500 1700 4
200

chain 1 chr1 {S} + 2000 2300 chrA {S} + 2000 2300 5
300

chain 1 chr1 {S} + 2500 2800 chrA {S} + 2000 2300 6
300
"""
# window, split, label of T1; expected status with min_match 0.95
WINDOWS = [
    ((20, 120), "train", 0, "partially_deleted"),  # 70 of 100 bases aligned
    ((300, 400), "train", 1, "kept"),
    ((460, 560), "test", 0, "kept"),  # 95 of 100 aligned (a 5-bp deletion in chrA)
    ((1300, 1400), "val", 1, "kept"),  # '-' strand chain
    ((1750, 1850), "train", 0, "mostly_n"),
    ((2100, 2200), "train", 1, "kept"),  # its homolog overlaps the homolog of the next (test) window
    ((2650, 2750), "test", 1, "kept"),
    ((900, 1000), "train", 0, "unmapped"),
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("lift")
    rng = np.random.default_rng(3)
    human = random_dna(rng, S, 0.45)
    target = list(random_dna(rng, S, 0.45))

    def put(start: int, seq: str) -> None:
        target[start : start + len(seq)] = list(seq)

    put(0, human[50:200])
    put(300, human[200:500])
    put(600, human[505:800])
    put(1000, reverse_complement(human[1200:1600]))
    put(1500, "N" * 200)
    put(2000, human[2000:2300])
    chain = folder / "hgToA.chain"
    chain.write_text(CHAINS)
    frame = pd.DataFrame(
        {
            "genome": "hg",
            "chrom": "chr1",
            "start": [w[0][0] for w in WINDOWS],
            "end": [w[0][1] for w in WINDOWS],
            "strand": "+",
            "split": [w[1] for w in WINDOWS],
            "source": "peak",
            "origin": "",
        }
    )
    labels = np.array([[w[2], 1 - w[2]] for w in WINDOWS], dtype=np.float32)
    weights = np.ones_like(labels)
    weights[1, 1] = 0.0  # task T2 does not label window 1
    human_fa = write_fasta(folder / "hg.fa", {"chr1": human})
    table = ExampleTable(
        frame=frame,
        labels=labels,
        weights=weights,
        tasks=pd.DataFrame({"task": ["T1", "T2"]}),
        genomes={"hg": human_fa},
    )
    return {
        "human": human,
        "table": table,
        "target": TargetGenome("apeA", write_fasta(folder / "apeA.fa", {"chrA": "".join(target)}), chain),
        "folder": folder,
    }


def test_lift_windows_statuses_and_coordinates(toy: dict) -> None:
    target = toy["target"]
    lifted = lift_windows(toy["table"].frame, read_chain(target.chain), Genome(target.fasta, "apeA"))
    assert lifted["status"].tolist() == [w[3] for w in WINDOWS]
    assert lifted.loc[1, ["chrom", "start", "end", "strand"]].tolist() == ["chrA", 400, 500, "+"]
    assert lifted.loc[2, ["start", "end"]].tolist() == [555, 655]  # centre 510 -> 605
    assert lifted.loc[3, ["start", "end", "strand"]].tolist() == [1200, 1300, "-"]
    assert lifted.loc[6, ["start", "end"]].tolist() == [2150, 2250]
    loose = lift_windows(
        toy["table"].frame, read_chain(target.chain), Genome(target.fasta, "apeA"), LiftOptions(min_match=0.5)
    )
    assert loose.loc[0, "status"] == "off_chrom"  # centre 70 -> 20: the 100-bp window starts at -30


def test_homolog_sequences_align_base_for_base(toy: dict) -> None:
    homologs = lift_examples(toy["table"], [toy["target"]], LiftOptions(guard=False))
    genome = Genome(toy["target"].fasta, "apeA")
    by_origin = {o: r for r, o in enumerate(homologs.frame["origin"])}
    for start, end in ((300, 400), (1300, 1400), (2100, 2200)):
        row = homologs.frame.iloc[by_origin[f"hg:chr1:{start}-{end}"]]
        seq = genome.fetch(row["chrom"], row["start"], row["end"])
        assert (reverse_complement(seq) if row["strand"] == "-" else seq) == toy["human"][start:end]


def test_pseudo_labels_weights_splits_and_origins(toy: dict) -> None:
    table = toy["table"]
    homologs = lift_examples(table, [toy["target"]], LiftOptions(guard=False))
    frame = homologs.frame
    assert frame["origin"].tolist() == [f"hg:chr1:{s}-{e}" for (s, e), *_, st in WINDOWS if st == "kept"]
    assert frame["split"].tolist() == ["train", "test", "val", "train", "test"]
    assert set(frame["source"]) == {"lifted"} and set(frame["genome"]) == {"apeA"}
    np.testing.assert_array_equal(homologs.labels, table.labels[[1, 2, 3, 5, 6]])
    np.testing.assert_array_equal(homologs.weights, table.weights[[1, 2, 3, 5, 6]])  # T2 weight 0 kept at 0
    assert homologs.genomes == {"apeA": toy["target"].fasta}
    identity = lift_examples(table, [toy["target"]], LiftOptions(guard=False, weight="identity"))
    np.testing.assert_allclose(identity.weights[:4, 0], [1.0, 0.95, 1.0, 1.0], atol=1e-6)
    # window 6 lifts through chain 6 onto chrA[2150, 2250), a copy of human[2150:2250], not of its own bases:
    # identity is chance level (1/4); T2 of window 1 stays at weight 0
    assert 0.1 < identity.weights[4, 0] < 0.4 and identity.weights[0, 1] == 0


def test_report_counts(toy: dict) -> None:
    homologs = lift_examples(toy["table"], {"apeA": {"fasta": toy["target"].fasta, "chain": toy["target"].chain}})
    report = homologs.report["lift"]["genomes"]["apeA"]
    assert report["windows"] == 8 and report["lifted"] == 5 and report["kept"] == 4
    assert report["failed"]["partially_deleted"] == 1 and report["failed"]["mostly_n"] == 1
    assert report["failed"]["unmapped"] == 1
    assert report["guard_removed"] == {
        "train_overlapping_val": 0,
        "train_overlapping_test": 1,
        "val_overlapping_test": 0,
    }
    t1 = report["tasks"]["T1"]
    assert t1["positives"] == {"human": 4, "homologs": 3}  # window 5's homolog removed by the guard
    assert t1["negatives"] == {"human": 4, "homologs": 1}
    assert report["tasks"]["T2"]["windows"] == 7
    rows = lift_report_rows(homologs.report["lift"])
    assert rows.shape[0] == 2 and rows.loc[0, "failed_mostly_n"] == 1
    assert homologs.report["lift"]["totals"]["T1"] == {
        "positives_human": 4,
        "positives_homologs": 3,
        "positives_total": 7,
    }


def test_training_set_has_no_homolog_of_a_test_window(toy: dict) -> None:
    table = toy["table"]
    homologs = lift_examples(table, [toy["target"]])
    test_ids = set(
        np.asarray(
            table.frame["genome"] + ":chr1:" + table.frame["start"].astype(str) + "-" + table.frame["end"].astype(str)
        )[table.frame["split"] == "test"]
    )
    train = homologs.frame[homologs.frame["split"] == "train"]
    assert not set(train["origin"]) & test_ids
    test_homologs = homologs.frame[homologs.frame["origin"].isin(test_ids)]
    assert len(test_homologs) == 2 and (test_homologs["split"] == "test").all()
    for _, row in train.iterrows():
        same = test_homologs[(test_homologs["genome"] == row["genome"]) & (test_homologs["chrom"] == row["chrom"])]
        assert not ((same["start"] < row["end"]) & (same["end"] > row["start"])).any()
    assert "hg:chr1:2100-2200" not in set(homologs.frame["origin"])  # removed although its own origin is train


def test_guard_uses_held_out_locations_and_counts() -> None:
    frame = pd.DataFrame(
        {
            "genome": ["g"] * 4,
            "chrom": ["c", "c", "c", "d"],
            "start": [0, 100, 300, 0],
            "end": [100, 200, 400, 100],
            "split": ["train", "val", "train", "train"],
            "origin": ["a", "b", "c", "d"],
        }
    )
    held = pd.DataFrame(
        {"genome": ["g", "g"], "chrom": ["c", "c"], "start": [150, 399], "end": [250, 500], "split": ["test", "test"]}
    )
    keep, removed = guard_leakage(frame, held)
    assert keep.tolist() == [True, False, False, True]  # [0,100) only touches val [100,200) at the boundary
    assert removed == {"train_overlapping_val": 0, "train_overlapping_test": 1, "val_overlapping_test": 1}
    # with the split's gap, homologs keep the distance human windows keep: [0,100) is now within 1 bp of val
    keep, removed = guard_leakage(frame, held, gap=1)
    assert keep.tolist() == [False, False, False, True] and removed["train_overlapping_val"] == 1


def test_chain_that_does_not_fit_the_fasta(toy: dict, tmp_path: Path) -> None:
    wrong_names = write_fasta(tmp_path / "b.fa", {"scaffold_1": "A" * S, "scaffold_2": "C" * 10})
    with pytest.raises(
        LiftError, match=r"lifts to chromosomes chrA but the target FASTA .* has scaffold_1, scaffold_2"
    ):
        lift_examples(toy["table"], [TargetGenome("b", wrong_names, toy["target"].chain)])
    wrong_size = write_fasta(tmp_path / "c.fa", {"chrA": "A" * (S + 1)})
    with pytest.raises(LiftError, match="another assembly"):
        lift_examples(toy["table"], [TargetGenome("c", wrong_size, toy["target"].chain)])


def test_genome_without_any_homolog_is_an_error(toy: dict, tmp_path: Path) -> None:
    chain = tmp_path / "far.chain"
    chain.write_text(f"chain 1 chr2 {S} + 0 10 chrA {S} + 0 10 1\n10\n")
    with pytest.raises(LiftError, match="none of the 8 windows has a homolog"):
        lift_examples(toy["table"], [TargetGenome("far", toy["target"].fasta, chain)])
    with pytest.raises(LiftError, match="no chain file"):
        lift_examples(toy["table"], {"x": {"fasta": toy["target"].fasta, "chain": None}})


def test_concat_with_reference_table_keeps_origin_splits(toy: dict) -> None:
    homologs = lift_examples(toy["table"], [toy["target"]])
    scrambled = homologs.subset(np.ones(len(homologs), dtype=bool))
    scrambled.frame["split"] = "train"  # inherit_splits must restore every origin's split
    merged = inherit_splits(ExampleTable.concat([toy["table"], scrambled]))
    lifted = merged.frame[merged.frame["source"] == "lifted"]
    assert lifted["split"].tolist() == homologs.frame["split"].tolist()
    assert len(merged) == len(toy["table"]) + len(homologs)


def test_lifted_source_in_build_examples(toy: dict) -> None:
    """data.sources [{kind: sequences ...}, {kind: lifted}]: the registry builds homologs after the windows."""
    from seqlab.config import DataConfig
    from seqlab.data.build import build_examples

    folder, table = toy["folder"], toy["table"]
    human = Genome(folder / "hg.fa", "hg")
    positives = {f"chr1:{s}-{e}": human.fetch("chr1", s, e) for (s, e), _, label, _ in WINDOWS if label}
    negatives = {f"chr1:{s}-{e}": human.fetch("chr1", s, e) for (s, e), _, label, _ in WINDOWS if not label}
    write_fasta(folder / "pos.fa", positives)
    write_fasta(folder / "neg.fa", negatives)
    regions = {"test": [(460, 560), (2650, 2750)], "val": [(1300, 1400)]}
    for split, rows in regions.items():
        (folder / f"{split}.bed").write_text("".join(f"chr1\t{s}\t{e}\n" for s, e in rows))
    config = DataConfig.model_validate(
        {
            "genomes": {
                "hg": {"fasta": folder / "hg.fa"},
                "apeA": {"fasta": toy["target"].fasta, "chain": toy["target"].chain},
            },
            "sources": [
                {
                    "kind": "sequences",
                    "sets": [
                        {"fasta": folder / "pos.fa", "labels": {"T1": 1}},
                        {"fasta": folder / "neg.fa", "labels": {"T1": 0}},
                    ],
                },
                {"kind": "lifted"},
            ],
            "window_length": 100,
            "split": {
                "test_chroms": [],
                "val_chroms": [],
                "test_regions": folder / "test.bed",
                "val_regions": folder / "val.bed",
            },
        }
    )
    built = build_examples(config)
    lifted = built.frame[built.frame["source"] == "lifted"]
    splits = dict(zip(lifted["origin"], lifted["split"], strict=True))
    assert splits == {  # hg:chr1:2100-2200 (train) is removed by the leakage guard
        "hg:chr1:300-400": "train",
        "hg:chr1:460-560": "test",
        "hg:chr1:1300-1400": "val",
        "hg:chr1:2650-2750": "test",
    }
    assert len(built) == len(table) + 4
    positives = built.labels[(built.frame["source"] == "lifted").to_numpy(), 0]
    assert positives.sum() == 3  # 300-400, 1300-1400, 2650-2750 are positive windows


def test_lifted_source_builder_errors(toy: dict) -> None:
    from types import SimpleNamespace

    from seqlab.config.lift import LiftedSourceConfig
    from seqlab.data.sources.lifted import build_lifted as build_lifted_source

    target = toy["target"]
    genomes = {"hg": SimpleNamespace(fasta=toy["folder"] / "hg.fa", chain=None)}
    genomes["apeA"] = SimpleNamespace(fasta=target.fasta, chain=target.chain)
    config = SimpleNamespace(genomes=genomes, split=SimpleNamespace(gap=0))
    source = LiftedSourceConfig(min_match=0.95)
    built = build_lifted_source(source, config, SimpleNamespace(tables=[toy["table"]]))
    direct = lift_examples(toy["table"], [target])
    pd.testing.assert_frame_equal(built.frame, direct.frame)
    with pytest.raises(ValueError, match="needs a source before it"):
        build_lifted_source(source, config, SimpleNamespace(tables=[]))
    with pytest.raises(ValueError, match="genome 'hg' must be a non-reference entry"):
        build_lifted_source(LiftedSourceConfig(genomes=["hg"]), config, SimpleNamespace(tables=[toy["table"]]))
    other = toy["table"].subset(np.ones(len(toy["table"]), dtype=bool))
    other.frame["genome"] = "mm"
    with pytest.raises(LiftError, match="no example of the reference genome 'hg'"):
        build_lifted_source(source, config, SimpleNamespace(tables=[other]))


def test_a_sparse_table_lifts_like_the_dense_one(toy: dict) -> None:
    dense = lift_examples(toy["table"], [toy["target"]], LiftOptions(weight="identity"))
    sparse = lift_examples(toy["table"].to_sparse(), [toy["target"]], LiftOptions(weight="identity"))
    assert sparse.sparse and not dense.sparse
    np.testing.assert_array_equal(sparse.labels.toarray(), dense.labels)
    np.testing.assert_allclose(sparse.weights.toarray(), dense.weights, atol=1e-7)
    assert sparse.report == dense.report


def test_guard_matches_failed_held_out_lifts_when_the_fasta_names_chromosomes_otherwise(tmp_path: Path) -> None:
    # The chain says chrA, the target FASTA says A (aliases, accepted by check_chain_genome). A test window
    # whose lift fails (partially_deleted) still marks its place in chrA as held out; a train homolog
    # overlapping that place must go whatever the FASTA calls the chromosome.
    rng = np.random.default_rng(5)
    target = random_dna(rng, S, 0.45)
    chain = tmp_path / "c.chain"
    chain.write_text(
        f"chain 1 chr1 {S} + 0 300 chrA {S} + 0 300 1\n300\n\n"
        f"chain 1 chr1 {S} + 1000 1300 chrA {S} + 100 390 2\n110 10 0\n180\n"
    )
    frame = pd.DataFrame(
        {"genome": "hg", "chrom": "chr1", "start": [100, 1100], "end": [200, 1200], "strand": "+",
         "split": ["train", "test"], "source": "peak", "origin": ""}
    )  # fmt: skip
    labels = np.ones((2, 1), dtype=np.float32)
    table = ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["T1"]}))
    for name in ("chrA", "A"):
        fasta = write_fasta(tmp_path / f"{name}.fa", {name: target})
        with pytest.raises(LiftError, match="none of the 1 windows"):  # the test window fails alone
            lift_examples(table.subset(np.array([False, True])), [TargetGenome("ape", fasta, chain)])
        homologs = lift_examples(table, [TargetGenome("ape", fasta, chain)])
        assert len(homologs) == 0 or "hg:chr1:100-200" not in set(homologs.frame["origin"]), name


def _identity_loop(frame, lifted, rows, chain, human, target) -> np.ndarray:
    """The former per-window loop of ``_identity``: the reference the vectorised version must equal."""
    out = np.zeros(rows.size, dtype=np.float32)
    q_size = chain.chains["q_size"].to_numpy()
    for k, row in enumerate(rows.tolist()):
        start, end = int(frame["start"].iat[row]), int(frame["end"].iat[row])
        blocks = chain.blocks[chain.chains["t_name"].iat[lifted["chain"].iat[row]]]
        lo = int(np.searchsorted(blocks.max_end, start, side="right"))
        hi = int(np.searchsorted(blocks.t_start, end, side="left"))
        ours = lo + np.flatnonzero((blocks.chain[lo:hi] == lifted["chain"].iat[row]) & (blocks.t_end[lo:hi] > start))
        a, b = int(lifted["start"].iat[row]), int(lifted["end"].iat[row])
        origin = q_size[lifted["chain"].iat[row]] - b if lifted["strand"].iat[row] == "-" else a
        h = np.frombuffer(human[k].upper().encode(), dtype=np.uint8)
        t = np.frombuffer(target[k].upper().encode(), dtype=np.uint8)
        same = 0
        for j in ours.tolist():
            left, right = max(start, blocks.t_start[j]), min(end, blocks.t_end[j])
            q = blocks.q_start[j] + (left - blocks.t_start[j]) - origin
            lo, hi = max(q, 0), min(q + right - left, len(t))
            if hi > lo:
                shift = lo - q
                seg_h = h[left - start + shift : left - start + shift + hi - lo]
                same += int(((seg_h == t[lo:hi]) & (seg_h != ord("N"))).sum())
        out[k] = same / (end - start)
    return out


def _random_chains(rng: np.random.Generator, human: str, n: int) -> tuple[str, str]:
    """``n`` random chains chr1 -> chrA (gapped blocks, both strands, overlapping each other on chr1) and a
    chrA made of random DNA with the human bases of every block copied in (later chains overwrite)."""
    size, text = len(human), []
    target = list(random_dna(rng, size, 0.45))
    for i in range(n):
        sizes = rng.integers(20, 200, rng.integers(1, 6))
        dt, dq = rng.integers(0, 12, sizes.size - 1), rng.integers(0, 12, sizes.size - 1)
        t_len, q_len = int(sizes.sum() + dt.sum()), int(sizes.sum() + dq.sum())
        t0, q0 = int(rng.integers(0, size - t_len)), int(rng.integers(0, size - q_len))
        strand = "-" if rng.random() < 0.4 else "+"
        text.append(f"chain 1 chr1 {size} + {t0} {t0 + t_len} chrA {size} {strand} {q0} {q0 + q_len} {i + 1}")
        text += [f"{s} {a} {b}" for s, a, b in zip(sizes[:-1], dt, dq, strict=True)] + [f"{sizes[-1]}", ""]
        t, q = t0, q0
        for k, block in enumerate(sizes.tolist()):
            bases = human[t : t + block]
            start = q if strand == "+" else size - q - block
            target[start : start + block] = list(bases if strand == "+" else reverse_complement(bases))
            t, q = t + block + (dt[k] if k < dt.size else 0), q + block + (dq[k] if k < dq.size else 0)
    return "\n".join(text), "".join(target)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_identity_equals_the_loop_on_random_chains(tmp_path: Path, seed: int) -> None:
    from seqlab.data.homologs import _identity

    rng = np.random.default_rng(seed)
    size = 4000
    human = list(random_dna(rng, size, 0.45))
    for i in rng.integers(0, size, 200):  # N and soft-masked bases
        human[i] = "N" if rng.random() < 0.5 else human[i].lower()
    chains, copy = _random_chains(rng, "".join(human), 15)
    chain_path = tmp_path / "r.chain"
    chain_path.write_text(chains)
    target = write_fasta(tmp_path / "a.fa", {"chrA": copy})
    starts = rng.integers(0, size - 150, 400)
    frame = pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + rng.integers(60, 150, starts.size)})
    chain, genome = read_chain(chain_path), Genome(target, "apeA")
    lifted = lift_windows(frame, chain, genome, LiftOptions(min_match=0.2, max_length_ratio=None))
    rows = np.flatnonzero((lifted["status"] == "kept").to_numpy())
    assert rows.size > 50 and (lifted["status"] == "multiple").any()
    forward = lifted["sequence"].to_numpy()[rows]
    assert list(forward) == genome.fetch_many(lifted["chrom"][rows], lifted["start"][rows], lifted["end"][rows])
    strand = lifted["strand"].to_numpy()[rows]
    homolog = [reverse_complement(q) if m == "-" else q for q, m in zip(forward, strand, strict=True)]
    people = ["".join(human[s:e]) for s, e in zip(frame["start"][rows], frame["end"][rows], strict=True)]
    fast = _identity(frame, lifted, rows, chain, people, homolog)
    slow = _identity_loop(frame, lifted, rows, chain, people, homolog)
    np.testing.assert_array_equal(fast, slow)
    assert fast.dtype == np.float32 and (fast > 0.8).any() and (fast < 0.5).any()  # copies and overwritten ones


def test_paralogs_of_a_test_window_guard_training_homologs(tmp_path: Path) -> None:
    # chr1[1000, 1300) has two copies in chrA ([100, 400) and [2000, 2300)): the test window chr1[1100, 1200)
    # fails as 'multiple'. The train window chr1[2500, 2600) lifts into the second copy: it must go.
    rng = np.random.default_rng(8)
    chain = tmp_path / "p.chain"
    chain.write_text(
        f"chain 1 chr1 {S} + 1000 1300 chrA {S} + 100 400 1\n300\n\n"
        f"chain 1 chr1 {S} + 1000 1300 chrA {S} + 2000 2300 2\n300\n\n"
        f"chain 1 chr1 {S} + 2400 2700 chrA {S} + 2050 2350 3\n300\n\n"
        f"chain 1 chr1 {S} + 0 300 chrA {S} + 2600 2900 4\n300\n"
    )
    fasta = write_fasta(tmp_path / "a.fa", {"chrA": random_dna(rng, S, 0.45)})
    frame = pd.DataFrame(
        {"genome": "hg", "chrom": "chr1", "start": [1100, 2500, 100], "end": [1200, 2600, 200], "strand": "+",
         "split": ["test", "train", "train"], "source": "peak", "origin": ""}
    )  # fmt: skip
    labels = np.ones((3, 1), dtype=np.float32)
    table = ExampleTable(frame, labels, np.ones_like(labels), pd.DataFrame({"task": ["T1"]}))
    homologs = lift_examples(table, [TargetGenome("ape", fasta, chain)])
    report = homologs.report["lift"]["genomes"]["ape"]
    assert report["failed"]["multiple"] == 1
    assert homologs.frame["origin"].tolist() == ["hg:chr1:100-200"]  # [2150, 2250) overlaps paralog [2100, 2200)
    assert report["guard_removed"]["train_overlapping_test"] == 1
    unguarded = lift_examples(table, [TargetGenome("ape", fasta, chain)], LiftOptions(guard=False))
    assert unguarded.frame["origin"].tolist() == ["hg:chr1:2500-2600", "hg:chr1:100-200"]


def test_homolog_windows_are_read_once(toy: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    fetch_many = Genome.fetch_many

    def counted(self: Genome, *args, **kwargs):
        calls.append(self.name)
        return fetch_many(self, *args, **kwargs)

    table = toy["table"]
    table = dataclasses.replace(
        table, sequences=[toy["human"][s:e] for s, e in zip(table.frame["start"], table.frame["end"], strict=True)]
    )
    monkeypatch.setattr(Genome, "fetch_many", counted)
    homologs = lift_examples(table, [toy["target"]], LiftOptions(weight="identity"))
    assert calls == ["apeA"] and len(homologs) == 4 and homologs.sequences is not None
    genome = Genome(toy["target"].fasta, "apeA")
    for row, seq in zip(homologs.frame.itertuples(), homologs.sequences, strict=True):
        forward = fetch_many(genome, [row.chrom], [row.start], [row.end])[0]
        assert seq == (reverse_complement(forward) if row.strand == "-" else forward)
