import numpy as np
import pytest
import torch
from transformers import AutoModel

from seqlab.protein.config import MlmModelConfig
from seqlab.protein.embed import embed_sequences, ids_path, write_embeddings
from seqlab.protein.mlm import build_mlm_model
from seqlab.protein.tokenizer import build_residue_tokenizer

SEQS = {
    "a": "MKV",
    "b": "MKVLAAGGHHWWPPQQRRSSTTYYEE" * 2,
    "c": "ACDEFGHIK",
    "d": "W",
    "e": "MSTNPKPQRKTKRNTNRRPQDVKFPGG",
}



@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlm")
    tokenizer = build_residue_tokenizer(out_dir=folder)
    torch.manual_seed(0)
    build_mlm_model(MlmModelConfig(max_position_embeddings=66), tokenizer).save_pretrained(folder)
    return folder


def test_mean_pooling_ignores_padding_and_specials(model_dir):
    ids, batched = embed_sequences(model_dir, SEQS, batch_size=5)
    assert ids == list(SEQS) and batched.shape == (5, 64) and batched.dtype == np.float32
    for i, key in enumerate(ids):
        _, alone = embed_sequences(model_dir, {key: SEQS[key]}, batch_size=1)
        np.testing.assert_allclose(batched[i], alone[0], atol=1e-5)
    # by hand for one sequence: mean over the residue tokens between <s> and </s>
    model = AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([[0] + [5 + "ACDEFGHIKLMNPQRSTVWYX".index(r) for r in "MKV"] + [2]]))
    np.testing.assert_allclose(batched[0], hidden.last_hidden_state[0, 1:-1].mean(0).numpy(), atol=1e-5)


def test_truncation_cls_fasta_and_files(model_dir, tmp_path):
    fasta = tmp_path / "p.fa"
    fasta.write_text("".join(f">{k} desc\n{v}\n" for k, v in SEQS.items()))
    ids, cls = embed_sequences(model_dir, fasta, batch_size=2, pooling="cls", max_tokens=8)
    assert ids == list(SEQS) and cls.shape == (5, 64)
    # 'b' (52 residues) and 'e' (27) are truncated to 6 residues: their first 6 residues are the same
    _, short = embed_sequences(model_dir, {"x": SEQS["b"][:6]}, pooling="cls")
    np.testing.assert_allclose(cls[1], short[0], atol=1e-5)
    npy, id_file = write_embeddings(ids, cls, tmp_path / "out" / "emb.npy")
    np.testing.assert_array_equal(np.load(npy), cls)
    assert id_file == ids_path(npy) == tmp_path / "out" / "emb.ids.tsv"
    assert id_file.read_text().splitlines() == ["id", *SEQS]
    with pytest.raises(ValueError, match=r"\.npy"):
        write_embeddings(ids, cls, tmp_path / "emb.txt")
    with pytest.raises(ValueError, match="pooling"):
        embed_sequences(model_dir, SEQS, pooling="max")
