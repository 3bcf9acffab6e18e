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
    assert any(w.startswith("task POL2: GC fraction alone") for w in report.warnings)
    assert not any(w.startswith("task CTCF: GC fraction alone") for w in report.warnings)


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
