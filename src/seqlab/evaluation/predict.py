"""Predictions of a trained model on genomic regions or on the records of a FASTA file.

Every prediction is the model objective's prediction averaged over both strands
(``SequenceModel.strand_logits``: the window and its reverse complement, one pass for a strand-symmetric
trunk): the two sigmoid outputs of a binary model, the two values of a regression model (then the task
columns hold values and there are no ``logit.`` columns). Windows have the model's length (``model.window_length``):

* regions (BED/narrowPeak rows): the window is centred on the summit or the region's centre
  ``(start + end) // 2``; windows crossing a chromosome end are padded with N and flagged ``padded``;
* FASTA records: the rule of ``SequenceModel.predict`` (:func:`~seqlab.models.scoring.fit_to_window`):
  the window centred on the record, so a longer record is centre-cropped (flagged ``cropped``) and a
  shorter one padded with N on both sides (flagged ``padded``; its ``n_fraction`` counts the padding);
  both are counted in a logged warning.

Output tables start with ``name, chrom, start, end``, then ``n_fraction`` (the window's share of
``N``, padding included), one probability column per task (named after the task) and one logit column
per task (``logit.{task}``: the mean of the two strands' logits). Probabilities are computed in
float64 from the logits and written at full precision (:func:`write_predictions`), so two
probabilities near 1 stay distinct. A window that is all ``N`` is an error unless ``allow_all_n``.

FASTA record names that do not parse as ``chrom:start-end`` (for example
``chr1:12289969:G>A|chr1:12289904-12290104``, or a name whose span differs from the record length)
keep ``name`` as their id and leave ``chrom, start, end`` missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from seqlab.atomic import atomic_open
from seqlab.data.windows import center_windows
from seqlab.io.errors import InputError
from seqlab.io.fasta import parse_window_names, read_fasta
from seqlab.models.scoring import fit_to_window, map_batches, n_fraction, strand_scores, warn_fitted
from seqlab.models.sequence_model import SequenceModel
from seqlab.objectives import Objective
from seqlab.outputs import new_files

__all__ = [
    "GenomeLike",
    "predict_fasta",
    "predict_regions",
    "region_outputs",
    "region_windows",
    "write_predictions",
    "write_tsv",
]


class GenomeLike(Protocol):
    """What prediction needs of ``seqlab.io.genome.Genome``."""

    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name -> length."""
        ...

    def resolve(self, chrom: str) -> str:
        """The genome's name for ``chrom`` (``chr1``/``1`` aliases); ``KeyError`` when absent."""
        ...

    def fetch(self, chrom: str, start: int, end: int, pad: bool = False) -> str:
        """Bases of ``[start, end)`` (0-based); with ``pad=True`` positions off the chromosome are N."""
        ...


def _check_all_n(fractions: np.ndarray, names: list[str], allow_all_n: bool, source: str) -> None:
    all_n = np.flatnonzero(fractions >= 1.0)
    if all_n.size and not allow_all_n:
        raise InputError(
            f"{all_n.size} window(s) are all N, first {names[int(all_n[0])]!r}; a prediction there means "
            "nothing (pass allow_all_n / --allow-all-n to predict them anyway)",
            file=source,
        )


def _scores_frame(logits: np.ndarray, tasks: list[str], objective: Objective) -> pd.DataFrame:
    """Prediction columns from float (N, 2, T) strand outputs: one per task, then ``logit.{task}`` (binary).

    Binary: the strand-averaged probabilities and the mean logits; regression: the strand-averaged values
    (the objective's link: identity, or exp for a Poisson model), no probability anywhere; profile (outputs
    (N, 2, T, L_out + 1)): the predicted total counts over the target span (sum of the expected counts per base).
    """
    if objective.kind == "profile":
        return pd.DataFrame(objective.strand_values(logits).sum(axis=-1), columns=tasks)
    if objective.kind != "binary":
        return pd.DataFrame(objective.strand_values(logits), columns=tasks)
    prob, logit = strand_scores(logits)
    frame = pd.DataFrame(prob, columns=tasks)
    for t, task in enumerate(tasks):
        frame[f"logit.{task}"] = logit[:, t]
    return frame


def _task_names(model: SequenceModel, taken: Iterable[str]) -> list[str]:
    tasks = model.tasks
    clash = sorted(set(tasks) & set(taken))
    if clash:
        raise ValueError(f"task names {clash} clash with the output's coordinate columns")
    return tasks


def region_windows(
    genome: GenomeLike, regions_df: pd.DataFrame, length: int, center: Literal["summit", "center"]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The windows centred on BED regions, and each region chromosome's name in the genome.

    Returns:
        ``name, chrom, start, end, window_start, window_end, padded`` per region (``name`` from the
        ``name`` column, else ``chrom:start-end``), and region chromosome -> genome chromosome.

    Raises:
        ValueError: regions on chromosomes the genome does not have (listed).
    """
    chroms = regions_df["chrom"].astype(str).tolist()
    starts = regions_df["start"].to_numpy(dtype=np.int64)
    ends = regions_df["end"].to_numpy(dtype=np.int64)
    resolved: dict[str, str] = {}
    absent: set[str] = set()
    for chrom in dict.fromkeys(chroms):
        try:
            resolved[chrom] = genome.resolve(chrom)
        except KeyError:
            absent.add(chrom)
    if absent:
        raise ValueError(f"regions on chromosomes the genome does not have: {sorted(absent)[:10]}")

    window_starts, _ = center_windows(regions_df, length, center)
    window_ends = window_starts + length
    chrom_sizes = genome.chrom_sizes
    sizes = np.array([chrom_sizes[resolved[c]] for c in chroms], dtype=np.int64)
    padded = (window_starts < 0) | (window_ends > sizes)
    if "name" in regions_df.columns:
        names = regions_df["name"].astype(str).tolist()
    else:
        names = [f"{c}:{s}-{e}" for c, s, e in zip(chroms, starts, ends, strict=True)]
    frame = pd.DataFrame(
        {
            "name": names,
            "chrom": chroms,
            "start": starts,
            "end": ends,
            "window_start": window_starts,
            "window_end": window_ends,
            "padded": padded,
        }
    )
    return frame, resolved


def predict_regions(
    model: SequenceModel,
    genome: GenomeLike,
    regions_df: pd.DataFrame,
    batch_size: int = 256,
    progress: bool = True,
    center: Literal["summit", "center"] = "summit",
    allow_all_n: bool = False,
) -> pd.DataFrame:
    """Predict every region of a BED-like table with windows centred on summits or region centres.

    Args:
        model: the model (its tasks name the output columns; windows of ``model.window_length`` bp).
        genome: the genome the regions refer to (``seqlab.io.genome.Genome``).
        regions_df: columns ``chrom``, ``start``, ``end`` (0-based, half-open), optional ``name``.
        batch_size: windows per forward pass (each is run on both strands).
        progress: show a progress bar for inputs of more than one batch.
        center: 'summit' centres on ``start + summit`` where a narrowPeak ``summit`` column gives one
            (>= 0), as training does by default, else on ``(start + end) // 2``; 'center' always uses
            the interval centre.
        allow_all_n: predict windows that are all N (else they are an error).

    Returns:
        One row per region, in input order: ``name`` (the ``name`` column, else ``chrom:start-end``),
        ``chrom``, ``start``, ``end`` (as given), ``window_start``, ``window_end`` (the window scored),
        ``padded`` (bool: the window crosses a chromosome end and was padded with N), ``n_fraction``,
        then one float64 column per task: the probability averaged over both strands, then one
        ``logit.{task}`` column per task (float64, the mean of the strands' logits).

    Raises:
        ValueError: missing columns, a region with ``end <= start`` or a negative start, or regions
            on chromosomes the genome does not have (listed); an all-N window without ``allow_all_n``.
    """
    frame, logits = region_outputs(model, genome, regions_df, batch_size, progress, center, allow_all_n)
    return pd.concat([frame, _scores_frame(logits, model.tasks, model.objective)], axis=1)


def region_outputs(
    model: SequenceModel,
    genome: GenomeLike,
    regions_df: pd.DataFrame,
    batch_size: int = 256,
    progress: bool = True,
    center: Literal["summit", "center"] = "summit",
    allow_all_n: bool = False,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The windows of :func:`predict_regions` (its columns up to ``n_fraction``) and both strands' raw outputs.

    Returns:
        ``(frame, outputs)``: outputs float32 (N, 2, T) (``strand_logits``; a profile model's (N, 2, T, L_out + 1)).
    """
    if model.uses_control:
        raise ValueError("this profile model takes control profiles, which regions and FASTA records do not carry")
    missing = {"chrom", "start", "end"} - set(regions_df.columns)
    if missing:
        raise ValueError(f"regions table lacks columns {sorted(missing)}")
    meta = ["name", "chrom", "start", "end", "window_start", "window_end", "padded"]
    tasks = _task_names(model, meta)
    length = model.window_length

    chroms = regions_df["chrom"].astype(str).tolist()
    starts = regions_df["start"].to_numpy(dtype=np.int64)
    ends = regions_df["end"].to_numpy(dtype=np.int64)
    bad = np.flatnonzero((ends <= starts) | (starts < 0))
    if bad.size:
        row = int(bad[0])
        raise ValueError(f"region {row} ({chroms[row]}:{starts[row]}-{ends[row]}) has end <= start or start < 0")
    frame, resolved = region_windows(genome, regions_df, length, center)
    window_starts = frame["window_start"].to_numpy()
    window_ends = frame["window_end"].to_numpy()
    names = frame["name"].tolist()
    if frame.empty:
        profile = (model.data_params.target_length + 1,) if model.objective.kind == "profile" else ()
        return frame.assign(n_fraction=np.zeros(0)), np.zeros((0, 2, len(tasks), *profile), np.float32)
    fractions = np.zeros(len(chroms), dtype=np.float64)
    source = str(regions_df.attrs.get("path", "regions"))

    def batches() -> Iterator[list[str]]:
        for first in range(0, len(chroms), batch_size):
            rows = range(first, min(first + batch_size, len(chroms)))
            windows = [
                genome.fetch(resolved[chroms[i]], int(window_starts[i]), int(window_ends[i]), pad=True) for i in rows
            ]
            fractions[first : first + len(windows)] = n_fraction(windows)
            _check_all_n(fractions[first : first + len(windows)], names[first:], allow_all_n, source)
            yield windows

    logits = map_batches(
        model,
        batches(),
        lambda m, x: m.strand_logits(x),
        model.encoding,
        total=-(-len(chroms) // batch_size),
        description="predicting regions",
        progress=progress,
    )
    return frame.assign(n_fraction=fractions), logits


def predict_fasta(
    model: SequenceModel,
    fasta_path: str | Path,
    batch_size: int = 256,
    progress: bool = True,
    allow_all_n: bool = False,
) -> pd.DataFrame:
    """Predict every record of a FASTA file (plain or gzip).

    Each record is scored on the window centred on it: longer records are centre-cropped, shorter
    ones padded with N (see the module docstring).

    Args:
        model: the model (its tasks name the output columns; windows of ``model.window_length`` bp).
        fasta_path: the FASTA file.
        batch_size: records per forward pass.
        progress: show a progress bar for inputs of more than one batch.
        allow_all_n: predict windows that are all N (else they are an error).

    Returns:
        One row per record, in file order: ``name`` (the record's name), ``chrom``, ``start``,
        ``end`` (parsed from names ``chrom:start-end`` as bedtools getfasta writes them, 0-based
        half-open, when the span equals the record's length; missing values otherwise), ``length``
        (of the record), ``cropped`` and ``padded`` (bool), ``n_fraction`` (of the window), then one float64
        probability column per task, averaged over both strands, and one ``logit.{task}`` column per task.

    Raises:
        ValueError: a malformed FASTA file or one without records (``read_fasta``), or an all-N
            window without ``allow_all_n``.
    """
    meta = ["name", "chrom", "start", "end", "length", "cropped", "padded"]
    tasks = _task_names(model, meta)
    names, sequences = read_fasta(fasta_path)
    lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
    windows, cropped, padded = fit_to_window(sequences, model.window_length)
    warn_fitted(cropped, padded, model.window_length)
    coords = parse_window_names(names)
    parsed = coords["parsed"].to_numpy() & ((coords["end"] - coords["start"]).to_numpy() == lengths)
    frame = pd.DataFrame(
        {
            "name": names,
            "chrom": coords["chrom"].where(parsed),
            "start": coords["start"].astype("Int64").where(parsed),
            "end": coords["end"].astype("Int64").where(parsed),
            "length": lengths,
            "cropped": cropped,
            "padded": padded,
        }
    )
    frame["n_fraction"] = n_fraction(windows)
    _check_all_n(frame["n_fraction"].to_numpy(), names, allow_all_n, str(fasta_path))

    def batches() -> Iterator[list[str]]:
        for first in range(0, len(windows), batch_size):
            yield windows[first : first + batch_size]

    logits = map_batches(
        model,
        batches(),
        lambda m, x: m.strand_logits(x),
        model.encoding,
        total=-(-len(sequences) // batch_size),
        description="predicting FASTA records",
        progress=progress,
    )
    return pd.concat([frame, _scores_frame(logits, tasks, model.objective)], axis=1)


def write_tsv(frame: pd.DataFrame, path: str | Path, full_precision: bool = False) -> Path:
    """Write a table as TSV atomically (missing values as NA).

    Floats are written with 6 significant digits, or with ``full_precision`` as the shortest text
    that reads back to the same float64 (up to 17 digits).
    """
    with atomic_open(path, "w", newline="") as handle:
        frame.to_csv(handle, sep="\t", index=False, float_format=None if full_precision else "%.6g", na_rep="NA")
    return Path(path)


def write_predictions(df: pd.DataFrame, path: str | Path, overwrite: bool = False) -> Path:
    """Write a prediction table (``predict_regions`` or ``predict_fasta``) as TSV atomically, at full precision.

    Raises:
        OutputExistsError: ``path`` exists (or appears while writing) and ``overwrite`` is False.
    """
    with new_files([path], overwrite) as (staged,):
        write_tsv(df, staged, full_precision=True)
    return Path(path)
