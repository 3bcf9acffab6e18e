import re
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


@pytest.mark.parametrize("old", ["mode: peaks", "genome: g.fa", "tiling: {}", "negatives: {}"])
def test_keys_that_never_shipped_are_plain_unknown_keys(tmp_path, old):
    with pytest.raises(ConfigError, match=rf"data\.{old.split(':')[0]}: unknown key"):
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


def test_model_keys_outside_trunk_and_head_are_unknown_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.arch: unknown key"):
        load_config(_write(tmp_path, BASE + "model:\n  arch: deepsea\n"), DnaRunConfig)


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
    for key in ("accelerator", "threads", "precision"):  # hardware keys belong to hardware: only
        with pytest.raises(ConfigError, match=rf"train\.{key}: unknown key"):
            load_config(_write(tmp_path, BASE + f"train:\n  {key}: 1\n"), DnaRunConfig)


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


def test_an_unknown_scheme_is_an_error_when_the_config_loads(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.scheme: unknown value 'nosuch'; expected one of \[.*'supervised'"):
        load_config(_write(tmp_path, BASE + "train:\n  scheme: nosuch\n"), DnaRunConfig)
    for scheme in ("supervised", "ssl", "noisy_student", "mfd"):
        assert (
            load_config(_write(tmp_path, BASE + f"train:\n  scheme: {scheme}\n"), DnaRunConfig).train.scheme == scheme
        )


def test_overrides_address_list_entries_by_index(tmp_path):
    text = BASE + "  sources:\n    - {kind: peaks, subsample: {n: 5}}\n    - {kind: tiling, bin_size: 100}\n"
    overrides = ["data.sources.0.subsample.seed=7", "data.sources.1.stride=50", "data.split.test_chroms.0=chr9"]
    config = load_config(_write(tmp_path, text + "  split: {test_chroms: [chr2]}\n"), DnaRunConfig, overrides=overrides)
    assert config.data.sources[0].subsample.seed == 7 and config.data.sources[0].subsample.n == 5
    assert config.data.sources[1].stride == 50 and config.data.split.test_chroms == ["chr9"]
    for bad, message in (
        ("data.sources.2.seed=1", r"data\.sources is a list of 2 entries; give an index 0-1"),
        ("data.sources.x.seed=1", r"data\.sources is a list of 2 entries; give an index 0-1"),
        ("data.sources.0.subsample.n.x=1", r"data\.sources\.0\.subsample\.n is a value, not a section"),
    ):
        with pytest.raises(ConfigError, match=rf"^override '{re.escape(bad)}': {message}$"):
            load_config(_write(tmp_path, text), DnaRunConfig, overrides=[bad])
    with pytest.raises(ConfigError, match=r"data\.sources is not set in the config"):
        apply_overrides({"data": {}}, ["data.sources.0.kind=tiling"])


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


# --------------------------------------------------------------------------- issue 17, item 2: config.yaml reloads

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCHEMES = {
    "supervised": ("gm12878_pol2_windows.yaml", []),
    "ssl": ("ssl_chr22_primates.yaml", []),
    "noisy_student": ("ssl_chr22_primates.yaml", ["train.scheme=noisy_student", "ssl=null", "noisy_student={}"]),
    "mfd": ("mfd_gm12878_compendium.yaml", []),
}


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_a_run_folders_config_yaml_loads_back_as_the_same_config(tmp_path, scheme):
    from seqlab.runs import start_run

    name, overrides = SCHEMES[scheme]
    config = load_config(EXAMPLES / name, DnaRunConfig, overrides, data_dir=tmp_path / "data")
    assert config.train.scheme == scheme
    with start_run(tmp_path / "run", config) as run:  # writes config.yaml as a training run does
        pass
    again = load_config(run.paths.config, DnaRunConfig)
    assert again == config
    assert "num_workers" not in run.paths.config.read_text().split("hardware:")[0]  # not under data:


def test_the_config_reference_lists_no_key_that_a_config_cannot_hold(tmp_path):
    from seqlab.cli.reference import render_reference

    assert "`data.num_workers`" not in render_reference()
    with pytest.raises(ConfigError, match="num_workers"):  # refused in a config: so not listed
        load_config(_write(tmp_path, BASE + "  num_workers: 2\n"), DnaRunConfig)


def test_a_stored_config_rebuilds_the_same_examples(tmp_path):
    import yaml

    from seqlab.data.build import build_examples
    from seqlab.demo.simulate import FactorSpec, simulate_dna_demo
    from seqlab.runs import start_run

    simulate_dna_demo(tmp_path / "data", seed=1, chrom_sizes={"chr1": 120_000, "chr2": 40_000, "chr3": 40_000},
                      factors=(FactorSpec("CTCF", "MA0139", sites=60, decoys=5, noise_peaks=3),))  # fmt: skip
    raw = {"data": {"genomes": {"genome": {"fasta": "data/genome.fa"}}, "tasks": "data/tasks.tsv",
                    "split": {"val_chroms": ["chr2"], "test_chroms": ["chr3"]}}}  # fmt: skip
    config = load_config(_write(tmp_path, yaml.safe_dump(raw)), DnaRunConfig, ["hardware.workers=1"])
    with start_run(tmp_path / "run", config) as run:
        pass
    again = load_config(run.paths.config, DnaRunConfig)
    first, second = build_examples(config.data), build_examples(again.data)
    assert len(first) > 50
    assert first.frame.equals(second.frame) and (first.labels == second.labels).all()


def test_noisy_student_defaults_are_the_ones_the_chr22_ablation_chose():
    from seqlab.config.schemes import NoisyStudentConfig

    # docs/results.md, "SSL defaults chosen by an ablation": student lr 0.003 (+0.043 validation AUROC over 0.001)
    noisy = NoisyStudentConfig()
    assert (noisy.rounds, noisy.pseudo_labels, noisy.include_human) == (1, "weighted", True)
    assert (noisy.student.learning_rate, noisy.student.max_epochs, noisy.student.patience) == (3e-3, 10, 3)
    assert (noisy.finetune.learning_rate, noisy.noise_sigma, noisy.dropout) == (3e-4, 0.1, 0.3)


SEQUENCES = "data:\n  root: bundle\n  sources:\n    - kind: sequences\n      sets:\n        - {fasta: pos.fa, %s}\n"


def test_sequence_set_targets_resolve_against_data_root_and_need_a_regression_objective(tmp_path):
    targets = "targets: {A: {peaks: A.narrowPeak.gz, transform: log1p}}"
    regression = "model:\n  objective: {kind: regression}\n"
    config = load_config(_write(tmp_path, SEQUENCES % targets + regression), DnaRunConfig)
    target = config.data.sources[0].sets[0].targets["A"]
    assert target.peaks == (tmp_path / "bundle" / "A.narrowPeak.gz").resolve()
    assert (target.column, target.transform) == ("signal_value", "log1p")
    assert (target.match, target.missing) == ("summit", "zero")
    assert config.data.sources[0].quantitative and config.train.monitor == "val_pearson"
    with pytest.raises(ConfigError, match=r"data.sources.0 \(kind sequences\) gives quantitative targets; set "):
        load_config(_write(tmp_path, SEQUENCES % targets), DnaRunConfig)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("labels: {}", r"sets\.0: pos\.fa: give labels or targets \(per task name\)"),
        ("labels: {A: 1}, targets: {A: {peaks: p.bed}}", r"sets\.0: pos\.fa: task 'A' has both a label and targets"),
        ("targets: {A: {peaks: p.bed, transform: log}}", r"sets\.0\.targets\.A\.transform: Input should be 'none' or"),
        ("targets: {A: {peaks: p.bed, colum: score}}", r"sets\.0\.targets\.A\.colum: unknown key"),
    ],
)
def test_sequence_set_labels_and_targets_are_checked(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, SEQUENCES % entry), DnaRunConfig)
