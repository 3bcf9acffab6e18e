"""The ``tracks`` source: exact binned targets, coverage/N drops, profile stores, save and load."""

import numpy as np
import pytest

from seqlab.config import DataConfig
from seqlab.data.build import build_examples
from seqlab.data.table import ExampleTable

from ..io.test_tracks import write_bigwig
from .conftest import random_dna, write_fasta

SIZES = {"chr1": 2000, "chr2": 1000, "chr3": 1000}


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    chr1 = random_dna(rng, 1000, 0.5) + "N" * 200 + random_dna(rng, 800, 0.5)
    records = {"chr1": chr1, "chr2": random_dna(rng, 1000, 0.5), "chr3": random_dna(rng, 1000, 0.5)}
    write_fasta(tmp_path / "g.fa", records)
    # A: 1.0 on chr1 [0, 600), 3.0 on chr1 [600, 650); nothing on chr1 past 650; 2.0 over chr2 and chr3
    write_bigwig(
        tmp_path / "a.bw",
        SIZES,
        [("chr1", 0, 600, 1.0), ("chr1", 600, 650, 3.0), ("chr2", 0, 1000, 2.0), ("chr3", 0, 1000, 2.0)],
    )
    # B (bedGraph, chromosomes named without chr): 10 on chr1 [100, 150)
    (tmp_path / "b.bdg").write_text("1\t100\t150\t10\n2\t0\t1000\t1\n3\t0\t1000\t1\n")
    (tmp_path / "c.bdg").write_text("1\t0\t2000\t1\n2\t0\t1000\t1\n3\t0\t1000\t1\n")
    (tmp_path / "peaks.bed").write_text("chr1\t250\t350\nchr2\t400\t500\nchr3\t100\t200\n")
    (tmp_path / "tasks.tsv").write_text(
        "task\ttrack\tcontrol\tpeaks\nA\ta.bw\tc.bdg\tpeaks.bed\nB\tb.bdg\tc.bdg\tpeaks.bed\n"
    )
    return tmp_path


def config(folder, **source):
    return DataConfig.model_validate(
        {
            "genomes": {"g": {"fasta": str(folder / "g.fa")}},
            "tasks": str(folder / "tasks.tsv"),
            "window_length": 200,
            "split": {"val_chroms": ["chr2"], "test_chroms": ["chr3"]},
            "sources": [{"kind": "tracks", "bin_size": 50, "target_length": 100, **source}],
        }
    )


def test_tiled_targets_are_exact_bin_means(data):
    table = build_examples(config(data))
    frame = table.frame
    assert table.targets.shape == (len(table), 2, 2) and table.labels.nnz == 0
    row = int(np.flatnonzero((frame["chrom"] == "chr1").to_numpy() & (frame["start"] == 550).to_numpy())[0])
    # window [550, 750), span [600, 700): A bins [600,650) = 3, [650,700) = 0 (uncovered, inside the track)
    assert table.targets[row, 0].tolist() == [3.0, 0.0] and table.weights[row].tolist() == [1.0, 0.0]
    first = int(np.flatnonzero((frame["chrom"] == "chr1").to_numpy() & (frame["start"] == 50).to_numpy())[0])
    # span [100, 200): A = 1, 1; B = 10, 0
    assert table.targets[first].tolist() == [[1.0, 1.0], [10.0, 0.0]]
    report = table.report["parts"][0] if "parts" in table.report else table.report
    # chr1 spans: 20; crossing the ends: [0,100) and [1900,2000); N: [1000,1100), [1100,1200);
    # no coverage by either track: spans from 700 to 1000 and 1200 to 1900 (3 + 7)
    assert report["spans_n_dropped"] == 2 and report["windows_no_coverage"] == 10
    assert set(frame.loc[frame["chrom"] == "chr1", "start"]) == {50, 150, 250, 350, 450, 550}
    assert (table.targets[(frame["chrom"] == "chr2").to_numpy(), 0] == 2.0).all()


def test_sum_clip_log1p(data):
    table = build_examples(config(data, aggregate="sum", clip=100.0, log1p=True))
    first = int(
        np.flatnonzero((table.frame["chrom"] == "chr1").to_numpy() & (table.frame["start"] == 50).to_numpy())[0]
    )
    assert table.targets[first, 1].tolist() == pytest.approx([np.log1p(100.0), 0.0])  # 10 * 50 = 500 clipped


def test_peak_windows_and_profiles(data):
    table = build_examples(config(data, windows="peaks", center="center", profile=True, profile_dir=str(data / "p")))
    assert table.frame["start"].tolist() == [200, 350, 50]  # centred on 300, 450 and 150
    assert table.profiles.shape == (3, 2, 100) and table.control_profiles.shape == (3, 2, 100)
    profile = table.profiles[np.array([0])][0]  # span [250, 350)
    assert profile[0].tolist() == [1.0] * 100 and profile[1].tolist() == [0.0] * 100
    assert table.control_profiles[np.array([1])].tolist() == np.ones((1, 2, 100)).tolist()
    saved = ExampleTable.load(table.save(data / "table"))
    assert np.array_equal(saved.targets, table.targets)
    assert np.array_equal(saved.profiles[np.array([1, 0])], table.profiles[np.array([1, 0])])
    one = saved.subset(np.array([1])).select_tasks(["B"])
    assert (
        one.targets.shape == (1, 1, 2)
        and one.profiles[np.array([0])].tolist() == table.profiles[np.array([1])][:, 1:].tolist()
    )
    with pytest.raises(FileExistsError, match="profile store"):
        build_examples(config(data, windows="peaks", profile=True, profile_dir=str(data / "p")))


def test_background_windows_are_gc_matched_inside_their_split_and_away_from_peaks(data):
    background = {"ratio": 2, "gc_bins": 4, "seed": 5}
    table = build_examples(config(data, windows="peaks", center="center", background=background))
    frame = table.frame
    back = frame[frame["source"] == "background"]
    report = table.report["parts"][0] if "parts" in table.report else table.report
    assert report["background"]["requested"] == report["background"]["found"] == 6  # 2 per peak window and split
    # one of chr1's two lies where neither track has a value (chr1 past 650 bp): dropped as any window would be
    assert report["windows_no_coverage"] == 1
    assert (frame["source"] == "tracks").sum() == 3 and back.groupby("split").size().to_dict() == {
        "train": 1,
        "val": 2,
        "test": 2,
    }
    assert back.groupby("split")["chrom"].unique().map(list).to_dict() == {
        "test": ["chr3"],
        "train": ["chr1"],
        "val": ["chr2"],
    }
    peaks = {"chr1": (250, 350), "chr2": (400, 500), "chr3": (100, 200)}
    assert all(r.end <= peaks[r.chrom][0] or r.start >= peaks[r.chrom][1] for r in back.itertuples())
    rows = (back["chrom"] != "chr1").to_numpy()
    assert (table.targets[back.index[rows], 0] == 2.0).all()  # A is 2.0 over chr2 and chr3
    again = build_examples(config(data, windows="peaks", center="center", background=background))
    assert again.frame[["chrom", "start"]].equals(frame[["chrom", "start"]])  # its own seed: the same windows
    with pytest.raises(ValueError, match="background needs windows: peaks"):
        config(data, background=background)


def test_config_errors():
    with pytest.raises(ValueError, match="multiple of bin_size"):
        DataConfig.model_validate(
            {
                "genomes": {"g": {"fasta": "g.fa"}},
                "tasks": "t.tsv",
                "sources": [{"kind": "tracks", "bin_size": 30, "target_length": 100}],
            }
        )
    with pytest.raises(ValueError, match="profile_dir"):
        DataConfig.model_validate(
            {"genomes": {"g": {"fasta": "g.fa"}}, "tasks": "t.tsv", "sources": [{"kind": "tracks", "profile": True}]}
        )


@pytest.mark.realdata
def test_stat1_bigwig_targets_match_pybigwig_values(shared_data, tmp_path):
    import pyBigWig

    bigwig = shared_data / "dna" / "tracks_chr22" / "GM12878_Stat1.chr22_1-30000000.bigWig"
    (tmp_path / "tasks.tsv").write_text(f"task\ttrack\nSTAT1\t{bigwig}\n")
    config = DataConfig.model_validate(
        {
            "genomes": {"hg19": {"fasta": str(shared_data / "dna" / "chr22_primates" / "hg19.chr22.fa.gz")}},
            "tasks": str(tmp_path / "tasks.tsv"),
            "window_length": 1000,
            "split": {"val_chroms": [], "test_chroms": [], "exclude_chroms": []},
            "sources": [{"kind": "tracks", "bin_size": 128, "target_length": 256, "stride": 256}],
        }
    )
    from seqlab.data.sources import SourceContext
    from seqlab.data.sources.tracks import build_tracks

    table = build_tracks(config.sources[0], config, SourceContext())
    spans = table.frame["start"].to_numpy() + 500 - 128
    assert len(table) > 10_000 and spans.min() >= 16_050_656 - 256 and spans.max() < 30_000_019
    assert table.report["windows_no_coverage"] > 0 and table.report["spans_n_dropped"] > 0
    bw = pyBigWig.open(str(bigwig))
    for row in np.random.default_rng(0).choice(len(table), 50, replace=False):
        values = np.nan_to_num(bw.values("chr22", int(spans[row]), int(spans[row]) + 256, numpy=True))
        assert table.targets[row, 0] == pytest.approx(values.reshape(2, 128).mean(axis=1), rel=1e-5)


def test_a_table_of_several_bins_per_window_is_refused_by_the_data_module(data):
    from seqlab.data.datamodule import DnaDataModule

    cfg = config(data)
    with pytest.raises(ValueError, match="2 bins per window"):
        DnaDataModule(build_examples(cfg), cfg)
