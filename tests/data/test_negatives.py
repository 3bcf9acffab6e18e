import numpy as np
import pandas as pd
import pytest

from seqlab.config import NegativesConfig
from seqlab.data.labels import overlaps_any
from seqlab.data.negatives import gc_bin, gc_targets, sample_negatives
from seqlab.data.windows import sequence_content
from seqlab.io.genome import Genome


def test_gc_targets_largest_remainder():
    gc = np.array([0.05, 0.15, 0.15, 0.95, np.nan])
    assert gc_targets(gc, 8, 10).tolist() == [2, 4, 0, 0, 0, 0, 0, 0, 0, 2]
    assert gc_targets(gc, 5, 10).tolist() == [1, 3, 0, 0, 0, 0, 0, 0, 0, 1]
    assert gc_bin(np.array([0.0, 0.0999, 0.1, 1.0]), 10).tolist() == [0, 0, 1, 9]
    with pytest.raises(ValueError, match="no positive window"):
        gc_targets(np.array([np.nan]), 3, 10)


@pytest.fixture(scope="module")
def positives(synthetic_genome):
    genome = Genome(synthetic_genome)
    rows = []
    for chrom, n_blocks in (("chr1", 40), ("chr2", 20), ("chr3", 20)):
        for block in range(3, n_blocks, 4):  # the GC 0.75 blocks
            rows.append((chrom, block * 1000 + 400, block * 1000 + 600))
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    gc, _ = sequence_content(genome.fetch_many(frame["chrom"], frame["start"], frame["end"]))
    return genome, frame, gc


def test_gc_matched_negatives(positives):
    genome, frame, gc = positives
    config = NegativesConfig(gc_bins=10, exclude_flank=100)
    negatives, report = sample_negatives(
        genome, gc, 40, 200, frame, ["chr1", "chr2", "chr3"], config, np.random.default_rng(0), max_n_fraction=0.0
    )
    assert report.requested == report.found == len(negatives) == 40
    assert report.bins["requested"].tolist() == gc_targets(gc, 40, 10).tolist()
    assert report.bins["found"].tolist() == report.bins["requested"].tolist()
    neg_gc, n_fraction = sequence_content(genome.fetch_many(negatives["chrom"], negatives["start"], negatives["end"]))
    np.testing.assert_allclose(neg_gc, negatives["gc"])
    assert np.bincount(gc_bin(neg_gc, 10), minlength=10).tolist() == report.bins["requested"].tolist()
    assert abs(neg_gc.mean() - gc.mean()) < 0.03
    assert (n_fraction == 0).all()
    assert (negatives["end"] - negatives["start"] == 200).all()
    flanked = frame.assign(start=frame["start"] - 100, end=frame["end"] + 100)
    assert not overlaps_any(negatives, flanked).any()
    assert not negatives.duplicated(["chrom", "start"]).any()
    assert set(negatives["chrom"]) <= {"chr1", "chr2", "chr3"}
    again, _ = sample_negatives(genome, gc, 40, 200, frame, ["chr1", "chr2", "chr3"], config, np.random.default_rng(0))
    pd.testing.assert_frame_equal(negatives, again)


def test_unmatched_negatives_follow_the_genome(positives):
    genome, frame, gc = positives
    config = NegativesConfig(gc_match=False)
    negatives, report = sample_negatives(
        genome, gc, 300, 200, frame, ["chr2", "chr3"], config, np.random.default_rng(1)
    )
    assert len(negatives) == 300 and len(report.bins) == 1
    assert 0.45 < negatives["gc"].mean() < 0.6  # blocks average 0.525
    assert set(negatives["chrom"]) == {"chr2", "chr3"}


def test_unreachable_gc_is_reported(positives):
    genome, frame, _ = positives
    config = NegativesConfig(gc_bins=20)
    with pytest.warns(UserWarning, match=r"found 0 of 5 requested \(GC 0\.95-1\.00: 0/5\)"):
        negatives, report = sample_negatives(
            genome, np.array([0.99]), 5, 200, frame, ["chr2"], config, np.random.default_rng(0), max_rounds=2
        )
    assert negatives.empty and report.found == 0 and report.n_candidates > 0
    assert report.to_dict()["bins"][-1] == {"gc_low": 0.95, "gc_high": 1.0, "requested": 5, "found": 0}
