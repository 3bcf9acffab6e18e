"""``SequenceModel``: a trained DNA model that carries its data: network, data parameters, tasks, vocabularies.

``SequenceModel(trunk, head, data_params, config)``: x float32 (B, C, L) -> trunk -> features float32
(B, F) -> head -> logits float32 (B, T), with the :class:`DataParams` it was built for (tasks in
logit-column order, window length L, encoding, task metadata) and the ``ModelConfig`` that rebuilds it.

    model = SequenceModel.from_pretrained("runs/ctcf")          # model folder, run folder or .ckpt
    result = model.predict(["ACGT...", "GGC..."])               # any length: see fit_to_window
    result.probabilities                                         # float64 (N, T), columns model.tasks
    model.save_pretrained("models/ctcf")

Strands: every prediction is averaged over the forward strand and the reverse complement
(:meth:`SequenceModel.strand_logits`). A trunk that declares ``strand_symmetric = True`` (DeepBind:
it scans both strands itself and keeps the maximum) gives the same features for a window and its
reverse complement, so the reverse complement is not run through it a second time (not for a head that
reads positional features: a profile head runs both strands and flips the reverse strand's profile back).

Profile models (``model.head.kind: profile``): the head reads ``positional_features(x)`` (B, F, P) and,
with ``control: true``, a control profile (B, T, L_out); outputs are packed (B, T, L_out + 1) (profile
logits, then log(1 + counts); :func:`seqlab.objectives.split_profile_outputs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import ValidationError
from torch import nn

from seqlab.config import ModelConfig, TrunkConfig
from seqlab.data.encoding import reverse_complement
from seqlab.models.data_params import DataParams
from seqlab.models.heads import HEADS, Head, build_head
from seqlab.models.pretrained import read_model_files, write_model_folder
from seqlab.models.scoring import fit_to_window, map_batches, n_fraction, strand_scores, warn_fitted
from seqlab.models.trunks import build_trunk
from seqlab.objectives import Objective, build_objective

__all__ = ["Predictions", "SequenceModel", "build_model", "parse_model_config"]

_BASES = re.compile(r"[^ACGTNRYKMSWBDHVacgtnrykmswbdhv]")


@dataclass(frozen=True)
class Predictions:
    """What :meth:`SequenceModel.predict` returns for N sequences and the model's T tasks.

    Attributes:
        tasks: the T task names (columns of the arrays).
        probabilities: float64 (N, T): the mean of the two strands' predictions: sigmoids of a binary
            model, values of a regression model (the objective's link).
        logits: float64 (N, T): the mean of the two strands' logits.
        cropped: bool (N,): the sequence was longer than the window (its centre was scored).
        padded: bool (N,): the sequence was shorter than the window (padded with N on both sides).
        profiles: float64 (N, T, L_out) expected counts per base of a profile model (``probabilities`` are then
            the predicted total counts and ``logits`` the mean log(1 + counts)); None for other models.
    """

    tasks: list[str]
    probabilities: np.ndarray
    logits: np.ndarray
    cropped: np.ndarray
    padded: np.ndarray
    profiles: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per sequence: ``cropped``, ``padded``, one probability column per task, ``logit.<task>``."""
        frame = pd.DataFrame({"cropped": self.cropped, "padded": self.padded})
        probabilities = pd.DataFrame(self.probabilities, columns=self.tasks)
        logits = pd.DataFrame(self.logits, columns=[f"logit.{task}" for task in self.tasks])
        return pd.concat([frame, probabilities, logits], axis=1)


class SequenceModel(nn.Module):
    """A trunk, a head and the data they were trained on: x float32 (B, C, L) -> logits float32 (B, T).

    While the trunk is frozen (``freeze_trunk``) it stays in eval mode even when the model is put in
    training mode, so its batch-norm statistics and dropout do not change during fine-tuning.

    Args:
        trunk: x (B, C, L) -> features (B, F), with ``out_features = F``.
        head: features (B, F) -> logits (B, T).
        data_params: the data the model takes and predicts: T = ``len(data_params.tasks)``.
        config: the model config it was built from (``build_model`` sets it; ``save_pretrained`` needs it).

    Raises:
        ValueError: trunk and head disagree on F, or the head has another number of tasks than
            ``data_params``.
    """

    def __init__(
        self,
        trunk: nn.Module,
        head: Head,
        data_params: DataParams | Mapping[str, Any],
        config: ModelConfig | None = None,
    ) -> None:
        super().__init__()
        params = DataParams.from_dict(data_params)
        if getattr(head, "reads_positional", False):
            strands = getattr(trunk, "positional_strands", 1)
            if trunk.positional_features // strands != head.in_features:
                raise ValueError(
                    f"trunk gives {trunk.positional_features // strands} positional features but the head expects "
                    f"{head.in_features}"
                )
        elif trunk.out_features != head.in_features:
            raise ValueError(f"trunk gives {trunk.out_features} features but the head expects {head.in_features}")
        if head.n_tasks != params.n_tasks:
            raise ValueError(f"the head has {head.n_tasks} outputs for the {params.n_tasks} tasks of data_params")
        self.trunk = trunk
        self.head = head
        self.data_params = params
        self.config = config
        self.objective: Objective = build_objective(config.objective if config is not None else None)
        self.trunk_frozen = False

    # ----------------------------------------------------------------- what the model is

    @property
    def tasks(self) -> list[str]:
        """The T task names, in logit-column order."""
        return list(self.data_params.tasks)

    @property
    def n_tasks(self) -> int:
        """Number of tasks T (columns of the logits)."""
        return self.head.n_tasks

    @property
    def window_length(self) -> int:
        """The window length L in bp the model was trained on."""
        return self.data_params.window_length

    @property
    def encoding(self) -> str:
        """The input encoding: 'onehot' (C=4) or 'dinucleotide' (C=16)."""
        return self.data_params.encoding

    @property
    def vocabularies(self) -> dict[str, list[str]]:
        """The head's metadata vocabularies: column -> known values (empty for heads without metadata)."""
        return self.head.vocabularies()

    @property
    def strand_symmetric(self) -> bool:
        """Whether outputs(x) == outputs(reverse_complement(x)) in eval mode: a symmetric trunk, pooled features."""
        return bool(getattr(self.trunk, "strand_symmetric", False)) and not self.reads_positional

    @property
    def reads_positional(self) -> bool:
        """Whether the head reads positional features (a profile head) instead of pooled ones."""
        return bool(getattr(self.head, "reads_positional", False))

    @property
    def uses_control(self) -> bool:
        """Whether the head takes a control profile per task (``forward(x, control)``)."""
        return bool(getattr(self.head, "control", False))

    # ----------------------------------------------------------------- tensors

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Map x float32 (B, C, L) to trunk features float32 (B, F)."""
        return self.trunk(x)

    def positional_features(self, x: torch.Tensor) -> torch.Tensor:
        """Positional features float32 (B, F, P) of x float32 (B, C, L), as a profile head reads them.

        A trunk stacking both strands' maps (``positional_strands = 2``, DeepBind: forward scan, then the
        reverse scan flipped to forward coordinates) gives their sum, so F is its filter count.
        """
        positional = self.trunk.positional(x)
        if getattr(self.trunk, "positional_strands", 1) == 2:
            forward_strand, reverse_strand = positional.chunk(2, dim=1)
            positional = forward_strand + reverse_strand
        return positional

    def forward(self, x: torch.Tensor, control: torch.Tensor | None = None) -> torch.Tensor:
        """Map x float32 (B, C, L) to logits float32 (B, T), or (profile head) to packed outputs (B, T, L_out + 1).

        ``control`` float32 (B, T, L_out): the control profiles a profile head with ``control: true`` needs.
        """
        if self.reads_positional:
            return self.head(self.positional_features(x), control if self.uses_control else None)
        return self.head(self.trunk(x))

    def train(self, mode: bool = True) -> SequenceModel:
        """Set training mode; a frozen trunk stays in eval mode."""
        super().train(mode)
        if self.trunk_frozen:
            self.trunk.eval()
        return self

    def strand_features(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk features of both strands: x float32 (B, C, L) -> float32 (B, 2, F) (forward, reverse complement).

        A strand-symmetric trunk runs once and its features stand for both strands.
        """
        if self.strand_symmetric:
            features = self.trunk(x).float()
            return torch.stack((features, features), dim=1)
        forward_strand, reverse_strand = self.trunk(torch.cat([x, reverse_complement(x, self.encoding)])).chunk(2)
        return torch.stack((forward_strand, reverse_strand), dim=1).float()

    def strand_logits(self, x: torch.Tensor, control: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of both strands: x float32 (B, C, L) -> float32 (B, 2, T) (``[:, 0]`` forward, ``[:, 1]`` reverse).

        A strand-symmetric trunk runs once (one pass instead of two; the same values to rounding). A profile
        model gives (B, 2, T, L_out + 1): the reverse strand runs on reverse_complement(x) with the control
        flipped, and its profile logits are flipped back to forward coordinates.
        """
        if self.strand_symmetric:
            logits = self(x).float()
            return torch.stack((logits, logits), dim=1)
        both = torch.cat([x, reverse_complement(x, self.encoding)])
        if self.reads_positional:
            controls = None if control is None else torch.cat([control, control.flip(-1)])
            forward_strand, reverse_strand = self(both, controls).chunk(2)
            reverse_strand = torch.cat([reverse_strand[..., :-1].flip(-1), reverse_strand[..., -1:]], dim=-1)
        else:
            forward_strand, reverse_strand = self(both).chunk(2)
        return torch.stack((forward_strand, reverse_strand), dim=1).float()

    def strand_predictions(self, x: torch.Tensor, control: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions averaged over both strands: x float32 (B, C, L) -> float32 (B, T).

        The mean of the two strands' ``objective.link`` outputs: probabilities for a binary model, values for
        a regression model, expected counts per base (B, T, L_out) for a profile model (``control`` (B, T,
        L_out) when its head takes one); put the model in eval mode first.
        """
        return self.objective.link(self.strand_logits(x, control)).mean(dim=1)

    def strand_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities averaged over both strands: x float32 (B, C, L) -> float32 (B, T) in [0, 1].

        ``(sigmoid(logit_forward) + sigmoid(logit_reverse)) / 2``; put the model in eval mode first.
        """
        return torch.sigmoid(self.strand_logits(x)).mean(dim=1)

    # ----------------------------------------------------------------- strings

    def predict(
        self, sequences: Sequence[str], batch_size: int = 256, progress: bool = False, allow_all_n: bool = False
    ) -> Predictions:
        """Probabilities and logits of every task for DNA strings of any length, both strands averaged.

        Each string is scored on the ``window_length`` bp centred on it
        (:func:`~seqlab.models.scoring.fit_to_window`): a longer one is centre-cropped, a shorter one
        padded with N on both sides; both are flagged in the result and counted in one logged warning.
        Runs in eval mode (the model's mode is restored) on the model's device.

        Args:
            sequences: N strings of IUPAC bases (any case; N and ambiguity codes encode as all zeros).
            batch_size: windows per forward pass.
            progress: show a progress bar (stderr) for more than one batch.
            allow_all_n: score windows that are all N (else an error).

        Returns:
            :class:`Predictions` with float64 (N, T) ``probabilities`` and ``logits``.

        Raises:
            TypeError: a single string instead of a list of them.
            ValueError: a character that is not an IUPAC base, or an all-N window without ``allow_all_n``
                (the first such sequence's index named).
        """
        if isinstance(sequences, str | bytes):
            raise TypeError("predict takes a list of sequences; wrap a single sequence in a list")
        sequences = list(sequences)
        for index, sequence in enumerate(sequences):
            bad = _BASES.search(sequence)
            if bad:
                raise ValueError(f"sequence {index}: {bad.group()!r} at position {bad.start()} is not a DNA base")
        windows, cropped, padded = fit_to_window(sequences, self.window_length)
        warn_fitted(cropped, padded, self.window_length)
        all_n = np.flatnonzero(n_fraction(windows) >= 1.0)
        if all_n.size and not allow_all_n:
            raise ValueError(
                f"{all_n.size} window(s) are all N, first sequence {int(all_n[0])}; pass allow_all_n=True to score them"
            )
        if self.uses_control:
            raise ValueError("this profile model takes control profiles; predict them with predict_table on a table")
        if not windows:
            empty = np.zeros((0, self.n_tasks))
            return Predictions(self.tasks, empty, empty.copy(), cropped, padded)

        def batches() -> Iterator[list[str]]:
            for first in range(0, len(windows), batch_size):
                yield windows[first : first + batch_size]

        logits = map_batches(
            self, batches(), _strand_logits, self.encoding, -(-len(windows) // batch_size), "predicting", progress
        )
        if self.objective.kind == "profile":
            profiles = self.objective.strand_values(logits)
            mean_log_counts = np.asarray(logits, dtype=np.float64)[..., -1].mean(axis=1)
            return Predictions(self.tasks, profiles.sum(axis=-1), mean_log_counts, cropped, padded, profiles)
        probabilities, mean_logits = strand_scores(logits)
        if self.objective.kind != "binary":  # values of a regression model, never a sigmoid
            probabilities = self.objective.strand_values(logits)
        return Predictions(self.tasks, probabilities, mean_logits, cropped, padded)

    # ----------------------------------------------------------------- files

    @classmethod
    def from_pretrained(cls, path: str | Path, map_location: str | torch.device = "cpu") -> SequenceModel:
        """Load a model folder, a run folder (its ``model/``, else ``checkpoints/best.ckpt``) or a ``.ckpt``.

        Returns:
            The model in eval mode on ``map_location``, with its ``data_params`` and ``config``.

        Raises:
            FileNotFoundError: nothing loadable at ``path`` (the message says what was looked for).
            ValueError: not a seqlab model, an invalid config, or weights that do not fit it.
        """
        files = read_model_files(path)
        data_params = DataParams.from_dict(files.data_params, source=f"{files.source}: data")
        try:
            model = build_model(parse_model_config(files.model_config), data_params)
        except ValueError as err:
            raise ValueError(f"{files.source}: {err}") from None
        try:
            model.load_state_dict(files.state)
        except RuntimeError as err:
            raise ValueError(f"{files.weights_file} does not fit the model it describes: {err}") from None
        return model.to(map_location).eval()

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write the model as a self-describing folder (replacing an earlier one atomically); return it.

        Raises:
            ValueError: the model records no config (a model assembled by hand or imputed; build it
                with ``build_model``).
        """
        if self.config is None:
            raise ValueError(
                "save_pretrained needs the model config; this model records none (build it with build_model)"
            )
        return write_model_folder(
            folder, self.state_dict(), self.config.model_dump(mode="json"), self.data_params.to_dict()
        )


def _strand_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.strand_logits(x)


def parse_model_config(config: ModelConfig | TrunkConfig | Mapping[str, Any]) -> ModelConfig:
    """A ``model`` section from itself, from a trunk section alone (linear head), or from its dict form.

    Args:
        config: a ``ModelConfig``, a ``TrunkConfig`` (wrapped with the linear head), or a dict
            ``{"trunk": {...}, "head": {...}}``.

    Raises:
        ValueError: an invalid section, naming the fields.
    """
    if isinstance(config, ModelConfig):
        return config
    if isinstance(config, TrunkConfig):
        return ModelConfig(trunk=config)
    try:
        return ModelConfig.model_validate(dict(config))
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'model'}: {e['msg']}" for e in err.errors())
        raise ValueError(f"invalid model config: {problems}") from None


def _head_in_features(config: ModelConfig, trunk: nn.Module) -> int:
    """F the head of ``config`` reads: pooled ``out_features``, or positional features (strands summed).

    Raises:
        ValueError: a positional head on a trunk without positional features.
    """
    kind = config.head.kind
    if not (kind in HEADS and getattr(HEADS[kind], "reads_positional", False)):
        return int(trunk.out_features)
    if not hasattr(trunk, "positional_features"):
        raise ValueError(f"model.head.kind {kind!r} reads positional features; trunk {config.trunk.arch!r} has none")
    return int(trunk.positional_features) // int(getattr(trunk, "positional_strands", 1))


def build_model(
    config: ModelConfig | TrunkConfig | Mapping[str, Any], data_params: DataParams | Mapping[str, Any]
) -> SequenceModel:
    """Build the trunk and the head of a model config for the data of ``data_params``.

    The trunk takes inputs (B, C, L) with C from ``data_params.encoding`` and L its
    ``window_length``; the head is the registered head of ``config.head.kind`` with one logit per task.

    Raises:
        ValueError: invalid data parameters, a window too short for the architecture, a trunk or head
            kind without a registered module, a head that does not produce the objective's kind.
    """
    model_config = parse_model_config(config)
    params = DataParams.from_dict(data_params)
    trunk = build_trunk(model_config.trunk, params.in_channels, params.window_length)
    head = build_head(model_config.head, _head_in_features(model_config, trunk), params)
    kind = model_config.objective.kind
    if kind not in head.produces:
        raise ValueError(
            f"model.head.kind {model_config.head.kind!r} produces {', '.join(head.produces)} targets, not "
            f"model.objective.kind {kind!r}"
        )
    return SequenceModel(trunk, head, params, model_config)
