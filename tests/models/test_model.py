import pytest
import torch

from seqlab.config import BasenjiConfig, DeepBindConfig, ModelConfig
from seqlab.data.encoding import reverse_complement
from seqlab.models.data_params import DataParams
from seqlab.models.heads import Head, MultiTaskLinearHead
from seqlab.models.model import count_parameters, describe, freeze_trunk, load_trunk, replace_head
from seqlab.models.sequence_model import SequenceModel, build_model, parse_model_config

SMALL = DeepBindConfig(filters=4, kernel_size=5, hidden=3)


def params(n_tasks: int, length: int, channels: int = 4) -> DataParams:
    """Data parameters of ``n_tasks`` tasks on windows of ``length`` bp."""
    encoding = "onehot" if channels == 4 else "dinucleotide"
    return DataParams(tasks=[f"t{i}" for i in range(n_tasks)], window_length=length, encoding=encoding)


def _x(n: int = 3, length: int = 30) -> torch.Tensor:
    codes = torch.randint(0, 4, (n, length), generator=torch.Generator().manual_seed(0))
    return torch.nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()


def _model(config=SMALL, n_tasks: int = 2, seed: int = 0) -> SequenceModel:
    torch.manual_seed(seed)
    return build_model(config, params(n_tasks, 30, 4)).eval()


def test_model_maps_batches_to_logits_and_features():
    model = _model()
    x = _x()
    assert model(x).shape == (3, 2) and model.features(x).shape == (3, 3)
    assert model.n_tasks == 2
    torch.testing.assert_close(model(x), model.head(model.features(x)))


def test_config_dict_form_builds_the_same_model():
    full = ModelConfig(trunk=SMALL)
    assert parse_model_config(full.model_dump(mode="json")) == full
    assert parse_model_config(SMALL) == full  # a trunk section alone gets the linear head
    assert parse_model_config({"trunk": {"arch": "basenji"}}) == ModelConfig(trunk=BasenjiConfig())
    with pytest.raises(ValueError, match=r"invalid model config: arch: "):  # the v1 layout: an unknown key
        parse_model_config({"arch": "basenji"})
    torch.manual_seed(0)
    from_dict = build_model(full.model_dump(), params(2, 30, 4))
    assert count_parameters(from_dict) == count_parameters(_model())


def test_trunk_and_head_sizes_must_match():
    with pytest.raises(ValueError, match="trunk gives 3 features but the head expects 5"):
        SequenceModel(_model().trunk, MultiTaskLinearHead(5, 1), params(1, 30))
    with pytest.raises(ValueError, match="the head has 1 outputs for the 2 tasks of data_params"):
        SequenceModel(_model().trunk, MultiTaskLinearHead(3, 1), params(2, 30))


def test_strand_probabilities_average_the_two_strands():
    model = _model(BasenjiConfig(stem_channels=4, tower_channels=[4], dilated_blocks=1, features=4))
    assert not model.strand_symmetric
    x = _x()
    with torch.no_grad():
        probs = model.strand_probabilities(x)
        expected = (torch.sigmoid(model(x)) + torch.sigmoid(model(reverse_complement(x)))) / 2
        torch.testing.assert_close(probs, expected)
        assert probs.dtype == torch.float32
        torch.testing.assert_close(model.strand_probabilities(reverse_complement(x)), probs)


def test_load_trunk_from_state_dict_checkpoint_dict_file_and_model_folder(tmp_path):
    source = _model(seed=1)
    x = _x()
    source.save_pretrained(tmp_path / "folder")
    for form in ("model", "checkpoint", "file", "model folder"):
        target = _model(seed=2)
        head_before = {k: v.clone() for k, v in target.head.state_dict().items()}
        if form == "model":
            load_trunk(target, source.state_dict())
        elif form == "model folder":
            load_trunk(target, tmp_path / "folder")
        else:
            checkpoint = {"state_dict": {f"model.{k}": v for k, v in source.state_dict().items()}}
            if form == "file":
                torch.save(checkpoint, tmp_path / "pre.ckpt")
                checkpoint = tmp_path / "pre.ckpt"
            load_trunk(target, checkpoint)
        torch.testing.assert_close(target.features(x), source.features(x))
        assert all(torch.equal(v, head_before[k]) for k, v in target.head.state_dict().items())


def test_load_trunk_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_trunk(_model(), tmp_path / "nothing.ckpt")
    with pytest.raises(ValueError, match="no trunk weights"):
        load_trunk(_model(), {"encoder.weight": torch.zeros(1)})
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_trunk(_model(), _model(DeepBindConfig(filters=5, kernel_size=5, hidden=3)).state_dict())


def test_replace_head_for_fine_tuning():
    model = _model()
    replace_head(model, params(7, 30))
    assert model(_x()).shape == (3, 7) and model.config.head.kind == "linear"
    assert model.tasks == [f"t{i}" for i in range(7)]

    class ConstantHead(Head):
        def forward(self, features):
            return torch.zeros(len(features), self.n_tasks)

    replace_head(model, params(4, 30), ConstantHead(3, 4))
    assert torch.equal(model(_x()), torch.zeros(3, 4)) and model.n_tasks == 4
    assert model.config is None  # the recorded config no longer describes the head
    with pytest.raises(ValueError, match="head expects 9 features"):
        replace_head(model, params(1, 30), MultiTaskLinearHead(9, 1))
    with pytest.raises(ValueError, match="the head has 1 outputs for 2 tasks"):
        replace_head(model, params(2, 30), MultiTaskLinearHead(3, 1))
    with pytest.raises(ValueError, match="the trunk takes 30 bp onehot windows, data_params give 40 bp onehot"):
        replace_head(model, params(2, 40))


def test_frozen_trunk_has_no_gradients_and_stays_in_eval_mode():
    model = _model(BasenjiConfig(stem_channels=4, tower_channels=[4], dilated_blocks=1, features=4))
    freeze_trunk(model)
    model.train()
    assert not model.trunk.training and model.head.training
    assert count_parameters(model, trainable_only=True) == count_parameters(model.head)
    stats = model.trunk.stem[1].running_mean.clone()
    model(_x()).sum().backward()
    assert torch.equal(model.trunk.stem[1].running_mean, stats)
    assert all(p.grad is None for p in model.trunk.parameters())
    freeze_trunk(model, frozen=False)
    assert model.trunk.training and count_parameters(model, trainable_only=True) == count_parameters(model)


def test_describe_lists_parameter_counts():
    text = describe(build_model(DeepBindConfig(), params(1, 200, 4)))
    assert text.splitlines()[0] == "SequenceModel: 10,369 parameters (10,369 trainable)"
    assert "  trunk: DeepBindTrunk 10,336" in text and "    conv: Conv1d 6,208" in text
    assert "  head: MultiTaskLinearHead 33" in text
