from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from seqlab.data.encoding import reverse_complement_sequence
from seqlab.demo.simulate import FactorSpec, simulate_dna_demo

SIZES = {"chr1": 120_000, "chr2": 100_000, "chr3": 80_000}
FACTORS = (
    FactorSpec("CTCF", "MA0139", sites=80, decoys=30, noise_peaks=10),
    FactorSpec("REST", "MA0138", sites=12, decoys=4, noise_peaks=2),
)
NARROWPEAK = ["chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return simulate_dna_demo(tmp_path_factory.mktemp("demo"), seed=3, chrom_sizes=SIZES, factors=FACTORS)


def test_files_and_task_table(demo: dict[str, Path]) -> None:
    assert sorted(demo) == ["genome", "genome_index", "peaks_CTCF", "peaks_REST", "simulation", "sites", "tasks"]
    tasks = pd.read_csv(demo["tasks"], sep="\t")
    assert list(tasks.columns) == ["task", "peaks", "target", "biosample", "assay", "lab", "date"]
    assert tasks["task"].tolist() == ["CTCF", "REST"]
    assert [(demo["tasks"].parent / p).resolve() for p in tasks["peaks"]] == [
        demo["peaks_CTCF"].resolve(),
        demo["peaks_REST"].resolve(),
    ]
    info = json.loads(demo["simulation"].read_text())
    assert info["factors"]["CTCF"]["jaspar_id"].startswith("MA0139.")
    assert info["factors"]["REST"]["jaspar_id"].startswith("MA0138.")
    assert info["factors"]["REST"]["sites"] == 12
    assert info["factors"]["REST"]["peaks"] == 14
    index = pd.read_csv(demo["genome_index"], sep="\t", header=None)
    assert dict(zip(index[0], index[1], strict=True)) == SIZES


def test_composition_is_human_like(demo: dict[str, Path]) -> None:
    info = json.loads(demo["simulation"].read_text())["genome"]
    assert 0.38 <= info["gc_fraction"] <= 0.45
    assert info["cpg_observed_expected"] < 0.5
    assert 0.01 <= info["n_fraction"] <= 0.06
    assert 0.1 <= info["soft_masked_fraction"] <= 0.5
    sequence = str(pyfaidx.Fasta(str(demo["genome"]), sequence_always_upper=False)["chr1"][:])
    counts = {base: sequence.count(base) for base in "ACGTNacgtn"}
    assert sum(counts.values()) == SIZES["chr1"]
    assert sequence[:100] == "N" * 100


def test_sites_are_where_recorded_and_match_the_motif(demo: dict[str, Path]) -> None:
    sites = pd.read_csv(demo["sites"], sep="\t")
    assert sites.groupby(["task", "kind"]).size().to_dict() == {
        ("CTCF", "bound"): 80,
        ("CTCF", "decoy"): 15,
        ("CTCF", "weak_decoy"): 15,
        ("REST", "bound"): 12,
        ("REST", "decoy"): 2,
        ("REST", "weak_decoy"): 2,
    }
    fasta = pyfaidx.Fasta(str(demo["genome"]))
    for row in sites.itertuples():
        assert str(fasta[row.chrom][row.start : row.end]).upper() == row.sequence
    ctcf = sites[sites["task"] == "CTCF"]
    oriented = [
        seq if strand == "+" else reverse_complement_sequence(seq)
        for seq, strand in zip(ctcf["sequence"], ctcf["strand"], strict=True)
    ]
    identity = np.array([sum(a == b for a, b in zip(seq, "GCCACCAGGGGGCGC", strict=True)) for seq in oriented])
    kind = ctcf["kind"].to_numpy()
    assert identity[kind == "bound"].mean() > 10 > identity[kind == "weak_decoy"].mean()
    assert ctcf.loc[ctcf["kind"] == "bound", "score"].mean() > ctcf.loc[ctcf["kind"] == "weak_decoy", "score"].mean()
    assert set(ctcf["strand"]) == {"+", "-"}


def test_every_bound_site_has_a_peak_with_its_summit_near_the_motif(demo: dict[str, Path]) -> None:
    sites = pd.read_csv(demo["sites"], sep="\t")
    peaks = pd.read_csv(demo["peaks_CTCF"], sep="\t", header=None, names=NARROWPEAK).set_index("name")
    assert len(peaks) == 90
    bound = sites[(sites["task"] == "CTCF") & (sites["kind"] == "bound")]
    assert bound["peak"].is_unique and set(bound["peak"]) <= set(peaks.index)
    assert (sites.loc[sites["kind"] != "bound", "peak"] == ".").all()
    summit = peaks.loc[bound["peak"], "start"].to_numpy() + peaks.loc[bound["peak"], "peak"].to_numpy()
    centre = (bound["start"].to_numpy() + bound["end"].to_numpy()) // 2
    assert np.abs(summit - centre).max() <= 21
    width = peaks["end"] - peaks["start"]
    assert width.between(200, 400).all()
    assert (peaks["score"].between(0, 1000)).all()


def test_same_seed_same_bytes_other_seed_other_genome(tmp_path: Path, demo: dict[str, Path]) -> None:
    again = simulate_dna_demo(tmp_path / "again", seed=3, chrom_sizes=SIZES, factors=FACTORS)
    for key in demo:
        assert again[key].read_bytes() == demo[key].read_bytes(), key
    other = simulate_dna_demo(tmp_path / "other", seed=4, chrom_sizes=SIZES, factors=FACTORS)
    assert other["genome"].read_bytes() != demo["genome"].read_bytes()


def test_too_many_instances_for_the_genome(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="need more room"):
        simulate_dna_demo(tmp_path, chrom_sizes={"chr1": 20_000}, factors=FACTORS)
