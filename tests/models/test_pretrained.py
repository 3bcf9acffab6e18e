"""Head/trunk registries and self-describing model folders (model.save_pretrained -> SequenceModel.from_pretrained)."""

import json
from typing import Literal

import pytest
import torch

from seqlab.config import (
    HEAD_CONFIGS,
    DeepBindConfig,
    HeadConfig,
    ModelConfig,
    register_head_config,
)
from seqlab.models.data_params import DataParams
from seqlab.models.heads import HEADS, Head, build_head, register_head
from seqlab.models.sequence_model import SequenceModel, build_model
from seqlab.models.trunks import TRUNKS, DeepBindTrunk, register_trunk

PARAMS = DataParams(
    tasks=["CTCF", "REST", "POL2"],
    window_length=40,
    encoding="onehot",
    genome_name="sim",
    task_metadata=[{"task": t, "scale": float(i + 1)} for i, t in enumerate(["CTCF", "REST", "POL2"])],
)


class ScaledHeadConfig(HeadConfig):
    """Test head: a linear read-out scaled per task by the task table's ``scale`` column."""

    kind: Literal["test_scaled"] = "test_scaled"
    bias: bool = True


class ScaledHead(Head):
    """Builds from the task metadata, like a metadata head: buffer scale (T,) from data_params."""

    def __init__(self, in_features: int, scales: list[float], bias: bool) -> None:
        super().__init__(in_features, len(scales))
        self.linear = torch.nn.Linear(in_features, len(scales), bias=bias)
        self.register_buffer("scale", torch.tensor(scales))

    @classmethod
    def from_config(cls, config, in_features, data_params):
        return cls(in_features, [record["scale"] for record in data_params.task_metadata], config.bias)

    def forward(self, features):
        return self.linear(features) * self.scale


@pytest.fixture(autouse=True)
def scaled_head():
    """Register the test head for one test only (the registries are global: the config reference reads them)."""
    register_head_config(ScaledHeadConfig)
    register_head("test_scaled")(ScaledHead)
    yield
    HEAD_CONFIGS.pop("test_scaled")
    HEADS.pop("test_scaled")


def _x(n: int = 5) -> torch.Tensor:
    codes = torch.randint(0, 4, (n, 40), generator=torch.Generator().manual_seed(3))
    return torch.nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()


def test_registered_head_is_built_from_its_config_and_metadata():
    config = ModelConfig.model_validate(
        {"trunk": {"arch": "deepbind", "kernel_size": 6}, "head": {"kind": "test_scaled", "bias": False}}
    )
    assert isinstance(config.head, ScaledHeadConfig) and config.head.bias is False
    model = build_model(config, PARAMS)
    assert isinstance(model.head, ScaledHead) and model.head.linear.bias is None
    assert model.head.scale.tolist() == [1.0, 2.0, 3.0]
    assert model(_x()).shape == (5, 3)
    assert config.model_dump(mode="json")["head"] == {"kind": "test_scaled", "bias": False}
    assert HEADS["linear"].__name__ == "MultiTaskLinearHead" and TRUNKS["deepbind"] is DeepBindTrunk


def test_build_head_and_registries_reject_unknown_or_duplicate_kinds():
    with pytest.raises(ValueError, match=r"model\.head\.kind: unknown value 'nope'"):
        build_head({"kind": "nope"}, 8, PARAMS)
    with pytest.raises(ValueError, match="registered already"):
        register_head("linear")(ScaledHead)
    with pytest.raises(ValueError, match="registered already"):
        register_trunk("deepbind")(torch.nn.Linear)


@pytest.mark.parametrize(
    "config",
    [
        {"trunk": {"arch": "deepbind", "kernel_size": 6, "hidden": 8}},
        {"trunk": {"arch": "basenji", "stem_channels": 4, "tower_channels": [4], "dilated_blocks": 1, "features": 4}},
        {"trunk": {"arch": "deepbind", "kernel_size": 6}, "head": {"kind": "test_scaled"}},
    ],
    ids=["deepbind-linear", "basenji-linear", "deepbind-registered-head"],
)
def test_save_pretrained_then_from_pretrained_gives_identical_logits(tmp_path, config):
    config = ModelConfig.model_validate(config)
    torch.manual_seed(0)
    model = build_model(config, PARAMS).eval()
    with torch.no_grad():  # move batch-norm statistics away from their initial values
        for buffer in model.buffers():
            if buffer.dtype.is_floating_point:
                buffer.add_(0.25)
    folder = model.save_pretrained(tmp_path / "model")
    document = json.loads((folder / "config.json").read_text())
    assert document["format"] == "seqlab-dna-model" and document["version"] == 1
    assert document["model"] == config.model_dump(mode="json")
    assert document["data"]["tasks"] == ["CTCF", "REST", "POL2"] and document["data"]["version"] == 1
    loaded = SequenceModel.from_pretrained(folder)
    assert loaded.data_params == PARAMS and not loaded.training
    assert loaded.tasks == ["CTCF", "REST", "POL2"] and loaded.window_length == 40 and loaded.encoding == "onehot"
    assert type(loaded.head) is type(model.head)
    x = _x()
    assert torch.equal(loaded(x), model(x))
    again = SequenceModel.from_pretrained(tmp_path)  # a run folder holding model/
    assert torch.equal(again(x), model(x))


def test_save_pretrained_replaces_an_existing_folder(tmp_path):
    torch.manual_seed(0)
    first = build_model(DeepBindConfig(kernel_size=6), PARAMS)
    second = build_model(DeepBindConfig(kernel_size=6), PARAMS)
    first.save_pretrained(tmp_path / "m")
    second.save_pretrained(tmp_path / "m")
    loaded = SequenceModel.from_pretrained(tmp_path / "m")
    assert torch.equal(loaded.eval()(_x()), second.eval()(_x()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_model_folder_errors_name_the_file(tmp_path):
    torch.manual_seed(0)
    folder = build_model(DeepBindConfig(kernel_size=6), PARAMS).save_pretrained(tmp_path / "m")
    document = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(document | {"version": 2}))
    with pytest.raises(ValueError, match=r"config.json: model folder version 2; this seqlab reads versions 1..1"):
        SequenceModel.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps(document | {"format": "other"}))
    with pytest.raises(ValueError, match="not a seqlab DNA model"):
        SequenceModel.from_pretrained(folder)
    wrong = document | {"model": {"trunk": {"arch": "deepbind", "kernel_size": 7}, "head": {"kind": "linear"}}}
    (folder / "config.json").write_text(json.dumps(wrong))
    with pytest.raises(ValueError, match="model.safetensors does not fit the model"):
        SequenceModel.from_pretrained(folder)
    with pytest.raises(FileNotFoundError, match="holds no model"):
        SequenceModel.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="no model at"):
        SequenceModel.from_pretrained(tmp_path / "absent.ckpt")
    with pytest.raises(ValueError, match="records none"):
        SequenceModel(folder_model().trunk, folder_model().head, PARAMS).save_pretrained(tmp_path / "n")


def folder_model() -> SequenceModel:
    return build_model(DeepBindConfig(kernel_size=6), PARAMS)


def test_data_params_are_versioned_and_strict():
    assert DataParams.from_dict(PARAMS.to_dict()) == PARAMS
    v1_checkpoint = {k: v for k, v in PARAMS.to_dict().items() if k != "version"}
    assert DataParams.from_dict(v1_checkpoint) == PARAMS
    assert PARAMS.n_tasks == 3 and PARAMS.in_channels == 4
    with pytest.raises(ValueError, match="species: unknown key"):
        DataParams.from_dict(PARAMS.to_dict() | {"species": "mouse"})
    with pytest.raises(ValueError, match="version"):
        DataParams.from_dict(PARAMS.to_dict() | {"version": 9})


def test_a_checkpoint_rebuilds_its_registered_head(tmp_path):
    from seqlab.training.supervised import SupervisedModule

    config = ModelConfig.model_validate(
        {"trunk": {"arch": "deepbind", "kernel_size": 6}, "head": {"kind": "test_scaled"}}
    )
    torch.manual_seed(0)
    module = SupervisedModule(config, PARAMS.to_dict())
    path = tmp_path / "best.ckpt"
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, path)
    model = SequenceModel.from_pretrained(path)
    assert isinstance(model.head, ScaledHead) and model.data_params == PARAMS
    assert torch.equal(model(_x()), module.model.eval()(_x()))
    v1 = dict(module.hparams) | {"model_config": {"arch": "deepbind", "kernel_size": 6}}  # a layout never shipped
    torch.save({"hyper_parameters": v1, "state_dict": module.state_dict()}, path)
    with pytest.raises(ValueError, match=r"best.ckpt: invalid model config"):
        SequenceModel.from_pretrained(path)


# --------------------------------------------------------------------------- issue 17: integrity (items 4, 11)


def _saved(tmp_path):
    torch.manual_seed(0)
    return build_model(DeepBindConfig(kernel_size=6), PARAMS).save_pretrained(tmp_path / "m")


def test_a_model_folder_records_and_checks_the_sha256_of_its_weights(tmp_path, monkeypatch):
    import hashlib

    from seqlab.io.errors import InputError

    folder = _saved(tmp_path)
    weights = folder / "model.safetensors"
    document = json.loads((folder / "config.json").read_text())
    assert document["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight: still valid safetensors
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match=rf"^{weights}: the weights changed after the model folder was written"):
        SequenceModel.from_pretrained(folder)
    monkeypatch.setenv("SEQLAB_SKIP_WEIGHTS_CHECK", "1")  # the documented override
    SequenceModel.from_pretrained(folder)


def test_a_folder_without_a_recorded_digest_is_refused_unless_overridden(tmp_path, monkeypatch):
    from seqlab.io.errors import InputError

    folder = _saved(tmp_path)
    document = json.loads((folder / "config.json").read_text())
    del document["weights_sha256"]
    (folder / "config.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"config.json: no weights_sha256 recorded"):
        SequenceModel.from_pretrained(folder)
    monkeypatch.setenv("SEQLAB_SKIP_WEIGHTS_CHECK", "1")
    SequenceModel.from_pretrained(folder)


@pytest.mark.parametrize("keep", [0, 7, 100, 0.5])
def test_a_truncated_weights_file_is_one_line(tmp_path, monkeypatch, keep):
    from seqlab.io.errors import InputError

    folder = _saved(tmp_path)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(InputError, match=rf"^{weights}: the weights changed"):
        SequenceModel.from_pretrained(folder)
    monkeypatch.setenv("SEQLAB_SKIP_WEIGHTS_CHECK", "1")  # unchecked, the damage itself is named
    with pytest.raises(InputError, match=rf"^{weights}: not a readable safetensors file") as err:
        SequenceModel.from_pretrained(folder)
    assert "\n" not in str(err.value)


def test_a_config_asking_for_a_huge_trunk_is_refused_before_allocating(tmp_path, monkeypatch):
    import time

    folder = _saved(tmp_path)
    document = json.loads((folder / "config.json").read_text())
    document["model"]["trunk"] |= {"filters": 200_000, "hidden": 200_000}  # 80 billion parameters: 320 GB
    (folder / "config.json").write_text(json.dumps(document))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"config.json: model.trunk \(deepbind\) would have 80,005,200,000 parameters"):
        SequenceModel.from_pretrained(folder)
    assert time.perf_counter() - start < 5  # nothing was allocated
    monkeypatch.setenv("SEQLAB_MAX_PARAMETERS", "1000")  # the override also lowers the limit
    with pytest.raises(ValueError, match="more than the limit of 1,000"):
        build_model(DeepBindConfig(kernel_size=6), PARAMS)
    monkeypatch.setenv("SEQLAB_MAX_PARAMETERS", "lots")
    with pytest.raises(ValueError, match="SEQLAB_MAX_PARAMETERS='lots'"):
        build_model(DeepBindConfig(kernel_size=6), PARAMS)


def test_a_tampered_training_checkpoint_given_as_a_model_runs_no_code(tmp_path):
    from seqlab.io.errors import InputError

    marker = tmp_path / "pwned"

    class Marker:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"state_dict": {}, "hyper_parameters": Marker()}, tmp_path / "best.ckpt")
    with pytest.raises(InputError, match="best.ckpt: cannot be read safely as a checkpoint"):
        SequenceModel.from_pretrained(tmp_path / "best.ckpt")
    assert not marker.exists()
