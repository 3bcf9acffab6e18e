"""Predictions as genome tracks: one bigWig per task over BED regions, binned at the model's resolution.

``seqlab dna predict MODEL --bed regions.bed --genome hg19.fa --bigwig-out pred.bw``: the regions are
merged (overlapping or touching ones become one), each merged region is cut into bins of
``model.data_params.bin_size`` bp (the span one prediction of a regression model on tracks stands
for; the window length for other models), from the region's start (a last, shorter bin is kept), and
every bin gets the prediction of the window centred on it (both strands averaged: values of a
regression model, probabilities of a binary one). Windows crossing a chromosome end are padded with N.

A profile model (``model.objective.kind: profile``) writes base resolution instead: the bins are its target
span (``data_params.target_length`` bp), each bin's window is centred on it, and every base of the bin gets
the predicted profile there: softmax(profile logits) x predicted total counts (expected counts per base,
both strands averaged, the reverse strand's profile flipped back). A last, shorter bin keeps the bases of
the span that lie in it. The returned table holds the bins with the predicted total counts of each span.

File names: one task writes ``pred.bw`` itself; several tasks write ``pred.<task>.bw`` each (the
suffix ``.bw`` or ``.bigWig`` of the given name is kept; without one, ``.bw``). Existing files are refused
unless ``overwrite``; the set appears whole or not at all (:func:`seqlab.outputs.new_files`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.evaluation.predict import GenomeLike, predict_regions, region_outputs
from seqlab.models.sequence_model import SequenceModel
from seqlab.outputs import new_files, refuse_existing

__all__ = ["bigwig_paths", "predict_bigwig", "tile_regions"]


def bigwig_paths(out: str | Path, tasks: list[str]) -> list[Path]:
    """The bigWig file of each task: ``out`` for one task, ``<stem>.<task><suffix>`` for several."""
    out = Path(out)
    if len(tasks) == 1:
        return [out]
    suffix = out.suffix if out.suffix.lower() in (".bw", ".bigwig") else ".bw"
    stem = out.name[: -len(out.suffix)] if out.suffix.lower() in (".bw", ".bigwig") else out.name
    return [out.with_name(f"{stem}.{task}{suffix}") for task in tasks]


def tile_regions(regions: pd.DataFrame, bin_size: int, chrom_order: list[str]) -> pd.DataFrame:
    """Merge regions per chromosome and cut them into bins.

    Args:
        regions: ``chrom, start, end`` rows (BED, 0-based half-open).
        bin_size: bin width in bp.
        chrom_order: chromosome names in output order (bigWig entries must be sorted).

    Returns:
        ``chrom, start, end`` of the bins, sorted by chromosome (``chrom_order``) and start.
    """
    rows: list[tuple[str, int, int]] = []
    for chrom in sorted(set(regions["chrom"].astype(str)), key=chrom_order.index):
        part = regions[regions["chrom"].astype(str) == chrom].sort_values("start")
        merged: list[list[int]] = []
        for start, end in zip(part["start"].astype(int), part["end"].astype(int), strict=True):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            rows += [(chrom, s, min(s + bin_size, end)) for s in range(start, end, bin_size)]
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def predict_bigwig(
    model: SequenceModel,
    genome: GenomeLike,
    regions: pd.DataFrame,
    out: str | Path,
    *,
    batch_size: int = 256,
    allow_all_n: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> tuple[list[Path], pd.DataFrame]:
    """Predict the bins of ``regions`` and write one bigWig per task (see the module docstring).

    Args:
        model: the model; ``model.data_params.bin_size`` (else the window length) sets the bins.
        genome: the genome the regions refer to (its chromosome sizes go into the bigWig header).
        regions: ``chrom, start, end`` rows.
        out: the bigWig path (one task) or the name pattern (several tasks).
        batch_size: windows per forward pass.
        allow_all_n: predict windows that are all N (else an error).
        overwrite: replace existing files.
        progress: show a progress bar.

    Returns:
        The files written, in task order, and the bins' predictions (``predict_regions``' table).

    Raises:
        OutputExistsError: a file exists and not ``overwrite`` (checked before any work).
        ValueError: regions on chromosomes the genome does not have.
    """
    import pyBigWig

    paths = bigwig_paths(out, model.tasks)
    refuse_existing(paths, overwrite)
    sizes = genome.chrom_sizes
    names = {chrom: genome.resolve(chrom) for chrom in regions["chrom"].astype(str).unique()}
    genome_order = list(sizes)
    names = dict(sorted(names.items(), key=lambda item: genome_order.index(item[1])))  # the genome's order
    profile = model.objective.kind == "profile"
    span = model.data_params.target_length if profile else None
    bins = tile_regions(regions, span or model.data_params.bin_size or model.window_length, list(names))
    settings = {"batch_size": batch_size, "progress": progress, "center": "center", "allow_all_n": allow_all_n}
    if profile:
        windows, outputs = region_outputs(model, genome, bins, **settings)  # type: ignore[arg-type]
        profiles = model.objective.strand_values(outputs)  # (N, T, span) expected counts per base
        frame = pd.concat([windows, pd.DataFrame(profiles.sum(axis=-1), columns=model.tasks)], axis=1)
    else:
        frame = predict_regions(model, genome, bins, **settings)  # type: ignore[arg-type]
    header = [(chrom, int(sizes[names[chrom]])) for chrom in names]
    with new_files(paths, overwrite) as staged:
        for t, (task, path) in enumerate(zip(model.tasks, staged, strict=True)):
            handle = pyBigWig.open(str(path), "w")
            handle.addHeader(header)
            if profile:
                _add_profiles(handle, frame, profiles[:, t], model.window_length)
            else:
                chroms = bins["chrom"].astype(str).tolist()
                starts, ends = bins["start"].to_numpy(np.int64).tolist(), bins["end"].to_numpy(np.int64).tolist()
                handle.addEntries(chroms, starts, ends=ends, values=frame[task].to_numpy(np.float64).tolist())
            handle.close()
    return paths, frame


def _add_profiles(handle: object, frame: pd.DataFrame, profiles: np.ndarray, window_length: int) -> None:
    """Write one task's base-resolution profiles (N, span) over the bins of ``frame`` (one entry per base).

    The span of bin i starts at ``window_start + window_length // 2 - span // 2`` (as the tracks source
    centres it); the bases of the bin (``start`` to ``end``) are written.
    """
    span = profiles.shape[-1]
    for i, (chrom, start, end, window_start) in enumerate(
        zip(frame["chrom"].astype(str), frame["start"], frame["end"], frame["window_start"], strict=True)
    ):
        first = int(start) - (int(window_start) + window_length // 2 - span // 2)
        values = profiles[i, first : first + int(end) - int(start)].astype(np.float64).tolist()
        handle.addEntries(chrom, int(start), values=values, span=1, step=1)  # type: ignore[attr-defined]
