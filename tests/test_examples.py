"""Every shipped example config validates (unknown keys, wrong values and paths are caught here)."""

from pathlib import Path

import pytest

from seqlab.config import DnaRunConfig, load_config
from seqlab.protein.config import FinetuneConfig, PretrainConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KINDS = {"gm12878_": DnaRunConfig, "protein_pretrain_": PretrainConfig, "protein_finetune_": FinetuneConfig}


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
    assert all(entry.fasta.is_file() for entry in config.data.sequences)
    pretrain = load_config(EXAMPLES / "protein_pretrain_shs27k_pairs.yaml", PretrainConfig)
    assert pretrain.corpus.links.is_file() and pretrain.corpus.sequences.is_file()
