"""``seqlab ssl lift`` end to end on a toy genome pair, and homolog counts on the real chr22 primate chains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.data.homologs import LiftOptions, TargetGenome, lift_examples
from seqlab.data.table import ExampleTable
from seqlab.io.intervals import read_intervals
from tests.data.conftest import random_dna, write_fasta

runner = CliRunner()
SIZE = 20_000


@pytest.fixture(scope="module")
def toy_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Human chr1-3 and an ape whose c1-c3 are copies (c3 reverse-complemented) except for an N-masked stretch."""
    folder = tmp_path_factory.mktemp("ssl_lift")
    rng = np.random.default_rng(5)
    human = {f"chr{i}": random_dna(rng, SIZE, 0.45) for i in (1, 2, 3)}
    comp = str.maketrans("ACGT", "TGCA")
    ape = {"c1": human["chr1"][:5000] + "N" * 1000 + human["chr1"][6000:], "c2": human["chr2"]}
    ape["c3"] = human["chr3"].translate(comp)[::-1]
    write_fasta(folder / "hg.fa", human)
    write_fasta(folder / "ape.fa", ape)
    chains = [
        f"chain 1 chr1 {SIZE} + 0 {SIZE} c1 {SIZE} + 0 {SIZE} 1\n{SIZE}\n",
        f"chain 1 chr2 {SIZE} + 0 {SIZE} c2 {SIZE} + 0 {SIZE} 2\n{SIZE}\n",
        f"chain 1 chr3 {SIZE} + 0 {SIZE} c3 {SIZE} - 0 {SIZE} 3\n{SIZE}\n",
    ]
    (folder / "hgToApe.chain").write_text("\n".join(chains))
    summits = {"chr1": [1000, 5500, 9000, 15000], "chr2": [3000, 12000], "chr3": [4000, 16000]}
    lines = [
        f"{chrom}\t{s - 50}\t{s + 50}\tp\t0\t.\t1\t-1\t1\t50\n" for chrom, values in summits.items() for s in values
    ]
    (folder / "peaks.narrowPeak").write_text("".join(lines))
    (folder / "tasks.tsv").write_text("task\tpeaks\nTF\tpeaks.narrowPeak\n")
    genomes = {"hg": {"fasta": "hg.fa"}, "ape": {"fasta": "ape.fa", "chain": "hgToApe.chain"}}
    sources = [{"kind": "peaks", "negatives": {"ratio": 1.0}}, {"kind": "lifted", "min_match": 0.9}]
    split = {"val_chroms": ["chr2"], "test_chroms": ["chr3"]}
    data = {"genomes": genomes, "tasks": "tasks.tsv", "sources": sources, "split": split, "window_length": 200}
    config = {"seed": 0, "name": "toy", "data": data, "train": {"max_epochs": 1}}  # a run config
    (folder / "run.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "run.yaml"


def test_ssl_lift_cli_writes_table_and_report(toy_config: Path) -> None:
    out = toy_config.parent / "out"
    result = runner.invoke(app, ["ssl", "lift", str(toy_config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "ape:" in output and "TF: positives 8 human -> " in output
    homologs = ExampleTable.load(out / "homologs")
    report = json.loads((out / "lift_report.json").read_text())
    tsv = pd.read_csv(out / "lift_report.tsv", sep="\t")
    ape = report["genomes"]["ape"]
    assert ape["windows"] == 16  # 8 peak windows and 8 negatives
    assert ape["failed"]["mostly_n"] == 1  # the summit at chr1:5500 lies in the N-masked stretch
    assert ape["kept"] == len(homologs) == 16 - sum(ape["failed"].values()) - sum(ape["guard_removed"].values())
    assert ape["tasks"]["TF"]["positives"] == {"human": 8, "homologs": 7}
    assert tsv.loc[0, "positives_homologs"] == 7 and tsv.loc[0, "failed_mostly_n"] == 1
    frame = homologs.frame
    assert set(frame["genome"]) == {"ape"} and set(frame["source"]) == {"lifted"}
    assert (frame.loc[frame["chrom"] == "c3", "strand"] == "-").all()
    assert (frame.loc[frame["chrom"] == "c3", "split"] == "test").all()
    assert frame["origin"].str.startswith("hg:chr").all()
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    result = runner.invoke(app, ["ssl", "lift", str(toy_config), "--out", str(out)])  # issue 17, item 7
    assert result.exit_code == 2 and "out: exists and is not empty; use --overwrite" in " ".join(result.output.split())
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    result = runner.invoke(app, ["ssl", "lift", str(toy_config), "--out", str(out), "--overwrite"])
    assert result.exit_code == 0 and sorted(before) == sorted(p for p in out.rglob("*") if p.is_file())
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_ssl_lift_errors_are_one_line(toy_config: Path, tmp_path: Path) -> None:
    bad = yaml.safe_load(toy_config.read_text())
    folder = toy_config.parent
    bad["data"]["tasks"] = str(folder / "tasks.tsv")
    genomes = bad["data"]["genomes"]
    for entry in genomes.values():
        entry.update({key: str(folder / value) for key, value in entry.items()})
    genomes["ape"]["fasta"] = str(folder / "hg.fa")  # chr1-3, not c1-c3
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    result = runner.invoke(app, ["ssl", "lift", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "lifts to chromosomes c1, c2, c3 but the target FASTA" in output
    assert "has chr1, chr2, chr3: no name matches" in output
    assert not (tmp_path / "out").exists()  # nothing half-written
    del genomes["ape"]["chain"]
    (tmp_path / "nochain.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    result = runner.invoke(app, ["ssl", "lift", str(tmp_path / "nochain.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no genome to lift to" in " ".join(result.output.split())


@pytest.mark.realdata
def test_real_ctcf_chr22_windows_lift_to_chimp_and_gorilla(shared_data: Path) -> None:
    """Counts of the order of the bundle README (section 3 c): 608 of 908 CTCF summits lift to each ape."""
    bundle = shared_data / "dna" / "chr22_primates"
    peaks = read_intervals(shared_data / "dna/gm12878_hg19/peaks/CTCF_GM12878_hg19.narrowPeak.gz", "narrowPeak")
    peaks = peaks[peaks["chrom"] == "chr22"].reset_index(drop=True)
    summit = (peaks["start"] + peaks["summit"]).to_numpy()
    split = np.where(summit < 25_000_000, "test", np.where(summit < 30_000_000, "val", "train"))
    frame = pd.DataFrame(
        {"genome": "hg19", "chrom": "chr22", "start": summit - 100, "end": summit + 100, "strand": "+"}
    ).assign(split=split, source="peak", origin="")
    table = ExampleTable(
        frame=frame,
        labels=np.ones((len(frame), 1)),
        weights=np.ones((len(frame), 1)),
        tasks=pd.DataFrame({"task": ["CTCF"]}),
        genomes={"hg19": bundle / "hg19.chr22.fa.gz"},
    )
    targets = [
        TargetGenome("panTro2", bundle / "panTro2.chr22.fa.gz", bundle / "hg19ToPanTro2.chr22.chain.gz"),
        TargetGenome("gorilla", bundle / "gorilla.chr22.fa.gz", bundle / "hg19ToGorilla.chr22.chain.gz"),
    ]
    homologs = lift_examples(table, targets, LiftOptions(min_match=0.95))
    report = homologs.report["lift"]
    for name in ("panTro2", "gorilla"):
        entry = report["genomes"][name]
        assert entry["windows"] == 908
        assert entry["failed"]["unmapped"] == 908 - 608  # summits outside the aligned subset
        assert 540 <= entry["lifted"] <= 608  # both ends lift for 567/569 (README); minMatch 0.95 here
    assert report["totals"]["CTCF"]["positives_human"] == 908
    assert 1100 <= report["totals"]["CTCF"]["positives_homologs"] <= 1216
    test_ids = set(table.frame.loc[table.frame["split"] == "test", "start"].astype(str))
    train = homologs.frame[homologs.frame["split"] == "train"]
    assert not any(origin.split(":")[2].split("-")[0] in test_ids for origin in train["origin"])


@pytest.mark.realdata
def test_ssl_lift_cli_on_chr22_primates(shared_data: Path, tmp_path: Path) -> None:
    """``seqlab ssl lift`` on GM12878 CTCF chr22 peaks + negatives, region splits, chimp and gorilla."""
    bundle = shared_data / "dna" / "chr22_primates"
    (tmp_path / "test.bed").write_text("chr22\t17000000\t25000000\n")
    (tmp_path / "val.bed").write_text("chr22\t25000000\t30000000\n")
    peaks = shared_data / "dna/gm12878_hg19/peaks/CTCF_GM12878_hg19.narrowPeak.gz"
    (tmp_path / "tasks.tsv").write_text(f"task\tpeaks\nCTCF\t{peaks}\n")
    genomes = {"hg19": {"fasta": str(bundle / "hg19.chr22.fa.gz")}}
    for name, chain in (("panTro2", "hg19ToPanTro2"), ("gorilla", "hg19ToGorilla")):
        genomes[name] = {"fasta": str(bundle / f"{name}.chr22.fa.gz"), "chain": str(bundle / f"{chain}.chr22.chain.gz")}
    config = {
        "name": "chr22",
        "data": {
            "genomes": genomes,
            "tasks": "tasks.tsv",
            "sources": [{"kind": "peaks", "negatives": {"ratio": 1.0}}],
            "split": {"test_chroms": [], "val_chroms": [], "test_regions": "test.bed", "val_regions": "val.bed"},
        },
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = runner.invoke(app, ["ssl", "lift", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "lift_report.json").read_text())
    for name in ("panTro2", "gorilla"):
        ctcf = report["genomes"][name]["tasks"]["CTCF"]
        # README 3 (c): 608 of 908 summits lift; all-N human windows (outside the alignment) are not built
        assert 500 <= ctcf["positives"]["homologs"] <= 608
        assert ctcf["negatives"]["homologs"] > 0
    homologs = ExampleTable.load(tmp_path / "out" / "homologs")
    assert set(homologs.frame["split"]) == {"train", "val", "test"}
