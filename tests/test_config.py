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
    assert config.model.trunk.arch == "deepbind" and config.model.head.kind == "linear"


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
    overrides = ["train.max_epochs=3", "data.split.test_chroms=[chr1, chr2]", "model.trunk.arch=deepsea"]
    config = load_config(_write(tmp_path, BASE), DnaRunConfig, overrides=overrides)
    assert config.train.max_epochs == 3
    assert config.data.split.test_chroms == ["chr1", "chr2"]
    assert config.model.trunk.arch == "deepsea" and config.model.trunk.channels == [320, 480, 960]


def test_v1_model_layout_names_the_new_key(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.arch moved: the architecture is model\.trunk\.arch"):
        load_config(_write(tmp_path, BASE + "model:\n  arch: deepsea\n"), DnaRunConfig)
    with pytest.raises(ConfigError, match=r"model\.filters moved"):
        load_config(_write(tmp_path, BASE + "model:\n  filters: 8\n"), DnaRunConfig)


def test_unknown_trunk_arch_head_kind_and_trunk_key_are_named(tmp_path):
    cases = {
        "model:\n  trunk:\n    arch: lstm\n": r"model\.trunk\.arch: unknown value 'lstm'; expected one of \['basenji'",
        "model:\n  head:\n    kind: mlp\n": r"model\.head\.kind: unknown value 'mlp'; expected one of \['linear'",
        "model:\n  trunk:\n    arch: deepbind\n    fliters: 8\n": r"model\.trunk \(arch: deepbind\): fliters: unknown",
        "model:\n  trunk:\n    filters: 8\n": r"model\.trunk\.arch: missing; name the architecture, one of \['basenji'",
        "model:\n  trunk: {}\n": r"model\.trunk\.arch: missing",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            load_config(_write(tmp_path, BASE + text), DnaRunConfig)


def test_override_without_equals_sign_is_rejected():
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides({}, ["train.max_epochs"])


def test_peaks_source_needs_genomes_and_tasks(tmp_path):
    with pytest.raises(ConfigError, match=r"data.sources\[0\] \(kind peaks\) needs data.genomes and data.tasks"):
        load_config(_write(tmp_path, "data:\n  genomes: {g: {fasta: g.fa}}\n"), DnaRunConfig)


def test_hardware_section_and_old_train_keys(tmp_path):
    text = BASE + "hardware:\n  accelerator: cpu\n  devices: 2\n  num_nodes: 3\n  threads: 1\n  workers: 4\n"
    config = load_config(_write(tmp_path, text), DnaRunConfig)
    hardware = config.hardware
    assert (hardware.accelerator, hardware.devices, hardware.num_nodes, hardware.threads, hardware.workers) == (
        "cpu", 2, 3, 1, 4,
    )  # fmt: skip
    assert (hardware.precision, hardware.strategy) == ("auto", "auto")
    for key, new in (("accelerator", "accelerator"), ("threads", "threads"), ("precision", "precision")):
        with pytest.raises(ConfigError, match=rf"train\.{key} moved to hardware\.{new}"):
            load_config(_write(tmp_path, BASE + f"train:\n  {key}: 1\n"), DnaRunConfig)
    with pytest.raises(ConfigError, match=r"data\.num_workers moved to hardware\.workers"):
        load_config(_write(tmp_path, BASE + "  num_workers: 2\n"), DnaRunConfig)


def test_scheme_defaults_to_supervised_and_scheme_sections_need_their_scheme(tmp_path):
    config = load_config(_write(tmp_path, BASE), DnaRunConfig)
    assert config.train.scheme == "supervised" and config.ssl is None and config.mfd is None
    with pytest.raises(ConfigError, match=r"the mfd: section is set but train.scheme is 'supervised'"):
        load_config(_write(tmp_path, BASE + "mfd: {}\n"), DnaRunConfig)
    config = load_config(_write(tmp_path, BASE + "train:\n  scheme: ssl\nssl: {}\n"), DnaRunConfig)
    assert config.train.scheme == "ssl" and config.ssl is not None


def test_duplicate_yaml_key_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("name: x\ndata:\n  tasks: a.tsv\n  tasks: b.tsv\n")
    with pytest.raises(ConfigError, match=r"run.yaml:4: key 'tasks' appears twice in the same section"):
        load_config(path, DnaRunConfig)


def test_yaml_merge_keys_are_accepted(tmp_path):
    text = BASE + "model:\n  trunk:\n    <<: &small {arch: deepbind, filters: 8, kernel_size: 9}\n    kernel_size: 5\n"
    config = load_config(_write(tmp_path, text), DnaRunConfig)
    assert (config.model.trunk.arch, config.model.trunk.filters, config.model.trunk.kernel_size) == ("deepbind", 8, 5)
    with pytest.raises(ConfigError, match=r"run.yaml:5: key 'a' appears twice"):  # own keys are still unique
        load_config(_write(tmp_path, "base: &b {x: 1}\nother:\n  <<: *b\n  a: 1\n  a: 2\n"), DnaRunConfig)


def test_yaml_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes(b"name: x\nseed: \xff\n")
    with pytest.raises(ConfigError, match=r"run.yaml:2: byte b'\\xff' is not UTF-8 text"):
        load_config(path, DnaRunConfig)
    path.write_text("name: x\n  seed: [1\n")
    with pytest.raises(ConfigError, match=r"run.yaml:2: not valid YAML: mapping values are not allowed here") as info:
        load_config(path, DnaRunConfig)
    assert "\n" not in str(info.value)
    path.write_bytes(b"\xef\xbb\xbfname: bom\n" + BASE.encode())
    assert load_config(path, DnaRunConfig).name == "bom"
