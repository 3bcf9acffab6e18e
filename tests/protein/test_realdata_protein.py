"""The protein wing on the real bundle: SHS27k pair pre-training -> binding fine-tune; MIRA TCR binding."""

import json

import pytest
from transformers import AutoModelForMaskedLM

from seqlab.protein.config import (
    CorpusConfig,
    FinetuneConfig,
    FinetuneDataConfig,
    MlmModelConfig,
    OptimConfig,
    PretrainConfig,
    TokenizerConfig,
)
from seqlab.protein.finetune import finetune
from seqlab.protein.pretrain import pretrain
from seqlab.protein.tokenizer import build_residue_tokenizer

pytestmark = pytest.mark.realdata
QUICK = {"batch_size": 8, "val_every_steps": 10, "progress_bar": False, "warmup_steps": 0.1}


@pytest.fixture(scope="module")
def shs27k(shared_data):
    folder = shared_data / "protein" / "shs27k"
    return {
        "links": folder / "protein.actions.SHS27k.STRING.txt.gz",
        "sequences": folder / "protein.SHS27k.sequences.dictionary.tsv.gz",
    }


@pytest.fixture(scope="module")
def pair_model(shs27k, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    config = PretrainConfig(
        mode="pair",
        corpus=CorpusConfig(**shs27k, max_tokens=128, length_policy="truncate"),
        tokenizer_training=TokenizerConfig(vocab_size=300, model_max_length=128),
        model=MlmModelConfig(preset="tiny", max_position_embeddings=130),
        optim=OptimConfig(max_steps=20, learning_rate=1e-3, **QUICK),
        hardware={"accelerator": "cpu"},
    )
    metrics = pretrain(config, out)
    return out, metrics


def test_pair_pretraining_on_shs27k(pair_model):
    out, metrics = pair_model
    summary = json.loads((out / "corpus" / "summary.json").read_text())
    assert summary["build"]["binding_pairs"] == 2848  # unordered pairs with max combined score >= 700
    assert summary["val_test_proteins_in_train"] == 0
    assert metrics["mode"] == "pair" and metrics["val"]["perplexity"] > 1
    model = AutoModelForMaskedLM.from_pretrained(out / "model")
    assert model.config.model_type == "roberta"


def test_binding_finetune_from_pair_model(pair_model, shs27k, tmp_path):
    out, _ = pair_model
    config = FinetuneConfig(
        pretrained=out / "model",
        data=FinetuneDataConfig(kind="shs27k", path=shs27k["links"], sequences=shs27k["sequences"],
                                val_fraction=0.2, test_fraction=0.2, max_tokens=128, max_examples=1500),  # fmt: skip
        optim=OptimConfig(max_steps=20, learning_rate=1e-3, **QUICK),
        hardware={"accelerator": "cpu"},
        patience=None,
    )
    metrics = finetune(config, tmp_path / "ppi")
    assert 0.0 <= metrics["test"]["auroc"] <= 1.0 and metrics["test"]["n"] > 0
    assert (tmp_path / "ppi" / "plots" / "confusion_test.png").is_file()


def test_tcr_epitope_finetune_from_scratch(shared_data, tmp_path):
    tokenizer = build_residue_tokenizer(model_max_length=64, out_dir=tmp_path / "tok")
    assert len(tokenizer) > 20
    config = FinetuneConfig(
        pretrained=None,
        tokenizer=tmp_path / "tok",
        model=MlmModelConfig(preset="tiny", max_position_embeddings=66),
        data=FinetuneDataConfig(kind="tcr", path=shared_data / "protein" / "tcr_mira" /
                                "mira_covid19_tcrb_epitopes.tsv.gz", max_tokens=64, max_examples=2000),  # fmt: skip
        optim=OptimConfig(max_steps=20, learning_rate=1e-3, **QUICK),
        hardware={"accelerator": "cpu"},
        patience=None,
    )
    metrics = finetune(config, tmp_path / "tcr")
    assert metrics["test"]["n"] > 0 and 0.0 <= metrics["test"]["mcc"] + 1 <= 2
    assert set(metrics["test"]) >= {"accuracy", "macro_f1", "mcc", "auroc", "aupr"}


def test_example_pretrain_then_finetune_configs_do_not_leak(shs27k, tmp_path):
    # examples/protein_pretrain_shs27k_pairs.yaml then examples/protein_finetune_shs27k_binding.yaml:
    # the fine-tune keeps the corpus's protein split, so no held-out protein was pre-trained on.
    from pathlib import Path

    from seqlab.config import load_config
    from seqlab.protein.corpus import corpus_from_config
    from seqlab.protein.tasks import corpus_protein_splits, load_task

    examples = Path(__file__).resolve().parents[2] / "examples"
    pretrain_config = load_config(examples / "protein_pretrain_shs27k_pairs.yaml", PretrainConfig)
    finetune_config = load_config(examples / "protein_finetune_shs27k_binding.yaml", FinetuneConfig)
    corpus = corpus_from_config(pretrain_config.corpus.model_copy(update=shs27k), seed=pretrain_config.seed)
    corpus.save(tmp_path / "corpus")
    data = finetune_config.data.model_copy(update={"path": shs27k["links"], "sequences": shs27k["sequences"],
                                                   "protein_splits": tmp_path / "corpus"})  # fmt: skip
    task = load_task(data, seed=finetune_config.seed)
    pretrained_on = set(corpus.proteins("train"))
    held_out = task.frame[task.frame["split"] != "train"]
    assert len(held_out) > 100
    assert not (set(held_out["id_a"]) | set(held_out["id_b"])) & pretrained_on
    assert set(corpus_protein_splits(tmp_path / "corpus")) >= pretrained_on
