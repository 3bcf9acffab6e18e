"""SequenceModel: the model carries its data; predict(strings) and its window rule; one pass for symmetric trunks."""

import logging

import numpy as np
import pytest
import torch

from seqlab.data.encoding import encode_batch, reverse_complement
from seqlab.models.metadata import MetadataEncoder
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.scoring import fit_to_window
from seqlab.models.sequence_model import SequenceModel, build_model

DEEPBIND = {"trunk": {"arch": "deepbind", "filters": 6, "kernel_size": 5, "hidden": 4}}
BASENJI = {"trunk": {"arch": "basenji", "stem_channels": 4, "tower_channels": [4], "dilated_blocks": 1, "features": 4}}


def _model(config=DEEPBIND, encoding="onehot", length=24, seed=0) -> SequenceModel:
    torch.manual_seed(seed)
    params = {"tasks": ["a", "b"], "window_length": length, "encoding": encoding}
    return build_model(config, params).eval()


def _random(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def _two_pass(model: SequenceModel, x: torch.Tensor) -> torch.Tensor:
    """The strand logits as seqlab computed them before: the reverse complement through the model again."""
    forward_strand, reverse_strand = model(torch.cat([x, reverse_complement(x, model.encoding)])).chunk(2)
    return torch.stack((forward_strand, reverse_strand), dim=1)


@pytest.mark.parametrize("encoding", ["onehot", "dinucleotide"])
def test_a_strand_symmetric_trunk_runs_once_and_equals_the_two_pass_result(encoding):
    model = _model(encoding=encoding)
    assert model.strand_symmetric and model.trunk.strand_symmetric is True
    x = encode_batch(_random(8, 24) + ["ACGTN" * 4 + "NNNN"], encoding)
    calls = []
    model.trunk.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0].shape[0]))
    with torch.no_grad():
        one = model.strand_logits(x)
        assert calls == [9]  # one trunk pass of the 9 windows (two passes would be 18 windows)
        two = _two_pass(model, x)
        torch.testing.assert_close(one, two, rtol=0, atol=1e-6)
        torch.testing.assert_close(one[:, 0], one[:, 1], rtol=0, atol=0)
        torch.testing.assert_close(model.strand_probabilities(x), torch.sigmoid(two).mean(dim=1), rtol=0, atol=1e-6)
        features = model.strand_features(x)
        torch.testing.assert_close(features[:, 0], model.features(reverse_complement(x, encoding)), rtol=0, atol=1e-6)


def test_other_trunks_run_both_strands():
    model = _model(BASENJI)
    assert not model.strand_symmetric
    x = encode_batch(_random(4, 24))
    with torch.no_grad():
        torch.testing.assert_close(model.strand_logits(x), _two_pass(model, x))
        assert not torch.allclose(model.strand_logits(x)[:, 0], model.strand_logits(x)[:, 1])


def test_predict_returns_probabilities_and_logits_per_task():
    model = _model()
    windows = _random(5, 24)
    result = model.predict(windows, batch_size=2)
    assert result.tasks == ["a", "b"] and result.probabilities.shape == result.logits.shape == (5, 2)
    with torch.no_grad():
        logits = _two_pass(model, encode_batch(windows)).double()
    np.testing.assert_allclose(result.logits, logits.mean(dim=1).numpy(), atol=1e-6)
    np.testing.assert_allclose(result.probabilities, torch.sigmoid(logits).mean(dim=1).numpy(), atol=1e-6)
    assert not result.cropped.any() and not result.padded.any()
    frame = result.to_frame()
    assert list(frame.columns) == ["cropped", "padded", "a", "b", "logit.a", "logit.b"]
    np.testing.assert_array_equal(frame["b"].to_numpy(), result.probabilities[:, 1])
    empty = model.predict([])
    assert empty.probabilities.shape == (0, 2)


def test_the_window_rule_centre_crops_longer_and_pads_shorter_sequences(caplog):
    # base len // 2 of the sequence sits at position L // 2 of the window
    windows, cropped, padded = fit_to_window(["ACGTACGTAC", "ACGTACGTACGT", "ACG", "AC", ""], 6)
    assert windows == ["GTACGT", "TACGTA", "NNACGN", "NNACNN", "NNNNNN"]
    assert cropped.tolist() == [True, True, False, False, False]
    assert padded.tolist() == [False, False, True, True, True]

    model = _model(length=24)
    core = _random(1, 24)[0]
    sequences = ["TTTT" + core + "GGGG", core[4:20], core]
    with caplog.at_level(logging.WARNING):
        result = model.predict(sequences)
    assert result.cropped.tolist() == [True, False, False] and result.padded.tolist() == [False, True, False]
    assert "1 of 3 sequences are longer than the 24 bp window: their centre 24 bp were scored" in caplog.text
    assert "1 of 3 sequences are shorter than the 24 bp window: padded with N on both sides" in caplog.text
    expected = model.predict([core, "NNNN" + core[4:20] + "NNNN"])
    np.testing.assert_array_equal(result.probabilities[[0, 1]], expected.probabilities[[0, 1]])
    np.testing.assert_array_equal(result.probabilities[0], result.probabilities[2])


def test_predict_refuses_what_it_cannot_score():
    model = _model()
    with pytest.raises(TypeError, match="wrap a single sequence in a list"):
        model.predict("ACGT" * 6)
    with pytest.raises(ValueError, match=r"sequence 1: 'X' at position 2 is not a DNA base"):
        model.predict(["ACGT" * 6, "ACXT"])
    with pytest.raises(ValueError, match=r"1 window\(s\) are all N, first sequence 1"):
        model.predict(["ACGT" * 6, ""])
    assert model.predict(["N" * 24], allow_all_n=True).probabilities.shape == (1, 2)


def test_predict_keeps_the_training_mode():
    model = _model().train()
    model.predict(_random(2, 24))
    assert model.training


def test_the_model_carries_its_data_and_head_vocabularies(tmp_path):
    records = [{"task": "e1", "target": "CTCF", "lab": "L1"}, {"task": "e2", "target": "REST", "lab": "L2"}]
    encoder = MetadataEncoder({"target": "categorical", "lab": "categorical"}).fit(records)
    head = MetadataHead(4, encoder, records, {"biological": ["target"], "technical": ["lab"]}, None, 0)
    trunk = _model({"trunk": {"arch": "deepbind", "filters": 2, "kernel_size": 5, "hidden": 4}}).trunk
    model = SequenceModel(trunk, head, {"tasks": ["e1", "e2"], "window_length": 24, "encoding": "onehot",
                                        "task_metadata": records})  # fmt: skip
    assert model.vocabularies == {"lab": ["L1", "L2"], "target": ["CTCF", "REST"]}
    assert model.tasks == ["e1", "e2"] and model.window_length == 24 and model.encoding == "onehot"
    assert _model().vocabularies == {}

    linear = _model()
    folder = linear.save_pretrained(tmp_path / "m")
    loaded = SequenceModel.from_pretrained(folder)
    assert loaded.data_params == linear.data_params and loaded.config == linear.config
    sequences = _random(3, 30)
    np.testing.assert_array_equal(loaded.predict(sequences).logits, linear.predict(sequences).logits)
