"""One small ``train.scheme: ssl`` run on the real primate chr22 bundle (GM12878 CTCF, chimp + gorilla)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from seqlab.data.table import example_ids


def _overlaps_any(frame, other) -> np.ndarray:
    """Rows of ``frame`` that overlap a row of ``other`` on the same genome and chromosome."""
    hit = np.zeros(len(frame), dtype=bool)
    for (genome, chrom), rows in frame.groupby(["genome", "chrom"], observed=True).groups.items():
        ref = other[(other["genome"] == genome) & (other["chrom"] == chrom)]
        if ref.empty:
            continue
        starts, ends = np.sort(ref["start"].to_numpy()), np.sort(ref["end"].to_numpy())
        sub = frame.loc[rows]
        # an interval [s, e) overlaps some [a, b) when #(a < e) > #(b <= s)
        hit[frame.index.get_indexer(rows)] = np.searchsorted(starts, sub["end"].to_numpy()) > np.searchsorted(
            ends, sub["start"].to_numpy(), side="right"
        )
    return hit


@pytest.mark.realdata
def test_ssl_run_on_chr22_primates_is_finite_and_never_trains_on_test_homologs(shared_data: Path, tmp_path: Path):
    from seqlab import pipeline
    from seqlab.config import DnaRunConfig, validate_config

    bundle = shared_data / "dna" / "chr22_primates"
    (tmp_path / "test.bed").write_text("chr22\t17400000\t26000000\n")
    (tmp_path / "val.bed").write_text("chr22\t26100000\t32000000\n")
    peaks = shared_data / "dna/gm12878_hg19/peaks/CTCF_GM12878_hg19.narrowPeak.gz"
    (tmp_path / "tasks.tsv").write_text(f"task\tpeaks\nCTCF\t{peaks}\n")
    genomes = {"hg19": {"fasta": str(bundle / "hg19.chr22.fa.gz")}}
    for name, chain in (("panTro2", "hg19ToPanTro2"), ("gorilla", "hg19ToGorilla")):
        genomes[name] = {"fasta": str(bundle / f"{name}.chr22.fa.gz"), "chain": str(bundle / f"{chain}.chr22.chain.gz")}
    stage = {"max_epochs": 2, "learning_rate": 0.003, "patience": 2}
    raw = {
        "seed": 0,
        "data": {
            "genomes": genomes,
            "tasks": "tasks.tsv",
            "sources": [
                {"kind": "peaks", "negatives": {"ratio": 1.0}, "subsample": {"n": 50, "by": "random", "seed": 0}},
                {"kind": "lifted", "min_match": 0.95},
            ],
            "split": {
                "test_chroms": [],
                "val_chroms": [],
                "test_regions": "test.bed",
                "val_regions": "val.bed",
                "gap": 100_000,
            },  # fmt: skip
            "batch_size": 32,
        },
        "model": {"trunk": {"arch": "deepbind", "preset": "small27k"}},
        "train": {"scheme": "ssl", "progress_bar": False},
        "hardware": {"accelerator": "cpu", "threads": 1},
        "ssl": {"pretrain": stage, "finetune": stage},
    }
    config = validate_config(raw, DnaRunConfig, "test", tmp_path)
    result = pipeline.train(config, tmp_path / "run")

    frame = result.table.frame.reset_index(drop=True)
    human, homolog = frame["origin"] == "", frame["origin"] != ""
    assert 0 < int((human & (frame["split"] == "train")).sum()) <= 100  # 50 peaks' windows + as many negatives
    held_out = set(example_ids(frame[human & frame["split"].isin(["val", "test"])]))
    train_homologs = frame[homolog & (frame["split"] == "train")]
    assert len(train_homologs) > 0
    assert not train_homologs["origin"].isin(held_out).any()  # no homolog of a val/test window trains
    test_homologs = frame[homolog & (frame["split"] == "test")]
    assert len(test_homologs) > 0
    assert not _overlaps_any(train_homologs, test_homologs).any()  # the guard, other direction
    stages = result.metrics["stages"]
    assert stages["pretrain"]["n_train"] == len(train_homologs)  # pre-training saw only training homologs
    for name in ("pretrain", "finetune"):
        for metric in ("auroc", "aupr"):
            assert math.isfinite(stages[name]["test"][metric]) and 0.0 <= stages[name]["test"][metric] <= 1.0
    assert result.metrics["test"] == stages["finetune"]["test"]
