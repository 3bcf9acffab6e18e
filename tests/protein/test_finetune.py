import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from seqlab.config import load_config
from seqlab.protein.config import FinetuneConfig, FinetuneDataConfig, MlmModelConfig, OptimConfig
from seqlab.protein.finetune import PadCollator, encode_examples, finetune
from seqlab.protein.mlm import build_mlm_model
from seqlab.protein.tokenizer import build_residue_tokenizer

BACKGROUND = np.array(list("ACDFGHILMNPQSTVWY"))
OPTIM = {"learning_rate": 2e-3, "max_steps": 40, "batch_size": 16, "val_every_steps": 10, "warmup_steps": 0.1}
OPTIM |= {"progress_bar": False}
HARDWARE = {"accelerator": "cpu"}


def _rich(rng: np.random.Generator, residue: str) -> str:
    """15-40 residues, about 30% of them ``residue``."""
    seq = rng.choice(BACKGROUND, rng.integers(15, 40))
    seq[rng.random(seq.size) < 0.3] = residue
    return "".join(seq)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A tiny RoBERTa MLM folder (with its tokenizer), a tokenizer folder and two toy task tables."""
    root = tmp_path_factory.mktemp("ft")
    tokenizer = build_residue_tokenizer(out_dir=root / "tokenizer")
    tokenizer.save_pretrained(root / "pretrained")
    torch.manual_seed(0)
    build_mlm_model(MlmModelConfig(max_position_embeddings=130), tokenizer).save_pretrained(root / "pretrained")
    rng = np.random.default_rng(0)
    splits = ["train", "train", "train", "val", "test"]
    single = pd.DataFrame(
        [(_rich(rng, "KE"[i % 2]), ["E-rich", "K-rich"][i % 2], splits[i % 5]) for i in range(160)],
        columns=["sequence", "label", "split"],
    )
    single.to_csv(root / "single.tsv", sep="\t", index=False)
    # pair task: label 1 when sequence_b is K-rich, whatever sequence_a is
    pair = pd.DataFrame(
        [(_rich(rng, "KE"[i % 3 == 0]), _rich(rng, "KE"[i % 2]), i % 2, splits[i % 5]) for i in range(160)],
        columns=["sequence", "sequence_b", "label", "split"],
    )
    pair.to_csv(root / "pair.tsv", sep="\t", index=False)
    return root


def _config(folders, table: str, **kwargs) -> FinetuneConfig:
    data = FinetuneDataConfig(kind="table", path=folders / table, max_tokens=kwargs.pop("max_tokens", 48))
    return FinetuneConfig(data=data, optim=OptimConfig(**OPTIM), hardware=HARDWARE, **kwargs)


def test_finetune_pretrained_learns_and_writes_outputs(folders, tmp_path):
    out = tmp_path / "run"
    metrics = finetune(_config(folders, "single.tsv", pretrained=folders / "pretrained"), out)
    assert metrics["test"]["accuracy"] > 0.9 and metrics["val"]["accuracy"] > 0.9
    assert set(metrics["test"]) == {"n", "accuracy", "macro_f1", "mcc", "auroc", "aupr", "confusion_matrix"}
    assert metrics["test"]["n"] == 32 and metrics["training"]["steps"] == 40
    assert metrics["task"]["classes"] == ["E-rich", "K-rich"]
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for name in ("config.yaml", "checkpoints/best.ckpt", "checkpoints/last.ckpt", "plots/confusion_test.png"):
        assert (out / name).is_file(), name
    predictions = pd.read_csv(out / "predictions_test.tsv", sep="\t")
    assert list(predictions.columns) == ["id_a", "label", "prediction", "p_E-rich", "p_K-rich"]
    assert (predictions.label == predictions.prediction).mean() == metrics["test"]["accuracy"]
    reloaded = load_config(out / "config.yaml", FinetuneConfig)
    assert reloaded.pretrained == folders / "pretrained" and reloaded.optim.max_steps == 40

    # the saved model predicts what the run reported
    model = AutoModelForSequenceClassification.from_pretrained(out / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    assert model.config.id2label == {0: "E-rich", 1: "K-rich"}
    test = pd.read_csv(folders / "single.tsv", sep="\t").query("split == 'test'").rename(columns={"sequence": "seq_a"})
    batch = PadCollator(tokenizer.pad_token_id)(
        [(ids, 0, i) for i, ids in enumerate(encode_examples(tokenizer, test, 48))]
    )
    with torch.no_grad():
        probs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.softmax(-1)
    np.testing.assert_allclose(probs[:, 1].numpy(), predictions["p_K-rich"], atol=1e-5)

    # --resume on a finished run continues from last.ckpt: nothing left to train, same results
    config = _config(folders, "single.tsv", pretrained=folders / "pretrained")
    again = finetune(config, out, resume=True)
    assert again["training"]["steps"] == 40 and again["test"] == metrics["test"]
    # a longer budget continues training from step 40 (without early stopping, which would stop it at
    # the 5th validation without gain, step 42); a fresh run into the folder is refused
    config.optim.max_steps, config.patience = 46, None
    assert finetune(config, out, resume=True)["training"]["steps"] == 46
    with pytest.raises(ValueError, match="already holds a run"):
        finetune(config, out)


def test_from_scratch_with_frozen_encoder(folders, tmp_path):
    config = _config(folders, "single.tsv", tokenizer=folders / "tokenizer", freeze_encoder=True)
    config.model = MlmModelConfig(num_hidden_layers=1, max_position_embeddings=66)
    config.monitor, config.patience = "val_loss", None
    metrics = finetune(config, tmp_path / "scratch")
    model = metrics["model"]
    assert model["pretrained"] is None and model["architecture"] == "roberta"
    head = 64 * 64 + 64 + 64 * 2 + 2  # classifier.dense and classifier.out_proj
    assert model["trainable_parameters"] == head < model["parameters"]
    assert (tmp_path / "scratch" / "model" / "model.safetensors").is_file()


def test_pair_classification(folders, tmp_path):
    metrics = finetune(_config(folders, "pair.tsv", pretrained=folders / "pretrained", max_tokens=40), tmp_path / "p")
    assert metrics["task"]["pair"] is True and metrics["model"]["max_tokens"] == 40
    assert metrics["test"]["accuracy"] > 0.9
    predictions = pd.read_csv(tmp_path / "p" / "predictions_test.tsv", sep="\t")
    assert list(predictions.columns[:2]) == ["id_a", "id_b"]


def test_pair_encoding_and_truncation():
    tokenizer = build_residue_tokenizer()
    frame = pd.DataFrame({"seq_a": ["MKV", "A" * 50], "seq_b": ["WW", "C" * 10]})
    short, long = encode_examples(tokenizer, frame, 20)
    assert tokenizer.convert_ids_to_tokens(short) == ["<s>", "M", "K", "V", "</s>", "</s>", "W", "W", "</s>"]
    # longest_first: the longer sequence is cut down to the shorter one, then both in turn (16 = 8 + 8)
    assert len(long) == 20 and tokenizer.decode(long, skip_special_tokens=True) == "A" * 8 + "C" * 8
    batch = PadCollator(tokenizer.pad_token_id)([(short, 1, 0), (long, 0, 1)])
    assert batch["input_ids"].shape == (2, 20) and batch["attention_mask"][0].sum() == 9
    assert (batch["input_ids"][0, 9:] == tokenizer.pad_token_id).all()


def test_errors(folders, tmp_path):
    with pytest.raises(ValueError, match="needs a tokenizer"):
        finetune(_config(folders, "single.tsv"), tmp_path / "x")


def test_cli_finetune_and_embed(folders, tmp_path):
    from typer.testing import CliRunner

    from seqlab.cli.main import app

    config = tmp_path / "ft.yaml"
    config.write_text(
        f"pretrained: {folders / 'pretrained'}\ndata:\n  kind: table\n  path: {folders / 'single.tsv'}\n"
        "optim:\n  max_steps: 6\n  batch_size: 16\n  progress_bar: false\nhardware:\n  accelerator: cpu\n"
    )
    runner = CliRunner()
    result = runner.invoke(app, ["protein", "finetune", str(config), "--out", str(tmp_path / "r"), "--set", "seed=3"])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and "AUROC" in result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["training"]["steps"] == 6

    fasta = tmp_path / "p.fa"
    fasta.write_text(">p1\nMKVLA\n>p2\nWWPPQRST\n")
    out = tmp_path / "e" / "emb.npy"
    result = runner.invoke(
        app, ["protein", "embed", str(tmp_path / "r" / "model"), "--sequences", str(fasta), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (2, 64) and (tmp_path / "e" / "emb.ids.tsv").read_text() == "id\np1\np2\n"

    result = runner.invoke(app, ["protein", "finetune", str(config), "--set", "data.kind=nope"])
    assert result.exit_code == 2 and "data.kind" in result.output


def test_longformer_folder(folders, tmp_path):
    from seqlab.protein.config import LongformerConfig
    from seqlab.protein.longformer import convert_to_longformer

    long_dir = tmp_path / "longformer"
    convert_to_longformer(folders / "pretrained", long_dir, LongformerConfig(max_length=256, attention_window=16))
    config = _config(folders, "single.tsv", pretrained=long_dir, max_tokens=512)
    config.optim.max_steps = 12
    metrics = finetune(config, tmp_path / "lf")
    assert metrics["model"]["architecture"] == "longformer" and metrics["model"]["max_tokens"] == 256
    assert metrics["training"]["steps"] == 12
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "lf" / "model")
    assert type(model).__name__ == "LongformerForSequenceClassification"


def test_protein_configs_share_the_hardware_section():
    from seqlab.config import ConfigError, validate_config
    from seqlab.protein.config import PretrainConfig

    config = FinetuneConfig.model_validate({"hardware": {"accelerator": "cpu", "threads": 1, "workers": 2}})
    assert (config.hardware.accelerator, config.hardware.threads, config.hardware.workers) == ("cpu", 1, 2)
    assert PretrainConfig().hardware.num_nodes == 1
    for key in ("accelerator", "num_workers"):
        with pytest.raises(ConfigError, match=rf"optim\.{key}: unknown key"):
            validate_config({"optim": {key: 1}}, PretrainConfig, "run.yaml", Path("."))
