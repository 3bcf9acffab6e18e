from pathlib import Path

import pytest

from seqlab.config import ConfigError, DnaRunConfig, apply_overrides, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


BASE = "data:\n  genome: genome.fa\n  tasks: tasks.tsv\n"


def test_relative_paths_resolve_against_config_folder(tmp_path):
    config = load_config(_write(tmp_path, BASE), DnaRunConfig)
    assert config.data.genome == (tmp_path / "genome.fa").resolve()
    assert config.model.arch == "deepbind"


def test_relative_paths_resolve_against_data_dir(tmp_path):
    other = tmp_path / "elsewhere"
    config = load_config(_write(tmp_path, BASE), DnaRunConfig, data_dir=other)
    assert config.data.tasks == (other / "tasks.tsv").resolve()


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


def test_peaks_mode_needs_genome_and_tasks(tmp_path):
    with pytest.raises(ConfigError, match="needs data.genome and data.tasks"):
        load_config(_write(tmp_path, "data:\n  genome: g.fa\n"), DnaRunConfig)
