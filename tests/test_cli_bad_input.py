"""Bad input through the command line: one line naming the file, exit code 2, never a traceback or 'Aborted'."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app

runner = CliRunner()


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output  # the whole message on one line
    assert "Traceback" not in result.output and "Aborted" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, result.output)


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    path = tmp_path / "g.fa"
    path.write_text(">chr1\n" + "ACGT" * 50 + "\n")
    return path


def test_damaged_gzip_bed_is_one_line(tmp_path, genome):
    bed = tmp_path / "peaks.bed.gz"
    packed = gzip.compress(b"".join(b"chr1\t%d\t%d\n" % (i, i + 5) for i in range(3000)))
    bed.write_bytes(packed[: len(packed) // 2])
    result = runner.invoke(app, ["dna", "predict", "none.ckpt", "--bed", str(bed), "--genome", str(genome)])
    _one_line_error(result, "peaks.bed.gz", "damaged")


def test_empty_bed_and_vcf_exit_non_zero(tmp_path, genome):
    bed = tmp_path / "empty.bed"
    bed.write_text("track name=x\n")
    result = runner.invoke(app, ["dna", "predict", "none.ckpt", "--bed", str(bed), "--genome", str(genome)])
    _one_line_error(result, "empty.bed", "no regions")
    vcf = tmp_path / "empty.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n")
    result = runner.invoke(app, ["dna", "variant-effect", "none.ckpt", "--vcf", str(vcf), "--genome", str(genome)])
    _one_line_error(result, "empty.vcf", "no variants")


def test_bad_vcf_field_and_bad_genome_index_are_named(tmp_path, genome):
    vcf = tmp_path / "x.vcf"
    vcf.write_text("chr1\t1e6\t.\tA\tC\n")
    result = runner.invoke(app, ["dna", "variant-effect", "none.ckpt", "--vcf", str(vcf), "--genome", str(genome)])
    _one_line_error(result, "x.vcf:1:", "POS '1e6'")
    vcf.write_text("chr1\t5\t.\tA\tC\n")
    result = runner.invoke(
        app, ["dna", "variant-effect", "none.ckpt", "--vcf", str(vcf), "--genome", str(tmp_path / "no.fa")]
    )
    _one_line_error(result, "genome FASTA not found", "no.fa")


def test_paired_mode_needs_both_files(tmp_path):
    result = runner.invoke(app, ["dna", "variant-effect", "none.ckpt", "--ref-fasta", str(tmp_path / "a.fa")])
    _one_line_error(result, "--ref-fasta with --alt-fasta")


def test_duplicate_yaml_key_from_cli(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("name: x\nname: y\n")  # a key twice at the top level
    result = runner.invoke(app, ["dna", "audit", str(config)])
    _one_line_error(result, "run.yaml:2: key 'name' appears twice")


def test_an_eof_error_from_a_reader_is_not_a_bare_aborted(monkeypatch, tmp_path, genome):
    from seqlab import pipeline

    def truncated(*args, **kwargs):
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    monkeypatch.setattr(pipeline, "read_intervals", truncated)
    bed = tmp_path / "x.bed"
    bed.write_text("chr1\t1\t5\n")
    result = runner.invoke(app, ["dna", "predict", "none.ckpt", "--bed", str(bed), "--genome", str(genome)])
    _one_line_error(result, "damaged")
