"""The ``noisy_student`` scheme: a teacher relabels the homologs, a noised student learns them, then human data.

For k = 1..rounds (every stage through the one loop, :func:`~seqlab.training.ssl.train_stage`)::

    round_k/student/   the teacher relabels the training homologs (:func:`teacher_pseudo_labels`); a fresh
                       student trains on them (+ human train, + the windows of other genomes outside the
                       lifted ones that the teacher is confident about, with ``teacher_windows``:
                       :func:`confident_labels`, :mod:`seqlab.data.teacher_windows`) with noise: Gaussian noise on the
                       one-hot input, dropout, random shift and reverse complement; it is selected on
                       the homologs of val windows with their lifted labels
    round_k/finetune/  the student fine-tuned on the human windows; it is the next teacher

The first teacher is ``noisy_student.teacher``, else an ``ssl`` run in the ``ssl/`` folder of the run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seqlab.atomic import write_json
from seqlab.config import AugmentConfig, ModelConfig
from seqlab.config.schemes import NoisyStudentConfig, TeacherWindowsConfig
from seqlab.data.table import ExampleTable
from seqlab.data.teacher_windows import candidate_windows
from seqlab.models.inference import predict_table
from seqlab.models.sequence_model import SequenceModel, parse_model_config
from seqlab.runs import RunPaths
from seqlab.training.fit import run_relative
from seqlab.training.schemes import RunContext, Scheme
from seqlab.training.ssl import (
    StageResult,
    finish_run,
    run_ssl,
    split_homologs,
    stage_summary,
    stage_table,
    train_stage,
)

__all__ = [
    "NOISY_STUDENT",
    "confident_labels",
    "relabel_homologs",
    "run_noisy_student",
    "teacher_probabilities",
    "teacher_pseudo_labels",
]


def teacher_pseudo_labels(
    labels: np.ndarray, weights: np.ndarray, probs: np.ndarray, mode: Literal["soft", "weighted"]
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-labels of homologs from a teacher's probabilities.

    Args:
        labels: float32 (N, T) lifted labels y (0/1).
        weights: float32 (N, T) lifted weights w (0 masks).
        probs: float32 (N, T) teacher probabilities p.
        mode: 'soft': (p, w); 'weighted': (y, w * (p if y >= 0.5 else 1 - p)).

    Returns:
        float32 (N, T) labels and weights.
    """
    labels, weights, probs = (np.asarray(a, dtype=np.float32) for a in (labels, weights, probs))
    if mode == "soft":
        return probs.copy(), weights.copy()
    if mode == "weighted":
        confidence = np.where(labels >= 0.5, probs, 1.0 - probs)
        return labels.copy(), (weights * confidence).astype(np.float32)
    raise ValueError(f"pseudo_labels must be 'soft' or 'weighted', got {mode!r}")


def relabel_homologs(homologs: ExampleTable, teacher: str | Path, mode: Literal["soft", "weighted"]) -> ExampleTable:
    """The homologs with the teacher's pseudo-labels (:func:`teacher_pseudo_labels`), as a dense table.

    ``teacher``: a checkpoint or model folder (:meth:`SequenceModel.from_pretrained`); its
    strand-averaged probabilities come from :func:`~seqlab.models.inference.predict_table`. Teacher
    tasks are matched to the table's tasks by name.

    Raises:
        ValueError: a task of the table that the teacher does not predict.
    """
    probs = teacher_probabilities(homologs, teacher)
    labels, weights = homologs.label_rows(np.arange(len(homologs)))
    labels, weights = teacher_pseudo_labels(labels, weights, probs, mode)
    return dataclasses.replace(homologs, labels=labels, weights=weights)


def teacher_probabilities(table: ExampleTable, teacher: str | Path) -> np.ndarray:
    """float32 (N, T_table): the teacher's strand-averaged probabilities, its tasks matched to the table's by name.

    Raises:
        ValueError: a task of the table that the teacher does not predict.
    """
    model = SequenceModel.from_pretrained(teacher)
    missing = [task for task in table.task_names if task not in model.tasks]
    if missing:
        raise ValueError(f"noisy_student.teacher {teacher} does not predict task(s) {missing} (it has {model.tasks})")
    probs = predict_table(model, table)
    return probs[:, [model.tasks.index(task) for task in table.task_names]]


def _picks(p: np.ndarray, windows: TeacherWindowsConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """int64 row numbers of the positive and the negative calls of one task (see :func:`confident_labels`)."""
    if windows.select == "top":
        order = np.argsort(-p, kind="stable")
        positives = order[: windows.max_positives]
        negatives = np.setdiff1d(order[::-1][: windows.max_negatives], positives)
        return positives, negatives
    picks = []
    for hits, cap in (
        (p >= windows.threshold, windows.max_positives),
        (p <= 1.0 - windows.threshold, windows.max_negatives),
    ):
        rows = np.flatnonzero(hits)
        picks.append(np.sort(rng.choice(rows, size=min(cap, rows.size), replace=False)) if rows.size else rows)
    return picks[0], picks[1]


def confident_labels(
    probs: np.ndarray, windows: TeacherWindowsConfig, mode: Literal["soft", "weighted"], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, dict[str, Any]]]:
    """Pseudo-labels of unlabelled windows where the teacher is confident (``noisy_student.teacher_windows``).

    Per task, with ``select: threshold`` windows with p >= threshold are positive calls and p <= 1 - threshold
    negative calls, at most ``max_positives`` / ``max_negatives`` of them drawn without replacement; with
    ``select: top`` the ``max_positives`` highest p are positive calls and the ``max_negatives`` lowest negative
    ones. The calls (1/0, weight 1; weight 0 elsewhere) go through :func:`teacher_pseudo_labels` with ``mode``.

    Args:
        probs: float32 (N, T) teacher probabilities.
        windows: the rule and the caps.
        mode: 'soft' or 'weighted' (as for the homologs).
        rng: draws the capped subsets (``select: threshold``).

    Returns:
        ``(rows, labels, weights, counts)``: int64 (M,) rows with at least one task kept, float32 (M, T)
        labels and weights of those rows, and per task ``{"positive", "negative"}`` (calls kept) with
        ``p_positive_min`` / ``p_negative_max`` (the least confident kept call; None without calls).
    """
    probs = np.asarray(probs, dtype=np.float32)
    calls, chosen = np.zeros_like(probs), np.zeros_like(probs)
    counts: dict[str, dict[str, Any]] = {}
    for t in range(probs.shape[1]):
        positives, negatives = _picks(probs[:, t], windows, rng)
        calls[positives, t] = 1.0
        chosen[positives, t] = chosen[negatives, t] = 1.0
        counts[str(t)] = {
            "positive": int(positives.size),
            "negative": int(negatives.size),
            "p_positive_min": float(probs[positives, t].min()) if positives.size else None,
            "p_negative_max": float(probs[negatives, t].max()) if negatives.size else None,
        }
    rows = np.flatnonzero(chosen.sum(axis=1) > 0)
    labels, weights = teacher_pseudo_labels(calls[rows], chosen[rows], probs[rows], mode)
    return rows, labels, weights, counts


def _teacher_windows(
    candidates: ExampleTable,
    teacher: Path,
    windows: TeacherWindowsConfig,
    mode: Literal["soft", "weighted"],
    rng: np.random.Generator,
) -> tuple[ExampleTable, dict[str, dict[str, Any]]]:
    """The candidates the teacher is confident about, pseudo-labelled (:func:`confident_labels`), split train."""
    probs = teacher_probabilities(candidates, teacher)
    rows, labels, weights, counts = confident_labels(probs, windows, mode, rng)
    kept = dataclasses.replace(candidates.subset(rows), labels=labels, weights=weights)
    return kept, {candidates.task_names[int(t)]: value for t, value in counts.items()}


def _student_model(model: ModelConfig, dropout: float | None) -> ModelConfig:
    """The model config with its single ``dropout`` rate replaced (configs without one are unchanged)."""
    config = parse_model_config(model)
    if dropout is None or not isinstance(getattr(config, "dropout", None), float):
        return config
    return config.model_copy(update={"dropout": dropout})


def run_noisy_student(
    ctx: RunContext, human: ExampleTable, homologs: ExampleTable, root: RunPaths, teacher: Path
) -> tuple[dict[str, Any], StageResult]:
    """``noisy_student``: ``rounds`` of teacher relabelling, noised student, fine-tuning (module docstring).

    Args:
        ctx: the run context (``noisy_student`` section: ``ctx.config.noisy_student``, default
            ``NoisyStudentConfig()``; the student's dropout and augmentation come from it).
        human: the labelled human windows (train/val/test).
        homologs: pseudo-labelled homolog windows with their origin's split.
        root: the scheme's folder (round_1/, round_2/, ... and metrics.json).
        teacher: the first teacher's checkpoint or model folder.

    Returns:
        The metrics document written to ``root/metrics.json`` and the last round's fine-tuning stage.

    Raises:
        ValueError: no homolog of a training window.
    """
    noisy = ctx.config.noisy_student or NoisyStudentConfig()
    relabel = homologs.split_indices("train")
    if relabel.size == 0:
        raise ValueError("noisy_student: no homolog of a human training window survived lifting and the guard")
    data = ctx.config.data
    student_data = data.model_copy(
        update={"augment": AugmentConfig(max_shift=noisy.max_shift, reverse_complement=noisy.reverse_complement)}
    )
    student_model = _student_model(ctx.config.model, noisy.dropout)
    stages: dict[str, StageResult] = {}
    rounds: list[dict[str, Any]] = []
    candidates = None
    if noisy.teacher_windows is not None:
        candidates = candidate_windows(data, human, homologs, noisy.teacher_windows.stride)
        write_json(root.root / "teacher_windows.json", candidates.report["teacher_windows"])
    for k in range(1, noisy.rounds + 1):
        relabelled = relabel_homologs(homologs.subset(relabel), teacher, noisy.pseudo_labels)
        # the student is selected on homologs of val windows with their lifted labels, not the teacher's
        parts = [(relabelled, "train", "train"), (homologs, "val", "val"), (human, "test", "test")]
        if noisy.include_human:
            parts.insert(1, (human, "train", "train"))
        extra: dict[str, Any] = {}
        if candidates is not None and noisy.teacher_windows is not None:
            rng = np.random.default_rng([ctx.seed, k])  # the capped draws: run seed and round
            windows, extra["teacher_windows"] = _teacher_windows(
                candidates, teacher, noisy.teacher_windows, noisy.pseudo_labels, rng
            )
            parts.insert(1, (windows, "train", "train"))
        round_k = root.stage(f"round_{k}")
        student = train_stage(ctx, round_k.stage("student"), stage_table(parts), noisy.student,
                              model=student_model, data=student_data, noise_sigma=noisy.noise_sigma)  # fmt: skip
        finetune = train_stage(ctx, round_k.stage("finetune"), human, noisy.finetune, init=student.best_checkpoint)
        stages[f"round_{k}/student"], stages[f"round_{k}/finetune"] = student, finetune
        rounds.append(
            {"round": k, "teacher": run_relative(teacher, ctx.run.root), "relabelled": int(relabel.size)} | extra
        )
        round_stages = {"student": student, "finetune": finetune}
        write_json(round_k.metrics, stage_summary(ctx, round_stages, finetune, "noisy_student"))
        teacher = finetune.best_checkpoint
    final = stages[f"round_{noisy.rounds}/finetune"]
    document = stage_summary(ctx, stages, final, "noisy_student") | {"rounds": rounds}
    write_json(root.metrics, document)
    return document, final


def run_noisy_student_scheme(ctx: RunContext) -> dict[str, Any]:
    """``train.scheme: noisy_student``: the teacher is ``noisy_student.teacher`` or an ssl run in ``ssl/``."""
    human, homologs = split_homologs(ctx.table)
    noisy = ctx.config.noisy_student or NoisyStudentConfig()
    teacher, extra = noisy.teacher, {}
    if teacher is None:
        ssl, ssl_final = run_ssl(ctx, human, homologs, ctx.run.stage("ssl"))
        teacher, extra = ssl_final.best_checkpoint, {"teacher_ssl": ssl}
    document, final = run_noisy_student(ctx, human, homologs, ctx.run, Path(teacher))
    return finish_run(ctx, human, document | extra, final)


NOISY_STUDENT = Scheme(
    "noisy_student",
    run_noisy_student_scheme,
    sections=("noisy_student", "ssl"),
    stages=("ssl/pretrain", "ssl/finetune", "round_{k}/student", "round_{k}/finetune"),
)
"""``train.scheme: noisy_student``: the rounds' stages (and the teacher's ssl stages without a teacher)."""
