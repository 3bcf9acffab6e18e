import pytest
import torch

from seqlab.config import DEEPBIND_PRESETS, BasenjiConfig, DeepBindConfig, DeepSEAConfig
from seqlab.data.encoding import dinucleotide_one_hot, one_hot, reverse_complement
from seqlab.models.data_params import DataParams
from seqlab.models.model import count_parameters
from seqlab.models.sequence_model import build_model
from seqlab.models.trunks import TRUNKS, DeepBindTrunk, build_trunk


def params(n_tasks: int, length: int, channels: int = 4) -> DataParams:
    """Data parameters of ``n_tasks`` tasks on windows of ``length`` bp."""
    encoding = "onehot" if channels == 4 else "dinucleotide"
    return DataParams(tasks=[f"t{i}" for i in range(n_tasks)], window_length=length, encoding=encoding)


def _random_onehot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, length), generator=generator)
    return torch.nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()


def test_deepbind_default_has_reference_parameter_count():
    model = build_model(DeepBindConfig(), params(1, 200, 4))
    assert count_parameters(model) == 10_369
    assert count_parameters(model.trunk.conv) == 4 * 24 * 64 + 64
    assert count_parameters(model.trunk.dense) == 128 * 32 + 32
    assert count_parameters(model.head) == 33


def test_deepbind_count_does_not_depend_on_window_length():
    assert count_parameters(build_model(DeepBindConfig(), params(1, 101, 4))) == 10_369


def test_small_preset_is_about_27k_parameters():
    config = DeepBindConfig(preset="small27k")
    count = count_parameters(build_model(config, params(1, 200, 4)))
    assert 26_000 <= count <= 28_000
    assert count == 26_881


def test_preset_fills_sizes_and_explicit_keys_override_it():
    assert DeepBindConfig(preset="default") == DeepBindConfig(preset="default", **DEEPBIND_PRESETS["default"])
    config = DeepBindConfig.model_validate({"preset": "small27k", "hidden": 16})
    assert (config.filters, config.kernel_size, config.hidden) == (128, 20, 16)


CONFIGS = {
    "deepbind": DeepBindConfig(),
    "deepbind-small27k": DeepBindConfig(preset="small27k"),
    "deepbind-nohidden": DeepBindConfig(hidden=0),
    "deepsea": DeepSEAConfig(),
    "basenji": BasenjiConfig(),
}


@pytest.mark.parametrize("length", [200, 300])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_trunk_shapes(name, length):
    torch.manual_seed(0)
    trunk = build_trunk(CONFIGS[name], in_channels=4, seq_len=length).eval()
    features = trunk(_random_onehot(3, length))
    assert features.shape == (3, trunk.out_features) and features.dtype == torch.float32
    model = build_model(CONFIGS[name], params(5, length, 4)).eval()
    assert model(_random_onehot(3, length)).shape == (3, 5)


def test_registry_covers_every_arch():
    assert set(TRUNKS) == {"deepbind", "deepsea", "basenji", "transformer", "hf"}


def test_deepbind_without_hidden_layer_gives_pooled_features():
    assert DeepBindTrunk(4, 50, filters=8, kernel_size=5, hidden=0).out_features == 16


def test_deepbind_is_strand_symmetric_onehot():
    torch.manual_seed(0)
    model = build_model(DeepBindConfig(), params(3, 200, 4)).eval()
    x = _random_onehot(4, 200, seed=1)
    torch.testing.assert_close(model(x), model(reverse_complement(x, "onehot")))


def test_deepbind_is_strand_symmetric_dinucleotide():
    torch.manual_seed(0)
    sequences = ["ACGTTGCAAGGCTTACGATCGATTGCAAACGT", "TTTTGGGGCCCCAAAATGCATGCATCGATCGA"]
    x = torch.stack([torch.from_numpy(dinucleotide_one_hot(s)) for s in sequences])
    model = build_model(DeepBindConfig(kernel_size=6), params(2, x.shape[-1], 16)).eval()
    torch.testing.assert_close(model(x), model(reverse_complement(x, "dinucleotide")))


def test_deepbind_strand_symmetry_on_a_known_sequence():
    torch.manual_seed(0)
    model = build_model(DeepBindConfig(kernel_size=4), params(1, 12, 4)).eval()
    forward = torch.from_numpy(one_hot("AAGATAAGCCCT"))[None]
    reverse = torch.from_numpy(one_hot("AGGGCTTATCTT"))[None]
    torch.testing.assert_close(model(forward), model(reverse))


@pytest.mark.parametrize(("sequence", "pooled"), [("ACCCCCCCCC", [1.0, 0.1]), ("CCCACCCCCC", [1.0, 0.1])])
def test_deepbind_crop_pools_the_centre_only(sequence, pooled):
    # one 1-bp filter detecting A; its pooled [max, mean] over the window, then over positions 2..7 (crop 2)
    x = torch.from_numpy(one_hot(sequence))[None]
    for crop, expected in ((0, pooled), (2, [0.0, 0.0] if sequence[0] == "A" else [1.0, 1 / 6])):
        trunk = DeepBindTrunk(4, 10, filters=1, kernel_size=1, hidden=0, crop=crop).eval()
        with torch.no_grad():
            trunk.conv.weight.copy_(torch.tensor([[[1.0], [0.0], [0.0], [0.0]]]))
            trunk.conv.bias.zero_()
        torch.testing.assert_close(trunk(x), torch.tensor([expected]))
        torch.testing.assert_close(trunk(reverse_complement(x, "onehot")), torch.tensor([expected]))
        assert trunk.positional(x).shape == (1, 2, 10)  # every position, whatever the crop


@pytest.mark.parametrize(
    ("config", "length", "minimum"),
    [
        (DeepSEAConfig(), 162, 163),
        (BasenjiConfig(crop=2), 39, 40),
        (DeepBindConfig(), 23, 24),
        (DeepBindConfig(crop=3), 29, 30),
    ],
)
def test_too_short_windows_are_rejected_with_the_minimum(config, length, minimum):
    with pytest.raises(ValueError, match=f"at least {minimum} bp, got window_length={length}"):
        build_trunk(config, 4, length)
    build_trunk(config, 4, minimum)


def test_deepsea_minimum_window_runs():
    trunk = build_trunk(DeepSEAConfig(channels=[8, 8, 8], dropout=[0, 0, 0], hidden=4), 4, 163).eval()
    assert trunk(_random_onehot(2, 163)).shape == (2, 4)


def test_deepsea_needs_one_dropout_per_layer():
    with pytest.raises(ValueError, match="one rate per convolution"):
        DeepSEAConfig(channels=[16, 16])


def test_unknown_channel_count_is_rejected():
    with pytest.raises(ValueError, match="in_channels=5"):
        build_trunk(DeepBindConfig(), 5, 200)


@pytest.mark.parametrize(
    ("config", "length", "shape"),
    [
        (DeepBindConfig(filters=8, kernel_size=5, hidden=4), 50, (2, 16, 46)),
        (DeepSEAConfig(channels=[8, 8], dropout=[0.1, 0.1], kernel_size=3, pool_size=2, hidden=5), 40, (2, 8, 17)),
        (BasenjiConfig(stem_channels=8, tower_channels=[8], dilated_blocks=1, features=6), 64, (2, 6, 16)),
    ],
)
def test_trunks_expose_positional_features_and_pool_them(config, length, shape):
    trunk = build_trunk(config, 4, length).eval()
    x = _random_onehot(2, length)
    positional = trunk.positional(x)
    assert positional.shape == shape and trunk.positional_features == shape[1]
    pooled = trunk.pool(positional)
    assert pooled.shape[0] == 2
    assert trunk(x).shape == (2, trunk.out_features)


def test_transformer_positional_features_are_cls_then_tokens():
    from seqlab.config import TransformerConfig

    trunk = build_trunk(
        TransformerConfig(kmer=3, stride=3, d_model=8, layers=1, heads=2, feedforward=16, pool="mean"), 4, 30
    )
    trunk.eval()
    x = _random_onehot(2, 30)
    positional = trunk.positional(x)
    assert positional.shape == (2, 8, 1 + 10)
    assert torch.allclose(trunk(x), positional[:, :, 1:].mean(dim=-1))


def test_deepbind_positional_features_are_both_strands_in_forward_coordinates():
    trunk = build_trunk(DeepBindConfig(filters=3, kernel_size=4, hidden=0), 4, 20).eval()
    x = _random_onehot(1, 20, seed=3)
    positional = trunk.positional(x)
    scan = torch.relu(trunk.conv(x))
    scan_rc = torch.relu(trunk.conv(reverse_complement(x, "onehot")))
    assert torch.equal(positional[:, :3], scan) and torch.equal(positional[:, 3:], scan_rc.flip(-1))
    expected = torch.maximum(
        torch.cat([scan.amax(-1), scan.mean(-1)], 1), torch.cat([scan_rc.amax(-1), scan_rc.mean(-1)], 1)
    )
    assert torch.equal(trunk(x), expected)
    # the reverse complement swaps the two halves (flipped): the pooled features do not change
    assert torch.equal(trunk(reverse_complement(x, "onehot")), trunk(x))


@pytest.mark.parametrize("crop", [0, 10])
def test_deeplift_sums_exactly_for_deepbind(crop):
    from captum.attr import DeepLift

    torch.manual_seed(0)
    model = build_model(DeepBindConfig(filters=16, kernel_size=8, hidden=8, crop=crop), params(1, 60, 4)).eval()
    x = _random_onehot(4, 60, seed=1)
    reference = _random_onehot(4, 60, seed=2)
    attributions = DeepLift(model).attribute(x, baselines=reference, target=0)
    difference = (model(x) - model(reference))[:, 0].detach()
    assert torch.allclose(attributions.sum(dim=(1, 2)), difference, atol=1e-4)
