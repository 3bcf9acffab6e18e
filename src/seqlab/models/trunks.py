"""Trunks: networks that turn encoded sequences into positional features, and a pooling layer over them.

Every built-in trunk has two parts:

* ``positional(x)``: x float32 (B, C, L) -> positional features float32 (B, F_pos, P), with
  ``positional_features = F_pos`` (what a profile head reads, position by position);
* ``pool``: the pooling layer, a parameter-free module (B, F_pos, P) -> (B, F_pool);
  ``forward(x)`` is the pooled path, ``pool(positional(x))`` followed by the trunk's dense layers if it
  has any (DeepBind, DeepSEA): x (B, C, L) -> (B, F) with ``out_features = F`` (what binary and
  regression heads read).

C is 4 (one-hot) or 16 (dinucleotide); L is the window length the trunk was built for (DeepSEA
needs it exactly, the others accept other lengths). ``build_trunk`` builds one from its config
section; a window too short for an architecture is a ``ValueError`` giving the minimum length.

Registry: ``TRUNKS[arch]`` is the trunk class of a ``model.trunk.arch`` (its config section is
registered with ``seqlab.config.register_trunk_config``); ``register_trunk(arch)`` adds one. The
built-in trunks are registered in one place, :mod:`seqlab.models.builtin`. A trunk
class is built as ``cls(in_channels, seq_len, **sizes)`` with the sizes of its config section, unless
it defines a classmethod ``from_config(config, in_channels, seq_len)``.

A trunk whose positional map stacks both strands (DeepBind) declares ``positional_strands = 2``: the
first half of the channels is the forward scan, the second the reverse one in forward coordinates (a
profile head reads their sum).

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

    Positional features: Conv1d (valid) -> ReLU on the window and on its reverse complement; the reverse
    strand's map is flipped to forward coordinates and stacked after the forward one:
    (B, 2*filters, L - kernel_size + 1) (channels ``[:filters]`` forward, ``[filters:]`` reverse).

    Pooling (:class:`DeepBindPool`): global max and global average per strand (2*filters each) over the
    scan positions left after dropping ``crop`` from each end (0: all), the elementwise maximum over the
    two strands, then Dense(hidden) + ReLU + Dropout (hidden=0: the pooled vector is the feature). With
    ``crop`` the pooled features read the central ``L - 2*crop`` bp only (a target centred in the window);
    the positional features keep every position. Because the strands enter symmetrically, the pooled
    features of x equal those of reverse_complement(x) in eval mode. Every non-linearity is a module (ReLU,
    max-pooling), so DeepLIFT attributions (seqlab's and captum's) sum exactly to the output difference.

    Shapes: x float32 (B, C, L) -> float32 (B, hidden or 2*filters).
    """

    strand_symmetric = True
    positional_strands = 2  # positional channels: [forward scan, reverse scan flipped to forward coordinates]

    def __init__(
        self,
        in_channels: int,
        seq_len: int,
        *,
        filters: int = 64,
        kernel_size: int = 24,
        hidden: int = 32,
        dropout: float = 0.1,
        crop: int = 0,
    ) -> None:
        super().__init__()
        if seq_len < kernel_size + 2 * crop:
            raise _too_short("DeepBind", seq_len, kernel_size + 2 * crop)
        self.encoding = encoding_of_channels(in_channels)
        self.conv = nn.Conv1d(in_channels, filters, kernel_size)
        self.relu = nn.ReLU()
        self.pool = DeepBindPool(filters, crop)
        pooled = 2 * filters
        self.dense = (
            nn.Sequential(nn.Linear(pooled, hidden), nn.ReLU(), nn.Dropout(dropout)) if hidden else nn.Identity()
        )
        self.positional_features = 2 * filters
        self.out_features = hidden or pooled

    def positional(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to both strands' scans float32 (B, 2*filters, L - kernel_size + 1)."""
        # strands interleaved per window (x0, rc0, x1, rc1, ...): any split of the batch in halves (DeepLIFT's
        # inputs and references) keeps every window with its own reverse complement
        scans = self.scans(x).unflatten(0, (x.shape[0], 2))  # (B, 2, filters, P)
        return torch.cat([scans[:, 0], scans[:, 1].flip(-1)], dim=1)

    def scans(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to the ReLU scans of both strands float32 (2B, filters, L - kernel_size + 1),
        strands interleaved per window (x0, rc0, x1, rc1, ...), each in its own scan order.
        """
        both = torch.stack([x, reverse_complement(x, self.encoding)], dim=1).flatten(0, 1)
        return self.relu(self.conv(both))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to features float32 (B, F); equals ``dense(pool(positional(x)))`` without
        flipping the reverse scans to forward coordinates and back.
        """
        return self.dense(self.pool.pool_scans(self.scans(x)))


class DeepBindPool(nn.Module):
    """DeepBind's pooling: both strands' scans (B, 2*filters, P) -> (B, 2*filters).

    Per strand [global max, global average] (2*filters) over the positions ``crop..P-crop-1`` of its
    scan, then the maximum of the two strands (a max-pooling of width 2: a module, so DeepLIFT treats it
    exactly). The reverse strand's scan is flipped back to scan order before averaging, so the values are
    those of a plain scan; both ends are cropped alike, so the strands stay symmetric.
    """

    def __init__(self, filters: int, crop: int = 0) -> None:
        super().__init__()
        self.filters = filters
        self.crop = crop
        self.max = nn.MaxPool1d(1)  # its width is set to the scan length at each call
        self.mean = GlobalAveragePool()
        self.strand_max = nn.MaxPool1d(2)

    def forward(self, positional: torch.Tensor) -> torch.Tensor:
        """Map scans float32 (B, 2*filters, P) to pooled features float32 (B, 2*filters)."""
        return self.pool_scans(self._scans(positional))

    def pool_scans(self, scans: torch.Tensor) -> torch.Tensor:
        """Map both strands' scans float32 (2B, filters, P), interleaved per window, to (B, 2*filters)."""
        if self.crop:
            scans = scans[..., self.crop : scans.shape[-1] - self.crop]
        self.max.kernel_size = self.max.stride = scans.shape[-1]  # a plain MaxPool1d, as DeepLIFT expects
        # each pooling reads its own view of the scans (no copy): captum's DeepLift hook on the max-pooling's
        # input tensor must not rescale the gradient that reaches the ReLU's output through the average
        maxima = self.max(scans.view_as(scans)).squeeze(-1)
        pooled = torch.cat([maxima, self.mean(scans.view_as(scans))], dim=1)  # (2B, 2*filters)
        both = pooled.unflatten(0, (scans.shape[0] // 2, 2)).transpose(1, 2)  # (B, 2*filters, 2 strands)
        return self.strand_max(both).squeeze(-1)

    def _scans(self, positional: torch.Tensor) -> torch.Tensor:
        """(B, 2*filters, P) -> (2B, filters, P) in scan order, strands interleaved per window (x0, rc0, x1, ...)."""
        f = self.filters
        return torch.stack([positional[:, :f], positional[:, f:].flip(-1)], dim=1).flatten(0, 1)


class DeepSEATrunk(nn.Module):
    """DeepSEA: Conv1d + ReLU (+ MaxPool except after the last) + Dropout per layer, flatten, Dense + ReLU.

    Positional features: the last convolution's map (B, channels[-1], P); pooling: flatten, then Dense + ReLU.

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
        self.convs = nn.Sequential(*layers)
        self.pool = nn.Flatten()
        self.dense = nn.Sequential(nn.Linear(previous * length, hidden), nn.ReLU())
        self.positional_features = previous
        self.out_features = hidden

    def positional(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, seq_len) to the last convolution's map float32 (B, channels[-1], P)."""
        return self.convs(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, seq_len) to features float32 (B, hidden)."""
        return self.dense(self.pool(self.positional(x)))


class BasenjiTrunk(nn.Module):
    """Basenji-like dilated residual CNN, pooled to one feature vector per window.

    Stem Conv1d + BatchNorm + MaxPool -> tower of ConvBlocks (GELU, conv, BN, pool) -> dilated
    residual blocks (dilation 1, then multiplied by ``dilation_rate`` and rounded) -> crop ``crop``
    positions at each end -> pointwise ConvBlock to ``features`` channels + GELU (the positional
    features) -> global average (the pooling).

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
        self.final = nn.Sequential(ConvBlock(previous, features, 1, dropout=dropout), nn.GELU())
        self.pool = GlobalAveragePool()
        self.positional_features = features
        self.out_features = features

    def positional(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to float32 (B, features, L // pool_size**(1 + len(tower)) - 2*crop)."""
        hidden = self.tower(self.stem(x))
        if self.crop:
            hidden = hidden[..., self.crop : -self.crop]
        return self.final(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to features float32 (B, features)."""
        return self.pool(self.positional(x))


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
