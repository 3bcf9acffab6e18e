import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import DataConfig, SubsampleConfig
from seqlab.data.build import ExampleTable, build_examples, deduplicate, summarize
from seqlab.data.sources.peaks import choose_peaks
from seqlab.data.windows import sequence_content
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals

SPLIT = {"test_chroms": ["chr3"], "val_chroms": ["2"], "exclude_chroms": ["chrM"]}


@pytest.fixture
def peak_config(tmp_path, synthetic_genome, peaks_writer) -> DataConfig:
    peaks_writer(
        tmp_path / "A.narrowPeak",
        [
            ("chr1", 1000, 1400, 200),
            ("chr1", 5000, 5300, -1),
            ("chr1", 39_800, 39_950, 50),  # all N in the genome
            ("chr2", 3000, 3200, 100),
            ("chr3", 7000, 7400, -1),
            ("chrM", 200, 300, -1),  # excluded chromosome
        ],
    )
    peaks_writer(
        tmp_path / "B.narrowPeak",
        [
            ("1", 1250, 1300, 0),
            ("chr2", 3000, 3200, 100),  # same window as A's
            ("chr3", 15_000, 15_100, 50),
            ("chr2", 19_990, 20_000, 5),  # window crosses the chromosome end
            ("chrQ", 0, 100, -1),  # not in the genome
        ],
    )
    (tmp_path / "tasks.tsv").write_text("task\tpeaks\ttarget\nA\tA.narrowPeak\tCTCF\nB\tB.narrowPeak\tPOL2\n")
    return DataConfig(
        genomes={"toy": {"fasta": synthetic_genome}},
        tasks=tmp_path / "tasks.tsv",
        split=SPLIT,
        sources=[{"kind": "peaks", "negatives": {"ratio": 2.0, "gc_bins": 5}}],
    )


def _build(config: DataConfig, seed: int | None = None) -> tuple[ExampleTable, list[str]]:
    if seed is not None:
        config.sources[0].negatives.seed = seed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = build_examples(config)
    return table, [str(w.message) for w in caught]


def test_peaks_mode(peak_config, synthetic_genome):
    table, messages = _build(peak_config)
    assert any("1 peaks on chromosomes not in genome 'toy' were dropped (chrQ)" in m for m in messages)
    assert any("1 peak windows have more than 1% N (the negatives' limit) and were dropped" in m for m in messages)
    frame = table.frame
    assert list(frame.columns) == ["genome", "chrom", "start", "end", "strand", "split", "source", "origin"]
    assert (frame["origin"] == "").all()
    peaks = frame[frame["source"] == "peak"]
    assert list(zip(peaks["chrom"], peaks["start"], peaks["end"], strict=True)) == [
        ("chr1", 1100, 1300),
        ("chr1", 5050, 5250),
        ("chr2", 3000, 3200),
        ("chr3", 7100, 7300),
        ("chr1", 1150, 1350),
        ("chr3", 14_950, 15_150),
    ]
    np.testing.assert_array_equal(table.labels[: len(peaks)], [[1, 1], [1, 0], [1, 1], [1, 0], [1, 1], [0, 1]])
    negatives = frame[frame["source"] == "negative"]
    assert len(negatives) == 12
    assert (table.labels[len(peaks) :] == 0).all()
    assert set(negatives["chrom"]) <= {"chr1", "chr2", "chr3"}
    assert table.labels.dtype == np.float32 and (table.weights == 1).all()
    assert frame["split"].tolist() == [{"chr1": "train", "chr2": "val", "chr3": "test"}[c] for c in frame["chrom"]]
    assert (frame["genome"] == "toy").all() and (frame["strand"] == "+").all()
    assert table.genomes == {"toy": synthetic_genome}
    assert table.task_names == ["A", "B"] and table.tasks["target"].tolist() == ["CTCF", "POL2"]
    report = table.report
    assert report["duplicates_removed"] == 1
    assert report["excluded_chrom_dropped"] == 1
    assert report["positives_n_dropped"] == 1
    assert report["tasks"]["B"]["n_dropped_chrom_end"] == 1
    assert report["tasks"]["B"]["peaks_unknown_chrom"] == 1
    assert report["tasks"]["A"]["n_summit_fallback"] == 3
    assert report["negatives"]["requested"] == report["negatives"]["found"] == 12
    again, _ = _build(peak_config, seed=0)
    pd.testing.assert_frame_equal(again.frame, table.frame)
    other, _ = _build(peak_config, seed=1)
    assert not other.frame.equals(table.frame)
    text = summarize(table)
    assert "18 examples (peak 6, negative 12); genome toy; 2 task(s)" in text
    assert "duplicates removed: 1" in text
    assert "windows crossing a chromosome end, dropped: 1" in text
    assert "peaks on chromosomes missing from the genome, dropped: 1" in text


def test_min_overlap_and_no_dedup(peak_config):
    peak_config.min_overlap = 60
    peak_config.deduplicate = False
    peak_config.sources[0].negatives.ratio = 0
    table, _ = _build(peak_config)
    assert len(table) == 7  # the chr2 window appears for both tasks
    # chr1:1100-1300 overlaps B's 50-bp peak by 50 bp only
    np.testing.assert_array_equal(table.labels[0], [1, 0])


def test_empty_peak_file_is_an_error(peak_config, tmp_path):
    (tmp_path / "B.narrowPeak").write_text("")
    with pytest.raises(ValueError, match=r"task 'B': peak file .*B\.narrowPeak has no intervals"):
        build_examples(peak_config)


def test_wrong_genome_build_is_a_key_error(peak_config, tmp_path, peaks_writer):
    peaks_writer(tmp_path / "B.narrowPeak", [("scaffold_1", 0, 100, -1)])
    with pytest.raises(KeyError, match="no chromosome of .* is in genome 'toy'"):
        build_examples(peak_config)


def test_empty_test_split_is_an_error(peak_config):
    peak_config.split.test_chroms = ["chr9"]
    with pytest.raises(ValueError, match="the test split is empty"):
        _build(peak_config)


def test_tiling_mode(peak_config):
    peak_config.sources = [{"kind": "tiling", "chroms": ["chr1", "chr2", "chr3", "chrM"], "bin_size": 200}]
    peak_config.window_length = 400
    table, _ = _build(peak_config)
    frame = table.frame
    assert (frame["source"] == "tiling").all()
    assert (frame["end"] - frame["start"] == 400).all()
    assert "chrM" not in set(frame["chrom"])
    chr1 = frame[frame["chrom"] == "chr1"]
    # bins [0,200) and the N tail are gone; the first window is centred on bin [200, 400)
    assert chr1["start"].iloc[0] == 100
    assert chr1["end"].max() <= 39_700 + 100
    labels = pd.DataFrame(table.to_dense().labels, columns=["A", "B"]).assign(
        chrom=frame["chrom"], start=frame["start"] + 100
    )
    positive_a = labels[(labels["A"] == 1) & (labels["chrom"] == "chr1")]["start"].tolist()
    assert positive_a == [1000, 1200, 5000, 5200]
    assert table.report["tiling"]["n_dropped_n"] > 0
    assert table.sparse and table.counts()["positives"].sum() == table.labels.nnz


def _sequence_config(tmp_path: Path, write_fasta) -> DataConfig:
    rng = np.random.default_rng(3)

    def seq(n: int = 20) -> str:
        return "".join(rng.choice(list("ACGT"), n))

    shared = seq()
    write_fasta(
        tmp_path / "a_pos.fa",
        {
            "chr1:0-20": shared,
            "chr1:100-120": seq(),
            "chr3:0-20": seq(),
            "chr2:5-25(-)": seq(),
            "chr1:200-220": "N" * 20,
        },
    )
    write_fasta(
        tmp_path / "a_neg.fa", {"chr1:0-20": shared, "chrY:0-20": seq(), "chr3:50-70": seq(), "chr2:0-20": seq()}
    )
    write_fasta(
        tmp_path / "b_pos.fa",
        {"chr1:100-120": seq(), "chr1:100-120 dup": seq(), "chr3:0-20": seq(), "chr2:0-20": seq()},
    )
    sets = [
        {"fasta": tmp_path / "a_pos.fa", "labels": {"A": 1}},
        {"fasta": tmp_path / "a_neg.fa", "labels": {"A": 0}},
        {"fasta": tmp_path / "b_pos.fa", "labels": {"B": 1}},
    ]
    return DataConfig(window_length=20, split=SPLIT, sources=[{"kind": "sequences", "sets": sets}])


def test_sequences_mode_dedup_conflicts_and_masks(tmp_path, fasta_writer):
    config = _sequence_config(tmp_path, fasta_writer)
    table, messages = _build(config)
    assert any("1 all-N records were dropped" in m for m in messages)
    assert any("labelled both positive and negative were masked" in m for m in messages)
    frame = table.frame
    keys = list(zip(frame["chrom"], frame["start"], frame["strand"], strict=True))
    assert keys == [
        ("chr1", 0, "+"),
        ("chr1", 100, "+"),
        ("chr3", 0, "+"),
        ("chr2", 5, "-"),
        ("chrY", 0, "+"),
        ("chr3", 50, "+"),
        ("chr2", 0, "+"),
    ]
    np.testing.assert_array_equal(table.labels, [[0.5, 0], [1, 1], [1, 1], [1, 0], [0, 0], [0, 0], [0, 1]])
    np.testing.assert_array_equal(table.weights, [[0, 0], [1, 1], [1, 1], [1, 0], [1, 0], [1, 0], [1, 1]])
    assert table.report["duplicates_removed"] == 5
    assert table.report["label_conflicts"] == {"A": 1, "B": 0}
    assert (frame["source"] == "fasta").all() and (frame["genome"] == "genome").all()
    assert len(table.sequences) == 7 and table.genomes == {}
    assert table.frame["split"].tolist() == ["train", "train", "test", "val", "train", "test", "val"]


def test_sequences_mode_length_must_match_window(tmp_path, fasta_writer):
    config = _sequence_config(tmp_path, fasta_writer)
    config.window_length = 21
    with pytest.raises(ValueError, match=r"a_pos\.fa: record 1 \('chr1:0-20'\) has 20 bp but data.window_length is 21"):
        build_examples(config)


def test_deduplicate_exact():
    frame = pd.DataFrame({"genome": "g", "chrom": ["c", "c", "d", "c"], "start": [1, 1, 1, 1], "end": [5, 5, 5, 5]})
    labels = np.array([[1, 0], [1, 1], [0, 0], [0, 1]], dtype=np.float32)
    weights = np.array([[1, 0], [1, 1], [1, 1], [0, 1]], dtype=np.float32)
    keep, merged, merged_weights, info = deduplicate(frame, labels, weights)
    assert keep.tolist() == [0, 2]
    np.testing.assert_array_equal(merged, [[1, 1], [0, 0]])
    np.testing.assert_array_equal(merged_weights, [[1, 1], [1, 1]])
    assert info == {"duplicates_removed": 2, "label_conflicts": [0, 0]}


def test_save_load_subset_round_trip(tmp_path, fasta_writer):
    table, _ = _build(_sequence_config(tmp_path, fasta_writer))
    folder = table.save(tmp_path / "built")
    loaded = ExampleTable.load(folder)
    pd.testing.assert_frame_equal(loaded.frame, table.frame)
    np.testing.assert_array_equal(loaded.labels, table.labels)
    np.testing.assert_array_equal(loaded.weights, table.weights)
    pd.testing.assert_frame_equal(loaded.tasks, table.tasks)
    assert loaded.sequences == table.sequences and loaded.report == table.report
    test = table.subset(table.frame["split"].to_numpy() == "test")
    assert len(test) == 2 and test.sequences == [table.sequences[2], table.sequences[5]]
    np.testing.assert_array_equal(test.labels, table.labels[[2, 5]])
    assert test.frame.index.tolist() == [0, 1]
    with pytest.raises(ValueError, match="labels has shape"):
        ExampleTable(table.frame, table.labels[:2], table.weights, table.tasks)
    with pytest.raises(FileNotFoundError, match="not a saved example table"):
        ExampleTable.load(tmp_path)


def test_save_load_genome_table(peak_config, tmp_path, synthetic_genome):
    table, _ = _build(peak_config)
    loaded = ExampleTable.load(table.save(tmp_path / "built"))
    pd.testing.assert_frame_equal(loaded.frame, table.frame)
    assert loaded.sequences is None and loaded.genomes == {"toy": synthetic_genome}


def test_positives_pass_the_negatives_n_filter(peak_config, tmp_path, peaks_writer, synthetic_genome):
    # A window 25% N (chr1 ends in 300 bp of N from 39,700): dropped at the default 1%, kept at 30%
    peaks_writer(
        tmp_path / "A.narrowPeak", [("chr1", 39_600, 39_700, 50), ("chr1", 1000, 1200, 100), ("chr2", 3000, 3200, 100)]
    )
    peaks_writer(tmp_path / "B.narrowPeak", [("chr3", 7000, 7400, -1)])
    table, messages = _build(peak_config)
    assert table.report["positives_n_dropped"] == 1
    assert any("1 peak windows have more than 1% N" in m for m in messages)
    peaks = table.frame[table.frame["source"] == "peak"]
    assert list(zip(peaks["chrom"], peaks["start"], strict=True)) == [("chr1", 1000), ("chr2", 3000), ("chr3", 7100)]
    peak_config.sources[0].max_n_fraction = 0.3
    table, _ = _build(peak_config)
    assert table.report["positives_n_dropped"] == 0
    frame = table.frame
    assert ("chr1", 39_550, 39_750) in set(zip(frame["chrom"], frame["start"], frame["end"], strict=True))
    # negatives pass the same (raised) limit
    assert table.report["negatives"]["found"] == 8
    negatives = frame[frame["source"] == "negative"]
    genome = Genome(synthetic_genome)
    _, n_fraction = sequence_content(genome.fetch_many(negatives["chrom"], negatives["start"], negatives["end"]))
    assert (n_fraction <= 0.3).all()


def test_subsample_peaks_by_signal_and_at_random(peak_config, tmp_path):
    rows = [("chr1", 1000 + 2000 * i, 1200 + 2000 * i, f"p{i}", 0, ".", float(s)) for i, s in enumerate([3, 9, 1, 7])]
    text = "".join(f"{c}\t{s}\t{e}\t{n}\t{sc}\t{st}\t{sig}\t-1\t-1\t-1\n" for c, s, e, n, sc, st, sig in rows)
    text += "chr2\t3000\t3200\tq\t0\t.\t5\t-1\t-1\t-1\nchr3\t7000\t7200\tr\t0\t.\t5\t-1\t-1\t-1\n"
    (tmp_path / "A.narrowPeak").write_text(text)
    (tmp_path / "tasks.tsv").write_text("task\tpeaks\nA\tA.narrowPeak\n")
    source = peak_config.sources[0]
    source.negatives.ratio = 0
    source.subsample = {"n": 3, "by": "signal"}  # among the 4 training (chr1) peaks; chr2/chr3 peaks all kept
    table, _ = _build(peak_config)
    starts = table.frame.loc[table.frame["chrom"] == "chr1", "start"].tolist()
    assert starts == [1000, 3000, 7000]  # signal 3, 9, 7 kept; signal 1 dropped
    assert table.frame["chrom"].tolist().count("chr2") == table.frame["chrom"].tolist().count("chr3") == 1
    report = table.report["tasks"]["A"]
    assert (report["peaks_kept"], report["peaks_subsampled_from"], report["peaks"]) == (5, 4, 6)
    source.subsample = {"n": 4, "by": "signal", "splits": ["train", "val", "test"]}  # among all 6 peaks
    table, _ = _build(peak_config)
    assert table.frame.loc[table.frame["chrom"] == "chr1", "start"].tolist() == [3000, 7000]
    assert sorted(table.frame["chrom"]) == ["chr1", "chr1", "chr2", "chr3"]  # signal 5 on chr2/chr3 kept
    intervals = read_intervals(tmp_path / "A.narrowPeak")
    first = choose_peaks(intervals, SubsampleConfig(n=3, by="random", seed=1), np.arange(6))
    assert first.tolist() == np.sort(np.random.default_rng(1).choice(6, 3, replace=False)).tolist()
    assert choose_peaks(intervals, SubsampleConfig(n=3, by="random", seed=1), np.arange(6)).tolist() == first.tolist()
    assert choose_peaks(intervals, SubsampleConfig(n=10), np.arange(6)).tolist() == list(range(6))
    assert choose_peaks(intervals, SubsampleConfig(n=2), np.array([0, 2, 3])).tolist() == [0, 3]  # signal 3, 1, 7


def test_negatives_follow_their_own_seed_not_the_run_seed(peak_config):
    table, _ = _build(peak_config)
    peak_config.sources[0].negatives.seed = 5
    other, _ = _build(peak_config)
    assert not other.frame.equals(table.frame)
    assert len(other) == len(table) == 18


def test_two_sources_are_concatenated(peak_config, tmp_path, fasta_writer, synthetic_genome):
    rng = np.random.default_rng(0)
    fasta_writer(tmp_path / "c.fa", {"chr1:20000-20200": "".join(rng.choice(list("ACGT"), 200))})
    peak_config.sources = [
        peak_config.sources[0],
        {"kind": "sequences", "sets": [{"fasta": tmp_path / "c.fa", "labels": {"C": 1}}]},
    ]
    with pytest.raises(ValueError, match="some tables carry sequences"):
        _build(peak_config)
    peak_config.sources = [peak_config.sources[0], {"kind": "tiling", "chroms": ["chr2"], "bin_size": 200}]
    table, _ = _build(peak_config)
    sources = table.frame["source"].value_counts().to_dict()
    assert sources == {"tiling": 99, "negative": 12, "peak": 6}  # 100 bins of chr2, one of them a peak window
    # val: the 100 chr2 bins (one of them the val peak window) and ratio 2 x 1 val peak window = 2 negatives
    assert table.counts().set_index(["split", "task"]).loc[("val", "A"), "examples"] == 102
    assert [part["kind"] for part in table.report["parts"]] == ["peaks", "tiling"]
    # the peak window chr2:3000-3200 is also a tiling bin: merged
    assert table.report["duplicates_removed"] == 1
    text = summarize(table)
    assert "117 examples (peak 6, negative 12, tiling 99)" in text and "negatives: 12 of 12 requested" in text
    assert "peaks on chromosomes missing from the genome, dropped: 2" in text  # counted by both sources


def test_region_split_through_the_build(peak_config, tmp_path):
    (tmp_path / "test.bed").write_text("chr3\t0\t20000\n")
    (tmp_path / "val.bed").write_text("chr2\t0\t10000\n")
    peak_config.split = {
        "test_chroms": [],
        "val_chroms": [],
        "exclude_chroms": ["chrM"],
        "test_regions": tmp_path / "test.bed",
        "val_regions": tmp_path / "val.bed",
        "gap": 100,
    }
    table, _ = _build(peak_config)
    frame = table.frame
    assert (frame.loc[frame["split"] == "test", "chrom"] == "chr3").all()
    assert frame.groupby(["chrom", "split"]).size().to_dict() == {  # peak windows + 2 negatives each, per split
        ("chr1", "train"): 3 + 6,
        ("chr2", "val"): 1 + 2,
        ("chr3", "test"): 2 + 4,
    }
    assert (table.report["region_gap_dropped"], table.report["excluded_chrom_dropped"]) == (0, 1)
    val = frame[frame["split"] == "val"]
    assert (val["end"] <= 10_000 - 100).all()


def test_sequences_source_takes_task_metadata_from_data_tasks(tmp_path, fasta_writer):
    config = _sequence_config(tmp_path, fasta_writer)
    (tmp_path / "tasks.tsv").write_text("task\ttarget\tassay\nB\tPOLR2A\tChIP-seq\nA\tCTCF\tChIP-seq\nC\tX\tY\n")
    config.tasks = tmp_path / "tasks.tsv"  # no peaks column: sequences sources only read the metadata
    table, _ = _build(config)
    assert table.tasks.to_dict("records") == [
        {"task": "A", "target": "CTCF", "assay": "ChIP-seq"},
        {"task": "B", "target": "POLR2A", "assay": "ChIP-seq"},
    ]
    (tmp_path / "tasks.tsv").write_text("task\ttarget\nA\tCTCF\n")
    with pytest.warns(UserWarning, match=r"tasks\.tsv does not describe task\(s\) \['B'\]"):
        table = build_examples(config)
    assert table.tasks["target"].tolist() == ["CTCF", ""]


@pytest.mark.parametrize("by_regions", [False, True])
def test_subsample_keeps_val_and_test_windows_for_every_n(peak_config, tmp_path, peaks_writer, by_regions):
    # task A: 60 peaks on chr1 (train; with regions the last 10 lie in a val region), 4 on chr2, 4 on chr3
    rows = [("chr1", 500 + 600 * i, 700 + 600 * i, 100) for i in range(60)]
    rows += [(chrom, 1000 + 4000 * i, 1200 + 4000 * i, -1) for chrom in ("chr2", "chr3") for i in range(4)]
    peaks_writer(tmp_path / "A.narrowPeak", rows)
    peaks_writer(tmp_path / "B.narrowPeak", [("chr1", 900, 1000, -1), ("chr2", 1100, 1300, -1)])
    if by_regions:
        (tmp_path / "test.bed").write_text("chr3\t0\t20000\n")
        (tmp_path / "val.bed").write_text("chr1\t30000\t40000\nchr2\t0\t20000\n")
        peak_config.split = {"test_chroms": [], "val_chroms": [], "test_regions": tmp_path / "test.bed",
                             "val_regions": tmp_path / "val.bed", "gap": 100}  # fmt: skip
    source = peak_config.sources[0]
    source.negatives.ratio = 1.0
    tables = {}
    for n in (25, 50):
        source.subsample = {"n": n, "by": "random", "seed": 3}
        tables[n], _ = _build(peak_config, seed=5)

    def held_out(table: ExampleTable) -> pd.DataFrame:
        frame = table.frame.assign(A=table.labels[:, 0], B=table.labels[:, 1])
        frame = frame[frame["split"] != "train"].drop(columns="origin")
        return frame.sort_values(["chrom", "start"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(held_out(tables[25]), held_out(tables[50]))
    val_test = held_out(tables[25]).groupby(["split", "source"]).size().to_dict()
    n_val = 15 if by_regions else 5  # A's 4 and B's 1 on chr2; with regions, A's last 10 on chr1 (i = 50..59)
    assert val_test == {
        ("test", "negative"): 4,
        ("test", "peak"): 4,
        ("val", "negative"): n_val,
        ("val", "peak"): n_val,
    }
    pool = 49 if by_regions else 60  # A's training peaks (with regions i = 0..48: i = 49 lies within the gap)
    for n, table in tables.items():
        train = table.frame[table.frame["split"] == "train"]
        peaks = int((train["source"] == "peak").sum())
        assert peaks == min(n, pool) + 1  # and B's one training peak
        assert int((train["source"] == "negative").sum()) == peaks  # ratio 1 of the training peak windows
        assert table.report["tasks"]["A"]["peaks_subsampled_from"] == pool


@pytest.mark.parametrize("by", ["signal", "random"])
def test_subsample_n_counts_the_windows_that_pass_the_filters(peak_config, tmp_path, by):
    # task A on chr1 (train): 8 strongest peaks in chr1's last 300 bp of N, 2 peaks sharing one window,
    # 20 ordinary peaks; n = 10 gives 10 training windows (the N-rich ones are never chosen)
    rows = [("chr1", 39_700 + 10 * i, 39_800 + 10 * i, 100 + i) for i in range(8)]
    rows += [("chr1", 600, 800, 50), ("chr1", 550, 850, 49)]  # both centred on 700: one window
    rows += [("chr1", 2000 + 1000 * i, 2200 + 1000 * i, 10 + i) for i in range(20)]
    rows += [("chr2", 3000, 3200, 1), ("chr3", 7000, 7200, 1)]
    text = "".join(f"{c}\t{s}\t{e}\tp{i}\t0\t.\t{v}\t-1\t-1\t-1\n" for i, (c, s, e, v) in enumerate(rows))
    (tmp_path / "A.narrowPeak").write_text(text)
    (tmp_path / "tasks.tsv").write_text("task\tpeaks\nA\tA.narrowPeak\n")
    source = peak_config.sources[0]
    source.negatives.ratio = 0
    source.subsample = {"n": 10, "by": by, "seed": 2}
    table, messages = _build(peak_config)
    train = table.frame[table.frame["split"] == "train"]
    assert len(train) == 10 and train[["chrom", "start"]].duplicated().sum() == 0
    assert (train["end"] < 39_700).all()  # no window of chr1's N tail
    assert table.labels[table.frame["split"] == "train", 0].tolist() == [1.0] * 10
    report = table.report["tasks"]["A"]
    assert report["peaks_subsampled_from"] == 21  # 20 ordinary windows + the shared one; the 8 N-rich are out
    assert report["peaks_kept"] == 12  # 10 chosen + the val and test peaks
    if by == "signal":  # the 10 strongest usable: the shared window (signal 50) and signal 29..21
        assert sorted(train["start"].tolist()) == [600] + [2000 + 1000 * i for i in range(11, 20)]
    assert (table.frame["split"] != "train").sum() == 2
    source.subsample = {"n": 40, "by": by}  # more than the task has: every usable window
    table, _ = _build(peak_config)
    assert int((table.frame["split"] == "train").sum()) == 21


def test_sequences_set_exclude_drops_records_overlapping_intervals(tmp_path, fasta_writer):
    config = _sequence_config(tmp_path, fasta_writer)
    (tmp_path / "a_peaks.bed").write_text("chr3\t65\t90\nchr2\t20\t30\n")  # chr3:50-70 overlaps; chr2:0-20 only abuts
    config.sources[0].sets[1].exclude = tmp_path / "a_peaks.bed"
    table, _ = _build(config)
    keys = list(zip(table.frame["chrom"], table.frame["start"], strict=True))
    assert ("chr3", 50) not in keys and ("chr2", 0) in keys and len(keys) == 6
    assert [entry["excluded"] for entry in table.report["sets"]] == [0, 1, 0]
    assert table.report["sets"][1]["records"] == 3


def _target_config(tmp_path: Path, write_fasta, **target) -> DataConfig:
    rng = np.random.default_rng(4)
    seqs = {name: "".join(rng.choice(list("ACGT"), 20)) for name in ("chr1:0-20", "chr1:100-120", "chr2:0-20")}
    write_fasta(tmp_path / "pos.fa", {**seqs, "chr3:0-20": "ACGT" * 5})
    write_fasta(tmp_path / "neg.fa", {"chr1:50-70": "TTGCA" * 4, "chr1:300-320": "GGCAT" * 4})
    rows = [  # chrom, start, end, signal, pValue, summit: summits at 10, 202 (midpoint), 112, 5, 61
        ("chr1", 0, 40, 9.0, -1, 10),
        ("chr1", 105, 300, 200.0, -1, -1),
        ("chr1", 110, 115, 99.0, -1, 2),
        ("chr2", 0, 10, 0.0, -1, 5),
        ("chr1", 60, 62, 1.0, -1, 1),
    ]
    (tmp_path / "A.narrowPeak").write_text(
        "".join(f"{c}\t{s}\t{e}\tp\t0\t.\t{v}\t{p}\t-1\t{m}\n" for c, s, e, v, p, m in rows)
    )
    targets = {"A": {"peaks": tmp_path / "A.narrowPeak", **target}}
    sets = [
        {"fasta": tmp_path / "pos.fa", "labels": {"B": 1}, "targets": targets},
        {"fasta": tmp_path / "neg.fa", "labels": {"A": 0}},
    ]
    return DataConfig(window_length=20, split=SPLIT, sources=[{"kind": "sequences", "sets": sets}])


def test_sequences_set_targets_take_the_matching_peaks_value(tmp_path, fasta_writer):
    config = _target_config(tmp_path, fasta_writer, transform="log1p")
    assert config.sources[0].quantitative
    table, _ = _build(config)
    keys = list(zip(table.frame["chrom"], table.frame["start"], strict=True))
    assert keys == [("chr1", 0), ("chr1", 100), ("chr2", 0), ("chr3", 0), ("chr1", 50), ("chr1", 300)]
    # pos: log1p of 9; of 99 (the 200-peak overlaps chr1:100-120 but its midpoint 202 is outside); of 0; none: 0
    # neg: the label 0 is the constant target (its peak at 61 is not read); task B: 1 on pos, unlabelled on neg
    expected_a = np.log1p([9.0, 99.0, 0.0, 0.0, 0.0, 0.0]).astype(np.float32)
    assert table.task_names == ["B", "A"]  # a set's labels, then its targets
    np.testing.assert_allclose(table.targets[:, :, 0], np.stack([[1, 1, 1, 1, 0, 0], expected_a], axis=1))
    np.testing.assert_array_equal(table.labels, np.zeros((6, 2)))
    np.testing.assert_array_equal(table.weights, [[1, 1]] * 4 + [[0, 1]] * 2)
    np.testing.assert_allclose(table.with_targets_as_labels().labels[:, 1], expected_a)
    assert table.report["sets"][0]["target_matched"] == {"A": 3} and "target_matched" not in table.report["sets"][1]
    overlap, _ = _build(_target_config(tmp_path, fasta_writer, match="overlap"))
    np.testing.assert_allclose(overlap.targets[:4, 1, 0], [9.0, 200.0, 0.0, 0.0])


def test_sequences_set_targets_errors_name_the_file_and_record(tmp_path, fasta_writer):
    config = _target_config(tmp_path, fasta_writer, missing="error")
    with pytest.raises(ValueError, match=r"pos\.fa: record 'chr3:0-20' matches no peak of .*A\.narrowPeak "
                       r"\(targets\.A\.missing: error; 1 records match none\)"):  # fmt: skip
        build_examples(config)
    config = _target_config(tmp_path, fasta_writer, column="p_value")
    with pytest.raises(ValueError, match=r"A\.narrowPeak: column p_value has no value \('\.' or negative\) on 5 of 5"):
        build_examples(config)
    (tmp_path / "A.bed").write_text("chr1\t0\t40\n")
    config.sources[0].sets[0].targets["A"].peaks = tmp_path / "A.bed"
    config.sources[0].sets[0].targets["A"].column = "signal_value"
    with pytest.raises(ValueError, match=r"A\.bed: a bed file has no column 'signal_value'"):
        build_examples(config)
