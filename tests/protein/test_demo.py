import json

import numpy as np

from seqlab.demo.protein import STAND_IN_NOTE, run_protein_demo, stand_in_pairs
from seqlab.protein.corpus import PairCorpus
from seqlab.protein.tasks import load_localization


def test_stand_in_pairs_rules():
    rng = np.random.default_rng(0)
    ids = np.array([f"P{i}" for i in range(200)])
    compartments = rng.integers(0, 4, 200)
    sequences = np.array(["MK" * (i % 7 + 1) for i in range(200)])
    corpus = stand_in_pairs(ids, sequences, compartments, 300, seed=1)
    frame = corpus.frame
    label = dict(zip(ids, compartments, strict=True))
    same = np.array([label[a] == label[b] for a, b in zip(frame.id_a, frame.id_b, strict=True)])
    np.testing.assert_array_equal(same, frame.binding == 1)
    assert (frame.id_a != frame.id_b).all()
    assert not frame.duplicated(["id_a", "id_b"]).any()
    pairs = corpus.summary()["pairs"]
    assert pairs["all"]["total"] == 300 and pairs["train"]["binding"] == pairs["train"]["non_binding"] == 120
    assert corpus.summary()["val_test_proteins_in_train"] == 0


def test_quick_demo(tmp_path, capsys):
    metrics = run_protein_demo(tmp_path / "demo", seed=0, quick=True)
    printed = capsys.readouterr().out
    assert "STAND-IN" in printed and "pre-trained" in printed and "from scratch" in printed
    saved = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert saved == metrics and saved["stand_in_pairs"] is True and saved["note"] == STAND_IN_NOTE
    runs = metrics["finetune"]
    assert runs["pretrained"]["steps"] == runs["scratch"]["steps"] == 20
    assert runs["classes"] == ["Cytoplasm", "Membrane", "Mitochondrion", "Nucleus", "Other", "Plastid", "Secreted"]
    for key in ("pretrained", "scratch"):
        assert set(runs[key]["test"]) >= {"accuracy", "macro_f1", "mcc"}
        assert (tmp_path / "demo" / f"finetune-{key}" / "model" / "config.json").is_file()
    # pre-training saw only proteins of the localization training split
    corpus = PairCorpus.load(tmp_path / "demo" / "pretrain" / "corpus")
    held_out = set(load_localization().frame.query("split != 'train'").id_a)
    assert not set(corpus.proteins()) & held_out
    assert metrics["pretrain"]["steps"] == 20
