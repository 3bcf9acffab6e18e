"""Every shipped example config validates (unknown keys, wrong values and paths are caught here)."""

import math
from pathlib import Path

import pytest

from seqlab.config import DnaRunConfig, load_config
from seqlab.protein.config import FinetuneConfig, PretrainConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KINDS = {
    "gm12878_": DnaRunConfig,
    "mfd_gm12878_": DnaRunConfig,
    "mfd_encode_dream_": DnaRunConfig,
    "ssl_": DnaRunConfig,
    "tracks_": DnaRunConfig,
    "protein_pretrain_": PretrainConfig,
    "protein_finetune_": FinetuneConfig,
}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_config_validates(path):
    model = next(kind for prefix, kind in KINDS.items() if path.name.startswith(prefix))
    config = load_config(path, model)
    assert config.seed == 0


@pytest.mark.realdata
def test_example_data_paths_point_at_the_shared_bundle(shared_data):
    if shared_data.resolve() != (EXAMPLES.parents[1] / "shared" / "data").resolve():
        pytest.skip("the examples point at ../shared/data; SEQLAB_SHARED_DATA names another place")
    config = load_config(EXAMPLES / "gm12878_ctcf_windows.yaml", DnaRunConfig)
    assert all(entry.fasta.is_file() for entry in config.data.sources[0].sets)
    pretrain = load_config(EXAMPLES / "protein_pretrain_shs27k_pairs.yaml", PretrainConfig)
    assert pretrain.corpus.links.is_file() and pretrain.corpus.sequences.is_file()


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["gm12878_ctcf_windows.yaml", "gm12878_peaks_hg19.yaml"])
def test_example_configs_find_their_data_with_data_dir(shared_data, tmp_path, name):
    from seqlab.data.build import check_data_files
    from seqlab.io.tasks import read_task_table

    genome = "data.genomes.hg19.fasta=" + str(shared_data / "dna/chr22_primates/hg19.chr22.fa.gz")
    config = load_config(EXAMPLES / name, DnaRunConfig, overrides=[genome], data_dir=shared_data)
    assert config.data.root == shared_data.resolve()
    check_data_files(config.data)
    if config.data.tasks is not None:
        assert config.data.tasks == EXAMPLES / "gm12878_tasks.tsv"
        peaks = read_task_table(config.data.tasks, config.data.root)["peaks"]
        assert all(path.startswith(str(shared_data.resolve())) for path in peaks)


def test_ssl_example_regions_resolve_beside_the_config_and_data_under_the_root(tmp_path):
    config = load_config(EXAMPLES / "ssl_chr22_primates.yaml", DnaRunConfig, data_dir=tmp_path)
    assert config.data.split.test_regions == EXAMPLES / "ssl_chr22_test.bed"
    assert config.data.split.val_regions.is_file()
    assert config.data.genomes["panTro2"].chain == tmp_path / "dna/chr22_primates/hg19ToPanTro2.chr22.chain.gz"
    assert config.train.scheme == "ssl" and [s.kind for s in config.data.sources] == ["peaks", "lifted"]


@pytest.mark.realdata
def test_ssl_example_finds_its_data(shared_data):
    from seqlab.data.build import check_data_files

    config = load_config(EXAMPLES / "ssl_chr22_primates.yaml", DnaRunConfig, data_dir=shared_data)
    check_data_files(config.data)
    assert all(
        Path(g.fasta).is_file() and (g.chain is None or Path(g.chain).is_file()) for g in config.data.genomes.values()
    )


def test_missing_data_file_names_the_key_and_data_dir(tmp_path):
    from seqlab.config import ConfigError
    from seqlab.data.build import check_data_files

    config = load_config(EXAMPLES / "gm12878_ctcf_windows.yaml", DnaRunConfig, data_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"data\.sources\[0\]\.sets\[0\]\.fasta: file not found: .*--data-dir"):
        check_data_files(config.data)


@pytest.mark.parametrize(
    ("name", "model"),
    [("protein_pretrain_shs27k_pairs.yaml", PretrainConfig), ("protein_finetune_shs27k_binding.yaml", FinetuneConfig)],
)
def test_protein_examples_resolve_data_against_data_dir_and_runs_against_the_config(tmp_path, name, model):
    config = load_config(EXAMPLES / name, model, data_dir=tmp_path)
    section = config.corpus if model is PretrainConfig else config.data
    assert section.root == tmp_path.resolve()
    assert (section.links if model is PretrainConfig else section.path).is_relative_to(tmp_path / "protein/shs27k")
    if model is FinetuneConfig:  # a run folder relative to the config, not inside the data folder
        assert config.pretrained == (EXAMPLES / "../runs/shs27k-pairs/model").resolve()


@pytest.mark.realdata
def test_mfd_example_configs_find_their_windows_and_task_metadata(shared_data):
    from seqlab.config.mfd import MetadataHeadConfig
    from seqlab.data.build import check_data_files
    from seqlab.io.tasks import read_task_table

    mfd = load_config(EXAMPLES / "mfd_gm12878_compendium.yaml", DnaRunConfig, data_dir=shared_data)
    plain = load_config(EXAMPLES / "mfd_gm12878_compendium_plain.yaml", DnaRunConfig, data_dir=shared_data)
    check_data_files(mfd.data)
    assert isinstance(mfd.model.head, MetadataHeadConfig) and plain.model.head.kind == "linear"
    assert mfd.data == plain.data and mfd.model.trunk == plain.model.trunk and mfd.train.scheme == "mfd"
    assert (mfd.mfd.penalty, mfd.mfd.weight, mfd.mfd.penalty_side) == ("covariance", 0.01, "both")  # as measured
    assert mfd.hardware.threads == 1
    tasks = read_task_table(mfd.data.tasks, peaks=False)
    labelled = [task for entry in mfd.data.sources[0].sets for task in entry.labels]
    assert list(tasks["task"]) == list(dict.fromkeys(labelled)) and set(mfd.model.head.columns) <= set(tasks.columns)


@pytest.mark.realdata
def test_encode_dream_task_table_has_summits_and_holdouts_the_issue_asks_for(shared_data, tmp_path):
    import gzip
    import importlib.util

    import pandas as pd

    bundle = shared_data / "dna" / "encode_dream_chr22"
    spec = importlib.util.spec_from_file_location("build_ed", EXAMPLES / "mfd_encode_dream_chr22.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tasks = pd.read_csv(module.build(tmp_path, bundle), sep="\t")
    assert len(tasks) == 174 and tasks["peak_set"].value_counts().to_dict() == {"conservative": 101, "relaxed": 73}
    assert list(tasks.columns[5:]) == [f"GEPC{i}" for i in range(1, 9)]
    # a relaxed file's first row (20 columns): summit = start + peak, 1 bp
    with gzip.open(bundle / "peaks" / "A549.CTCF.relaxed.chr22.narrowPeak.gz", "rt") as handle:
        first = handle.readline().split("\t")
    summit = pd.read_csv(tmp_path / "summits" / "A549.CTCF.relaxed.bed", sep="\t", header=None, nrows=1)
    assert summit.iloc[0].tolist() == ["chr22", int(first[1]) + int(first[9]), int(first[1]) + int(first[9]) + 1]
    config = load_config(EXAMPLES / "mfd_encode_dream_chr22.yaml", DnaRunConfig)
    assert len(config.mfd.holdout) >= 6
    for entry in config.mfd.holdout:
        held = (tasks["target"] == entry["target"]) & (tasks["biosample"] == entry["biosample"])
        assert sorted(tasks.loc[held, "peak_set"]) == ["conservative", "relaxed"]
        assert tasks.loc[(tasks["target"] == entry["target"]) & ~held, "biosample"].nunique() >= 2
        assert tasks.loc[(tasks["biosample"] == entry["biosample"]) & ~held, "target"].nunique() >= 2


@pytest.mark.realdata
def test_ctcf_signal_example_targets_are_log_signal_of_the_peak_at_each_window(shared_data):
    from seqlab.data.build import build_examples

    config = load_config(EXAMPLES / "gm12878_ctcf_signal.yaml", DnaRunConfig, data_dir=shared_data)
    table = build_examples(config.data)
    assert [entry["target_matched"] for entry in table.report["sets"]] == [{"CTCF": 3999}, {"CTCF": 47}]
    first = table.frame.index[(table.frame["chrom"] == "chr14") & (table.frame["start"] == 106873573)][0]
    assert table.targets[first, 0, 0] == pytest.approx(math.log1p(549.759770337046))  # the file's top peak
    assert table.targets.shape == (8536, 1, 1) and not table.labels.any()
