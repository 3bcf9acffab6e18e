"""Trunks: networks that turn encoded sequences into a feature vector per example.

Every trunk maps x float32 (B, C, L) to features float32 (B, F) and exposes ``out_features = F``.
C is 4 (one-hot) or 16 (dinucleotide); L is the window length the trunk was built for (DeepSEA
needs it exactly, the others accept other lengths). ``build_trunk`` builds one from its config
section; a window too short for an architecture is a ``ValueError`` giving the minimum length.

Registry: ``TRUNKS[arch]`` is the trunk class of a ``model.trunk.arch`` (its config section is
registered with ``seqlab.config.register_trunk_config``); ``register_trunk(arch)`` adds one. The
built-in trunks are registered in one place, :mod:`seqlab.models.builtin`. A trunk
class is built as ``cls(in_channels, seq_len, **sizes)`` with the sizes of its config section, unless
it defines a classmethod ``from_config(config, in_channels, seq_len)``.

Every trunk declares ``strand_symmetric: bool``: True when its features of a window equal those of
the window's reverse complement in eval mode (DeepBind, which scans both strands and keeps the
maximum); prediction then runs a window through it once instead of once per strand. A trunk that does
not declare it is treated as not symmetric.

Size limit: before a trunk is allocated, it is built on PyTorch's ``meta`` device (no memory) and its
parameters are counted; more than :func:`parameter_limit` (default :data:`MAX_PARAMETERS`, one billion:
4 GB of float32 weights; the environment variable ``SEQLAB_MAX_PARAMETERS`` overrides it) is a
``ValueError`` naming the count, so a config asking for a huge trunk fails at once instead of trying to
allocate tens of gigabytes. A trunk class whose size comes from files rather than from its config
(``sized_by_files = True``, e.g. ``hf``) is not probed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from seqlab.config import ModelConfig, TrunkConfig
from seqlab.data.encoding import n_channels, reverse_complement
from seqlab.models.blocks import ConvBlock, DilatedResidualBlock, GlobalAveragePool
from seqlab.registry import Registry

__all__ = [
    "TRUNKS",
    "BasenjiTrunk",
    "DeepBindTrunk",
    "DeepSEATrunk",
    "MAX_PARAMETERS",
    "build_trunk",
    "encoding_of_channels",
    "parameter_limit",
    "register_trunk",
]

MAX_PARAMETERS = 1_000_000_000
"""Default limit on a trunk's parameter count (4 GB as float32); ``SEQLAB_MAX_PARAMETERS`` overrides it."""

TRUNKS = Registry("trunk arch")
"""Trunk class of every ``model.trunk.arch``; each takes (in_channels, seq_len, **sizes of its config)."""

_M = TypeVar("_M", bound=type[nn.Module])


def register_trunk(arch: str) -> Callable[[_M], _M]:
    """Decorator (or ``register_trunk(arch)(cls)``): make an ``nn.Module`` (x (B, C, L) -> (B, out_features))
    the trunk of ``arch``.

    Raises:
        ValueError: ``arch`` is registered already with another class.
    """
    return TRUNKS.register(arch)


_ENCODINGS_BY_CHANNELS = {n_channels(name): name for name in ("onehot", "dinucleotide")}


def encoding_of_channels(in_channels: int) -> str:
    """The encoding name of an input channel count (4: 'onehot', 16: 'dinucleotide')."""
    if in_channels not in _ENCODINGS_BY_CHANNELS:
        raise ValueError(
            f"in_channels={in_channels} matches no encoding; expected one of {sorted(_ENCODINGS_BY_CHANNELS)}"
        )
    return _ENCODINGS_BY_CHANNELS[in_channels]


def _too_short(arch: str, seq_len: int, minimum: int) -> ValueError:
    return ValueError(
        f"{arch} with these sizes needs windows of at least {minimum} bp, got window_length={seq_len}; "
        "use longer windows or smaller kernels/pooling"
    )


class DeepBindTrunk(nn.Module):
    """DeepBind: one convolution scanned on both strands with shared weights.

    Conv1d (valid) -> ReLU -> global max and global average pooling concatenated (2*filters) ->
    elementwise max over the two strands -> Dense(hidden) + ReLU + Dropout (hidden=0: the pooled
    vector is the feature). Because the strands enter symmetrically, features(x) equals
    features(reverse_complement(x)) in eval mode.

    Shapes: x float32 (B, C, L) -> float32 (B, hidden or 2*filters).
    """

    strand_symmetric = True

    def __init__(
        self,
        in_channels: int,
        seq_len: int,
        *,
        filters: int = 64,
        kernel_size: int = 24,
        hidden: int = 32,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if seq_len < kernel_size:
            raise _too_short("DeepBind", seq_len, kernel_size)
        self.encoding = encoding_of_channels(in_channels)
        self.conv = nn.Conv1d(in_channels, filters, kernel_size)
        pooled = 2 * filters
        self.dense = (
            nn.Sequential(nn.Linear(pooled, hidden), nn.ReLU(), nn.Dropout(dropout)) if hidden else nn.Identity()
        )
        self.out_features = hidden or pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to features float32 (B, F)."""
        both = torch.cat([x, reverse_complement(x, self.encoding)], dim=0)
        scanned = torch.relu(self.conv(both))
        pooled = torch.cat([scanned.amax(dim=-1), scanned.mean(dim=-1)], dim=1)
        forward_strand, reverse_strand = pooled.chunk(2, dim=0)
        return self.dense(torch.maximum(forward_strand, reverse_strand))


class DeepSEATrunk(nn.Module):
    """DeepSEA: Conv1d + ReLU (+ MaxPool except after the last) + Dropout per layer, flatten, Dense + ReLU.

    Default layers 320/480/960 channels of width 8, pooling 4, dropout 0.2/0.2/0.5, dense 925. The
    dense layer is sized for ``seq_len``, so the trunk takes windows of exactly that length.

    Shapes: x float32 (B, C, seq_len) -> float32 (B, hidden).
    """

    strand_symmetric = False

    def __init__(
        self,
        in_channels: int,
        seq_len: int,
        *,
        channels: list[int] | tuple[int, ...] = (320, 480, 960),
        kernel_size: int = 8,
        pool_size: int = 4,
        dropout: list[float] | tuple[float, ...] = (0.2, 0.2, 0.5),
        hidden: int = 925,
    ) -> None:
        super().__init__()
        if len(dropout) != len(channels) or not channels:
            raise ValueError(f"one dropout rate per convolution: {len(channels)} channels, {len(dropout)} rates")
        last = len(channels) - 1
        length, minimum = seq_len, 1
        for layer in range(len(channels)):  # valid convolution, then pooling except after the last
            length -= kernel_size - 1
            if layer < last:
                length //= pool_size
        for layer in reversed(range(len(channels))):  # the same steps undone from one output position
            if layer < last:
                minimum *= pool_size
            minimum += kernel_size - 1
        if length < 1:
            raise _too_short("DeepSEA", seq_len, minimum)
        layers: list[nn.Module] = []
        previous = in_channels
        for layer, (width, rate) in enumerate(zip(channels, dropout, strict=True)):
            layers += [nn.Conv1d(previous, width, kernel_size), nn.ReLU()]
            if layer < last:
                layers.append(nn.MaxPool1d(pool_size))
            layers.append(nn.Dropout(rate))
            previous = width
        self.convs = nn.Sequential(*layers, nn.Flatten())
        self.dense = nn.Sequential(nn.Linear(previous * length, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, seq_len) to features float32 (B, hidden)."""
        return self.dense(self.convs(x))


class BasenjiTrunk(nn.Module):
    """Basenji-like dilated residual CNN, pooled to one feature vector per window.

    Stem Conv1d + BatchNorm + MaxPool -> tower of ConvBlocks (GELU, conv, BN, pool) -> dilated
    residual blocks (dilation 1, then multiplied by ``dilation_rate`` and rounded) -> crop ``crop``
    positions at each end -> pointwise ConvBlock to ``features`` channels + GELU -> global average.

    Shapes: x float32 (B, C, L) -> float32 (B, features), for any L of at least
    (2*crop + 1) * pool_size**(1 + len(tower_channels)).
    """

    strand_symmetric = False

    def __init__(
        self,
        in_channels: int,
        seq_len: int,
        *,
        stem_channels: int = 64,
        stem_kernel: int = 15,
        tower_channels: list[int] | tuple[int, ...] = (64, 96),
        tower_kernel: int = 5,
        pool_size: int = 2,
        dilated_blocks: int = 4,
        dilation_rate: float = 1.5,
        crop: int = 0,
        features: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        reduction = pool_size ** (1 + len(tower_channels))
        if seq_len // reduction - 2 * crop < 1:
            raise _too_short("Basenji", seq_len, (2 * crop + 1) * reduction)
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, stem_channels, stem_kernel, padding="same", bias=False),
            nn.BatchNorm1d(stem_channels),
            nn.MaxPool1d(pool_size) if pool_size > 1 else nn.Identity(),
        )
        tower: list[nn.Module] = []
        previous = stem_channels
        for width in tower_channels:
            tower.append(ConvBlock(previous, width, tower_kernel, pool=pool_size))
            previous = width
        dilation = 1.0
        for _ in range(dilated_blocks):
            tower.append(DilatedResidualBlock(previous, round(dilation), dropout))
            dilation *= dilation_rate
        self.tower = nn.Sequential(*tower)
        self.crop = crop
        self.final = nn.Sequential(ConvBlock(previous, features, 1, dropout=dropout), nn.GELU(), GlobalAveragePool())
        self.out_features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to features float32 (B, features)."""
        hidden = self.tower(self.stem(x))
        if self.crop:
            hidden = hidden[..., self.crop : -self.crop]
        return self.final(hidden)


def build_trunk(config: TrunkConfig | Mapping[str, Any], in_channels: int, seq_len: int) -> nn.Module:
    """Build the trunk of a ``model.trunk`` section (or its dict form) for inputs (B, in_channels, seq_len).

    Raises:
        ValueError: an arch without a registered trunk, an unknown encoding channel count, or a window
            too short for the architecture.
    """
    if not isinstance(config, TrunkConfig):
        config = ModelConfig.model_validate({"trunk": dict(config)}).trunk
    if config.arch not in TRUNKS:
        raise ValueError(f"model.trunk.arch {config.arch!r} has no trunk module; registered: {sorted(TRUNKS)}")
    cls = TRUNKS[config.arch]
    if not getattr(cls, "sized_by_files", False):
        with torch.device("meta"):  # counts the parameters without allocating them
            n = sum(p.numel() for p in _construct(cls, config, in_channels, seq_len).parameters())
        limit = parameter_limit()
        if n > limit:
            raise ValueError(
                f"model.trunk ({config.arch}) would have {n:,} parameters ({n * 4 / 1e9:.1f} GB as float32), more "
                f"than the limit of {limit:,}; check its sizes, or raise the limit with SEQLAB_MAX_PARAMETERS={n}"
            )
    return _construct(cls, config, in_channels, seq_len)


def _construct(cls: type[nn.Module], config: TrunkConfig, in_channels: int, seq_len: int) -> nn.Module:
    from_config = getattr(cls, "from_config", None)
    if from_config is not None:
        return from_config(config, in_channels, seq_len)
    return cls(in_channels, seq_len, **config.model_dump(exclude={"arch", "preset"}))


def parameter_limit() -> int:
    """The most parameters a trunk may have: ``SEQLAB_MAX_PARAMETERS`` when set, else :data:`MAX_PARAMETERS`.

    Raises:
        ValueError: the variable is not a positive whole number.
    """
    text = os.environ.get("SEQLAB_MAX_PARAMETERS", "").strip().replace("_", "")
    if not text:
        return MAX_PARAMETERS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"SEQLAB_MAX_PARAMETERS={text!r}: expected a positive whole number of parameters")
    return int(text)
