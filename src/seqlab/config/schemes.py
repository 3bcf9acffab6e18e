"""Top-level sections of the training schemes other than ``supervised`` (``ssl:``, ``noisy_student:``, ``mfd:``).

Each is optional and only read by its scheme (``train.scheme``); the wing that implements a scheme
adds its keys to its section here. A section given while ``train.scheme`` names another scheme is an
error, so a forgotten ``train.scheme`` does not silently train the supervised model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from seqlab.config.base import StrictModel

__all__ = [
    "SCHEME_OBJECTIVES",
    "SCHEME_SECTIONS",
    "MfdConfig",
    "NoisyStudentConfig",
    "SslConfig",
    "StageConfig",
    "TeacherWindowsConfig",
    "check_scheme_objective",
    "check_scheme_sections",
]


class StageConfig(StrictModel):
    """Optimisation of one training stage (pre-training, fine-tuning, a student round)."""

    max_epochs: int = Field(10, gt=0, description="Epochs at most (early stopping may end sooner).")
    learning_rate: float = Field(1e-3, gt=0, description="AdamW learning rate of the stage.")
    patience: int = Field(
        3, ge=1, description="Early-stopping patience of the stage, in train.patience_unit (validations or steps)."
    )


class SslConfig(StrictModel):
    """``ssl``: pre-train on pseudo-labelled homologs, then fine-tune on the human training windows.

    Pre-training is selected (early stopping, best checkpoint) on the homologs of the human
    validation windows; fine-tuning on the human validation windows.
    """

    include_human: bool = Field(False, description="Pre-train on the human training windows too.")
    head: Literal["keep", "reinit"] = Field(
        "keep", description="Fine-tuning keeps the pre-trained head ('keep') or starts a fresh one ('reinit')."
    )
    pretrain: StageConfig = Field(default_factory=StageConfig, description="Pre-training on homologs.")
    finetune: StageConfig = Field(
        default_factory=lambda: StageConfig(learning_rate=3e-4), description="Fine-tuning on human windows."
    )


class TeacherWindowsConfig(StrictModel):
    """Teacher-labelled windows of the other genomes outside the lifted windows (``noisy_student.teacher_windows``).

    Candidates (:mod:`seqlab.data.teacher_windows`): training-split tiles of the reference chromosomes, away
    from every labelled window, lifted to the target genomes, outside every homolog of the run. Each round's
    teacher scores them (probability p per task); p >= threshold counts as positive, p <= 1 - threshold as
    negative, the rest is not used; at most ``max_positives`` / ``max_negatives`` per task are drawn at random
    (run seed and round). ``select: top`` takes the highest and lowest p instead. Their pseudo-labels follow
    ``pseudo_labels`` (soft: p; weighted: the call, weight p or 1 - p).
    They join the student's training windows only.
    """

    stride: int = Field(1000, gt=0, description="bp between the starts of the reference tiles that are lifted.")
    select: Literal["threshold", "top"] = Field(
        "threshold",
        description="threshold: calls where p >= threshold (p <= 1 - threshold), capped by a random draw; top: the "
        "max_positives highest and max_negatives lowest p (for a teacher whose p never reaches the threshold).",
    )
    threshold: float = Field(
        0.9, gt=0.5, lt=1, description="Teacher probability for a positive (>=), 1 - threshold for a negative (<=)."
    )
    max_positives: int = Field(200, ge=0, description="Confident positives kept per task at most (random draw).")
    max_negatives: int = Field(200, ge=0, description="Confident negatives kept per task at most (random draw).")


class NoisyStudentConfig(StrictModel):
    """``noisy_student``: a teacher relabels the homologs; a noised student learns them, then human data.

    Pseudo-labels for a homolog with lifted label y (0/1), lifted weight w and teacher probability p
    (strand-averaged): ``soft``: label p, weight w; ``weighted``: label y, weight w * (p if y = 1
    else 1 - p), i.e. the teacher's confidence that the lifted label is right.
    """

    teacher: Path | None = Field(
        None, description="Teacher checkpoint (.ckpt); None: the fine-tuned model of an ssl stage of the same run."
    )
    rounds: int = Field(
        1,
        ge=1,
        description="Student rounds; each student becomes the next teacher (default 1: 2 rounds were +0.007 "
        "chr22 validation AUROC for 42 % more steps in issue 16's ablation, under its 0.02 bar; docs/results.md).",
    )
    pseudo_labels: Literal["soft", "weighted"] = Field(
        "weighted",
        description="How the teacher sets the pseudo-labels (default weighted: soft was -0.019 chr22 validation "
        "AUROC in issue 16's ablation; docs/results.md).",
    )
    include_human: bool = Field(True, description="The student also trains on the labelled human windows.")
    noise_sigma: float = Field(0.1, ge=0, description="Gaussian noise sd added to the one-hot input (training).")
    dropout: float | None = Field(
        0.3, ge=0, lt=1, description="Student dropout (replaces the trunk's 'dropout' when it is one number)."
    )
    max_shift: int = Field(5, ge=0, description="Random shift augmentation of student windows (bp).")
    reverse_complement: bool = Field(True, description="Reverse-complement augmentation of student windows.")
    teacher_windows: TeacherWindowsConfig | None = Field(
        None,
        description="Also train the student on teacher-labelled windows of the other genomes outside the lifted "
        "windows (confidence-thresholded; null: off).",
    )
    student: StageConfig = Field(
        default_factory=lambda: StageConfig(learning_rate=3e-3),
        description="Student training on pseudo-labels (learning rate 0.003: chosen on the chr22 validation region "
        "over 0.001, issue 16; docs/results.md).",
    )
    finetune: StageConfig = Field(
        default_factory=lambda: StageConfig(learning_rate=3e-4), description="Student fine-tuning on human windows."
    )


class MfdConfig(StrictModel):
    """Metadata-guided feature disentanglement: independence penalty, adversaries, held-out experiments.

    The metadata head itself (columns, groups, subspace sizes) is ``model.head`` with ``kind: metadata``;
    with ``kind: linear`` the scheme trains the plain multi-task head on the same examples (the baseline).
    Formulas: docs/mfd.md.
    """

    penalty: Literal["none", "covariance", "cross_prediction", "shuffle"] = Field(
        "cross_prediction", description="Independence penalty between the biological and technical subspaces."
    )
    weight: float = Field(
        0.1,
        ge=0,
        description="Weight of the penalty in the encoder's loss (cross_prediction on the simulated compendium: "
        "0.3 and 1.0 cost test AUROC and the motif effects, docs/mfd.md).",
    )
    penalty_side: Literal["biological", "both"] = Field(
        "biological",
        description="Which subspace the penalty's gradient moves: 'biological' (the technical features enter the "
        "penalty detached, so the technical subspace, the only one whose weights depend on the technical "
        "metadata, cannot meet the penalty by giving the technical signal up) or 'both' (docs/mfd.md).",
    )
    variance_floor: float = Field(
        0.1,
        ge=0,
        description="Each subspace unit whose batch sd falls below this adds relu(1 - sd / floor) (mean over "
        "units, times floor_weight) to the encoder's loss, so no penalty can be met by killing units; 0: off.",
    )
    floor_weight: float = Field(1.0, ge=0, description="Weight of the variance-floor term.")
    adversary_steps: int = Field(1, ge=1, description="Adversary optimiser steps per encoder step.")
    adversary_lr: float = Field(1e-3, gt=0, description="Adam learning rate of the adversaries.")
    adversary_hidden: int = Field(32, ge=0, description="Hidden units of each adversary network (0: linear).")
    holdout: list[dict[str, str]] = Field(
        default_factory=list,
        description="Experiments held out for imputation, by metadata: a task-table row is held out when it "
        "matches every column=value of one entry, e.g. [{target: CTCF, biosample: HepG2}]. Never trained; "
        "scored afterwards from their metadata alone (metrics.json 'imputation').",
    )
    holdout_reference: bool = Field(
        True,
        description="With holdout: also train the model with the held-out experiments seen (stage seen/), "
        "to compare their imputed AUROC/AUPR with the seen one.",
    )

    @field_validator("holdout", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        entries = []
        for i, entry in enumerate(value):
            if not isinstance(entry, dict) or not entry:
                raise ValueError(f"mfd.holdout[{i}]: give column: value pairs, e.g. {{target: CTCF, biosample: K562}}")
            entries.append({str(k): str(v) for k, v in entry.items()})  # YAML numbers/dates as the table's text
        return entries


SCHEME_SECTIONS: dict[str, tuple[str, ...]] = {
    "supervised": (),
    "ssl": ("ssl",),
    "noisy_student": ("noisy_student", "ssl"),
    "mfd": ("mfd",),
}
"""Every ``train.scheme`` name and the sections it reads (a scheme may read several, e.g. noisy_student
may read ssl too). ``seqlab.training.schemes.register_scheme`` adds a new scheme's name."""


SCHEME_OBJECTIVES: dict[str, tuple[str, ...]] = {
    "supervised": ("binary", "regression", "profile"),
    "ssl": ("binary",),  # homologs are lifted from labels, not from track targets
    "noisy_student": ("binary",),
    "mfd": ("binary",),
}
"""Every ``train.scheme`` name -> the objective kinds (``model.objective.kind``) it trains;
``seqlab.training.schemes.register_scheme`` adds a new scheme's (``Scheme.objectives``)."""


def check_scheme_objective(scheme: str, kind: str) -> None:
    """Raise a ValueError naming both when ``train.scheme`` cannot train objective kind ``kind``."""
    supported = SCHEME_OBJECTIVES.get(scheme, ())
    if kind not in supported:
        raise ValueError(
            f"train.scheme {scheme!r} does not support model.objective.kind {kind!r}; it trains "
            f"{', '.join(supported) or 'no objective'}"
        )


def check_scheme_sections(scheme: str, given: dict[str, Any]) -> None:
    """Raise a ValueError when ``train.scheme`` is unknown or a scheme section is set that it does not read.

    Args:
        scheme: ``train.scheme``.
        given: section name -> value (None when absent) for every scheme section of the config.
    """
    if scheme not in SCHEME_SECTIONS:
        raise ValueError(f"train.scheme: unknown value {scheme!r}; expected one of {sorted(SCHEME_SECTIONS)}")
    wanted = SCHEME_SECTIONS[scheme]
    for name, value in given.items():
        if value is not None and name not in wanted:
            raise ValueError(f"the {name}: section is set but train.scheme is {scheme!r}; set train.scheme: {name}")
