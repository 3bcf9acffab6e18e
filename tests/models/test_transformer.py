from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqlab.config import HFConfig, TransformerConfig
from seqlab.data.encoding import encode
from seqlab.models.sequence_model import build_model
from seqlab.models.transformer import TransformerTrunk, decode_onehot, kmer_tokens


def _params(seq_len: int, n_tasks: int) -> dict:
    return {"tasks": [f"t{i}" for i in range(n_tasks)], "window_length": seq_len, "encoding": "onehot",
            "genome_name": "g", "task_metadata": []}  # fmt: skip


def _onehot(*sequences: str) -> torch.Tensor:
    return torch.stack([torch.from_numpy(encode(s, "onehot")) for s in sequences])


def test_kmer_tokens_exact() -> None:
    x = _onehot("ACGTNA")
    assert kmer_tokens(x, 1, 1).tolist() == [[0, 1, 2, 3, 4, 0]]
    # 2-mers every 2 bp: AC = 0*4+1, GT = 2*4+3, NA -> N token 16
    assert kmer_tokens(x, 2, 2).tolist() == [[1, 11, 16]]
    # overlapping 3-mers: ACG = 0*16+1*4+2, CGT = 16+8+3, GTN, TNA -> 64
    assert kmer_tokens(x, 3, 1).tolist() == [[6, 27, 64, 64]]
    noisy = x + 0.05 * torch.randn_like(x)
    assert kmer_tokens(noisy, 1, 1).tolist() == [[0, 1, 2, 3, 4, 0]]
    assert decode_onehot(x) == ["ACGTNA"]


def test_transformer_trunk_from_config() -> None:
    torch.manual_seed(0)
    config = TransformerConfig(kmer=3, stride=1, d_model=16, layers=1, heads=2, feedforward=32)
    model = build_model(config, _params(40, 2))
    x = _onehot("ACGT" * 10, "TTGCA" * 8)
    logits = model(x)
    assert logits.shape == (2, 2) and logits.dtype == torch.float32
    logits.sum().backward()
    assert model.trunk.embed.weight.grad is not None
    assert model.trunk.position.shape == (1, 39, 16)  # 38 overlapping 3-mers + CLS
    with pytest.raises(ValueError, match="heads"):
        TransformerConfig(d_model=10, heads=4)
    with pytest.raises(ValueError, match="one-hot"):
        TransformerTrunk(16, 40)


def _tiny_hf_folder(folder: Path) -> Path:
    transformers = pytest.importorskip("transformers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"ACGTN", *(f"##{b}" for b in "ACGTN")]
    tokenizer = transformers.BertTokenizerFast(vocab={word: i for i, word in enumerate(vocab)}, do_lower_case=False)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=64)  # fmt: skip
    transformers.BertModel(config).save_pretrained(folder)
    return folder


def test_hf_trunk_loads_a_local_folder_offline(tmp_path: Path) -> None:
    folder = _tiny_hf_folder(tmp_path)
    import transformers

    model = build_model(HFConfig(path=folder), _params(20, 3)).eval()
    x = _onehot("ACGTACGTACGTACGTACGT", "GGGGCCCCAAAATTTTNNAC")
    with torch.no_grad():
        features = model.features(x)
        assert model(x).shape == (2, 3)
        # the same numbers through transformers directly: tokens [CLS] A ##C ... [SEP], masked mean
        reference = transformers.BertModel.from_pretrained(folder).eval()
        ids = transformers.AutoTokenizer.from_pretrained(folder)(decode_onehot(x), return_tensors="pt", padding=True)
        assert ids["input_ids"][0, :4].tolist() == [2, 5, 11, 12]  # [CLS] A ##C ##G
        expected = reference(**ids).last_hidden_state.mean(dim=1)
    assert features.shape == (2, 16)
    assert torch.allclose(features, expected, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="config.json"):
        build_model(HFConfig(path=tmp_path / "missing"), _params(20, 1))
