"""GM12878 windows (hg19) in sequences mode: counts from the data README, audit findings."""

import warnings

import pytest

from seqlab.config import DataConfig
from seqlab.data.audit import audit_examples
from seqlab.data.build import build_examples

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def gm12878(shared_data):
    windows = shared_data / "dna/gm12878_hg19/windows"
    sets = [
        {"fasta": windows / f"{target}_GM12878_{kind}.fa.gz", "labels": {target: 1.0 if kind == "pos" else 0.0}}
        for target in ("CTCF", "POL2")
        for kind in ("pos", "neg")
    ]
    config = DataConfig(
        window_length=200,
        split={"test_chroms": ["chr8", "chr9"], "val_chroms": ["chr7"]},
        deduplicate=True,
        sources=[{"kind": "sequences", "sets": sets, "genome": "hg19"}],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the README promises no conflicts and no all-N records here
        return build_examples(config)


def test_test_split_counts_match_the_readme(gm12878):
    counts = gm12878.counts().set_index(["split", "task"])
    assert counts.loc[("test", "POL2"), ["positives", "negatives"]].tolist() == [277, 176]
    assert counts.loc[("test", "CTCF"), ["positives", "negatives"]].tolist() == [337, 386]
    assert gm12878.report["duplicates_removed"] >= 135
    assert gm12878.report["label_conflicts"] == {"CTCF": 0, "POL2": 0}
    total = counts.groupby("task")[["positives", "negatives"]].sum()
    assert total.loc["CTCF"].tolist() == [4000, 4536]
    assert total.loc["POL2"].tolist() == [4000 - 135, 1977]


def test_audit_finds_chry_and_pol2_gc_shortcuts(gm12878):
    report = audit_examples(gm12878)
    for task in ("CTCF", "POL2"):
        chry = [c for c in report.one_class_chroms[task] if c["chrom"] == "chrY"]
        assert len(chry) == 1 and chry[0]["class"] == "negative" and 13 <= chry[0]["count"] <= 30
    assert report.gc_auroc["POL2"] > 0.7
    assert 0.45 < report.gc_auroc["CTCF"] < 0.7
    (gc_warning,) = [w for w in report.warnings if w.startswith("GC fraction alone")]  # one line for all tasks
    assert "(POL2 " in gc_warning or " POL2 " in gc_warning
    assert "CTCF " not in gc_warning


def test_peak_windows_and_negatives_on_hg19_chr22(shared_data):
    import numpy as np
    import pandas as pd

    from seqlab.config import NegativesConfig
    from seqlab.data.negatives import sample_negatives
    from seqlab.data.windows import make_windows, sequence_content
    from seqlab.io.genome import Genome
    from seqlab.io.intervals import read_intervals

    genome = Genome(shared_data / "dna/chr22_primates/hg19.chr22.fa.gz", name="hg19")
    peaks = read_intervals(shared_data / "dna/gm12878_hg19/peaks/CTCF_GM12878_hg19.narrowPeak.gz")
    bundle = pd.read_csv(
        shared_data / "dna/gm12878_hg19/windows/CTCF_GM12878_pos.bed.gz", sep="\t", names=["chrom", "start", "end"]
    )
    # the bundle's positives are [floor((start+end)/2) - 100, +200) of the top 4,000 peaks
    top = peaks.iloc[:4000]
    windows, stats = make_windows(top[top["chrom"] == "chr22"], genome, 200, "center")
    expected = bundle[bundle["chrom"] == "chr22"].reset_index(drop=True)
    pd.testing.assert_frame_equal(windows, expected, check_dtype=False)
    assert stats.n_chrom_end == 0 and stats.n_unknown_chrom == 0

    chr22 = peaks[peaks["chrom"] == "chr22"]
    windows, stats = make_windows(chr22, genome, 200, "summit")
    assert stats.n_summit_fallback == 0 and len(windows) == 908
    gc, _ = sequence_content(genome.fetch_many(windows["chrom"], windows["start"], windows["end"]))
    gc = gc[~np.isnan(gc)]  # windows outside the aligned subset are all N
    negatives, report = sample_negatives(
        genome, gc, 300, 200, chr22, ["chr22"], NegativesConfig(), np.random.default_rng(0)
    )
    assert report.found == report.requested == len(negatives) == 300
    assert abs(negatives["gc"].mean() - gc.mean()) < 0.01


def test_region_split_on_chr22_keeps_test_windows_away_from_train_and_val(shared_data, tmp_path):
    """hg19 chr22 alone (the primate bundle) with GM12878 CTCF peaks: split by regions, 20 kb gap."""
    import pandas as pd

    from seqlab.data.labels import overlaps_any

    dna = shared_data / "dna"
    (tmp_path / "test.bed").write_text("chr22\t30000000\t36000000\n")
    (tmp_path / "val.bed").write_text("chr22\t40000000\t44000000\n")
    (tmp_path / "tasks.tsv").write_text(
        f"task\tpeaks\nCTCF\t{dna}/gm12878_hg19/peaks/CTCF_GM12878_hg19.narrowPeak.gz\n"
    )
    gap = 20_000
    config = DataConfig(
        genomes={"hg19": {"fasta": dna / "chr22_primates/hg19.chr22.fa.gz"}},
        tasks=tmp_path / "tasks.tsv",
        split={
            "test_chroms": [],
            "val_chroms": [],
            "test_regions": tmp_path / "test.bed",
            "val_regions": tmp_path / "val.bed",
            "gap": gap,
        },
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = build_examples(config)
    assert any("340 peak windows have more than 1% N" in str(w.message) for w in caught)
    report, frame = table.report, table.frame
    # 908 chr22 peaks: 3 windows within 20 kb of a region boundary, 340 N-rich (outside the aligned subset)
    assert (report["region_gap_dropped"], report["positives_n_dropped"]) == (3, 340)
    # negatives per split: as many as the split's peak windows, inside the split (the 6-Mb test region is one
    # short in the rare GC 0.75-0.80 bin)
    assert (report["negatives"]["requested"], report["negatives"]["found"]) == (565, 564)
    sizes = frame.groupby(["source", "split"]).size().to_dict()
    assert sizes == {
        ("negative", "test"): 100,
        ("negative", "train"): 395,
        ("negative", "val"): 69,
        ("peak", "test"): 101,
        ("peak", "train"): 395,
        ("peak", "val"): 69,
    }
    # no test window lies in (or within the gap of) train or validation territory
    test = frame[frame["split"] == "test"]
    assert test["start"].min() >= 30_000_000 + gap and test["end"].max() <= 36_000_000 - gap
    region = pd.DataFrame({"chrom": ["chr22"], "start": [30_000_000 - gap], "end": [36_000_000 + gap]})
    assert not overlaps_any(frame[frame["split"] != "test"], region).any()
    val = frame[frame["split"] == "val"]
    assert val["start"].min() >= 40_000_000 + gap and val["end"].max() <= 44_000_000 - gap
