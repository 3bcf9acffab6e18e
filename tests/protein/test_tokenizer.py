import json
import random

import pytest
import typer
from tokenizers import Tokenizer, models
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from typer.testing import CliRunner

from seqlab.cli.protein_pretrain import register
from seqlab.io.protein import ALPHABET
from seqlab.protein.config import TokenizerConfig
from seqlab.protein.tokenizer import (
    SPECIAL_TOKENS,
    build_residue_tokenizer,
    compression_report,
    load_tokenizer,
    train_bpe_tokenizer,
    truncation,
    write_compression_report,
)

MOTIF = "MKVLAAGH"


def _sequences(n=200, seed=0):
    rng = random.Random(seed)
    # 'W' never occurs, so the alphabet must come from initial_alphabet.
    letters = ALPHABET.replace("W", "")
    return ["".join(MOTIF if rng.random() < 0.3 else rng.choice(letters) for _ in range(30)) for _ in range(n)]


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bpe")
    return train_bpe_tokenizer(_sequences(), TokenizerConfig(vocab_size=80, model_max_length=256), folder), folder


def test_special_tokens_and_alphabet(bpe):
    tokenizer, _ = bpe
    vocab = tokenizer.get_vocab()
    assert [vocab[t] for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert (tokenizer.unk_token_id, tokenizer.mask_token_id) == (3, 4)
    assert (tokenizer.cls_token, tokenizer.sep_token) == ("<s>", "</s>")
    assert all(letter in vocab for letter in ALPHABET)
    assert len(tokenizer) == 80
    # The frequent motif is learned as one token; an unknown character is <unk>.
    assert tokenizer.tokenize(MOTIF) == [MOTIF]
    assert tokenizer.convert_ids_to_tokens(tokenizer("W*")["input_ids"]) == ["<s>", "W", "<unk>", "</s>"]


def test_single_and_pair_templates():
    tokenizer = build_residue_tokenizer()
    single = tokenizer("MKV")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(single) == ["<s>", "M", "K", "V", "</s>"]
    pair = tokenizer("MK", "AC")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(pair) == ["<s>", "M", "K", "</s>", "</s>", "A", "C", "</s>"]
    assert len(tokenizer) == 26
    assert tokenizer.decode(pair, skip_special_tokens=True) == "MKAC"


def test_autotokenizer_loads_the_folder(bpe):
    tokenizer, folder = bpe
    names = {p.name for p in folder.iterdir()}
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= names
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"
    loaded = AutoTokenizer.from_pretrained(folder)
    assert loaded.model_max_length == 256 and loaded.mask_token == "<mask>"
    seq_a, seq_b = _sequences(2, seed=5)
    assert loaded(seq_a, seq_b)["input_ids"] == tokenizer(seq_a, seq_b)["input_ids"]
    ids = loaded(seq_a, seq_b)["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2 and ids.count(2) == 3
    assert loaded.decode(loaded(seq_a)["input_ids"], skip_special_tokens=True) == seq_a
    assert load_tokenizer(folder)(seq_a)["input_ids"] == loaded(seq_a)["input_ids"]
    with pytest.raises(FileNotFoundError, match="no tokenizer"):
        load_tokenizer(folder / "missing")


def test_truncation_context_sets_and_restores_the_backend_state():
    tokenizer = build_residue_tokenizer()
    assert len(tokenizer("MKVLA", truncation=True, max_length=4)["input_ids"]) == 4
    left = tokenizer.backend_tokenizer.truncation  # transformers leaves the backend truncating
    with truncation(tokenizer, None) as backend:
        assert len(backend.encode("MKVLA").ids) == 7
    assert tokenizer.backend_tokenizer.truncation == left
    with truncation(tokenizer, 6) as backend:
        assert backend.encode("MKVLA", "GHHK").tokens == ["<s>", "M", "</s>", "</s>", "G", "</s>"]
    assert tokenizer.backend_tokenizer.truncation == left


def test_compression_report_exact(tmp_path):
    # BPE with one merge, A+A -> AA: "AAAA" -> AA AA, "AAC" -> AA C.
    vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, "A", "C", "AA"])}
    merged = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE(vocab=vocab, merges=[("A", "A")])))
    report = compression_report(merged, ["AAAA", "AAC"], thresholds=(4, 5))
    assert report["sequences"] == 2 and report["residues"] == 7
    assert report["bpe"] == {
        "tokens": 4,
        "mean_residues_per_token": 1.75,
        "mean_tokens_per_sequence": 2.0,
        "share_longer_than": {"4": 0.0, "5": 0.0},  # 2 + 2 specials = 4 tokens each
    }
    assert report["residue"]["share_longer_than"] == {"4": 1.0, "5": 0.5}  # 6 and 5 tokens with specials
    # Default thresholds: with specials, lengths 512, 513, 1025, 2049, 12.
    seqs = ["A" * n for n in (510, 511, 1023, 2047, 10)]
    per_residue = compression_report(build_residue_tokenizer(), seqs)
    for name in ("bpe", "residue"):
        assert per_residue[name]["mean_residues_per_token"] == 1.0
        assert per_residue[name]["share_longer_than"] == {"512": 0.6, "1024": 0.4, "2048": 0.2}
    json_path, tsv_path = write_compression_report(report, tmp_path)
    assert json.loads(json_path.read_text()) == report
    lines = tsv_path.read_text().splitlines()
    assert lines[0].split("\t") == [
        "tokenizer",
        "sequences",
        "residues",
        "tokens",
        "mean_residues_per_token",
        "mean_tokens_per_sequence",
        "share_longer_than_4",
        "share_longer_than_5",
    ]
    assert lines[1].split("\t") == ["bpe", "2", "7", "4", "1.75", "2", "0", "0"]
    assert lines[2].split("\t") == ["residue", "2", "7", "7", "1", "3.5", "1", "0.5"]


def test_cli_tokenizer(tmp_path):
    seq_path = tmp_path / "seqs.tsv"
    seq_path.write_text("".join(f"P{i}\t{s}\n" for i, s in enumerate(_sequences(50))))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["tokenizer", "--sequences", str(seq_path), "--out", str(tmp_path / "tok"), "--vocab-size", "60"]
    )
    assert result.exit_code == 0, result.output
    assert "compression on 50 sequences" in result.output
    assert len(AutoTokenizer.from_pretrained(tmp_path / "tok")) == 60
    assert (tmp_path / "tok" / "compression.tsv").is_file()
    before = (tmp_path / "tok" / "tokenizer.json").read_bytes()
    args = ["tokenizer", "--sequences", str(seq_path), "--out", str(tmp_path / "tok"), "--vocab-size", "40"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "exists" in refused.output
    assert (tmp_path / "tok" / "tokenizer.json").read_bytes() == before  # nothing replaced
    replaced = CliRunner().invoke(app, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert len(AutoTokenizer.from_pretrained(tmp_path / "tok")) == 40
