"""BPNet-style profile head: positional features -> base-resolution profile logits and log total counts per task.

``ProfileHead`` reads the trunk's positional features (B, F, P) (``SequenceModel`` hands them over; a
trunk whose map stacks both strands, DeepBind, gives the sum of its two strand halves, both already in
forward coordinates, so F is its filter count) and returns one packed tensor float32 (B, T, L_out + 1)
(:func:`seqlab.objectives.split_profile_outputs` unpacks it):

* ``[..., :L_out]``: profile logits over the target span (softmax over the span = the predicted shape);
* ``[..., L_out]``: log(1 + total counts) over the span (the predicted count).

Positions to bases (the rule): the P positions are upsampled by repetition, each ``r = round(L / P)``
times (L the window; r = 1 for DeepBind's valid scan, P = L - K + 1; 2^k for a trunk that pooled k times),
then the centred ``L_out`` positions are kept. For a valid scan position p covers bases p..p+K-1, so the
centre crop is exactly the target span's bases; for pooled trunks each base takes its block's features.
A final ``Conv1d(F [+ T], T, kernel_size, padding="same")`` gives the profile logits. The counts come
from ``Linear(2F [+ T], T)`` on the mean and maximum of the same span features (as bpnet-lite pools
the cropped span: a site in the flanks, outside the span, does not add counts; the mean sums evidence as
counts add up, the maximum lets a single site be read through a shallow trunk).

Control (``control: true``, BPNet): each task's control profile (B, T, L_out) enters the head only:
log(1 + control) smoothed by a moving average of ``control_smoothing`` bp is concatenated to the
cropped features before the profile convolution, and log(1 + control total) to the averaged features
before the count layer. The count layer starts with weight 1 on its task's log control total (0 on the
other tasks'), so an untrained model predicts counts that follow the control (the "control scaled"
baseline, up to an offset) and training learns what the sequence adds; with few steps (a few hundred
windows) a randomly started weight does not get there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.config import HeadConfig, ProfileHeadConfig
from seqlab.models.data_params import DataParams
from seqlab.models.heads import Head

__all__ = ["ProfileHead"]


class ProfileHead(Head):
    """Positional features float32 (B, F, P) [+ control float32 (B, T, L_out)] -> packed outputs (B, T, L_out + 1).

    Args:
        in_features: F, positional feature channels.
        n_tasks: T.
        window_length: L, bp of the input window.
        target_length: L_out, bp of the centred target span (at most L).
        kernel_size: width of the final profile convolution.
        control: whether a control profile per task enters the head (then ``forward`` requires it).
        control_smoothing: moving-average width (bp) of log(1 + control).
    """

    produces = ("profile",)
    reads_positional = True

    def __init__(
        self,
        in_features: int,
        n_tasks: int,
        window_length: int,
        target_length: int,
        *,
        kernel_size: int = 25,
        control: bool = False,
        control_smoothing: int = 50,
    ) -> None:
        super().__init__(in_features, n_tasks)
        if not 0 < target_length <= window_length:
            raise ValueError(f"profile head: target_length {target_length} must be in 1..window {window_length}")
        self.window_length, self.target_length = window_length, target_length
        self.control, self.control_smoothing = control, control_smoothing
        extra = n_tasks if control else 0
        self.profile = nn.Conv1d(in_features + extra, n_tasks, kernel_size, padding="same")
        self.counts = nn.Linear(2 * in_features + extra, n_tasks)
        if control:
            with torch.no_grad():
                self.counts.weight[:, 2 * in_features :] = torch.eye(n_tasks)

    @classmethod
    def from_config(cls, config: HeadConfig, in_features: int, data_params: DataParams) -> ProfileHead:
        """Build from ``model.head`` (kind profile); the span length is ``data_params.target_length``.

        Raises:
            ValueError: the data parameters record no target span (not a tracks source with ``profile: true``).
        """
        assert isinstance(config, ProfileHeadConfig)
        if data_params.target_length is None:
            raise ValueError(
                "model.head.kind 'profile' needs base-resolution targets: a tracks source with profile: true "
                "(data_params.target_length is not set)"
            )
        return cls(
            in_features, data_params.n_tasks, data_params.window_length, data_params.target_length,
            kernel_size=config.kernel_size, control=config.control, control_smoothing=config.control_smoothing,
        )  # fmt: skip

    def to_span(self, positional: torch.Tensor) -> torch.Tensor:
        """Positional features (B, F, P) -> features over the target span's bases (B, F, L_out) (the rule above).

        Raises:
            ValueError: the upsampled map is shorter than the target span.
        """
        positions = positional.shape[-1]
        repeat = max(1, round(self.window_length / positions))
        if positions * repeat < self.target_length:
            raise ValueError(
                f"profile head: {positions} positions x {repeat} cover fewer bases than the target span "
                f"{self.target_length}; use a shorter target_length or a trunk keeping more positions"
            )
        upsampled = positional.repeat_interleave(repeat, dim=-1) if repeat > 1 else positional
        first = (upsampled.shape[-1] - self.target_length) // 2
        return upsampled[..., first : first + self.target_length]

    def smoothed_control(self, control: torch.Tensor) -> torch.Tensor:
        """Control counts (B, T, L_out) -> log(1 + control) averaged over ``control_smoothing`` bp (B, T, L_out)."""
        logged = torch.log1p(control.float().clamp(min=0))
        width = min(self.control_smoothing, logged.shape[-1])
        if width <= 1:
            return logged
        kernel = torch.full((logged.shape[1], 1, width), 1.0 / width, device=logged.device, dtype=logged.dtype)
        padded = F.pad(logged, ((width - 1) // 2, width // 2))  # zeros beyond the span; output length L_out
        return F.conv1d(padded, kernel, groups=logged.shape[1])

    def forward(self, positional: torch.Tensor, control: torch.Tensor | None = None) -> torch.Tensor:
        """Positional features (B, F, P) and control (B, T, L_out) or None -> packed outputs (B, T, L_out + 1).

        Raises:
            ValueError: a control head called without control, or a head without control given one.
        """
        if self.control != (control is not None):
            raise ValueError(
                "profile head built with control: true needs the control profiles"
                if self.control
                else "profile head built without control was given control profiles"
            )
        span = self.to_span(positional)
        pooled = torch.cat([span.mean(dim=-1), span.amax(dim=-1)], dim=1)  # (B, 2F), over the target span only
        if control is not None:
            span = torch.cat([span, self.smoothed_control(control).to(span.dtype)], dim=1)
            total = torch.log1p(control.float().clamp(min=0).sum(dim=-1)).to(pooled.dtype)
            pooled = torch.cat([pooled, total], dim=1)
        return torch.cat([self.profile(span), self.counts(pooled).unsqueeze(-1)], dim=-1)
