"""The simulated MFD compendium: files, metadata and the planted truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from seqlab.demo.compendium import CompendiumSpec, simulate_compendium
from seqlab.demo.simulate import _log_odds, _pfm
from seqlab.io.intervals import read_intervals
from seqlab.io.tasks import read_task_table

SPEC = CompendiumSpec(
    chrom_sizes={"chr1": 200_000, "chr2": 150_000},
    sites=60,
    noise_peaks=5,
    artifact_peaks=30,
    missing=0.2,
    holdout=1,
)
NARROWPEAK = ["chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak"]


@pytest.fixture(scope="module")
def comp(tmp_path_factory: pytest.TempPathFactory) -> dict:
    paths = simulate_compendium(tmp_path_factory.mktemp("comp"), seed=4, spec=SPEC)
    return {
        "paths": paths,
        "tasks": read_task_table(paths["tasks"]),
        "sites": pd.read_csv(paths["sites"], sep="\t"),
        "artifacts": pd.read_csv(paths["artifacts"], sep="\t"),
        "truth": json.loads(paths["truth"].read_text()),
        "fasta": pyfaidx.Fasta(str(paths["genome"])),
    }


def _peaks(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=NARROWPEAK)


def _summits(peaks: pd.DataFrame) -> set[tuple[str, int]]:
    return set(zip(peaks["chrom"], peaks["start"] + peaks["peak"], strict=True))


def test_task_table_crosses_factors_biosamples_labs_with_missing_and_held_out(comp):
    tasks, truth = comp["tasks"], comp["truth"]
    assert list(tasks.columns[:8]) == ["task", "peaks", "target", "biosample", "assay", "lab", "date", "holdout"]
    run = set(zip(tasks["target"], tasks["biosample"], tasks["lab"], strict=True))
    missing = {tuple(c) for c in truth["missing"]}
    assert len(run) + len(missing) == 3 * 3 * 3 and not run & missing
    held = {tuple(p) for p in truth["holdout"]}
    assert len(held) == 1
    flagged = tasks["holdout"] == "yes"
    assert set(zip(tasks["target"][flagged], tasks["biosample"][flagged], strict=True)) == held
    train = tasks[~flagged]
    for column, values in (
        ("target", ["CTCF", "SPI1", "GATA1"]),
        ("biosample", SPEC.biosamples),
        ("lab", ["LabGC", "LabDrop", "LabKmer"]),
    ):
        assert set(train[column]) == set(values)
    years = {lab: {d[:4] for d in tasks["date"][tasks["lab"] == lab]} for lab in set(tasks["lab"])}
    assert years == {"LabGC": {"2012"}, "LabDrop": {"2016"}, "LabKmer": {"2020"}}


def test_peaks_follow_motif_sites_and_accessibility(comp):
    sites, tasks = comp["sites"], comp["tasks"]
    for row in tasks.itertuples():
        summits = _summits(_peaks(row.peaks))
        own = sites[(sites["factor"] == row.target)]
        accessible = own[f"accessible_{row.biosample}"] == 1
        site_summits = set(zip(own["chrom"], own["summit"], strict=True))
        open_sites = set(zip(own["chrom"][accessible], own["summit"][accessible], strict=True))
        closed_sites = site_summits - open_sites
        assert not summits & closed_sites  # a closed site never has a peak
        if row.lab == "LabDrop":  # weak peaks dropped: about half the open sites remain
            kept = len(summits & open_sites)
            assert (
                kept
                == comp["truth"]["experiments"][row.task]["sites"] - comp["truth"]["experiments"][row.task]["dropped"]
            )
            assert 0.4 * len(open_sites) <= kept <= 0.6 * len(open_sites) + 1
        else:
            assert open_sites <= summits
        other = sites[sites["factor"] != row.target]
        assert not summits & set(zip(other["chrom"], other["summit"], strict=True))


def test_planted_motifs_are_in_the_genome(comp):
    sites, fasta = comp["sites"], comp["fasta"]
    assert set(sites["factor"]) == {"CTCF", "SPI1", "GATA1"}
    for factor, jaspar_id in SPEC.factors.items():
        probs, _ = _pfm(jaspar_id)
        own = sites[sites["factor"] == factor]
        assert len(own) == SPEC.sites
        for row in own.head(10).itertuples():
            seq = str(fasta[row.chrom][row.start : row.end]).upper()
            seq = seq if row.strand == "+" else seq[::-1].translate(str.maketrans("ACGT", "TGCA"))
            codes = np.array(["ACGT".index(base) for base in seq])
            assert _log_odds(probs, codes[None])[0] == pytest.approx(row.score, abs=1e-3)


def test_lab_artifacts_only_in_their_lab_and_gc_kmer_are_real(comp):
    artifacts, tasks, fasta = comp["artifacts"], comp["tasks"], comp["fasta"]
    gc = artifacts[artifacts["kind"] == "gc"]
    kmer = artifacts[artifacts["kind"] == "kmer"]
    gc_centres = set(zip(gc["chrom"], gc["start"] + 250, strict=True))
    kmer_centres = set(zip(kmer["chrom"], kmer["start"] + 250, strict=True))
    for row in tasks.itertuples():
        summits = _summits(_peaks(row.peaks))
        assert (gc_centres <= summits) == (row.lab == "LabGC")
        assert (kmer_centres <= summits) == (row.lab == "LabKmer")
        assert not summits & (gc_centres | kmer_centres) or row.lab in ("LabGC", "LabKmer")
    gc_fraction = np.mean(
        [sum(b in "GCgc" for b in str(fasta[r.chrom][r.start : r.end])) / 500 for r in gc.itertuples()]
    )
    genome_gc = comp["paths"]["genome"].read_text().upper()
    assert gc_fraction == pytest.approx(0.7, abs=0.03)
    assert genome_gc.count("G") + genome_gc.count("C") < 0.47 * (len(genome_gc) - genome_gc.count("N"))
    for row in kmer.itertuples():
        assert str(fasta[row.chrom][row.start : row.end]).upper().count(SPEC.kmer) >= 3


def test_peak_files_parse_and_same_seed_same_bytes(comp, tmp_path):
    first = comp["tasks"]["peaks"].iloc[0]
    table = read_intervals(first)
    assert len(table) == comp["truth"]["experiments"][comp["tasks"]["task"].iloc[0]]["peaks"]
    again = simulate_compendium(tmp_path, seed=4, spec=SPEC)
    for key in ("tasks", "sites", "artifacts", "genome"):
        assert again[key].read_bytes() == comp["paths"][key].read_bytes()
    assert Path(tmp_path / "peaks" / Path(first).name).read_bytes() == Path(first).read_bytes()
