from pathlib import Path

import pytest

from seqlab.config import ConfigError, DnaRunConfig, apply_overrides, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


BASE = "data:\n  genomes:\n    g: {fasta: genome.fa}\n  tasks: tasks.tsv\n"


def test_relative_paths_resolve_against_config_folder(tmp_path):
    config = load_config(_write(tmp_path, BASE), DnaRunConfig)
    assert config.data.genomes["g"].fasta == (tmp_path / "genome.fa").resolve()
    assert config.data.root is None
    assert config.model.arch == "deepbind"


def test_relative_paths_resolve_against_data_dir(tmp_path):
    other = tmp_path / "elsewhere"
    config = load_config(_write(tmp_path, BASE), DnaRunConfig, data_dir=other)
    assert config.data.genomes["g"].fasta == (other / "genome.fa").resolve()
    assert config.data.root == other.resolve()
    # the task table belongs with the config; its peak paths resolve against data.root
    assert config.data.tasks == (tmp_path / "tasks.tsv").resolve()


def test_data_root_is_relative_to_the_config_and_replaced_by_data_dir(tmp_path):
    text = BASE.replace("data:\n", "data:\n  root: ../bundle\n")
    config = load_config(_write(tmp_path, text), DnaRunConfig)
    assert config.data.root == (tmp_path.parent / "bundle").resolve()
    assert config.data.genomes["g"].fasta == (tmp_path.parent / "bundle" / "genome.fa").resolve()
    config = load_config(_write(tmp_path, text), DnaRunConfig, data_dir=tmp_path / "x")
    assert config.data.genomes["g"].fasta == (tmp_path / "x" / "genome.fa").resolve()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("mode: peaks", "data.sources"),
        ("genome: g.fa", "data.genomes"),
        ("genome_name: hg19", "data.genomes"),
        ("sequences: []", r"data.sources: \[\{kind: sequences"),
        ("tiling: {}", r"data.sources: \[\{kind: tiling"),
        ("negatives: {}", r"data.sources: \[\{kind: peaks, negatives"),
    ],
)
def test_old_data_keys_name_the_new_key(tmp_path, old, new):
    with pytest.raises(ConfigError, match=rf"data\.{old.split(':')[0]} was replaced by {new}"):
        load_config(_write(tmp_path, f"data:\n  {old}\n"), DnaRunConfig)


def test_sources_are_typed_by_kind(tmp_path):
    text = (
        BASE + "  sources:\n    - {kind: tiling, bin_size: 100}\n    - {kind: peaks, subsample: {n: 5, by: random}}\n"
    )
    config = load_config(_write(tmp_path, text), DnaRunConfig)
    tiling, peaks = config.data.sources
    assert (tiling.kind, tiling.bin_size, tiling.stride) == ("tiling", 100, 200)
    assert (peaks.subsample.n, peaks.subsample.by, peaks.negatives.seed) == (5, "random", 0)
    with pytest.raises(ConfigError, match=r"data\.sources\.0"):
        load_config(_write(tmp_path, BASE + "  sources:\n    - {kind: lifted2}\n"), DnaRunConfig)


def test_unknown_key_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.max_epoch: unknown key"):
        load_config(_write(tmp_path, BASE + "train:\n  max_epoch: 3\n"), DnaRunConfig)


def test_overrides_keep_types_and_reach_nested_sections(tmp_path):
    overrides = ["train.max_epochs=3", "data.split.test_chroms=[chr1, chr2]", "model.arch=deepsea"]
    config = load_config(_write(tmp_path, BASE), DnaRunConfig, overrides=overrides)
    assert config.train.max_epochs == 3
    assert config.data.split.test_chroms == ["chr1", "chr2"]
    assert config.model.arch == "deepsea" and config.model.channels == [320, 480, 960]


def test_override_without_equals_sign_is_rejected():
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides({}, ["train.max_epochs"])


def test_peaks_source_needs_genomes_and_tasks(tmp_path):
    with pytest.raises(ConfigError, match=r"data.sources\[0\] \(kind peaks\) needs data.genomes and data.tasks"):
        load_config(_write(tmp_path, "data:\n  genomes: {g: {fasta: g.fa}}\n"), DnaRunConfig)
