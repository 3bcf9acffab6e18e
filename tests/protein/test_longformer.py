import random

import pandas as pd
import pytest
import torch
import typer
from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer
from typer.testing import CliRunner

from seqlab.cli.protein_pretrain import register
from seqlab.protein.config import CorpusConfig, LongformerConfig, MlmModelConfig, PretrainConfig
from seqlab.protein.corpus import build_pair_corpus
from seqlab.protein.longformer import convert_to_longformer, extend_position_embeddings
from seqlab.protein.mlm import build_mlm_model
from seqlab.protein.pretrain import pretrain
from seqlab.protein.tokenizer import build_residue_tokenizer, save_tokenizer

AA = "ACDEFGHIKLMNPQRSTVWY"



@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A tiny RoBERTa for 64 tokens (66 positions) converted to a Longformer for 128, window 32."""
    root = tmp_path_factory.mktemp("longformer")
    torch.manual_seed(0)
    tokenizer = build_residue_tokenizer(model_max_length=64)
    roberta = build_mlm_model(
        MlmModelConfig(hidden_size=32, num_attention_heads=2, intermediate_size=64, max_position_embeddings=66),
        tokenizer,
    )
    roberta.save_pretrained(root / "roberta")
    save_tokenizer(tokenizer, root / "roberta")
    out = convert_to_longformer(root / "roberta", root / "long", LongformerConfig(max_length=128, attention_window=32))
    return root / "roberta", out


def test_extend_position_embeddings_keeps_offset_and_tiles():
    weight = torch.arange(5.0).unsqueeze(1).repeat(1, 2)  # rows 0, 1 offset; 2, 3, 4 trained
    extended = extend_position_embeddings(weight, 9)
    assert extended[:, 0].tolist() == [0, 1, 2, 3, 4, 2, 3, 4, 2]


def test_converted_weights_and_config(converted):
    roberta_dir, long_dir = converted
    config = AutoConfig.from_pretrained(long_dir)
    assert config.model_type == "longformer"
    assert config.max_position_embeddings == 130 and config.attention_window == [32, 32]
    assert AutoTokenizer.from_pretrained(long_dir).model_max_length == 128
    roberta = AutoModelForMaskedLM.from_pretrained(roberta_dir)
    long = AutoModelForMaskedLM.from_pretrained(long_dir)
    old = roberta.roberta.embeddings.position_embeddings.weight
    new = long.longformer.embeddings.position_embeddings.weight
    assert torch.equal(new[:66], old) and torch.equal(new[66:130], old[2:66])
    for layer in long.longformer.encoder.layer:
        attention = layer.attention.self
        assert torch.equal(attention.query_global.weight, attention.query.weight)
        assert torch.equal(attention.key_global.bias, attention.key.bias)
        assert torch.equal(attention.value_global.weight, attention.value.weight)
    assert torch.equal(long.lm_head.dense.weight, roberta.lm_head.dense.weight)


def test_same_outputs_as_roberta_within_the_window(converted):
    roberta_dir, long_dir = converted
    roberta = AutoModelForMaskedLM.from_pretrained(roberta_dir).eval()
    long = AutoModelForMaskedLM.from_pretrained(long_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(long_dir)
    # 17 tokens = attention_window / 2 + 1: every token still sees every other one.
    batch = tokenizer(["MKVLAAGH", "ACD"], ["GHHKK", "W"], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape == (2, 17)
    with torch.no_grad():
        expected = roberta(**batch).logits
        got = long(**batch).logits
    tokens = batch["attention_mask"].bool()
    assert (expected - got)[tokens].abs().max() < 1e-5


def test_rejects_a_model_that_is_not_roberta(converted, tmp_path):
    _, long_dir = converted
    with pytest.raises(ValueError, match="holds a 'longformer' model"):
        convert_to_longformer(long_dir, tmp_path / "again")
    with pytest.raises(FileNotFoundError, match="no saved model"):
        convert_to_longformer(tmp_path / "nothing", tmp_path / "again")


def test_continue_pretraining_on_longer_inputs(converted, tmp_path):
    _, long_dir = converted
    rng = random.Random(0)
    ids = [f"P{i:02d}" for i in range(40)]
    sequences = {i: "".join(rng.choice(AA) for _ in range(rng.randint(30, 60))) for i in ids}
    links = pd.DataFrame(
        [(*rng.sample(ids, 2), rng.randint(700, 999)) for _ in range(60)],
        columns=["protein1", "protein2", "combined_score"],
    )
    corpus = build_pair_corpus(links, sequences, CorpusConfig(strict_split=False, val_fraction=0.2), seed=0)
    config = PretrainConfig(
        model_path=long_dir,
        corpus=CorpusConfig(max_tokens=128),
        optim={"max_steps": 4, "batch_size": 4, "val_every_steps": 2, "progress_bar": False},
        hardware={"accelerator": "cpu"},
    )
    metrics = pretrain(config, tmp_path / "run", corpus=corpus)
    assert metrics["steps"] == 4 and metrics["val"]["masked_tokens"] > 0
    lengths = (corpus.frame.seq_a.str.len() + corpus.frame.seq_b.str.len() + 4).tolist()
    assert max(lengths) > 64  # inputs longer than the RoBERTa could take
    assert metrics["length_limit"]["train"]["dropped"] == sum(
        n > 128 for n, s in zip(lengths, corpus.frame.split, strict=True) if s == "train"
    )
    assert AutoConfig.from_pretrained(tmp_path / "run" / "model").model_type == "longformer"
    too_long = config.model_copy(update={"corpus": CorpusConfig(max_tokens=129)})
    with pytest.raises(ValueError, match=r"corpus.max_tokens=129 exceeds what the model takes \(128 tokens"):
        pretrain(too_long, tmp_path / "run2", corpus=corpus)


def test_cli_longformer(converted, tmp_path):
    roberta_dir, _ = converted
    app = typer.Typer()
    register(app)
    args = [
        "longformer",
        str(roberta_dir),
        "--out",
        str(tmp_path / "lf"),
        "--max-length",
        "96",
        "--attention-window",
        "16",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert AutoConfig.from_pretrained(tmp_path / "lf").max_position_embeddings == 98
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output  # an earlier conversion is not replaced silently
    odd = CliRunner().invoke(app, [*args[:-1], "15", "--overwrite"])
    assert odd.exit_code == 2 and "--attention-window must be even, got 15" in odd.output  # the option, not the field
    assert AutoConfig.from_pretrained(tmp_path / "lf").max_position_embeddings == 98  # the refused run wrote nothing
