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
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    result = runner.invoke(app, ["dna", "variant-effect", "none.ckpt", "--vcf", str(vcf), "--genome", str(genome)])
    _one_line_error(result, "empty.vcf", "no variants")


def test_bad_vcf_field_and_bad_genome_index_are_named(tmp_path, genome):
    vcf = tmp_path / "x.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t1e6\t.\tA\tC\t.\t.\t.\n")
    result = runner.invoke(app, ["dna", "variant-effect", "none.ckpt", "--vcf", str(vcf), "--genome", str(genome)])
    _one_line_error(result, "x.vcf:3:", "POS '1e6'")
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\tC\t.\t.\t.\n")
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


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("chr1\t5\t.\tA\tC\t.\t.\t.\n", "h.vcf:1:", "before the '#CHROM"),
        ("##fileformat=VCFv4.2\n##source=x\nchr1\t5\t.\tA\tC\t.\t.\t.\n", "h.vcf:3:", "before the '#CHROM"),
        ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\tC\n", "h.vcf:3:", "5 t"),
        (
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            "chr1\t5\t.\tA\tC\t.\t.\tDP=1chr1\t9\t.\tA\tG\t.\t.\t.\n",
            "h.vcf:3:",
            "15 tab",
        ),
    ],
    ids=["no-header", "no-chrom-line", "short-record", "joined-records"],
)
def test_a_vcf_without_header_or_with_bad_records_is_one_line(tmp_path, genome, text, where, reason):
    vcf = tmp_path / "h.vcf"
    vcf.write_text(text)
    result = runner.invoke(app, ["dna", "variant-effect", "none.ckpt", "--vcf", str(vcf), "--genome", str(genome)])
    _one_line_error(result, where, reason)


# ---------------------------------------------------------------- issue 17: outputs, options, YAML


@pytest.mark.parametrize(
    ("args", "existing"),
    [
        (["dna", "predict", "none.ckpt", "--fasta", "x.fa"], ["predictions.tsv"]),
        (["dna", "variant-effect", "none.ckpt", "--vcf", "x.vcf", "--genome", "g.fa"], ["variant_effects.tsv"]),
        (["dna", "variant-effect", "none.ckpt", "--vcf", "x.vcf", "--genome", "g.fa"], ["variant_effects.counts.tsv"]),
        (["dna", "evaluate", "none.ckpt", "--fasta", "x.fa:T=1", "--out", "ev"], ["ev/metrics.json"]),
        (["protein", "corpus", "--links", "l.txt", "--sequences", "s.fa", "--out", "corpus"], ["corpus/pairs.tsv.gz"]),
    ],
    ids=["predict", "variant-effect", "variant-effect-set", "evaluate", "protein-corpus"],
)
def test_an_existing_output_is_refused_before_any_work(tmp_path, monkeypatch, args, existing):
    monkeypatch.chdir(tmp_path)
    for name in existing:
        Path(name).parent.mkdir(exist_ok=True)
        Path(name).write_text("earlier\n")
    result = runner.invoke(app, args)
    _one_line_error(result, existing[0].split("/")[0], "use --overwrite to replace it")
    assert all(Path(name).read_text() == "earlier\n" for name in existing)


def test_a_null_byte_names_the_option(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("name: x\n")
    result = runner.invoke(app, ["dna", "audit", str(config), "--data-dir", "a\x00b"])
    _one_line_error(result, "--data-dir holds a null byte")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--val-fraction", "2", "--val-fraction: Input should be less than 1, got 2.0"),
        ("--threshold", "-5", "--threshold: Input should be greater than or equal to 0, got -5"),
        ("--ratio", "-1", "--ratio: Input should be greater than or equal to 0"),
    ],
)
def test_protein_corpus_option_errors_name_the_option(tmp_path, option, value, message):
    args = ["protein", "corpus", "--links", "l.txt", "--sequences", "s.fa", "--out", str(tmp_path / "c")]
    result = runner.invoke(app, [*args, option, value])
    _one_line_error(result, message)
    assert "CorpusConfig" not in result.output and "pydantic" not in result.output


def test_yaml_errors_and_a_trunk_without_arch_name_the_file_line_or_key(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_bytes(b"name: x\nseed: \xff\n")
    _one_line_error(runner.invoke(app, ["dna", "audit", str(config)]), "run.yaml:2: byte")
    config.write_text("name: x\n  seed: [1\n")
    _one_line_error(runner.invoke(app, ["dna", "audit", str(config)]), "run.yaml:2: not valid YAML")
    config.write_text("model:\n  trunk: {filters: 8}\n")
    result = runner.invoke(app, ["dna", "audit", str(config)])
    assert result.exit_code == 2 and "model.trunk.arch: missing" in " ".join(result.output.split()), result.output


# --------------------------------------------------------------------------- issue 17: model folders and run folders


def _model_folder(tmp_path: Path) -> Path:
    import torch

    from seqlab.models.data_params import DataParams
    from seqlab.models.sequence_model import build_model

    torch.manual_seed(0)
    params = DataParams(tasks=["CTCF"], window_length=40, encoding="onehot")
    return build_model({"trunk": {"arch": "deepbind", "kernel_size": 6}}, params).save_pretrained(tmp_path / "m")


@pytest.mark.parametrize("damage", ["edited", "truncated", "huge trunk"])
def test_a_damaged_model_folder_is_one_line(tmp_path, damage):
    import json

    folder = _model_folder(tmp_path)
    weights, config = folder / "model.safetensors", folder / "config.json"
    if damage == "edited":
        data = bytearray(weights.read_bytes())
        data[-1] ^= 0x10
        weights.write_bytes(bytes(data))
    elif damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:50])
    else:
        document = json.loads(config.read_text())
        document["model"]["trunk"] |= {"filters": 100_000, "hidden": 300_000}
        config.write_text(json.dumps(document))
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a\n" + "ACGT" * 10 + "\n")
    out = tmp_path / "p.tsv"
    result = runner.invoke(app, ["dna", "predict", str(folder), "--fasta", str(fasta), "--out", str(out)])
    if damage == "huge trunk":
        _one_line_error(result, "config.json", "parameters", "SEQLAB_MAX_PARAMETERS")
    else:
        _one_line_error(result, "model.safetensors", "the weights changed after the model folder was written")
    assert not (tmp_path / "p.tsv").exists()


def _train_config(tmp_path: Path) -> Path:
    config = tmp_path / "run.yaml"
    config.write_text("data:\n  genomes: {g: {fasta: g.fa}}\n  tasks: tasks.tsv\n")
    return config


def test_train_into_an_existing_file_is_one_line(tmp_path):
    out = tmp_path / "results.tsv"
    out.write_text("mine\n")
    result = runner.invoke(app, ["dna", "train", str(_train_config(tmp_path)), "--out", str(out)])
    _one_line_error(result, "results.tsv", "is a file, not a folder")
    assert out.read_text() == "mine\n"


def test_a_gpu_accelerator_on_a_machine_without_one_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    config = _train_config(tmp_path)
    args = ["dna", "train", str(config), "--out", str(tmp_path / "r"), "--set", "hardware.accelerator=gpu"]
    _one_line_error(runner.invoke(app, args), "hardware.accelerator: 'gpu'", "no GPU")
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_resume_from_a_tampered_checkpoint_is_one_line_and_runs_no_code(tmp_path):
    import torch

    config = _train_config(tmp_path)
    run = tmp_path / "r"
    (run / "checkpoints").mkdir(parents=True)
    from seqlab.config import DnaRunConfig, dump_config, load_config

    (run / "config.yaml").write_text(dump_config(load_config(config, DnaRunConfig)))
    marker = tmp_path / "pwned"

    class Marker:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"global_step": 5, "epoch": 1, "loops": Marker()}, run / "checkpoints" / "last.ckpt")
    result = runner.invoke(app, ["dna", "train", str(config), "--out", str(run), "--resume"])
    _one_line_error(result, "last.ckpt: cannot be read safely as a checkpoint")
    assert not marker.exists()
