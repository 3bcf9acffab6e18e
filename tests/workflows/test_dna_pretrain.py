"""``seqlab dna pretrain``: a tiny MLM run on a genome whose model folder the ``hf`` trunk loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab.data.encoding import one_hot
from seqlab.io.errors import InputError
from seqlab.models.transformer import HFTrunk
from seqlab.protein.config import MlmModelConfig, OptimConfig
from seqlab.workflows.dna_pretrain import genome_windows, nucleotide_tokenizer, pretrain_dna
from tests.data.conftest import random_dna, write_fasta


def test_windows_skip_n_and_split_train_val(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    fasta = write_fasta(tmp_path / "g.fa", {"c1": random_dna(rng, 1000, 0.4) + "N" * 200, "c2": "acgt" * 50})
    corpus = genome_windows([fasta], window=100, val_fraction=0.25, seed=1)
    assert len(corpus.train) + len(corpus.val) == 12 and len(corpus.val) == 3  # 10 + 2; the 2 N windows dropped
    assert all(len(q) == 100 and "N" not in q and q == q.upper() for q in corpus.train + corpus.val)
    assert nucleotide_tokenizer()("ACGTN")["input_ids"][1:-1] == [5, 6, 7, 8, 9]  # after 5 specials, one per base
    with pytest.raises(InputError, match="no 2000-bp window"):
        genome_windows([fasta], window=2000)


def test_pretrain_writes_a_folder_the_hf_trunk_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    fasta = write_fasta(tmp_path / "g.fa", {"c1": random_dna(rng, 6000, 0.45)})
    model = MlmModelConfig(preset="custom", hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32)  # fmt: skip
    optim = OptimConfig(max_steps=4, batch_size=8, val_every_steps=2, progress_bar=False)
    metrics = pretrain_dna([fasta], tmp_path / "run", window=60, model=model, optim=optim)
    assert metrics["steps"] == 4 and metrics["windows"] == {"train": 95, "val": 5, "bp": 60}
    assert np.isfinite(metrics["val"]["mlm_loss"]) and metrics["val"]["perplexity"] > 1
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics
    trunk = HFTrunk(4, 60, path=tmp_path / "run" / "model")
    x = torch.as_tensor(np.stack([one_hot(random_dna(rng, 60, 0.5)) for _ in range(3)]))
    assert trunk(x).shape == (3, 16) and trunk.out_features == 16
    with pytest.raises(InputError, match="exists"):  # nothing is replaced
        pretrain_dna([fasta], tmp_path / "run", window=60, model=model, optim=optim)


def test_cli_dna_pretrain(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seqlab.cli.main import app

    fasta = write_fasta(tmp_path / "g.fa", {"c1": random_dna(np.random.default_rng(2), 2000, 0.45)})
    args = ["dna", "pretrain", str(fasta), "--out", str(tmp_path / "run"), "--window", "50", "--max-steps", "2",
            "--batch-size", "8", "--val-every-steps", "1", "--threads", "1"]  # fmt: skip
    bad = CliRunner().invoke(app, [*args, "--preset", "huge"])
    assert bad.exit_code == 2 and "--preset must be one of tiny, small, base" in bad.output
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "model" / "config.json").is_file() and "2 steps" in result.output
