"""Layers shared by the trunks: Basenji-style convolution blocks and dilated residual blocks.

Every block maps float32 (B, C_in, L) to float32 (B, C_out, L') and keeps the length unless it pools
(``same`` padding), so trunks can compute their output length by arithmetic.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvBlock", "DilatedResidualBlock", "GlobalAveragePool"]


class ConvBlock(nn.Module):
    """Basenji convolution block: GELU -> Conv1d ('same' padding) -> BatchNorm -> Dropout -> MaxPool.

    The activation comes first (pre-activation), as in Basenji; the convolution has no bias because
    batch normalisation follows it.

    Shapes: (B, in_channels, L) -> (B, out_channels, L // pool).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dilation: int = 1,
        pool: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation, padding="same", bias=False),
            nn.BatchNorm1d(out_channels),
            nn.Dropout(dropout),
            nn.MaxPool1d(pool) if pool > 1 else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, C_in, L) to (B, C_out, L // pool)."""
        return self.layers(x)


class DilatedResidualBlock(nn.Module):
    """Basenji dilated residual block: x + pointwise(dilated(x)), the length unchanged.

    The dilated convolution (kernel 3) halves the channels, the pointwise one restores them, then
    dropout; the input is added back.

    Shapes: (B, channels, L) -> (B, channels, L).
    """

    def __init__(self, channels: int, dilation: int, dropout: float = 0.0) -> None:
        super().__init__()
        bottleneck = max(channels // 2, 1)
        self.branch = nn.Sequential(
            ConvBlock(channels, bottleneck, 3, dilation=dilation),
            ConvBlock(bottleneck, channels, 1, dropout=dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, C, L) to (B, C, L)."""
        return x + self.branch(x)


class GlobalAveragePool(nn.Module):
    """Mean over positions: (B, C, L) -> (B, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, C, L) to (B, C)."""
        return x.mean(dim=-1)
