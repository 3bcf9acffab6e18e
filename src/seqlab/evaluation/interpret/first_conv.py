"""The fast path of ISM: the first convolution of a mutant computed as the reference's plus one column's change.

A single-base substitution changes one column of the model's input, and a convolution is linear, so the
first convolution of a mutant equals the first convolution of its reference window plus the kernel
applied to the one changed column: ``F x C x K`` multiply-adds instead of ``F x C x K x L_out``. The rest
of the network runs unchanged on the patched activations. This is the first step of fastISM (Nair et al.,
Bioinformatics 2022), which tangermeme's ``saturation_mutagenesis`` carries through every layer by
capturing the model's graph; here nothing about the model is assumed beyond its public forward:

* the first ``nn.Conv1d`` that the forward calls is found by running one window with hooks on every
  ``nn.Conv1d``; it must have ``groups=1``, stride 1 and zero padding, or there is no fast path;
* during the reference pass its input and output are recorded, per call (a trunk may call it more than
  once per forward, e.g. once per strand) and per block of rows (a trunk may stack both strands along
  the batch axis, DeepBind's ``torch.cat([x, reverse_complement(x)])``: the call's input then has
  ``k x B`` rows, either in blocks, block j holding rows j*B..(j+1)*B-1, or interleaved per window, row
  b*k + j holding copy j of window b, as DeepBind's strands (x0, rc0, x1, rc1, ...); the layout of each
  call is found on the first mutant batch (blocks tried first) and kept);
* during a mutant pass the convolution's ``forward`` is replaced: each input row is compared with the
  recorded input of its reference window (same call, same block); when every row differs from it in
  at most one column, the output is the recorded one plus that column's change through the kernel.
  Anything else (another row layout, an operation before the convolution that mixes positions or rows)
  is computed by the convolution itself, so the result never depends on the guess being right.

The result equals the brute-force ISM up to float rounding (the same sums in another order).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["FirstConvPatch"]


class FirstConvPatch:
    """Records the first convolution's reference activations and patches its mutant activations.

    Use: ``patch = FirstConvPatch.find(model, x[:1])`` (None: no eligible first convolution), then per group
    of windows ``with patch.recording(): model(windows)``, then per batch of mutants
    ``with patch.patching(rows): model(mutants)`` where ``rows`` (M,) gives each mutant's window index in
    the recorded group.
    """

    def __init__(self, conv: nn.Conv1d) -> None:
        self.conv = conv
        dilation = conv.dilation[0]
        if conv.padding == "same":
            self.left = dilation * (conv.kernel_size[0] - 1) // 2  # as torch: the odd extra pad goes right
        else:
            self.left = 0 if conv.padding == "valid" else int(conv.padding[0])
        self.offsets = dilation * torch.arange(conv.kernel_size[0])  # input column q reaches output q + left - offset
        self.inputs: list[torch.Tensor] = []  # per call: (k, G, C, L) reference input of the convolution
        self.outputs: list[torch.Tensor] = []  # per call: (k, G, F, L_out) its output
        self.interleaved: list[bool] = []  # per call: rows interleaved per window (else in blocks)
        self._parts: list[tuple[list[torch.Tensor], list[torch.Tensor], int]] = []  # per call: as recorded, k

    @classmethod
    def find(cls, model: nn.Module, x: torch.Tensor) -> FirstConvPatch | None:
        """The patch of the first ``nn.Conv1d`` that ``model(x)`` calls, or None when it has none or it is
        grouped, strided or not zero-padded. x: float32 (B, C, L); ``model`` runs once on it.
        """
        called: list[nn.Module] = []
        handles = [
            module.register_forward_hook(lambda module, args, output: called.append(module))
            for module in model.modules()
            if isinstance(module, nn.Conv1d)
        ]
        try:
            model(x)
        finally:
            for handle in handles:
                handle.remove()
        if not called:
            return None
        conv = called[0]
        eligible = conv.groups == 1 and conv.stride == (1,) and conv.padding_mode == "zeros"
        return cls(conv) if eligible else None

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Within it, forwards of the model record the convolution's input and output (clones, so later
        in-place operations cannot change them); on exit they become the reference of a group of G windows.
        """
        calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        handle = self.conv.register_forward_hook(
            lambda module, args, output: calls.append((args[0].detach().clone(), output.detach().clone()))
        )
        try:
            yield
        finally:
            handle.remove()
        self.inputs, self.outputs = [z for z, _ in calls], [y for _, y in calls]

    def group(self, windows: int, forwards: int) -> None:
        """Arrange what was recorded over ``forwards`` forward passes of ``windows`` windows in all into
        (k, G, ...) per call; a layout that does not fit (calls not a multiple of ``forwards``, rows not
        a multiple of the batch) leaves no reference, so every mutant pass then runs the convolution.
        """
        calls, inputs, outputs = len(self.inputs) // max(forwards, 1), self.inputs, self.outputs
        self.inputs, self.outputs, self.interleaved, self._parts = [], [], [], []
        if calls * forwards != len(inputs) or calls == 0:
            return
        per_forward = [inputs[i::calls] for i in range(calls)], [outputs[i::calls] for i in range(calls)]
        for z_parts, y_parts in zip(*per_forward, strict=True):
            rows = sum(z.shape[0] for z in z_parts)
            if rows % windows:
                self.inputs, self.outputs, self.interleaved, self._parts = [], [], [], []
                return
            self._parts.append((z_parts, y_parts, rows // windows))
        for call in range(calls):
            self._arrange(call, interleaved=False)

    def _arrange(self, call: int, interleaved: bool) -> None:
        """Set the (k, G, ...) reference of ``call`` from its recorded parts, read in the given row layout."""
        z_parts, y_parts, k = self._parts[call]

        def arranged(parts: list[torch.Tensor]) -> torch.Tensor:
            if interleaved:  # rows b*k + j -> (k, b)
                return torch.cat([p.unflatten(0, (p.shape[0] // k, k)).transpose(0, 1) for p in parts], dim=1)
            return torch.cat([p.unflatten(0, (k, p.shape[0] // k)) for p in parts], dim=1)

        reference = arranged(z_parts), arranged(y_parts)
        if call == len(self.inputs):
            self.inputs.append(reference[0])
            self.outputs.append(reference[1])
            self.interleaved.append(interleaved)
        else:
            self.inputs[call], self.outputs[call], self.interleaved[call] = *reference, interleaved

    @contextmanager
    def patching(self, rows: torch.Tensor) -> Iterator[None]:
        """Within it, the convolution's n-th call of a forward on M mutants answers from the n-th recorded
        call; rows: int64 (M,) the reference window (0..G-1) of each mutant.
        """
        original, calls = self.conv.forward, iter(range(len(self.inputs)))

        def forward(z: torch.Tensor) -> torch.Tensor:
            call = next(calls, None)
            patched = None if call is None else self._patched(z, rows, call)
            if patched is None and call is not None and self.inputs[call].shape[0] > 1:
                self._arrange(call, interleaved=not self.interleaved[call])  # the other layout, kept if it fits
                patched = self._patched(z, rows, call)
            return original(z) if patched is None else patched

        self.conv.forward = forward  # an instance attribute: nn.Module.__call__ looks it up first
        try:
            yield
        finally:
            del self.conv.forward

    def _patched(self, z: torch.Tensor, rows: torch.Tensor, call: int) -> torch.Tensor | None:
        """The convolution of z (k*M, C, L) from the recorded call, or None when a row differs from its
        reference in more than one column (or the shapes do not line up).
        """
        reference, output = self.inputs[call], self.outputs[call]  # (k, G, C, L), (k, G, F, L_out)
        k, windows = reference.shape[:2]
        if z.shape[0] != k * rows.numel() or z.shape[1:] != reference.shape[2:]:
            return None
        copies = torch.arange(k, device=z.device) * windows
        if self.interleaved[call]:  # mutant row m*k + j: copy j of window rows[m]
            index = (copies[None, :] + rows[:, None]).flatten()
        else:  # mutant row j*M + m
            index = (copies[:, None] + rows[None, :]).flatten()
        change = z - reference.flatten(0, 1).index_select(0, index)  # (R, C, L)
        changed = change.ne(0).any(dim=1)  # (R, L)
        if changed.sum(dim=1).max() > 1:
            return None
        column = changed.to(torch.uint8).argmax(dim=1)  # (R,); 0 for an unchanged row, whose change is 0
        vector = change[torch.arange(len(index), device=z.device), :, column]  # (R, C)
        values = torch.einsum("rc,fck->rfk", vector, self.conv.weight)  # (R, F, K)
        patched = output.flatten(0, 1).index_select(0, index)  # (R, F, L_out), a copy
        positions = column[:, None] + self.left - self.offsets.to(z.device)  # (R, K) output columns reached
        inside = (positions >= 0) & (positions < patched.shape[-1])
        values.mul_(inside[:, None, :].to(values.dtype))  # columns past either end get nothing
        positions = positions.clamp(0, patched.shape[-1] - 1)[:, None, :].expand_as(values)
        return patched.scatter_add_(2, positions, values)
