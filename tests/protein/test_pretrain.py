import fcntl
import json
import math
import os
import random
import socket

import pandas as pd
import pytest
import torch
import typer
from transformers import AutoModelForMaskedLM, AutoTokenizer
from typer.testing import CliRunner

from seqlab.cli.protein_pretrain import register
from seqlab.config import load_config
from seqlab.protein.config import PretrainConfig
from seqlab.protein.corpus import PairCorpus, build_pair_corpus
from seqlab.protein.pretrain import encode_corpus, pretrain
from seqlab.protein.tokenizer import build_residue_tokenizer
from seqlab.runs import RunLockedError

AA = "ACDEFGHIKLMNPQRSTVWY"
MOTIFS = ["MKVLAAG", "GHHHKK", "PPLLSSE", "WWYYRR"]


def _corpus(seed=0):
    rng = random.Random(seed)
    ids = [f"P{i:03d}" for i in range(60)]
    sequences = {
        i: "".join(rng.choice(MOTIFS) if rng.random() < 0.5 else rng.choice(AA) for _ in range(rng.randint(8, 25)))
        for i in ids
    }
    rows = [(*rng.sample(ids, 2), rng.randint(150, 999)) for _ in range(400)]
    links = pd.DataFrame(rows, columns=["protein1", "protein2", "combined_score"])
    return build_pair_corpus(links, sequences, _config().corpus, seed=seed)


def _config(**overrides):
    raw = {
        "corpus": {"score_threshold": 500, "val_fraction": 0.2, "test_fraction": 0.2},
        "tokenizer_training": {"vocab_size": 60},
        "model": {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64},
        "optim": {
            "max_steps": 30,
            "batch_size": 8,
            "val_every_steps": 10,
            "learning_rate": 2e-3,
            "progress_bar": False,
        },
        "hardware": {"accelerator": "cpu"},
    }
    raw.update(overrides)
    return PretrainConfig.model_validate(raw)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain") / "run"
    corpus = _corpus()
    metrics = pretrain(_config(), folder, corpus=corpus)
    return folder, metrics, corpus


def test_run_folder_layout_and_metrics(run):
    folder, metrics, corpus = run
    for name in (
        "config.yaml",
        "metrics.json",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "logs/metrics.csv",
        "corpus/pairs.tsv.gz",
        "tokenizer/tokenizer.json",
        "tokenizer/compression.json",
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
    ):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "metrics.json").read_text()) == metrics
    assert metrics["steps"] == 30 and metrics["mode"] == "pair"
    assert metrics["val"]["perplexity"] == pytest.approx(math.exp(metrics["val"]["mlm_loss"]))
    assert metrics["val"]["masked_tokens"] > 0 and "test" in metrics
    summary = corpus.summary()["pairs"]
    assert metrics["examples"] == {split: summary[split]["total"] for split in ("train", "val", "test")}
    assert metrics["length_limit"]["train"] == {"kept": summary["train"]["total"], "dropped": 0, "truncated": 0}
    # tokens_seen counts every non-padding token of 30 batches of 8 training pairs.
    logs = pd.read_csv(folder / "logs/metrics.csv")
    assert metrics["tokens_seen"] == int(logs["tokens_seen"].dropna().iloc[-1])
    assert 30 * 8 * 10 < metrics["tokens_seen"] < 30 * 8 * 60
    assert load_config(folder / "config.yaml", PretrainConfig).optim.max_steps == 30
    assert PairCorpus.load(folder / "corpus").frame.equals(corpus.frame)


def test_training_lowers_the_masked_lm_loss(run):
    folder, metrics, _ = run
    val = pd.read_csv(folder / "logs/metrics.csv")["val_loss"].dropna().tolist()
    assert len(val) >= 2 and val[-1] < val[0]
    vocab = len(AutoTokenizer.from_pretrained(folder / "model"))
    assert metrics["val"]["mlm_loss"] < math.log(vocab) - 0.3  # well below a uniform guess


def test_model_folder_loads_with_auto_classes(run):
    folder, _, corpus = run
    model = AutoModelForMaskedLM.from_pretrained(folder / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(folder / "model")
    assert type(model).__name__ == "RobertaForMaskedLM"
    pair = corpus.pairs("val").iloc[0]
    batch = tokenizer(pair.seq_a, pair.seq_b, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, batch["input_ids"].shape[1], len(tokenizer))


def test_resume_continues_and_a_used_folder_needs_resume(run):
    folder, metrics, _ = run
    with pytest.raises(ValueError, match="already holds a run"):
        pretrain(_config(), folder)
    config = _config()
    config.optim.max_steps = 45
    resumed = pretrain(config, folder, resume=True)
    assert resumed["steps"] == 45
    assert resumed["tokens_seen"] > metrics["tokens_seen"]
    assert torch.load(folder / "checkpoints/last.ckpt", weights_only=True)["global_step"] == 45
    steps = pd.read_csv(folder / "logs/metrics.csv")["step"].tolist()
    assert steps[0] < 30 <= steps[-1]  # the resumed run appends to the earlier log


def test_single_mode_with_a_token_budget(tmp_path):
    corpus = _corpus()
    metrics = pretrain(_config(mode="single", token_budget=1500), tmp_path / "single", corpus=corpus)
    singles = corpus.singles()
    assert metrics["examples"]["train"] == int((singles.split == "train").sum())
    assert 1500 <= metrics["tokens_seen"] < 1500 + 8 * 60
    assert metrics["steps"] < 30


def test_length_limit_drops_or_truncates_and_counts():
    corpus = _corpus()
    tokenizer = build_residue_tokenizer()
    dropped, drop_counts = encode_corpus(corpus, tokenizer, "pair", max_tokens=120)
    truncated, cut_counts = encode_corpus(corpus, tokenizer, "pair", max_tokens=120, length_policy="truncate")
    for split in ("train", "val", "test"):
        rows = corpus.pairs(split)
        lengths = (rows.seq_a.str.len() + rows.seq_b.str.len() + 4).tolist()
        n_long = sum(n > 120 for n in lengths)
        assert 0 < n_long < len(lengths) or split != "train"
        assert drop_counts[split] == {"kept": len(lengths) - n_long, "dropped": n_long, "truncated": 0}
        assert sorted(map(len, dropped[split])) == sorted(n for n in lengths if n <= 120)
        assert cut_counts[split] == {"kept": len(lengths), "dropped": 0, "truncated": n_long}
        assert [len(x) for x in truncated[split]] == [min(n, 120) for n in lengths]
    # A truncated pair keeps its template: <s> A' </s></s> B' </s>, the longer protein cut first.
    long_pair = next(i for i, n in enumerate(lengths) if n > 120)
    ids = truncated["test"][long_pair]
    row = corpus.pairs("test").iloc[long_pair]
    assert ids[0] == 0 and ids[-1] == 2 and ids.count(2) == 3
    kept_a, kept_b = ids.index(2) - 1, len(ids) - ids.index(2) - 3
    assert kept_a + kept_b == 116
    assert abs(kept_a - kept_b) <= 1 or min(kept_a, kept_b) == min(len(row.seq_a), len(row.seq_b))
    singles, single_counts = encode_corpus(corpus, tokenizer, "single", max_tokens=1000)
    first = corpus.singles().iloc[0]
    assert singles["train"][0] == tokenizer(first.sequence)["input_ids"]
    assert single_counts["train"]["dropped"] == 0


def test_cli_pretrain_from_a_corpus_folder(tmp_path):
    _corpus().save(tmp_path / "corpus")
    (tmp_path / "run.yaml").write_text(
        "corpus_dir: corpus\ntokenizer_training: {vocab_size: 40}\nmodel: {hidden_size: 32}\n"
        "optim: {max_steps: 3, batch_size: 8, val_every_steps: 2, progress_bar: false}\nhardware: {accelerator: cpu}\n"
    )
    app = typer.Typer()
    register(app)
    args = ["pretrain", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "run"), "--set", "mode=single"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["mode"] == "single"
    assert "masked LM (single), 3 steps" in result.output


def test_cli_pretrain_errors_are_clear(tmp_path):
    (tmp_path / "run.yaml").write_text("optim:\n  max_step: 3\n")
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["pretrain", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "optim.max_step: unknown key" in result.output
    (tmp_path / "ok.yaml").write_text("name: x\n")
    result = CliRunner().invoke(app, ["pretrain", str(tmp_path / "ok.yaml"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "corpus.links and corpus.sequences are needed" in result.output


class _Killed(RuntimeError):
    pass


def test_a_run_killed_mid_epoch_and_resumed_ends_as_the_uninterrupted_one(run, tmp_path, monkeypatch):
    from lightning.pytorch.callbacks import Callback

    import seqlab.protein.pretrain as module

    folder, metrics, corpus = run

    class Kill(Callback):  # dies at the first batch after the second validation's checkpoint (mid-epoch)
        validated_at = 0

        def on_validation_end(self, trainer, pl_module):
            self.validated_at = trainer.global_step

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if self.validated_at > 10 and trainer.global_step == self.validated_at:
                raise _Killed

    build = module.optim_trainer
    with monkeypatch.context() as patch:
        patch.setattr(module, "optim_trainer", lambda *a, **k: build(*a, **{**k, "extra_callbacks": [
            *k["extra_callbacks"], Kill()]}))  # fmt: skip
        with pytest.raises(_Killed):
            pretrain(_config(), tmp_path / "killed", corpus=corpus)
    state = torch.load(tmp_path / "killed/checkpoints/last.ckpt", weights_only=True)
    assert 10 < state["global_step"] < 30 and 0 < state["seqlab_resume"]["batches"]
    resumed = pretrain(_config(), tmp_path / "killed", resume=True)
    assert resumed["tokens_seen"] == metrics["tokens_seen"] and resumed["steps"] == 30
    assert resumed["val"]["mlm_loss"] == pytest.approx(metrics["val"]["mlm_loss"], rel=1e-6)
    assert resumed["test"]["mlm_loss"] == pytest.approx(metrics["test"]["mlm_loss"], rel=1e-6)
    log = pd.read_csv(tmp_path / "killed/logs/metrics.csv")
    reference = pd.read_csv(folder / "logs/metrics.csv")
    assert log["val_loss"].dropna().tolist() == pytest.approx(reference["val_loss"].dropna().tolist(), rel=1e-6)


def test_a_second_pretraining_into_a_folder_in_use_is_refused(tmp_path):
    folder = tmp_path / "busy"
    folder.mkdir()
    with open(folder / ".lock", "w") as holder:  # what a live run holds: an OS lock on .lock
        holder.write(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "started": "x"}))
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(RunLockedError, match=f"in use by another run \\(pid {os.getppid()}"):
            pretrain(_config(), folder, corpus=_corpus())
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]  # the other run's folder is untouched
