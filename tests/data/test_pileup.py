"""Reads to a track: exact per-base counts on toy reads, and the bundle's CTCF reads against MACS3's pileup."""

import numpy as np
import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.data.pileup import coverage_runs, pileup, read_reads
from seqlab.io.errors import InputError
from seqlab.io.genome import Genome
from seqlab.io.tracks import Track

from .conftest import write_fasta

READS = (
    "chr1\t10\t20\t.\t.\t+\nchr1\t12\t22\t.\t.\t+\nchr1\t10\t20\t.\t.\t+\nchr1\t50\t60\t.\t.\t-\n1\t95\t100\t.\t.\t-\n"
)


@pytest.fixture
def genome(tmp_path):
    return Genome(write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 25, "chr2": "A" * 40}), "g")


def dense(runs, size):
    return runs.dense(np.array([0]), size)[0]


def test_coverage_runs_cover_the_chromosome_without_gaps():
    runs = coverage_runs(np.array([2, 4]), np.array([6, 5]), 10)
    assert runs.starts.tolist() == [0, 2, 4, 5, 6] and runs.ends.tolist() == [2, 4, 5, 6, 10]
    assert runs.values.tolist() == [0, 1, 2, 1, 0]


def test_fragment_extension_is_strand_aware(tmp_path, genome):
    (tmp_path / "r.bed").write_text(READS)
    reads = read_reads(tmp_path / "r.bed", genome)
    assert reads["chrom"].tolist() == ["chr1"] * 5  # '1' resolved to the genome's chr1
    tracks = dict(pileup(reads, genome.chrom_sizes, extend=15))
    expected = np.zeros(100)
    for start in (10, 12, 10):
        expected[start : start + 15] += 1  # + reads extend right from their start
    expected[45:60] += 1  # - read [50, 60): 5' end 59, fragment [45, 60)
    expected[85:100] += 1
    assert dense(tracks["chr1"], 100).tolist() == expected.tolist()
    assert dense(tracks["chr2"], 40).tolist() == [0.0] * 40  # a chromosome without reads is written as 0


def test_five_prime_ends_and_keep_dup(tmp_path, genome):
    (tmp_path / "r.bed").write_text(READS)
    reads = read_reads(tmp_path / "r.bed", genome)
    ends = dense(dict(pileup(reads, genome.chrom_sizes, extend=None))["chr1"], 100)
    assert {int(i): ends[i] for i in np.flatnonzero(ends)} == {10: 2.0, 12: 1.0, 59: 1.0, 99: 1.0}
    once = dense(dict(pileup(reads, genome.chrom_sizes, extend=None, keep_dup=1))["chr1"], 100)
    assert once[10] == 1.0 and once.sum() == 4


def test_bad_reads_are_one_line_errors(tmp_path, genome):
    path = tmp_path / "bad.bed"
    path.write_text("chr1\t10\t20\t.\t.\t+\nchrZ\t1\t5\t.\t.\t+\n")
    with pytest.raises(InputError, match="read 2: chromosome 'chrZ' is not in the genome"):
        read_reads(path, genome)
    path.write_text("chr1\t90\t120\t.\t.\t+\n")
    with pytest.raises(InputError, match="runs past the chromosome end"):
        read_reads(path, genome)
    path.write_text("chr1\t10\t20\t.\t.\t.\n")
    with pytest.raises(InputError, match="strand"):
        read_reads(path, genome)


def test_cli_writes_a_bigwig_and_refuses_to_replace_it(tmp_path, genome):
    (tmp_path / "r.bed").write_text(READS)
    args = ["dna", "pileup", str(tmp_path / "r.bed"), "--genome", str(genome.path), "--out", str(tmp_path / "p.bw")]
    result = CliRunner().invoke(app, [*args, "--extend", "15"])
    assert result.exit_code == 0, result.output
    assert dense(Track(tmp_path / "p.bw").intervals("chr1"), 100)[10:25].tolist() == [
        2,
        2,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
        3,
    ]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output


@pytest.mark.realdata
def test_ctcf_reads_reproduce_the_macs_pileup(shared_data, tmp_path):
    folder = shared_data / "dna" / "tracks_chr22"
    genome = Genome(shared_data / "dna" / "chr22_primates" / "hg19.chr22.fa.gz", "hg19")
    reads = read_reads(folder / "CTCF_SE_ChIP_chr22_50k.bed.gz", genome)
    mine = dict(pileup(reads, genome.chrom_sizes, extend=228, keep_dup=1))["chr22"]
    macs = Track(folder / "run_callpeak_narrow0_treat_pileup.bdg.gz").intervals("chr22")
    end = int(macs.ends[-1])
    assert np.array_equal(dense(mine, end), dense(macs, end))  # base for base (MACS: --extsize 228, --keep-dup 1)


@pytest.mark.parametrize("name", ["new/folder/p.bw", "new/folder/p.bedGraph.gz", "new/p.bedGraph"])
def test_cli_makes_the_output_folder_and_leaves_no_staging_file(tmp_path, genome, name):
    (tmp_path / "r.bed").write_text(READS)
    out = tmp_path / name
    args = ["dna", "pileup", str(tmp_path / "r.bed"), "--genome", str(genome.path), "--out", str(out), "--extend", "15"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert dense(Track(out).intervals("chr1"), 100)[10:12].tolist() == [2, 2]
    assert [p.name for p in out.parent.iterdir()] == [out.name]
