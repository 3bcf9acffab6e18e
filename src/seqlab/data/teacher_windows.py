"""Candidate windows of the other genomes outside the lifted windows, for a teacher to label (noisy_student).

The lifted homologs of a run are only the places its labelled reference windows lift to. Candidates add
the rest of the aligned target sequence, found from the reference side so that every candidate has a
split (:func:`candidate_windows`):

1. the reference chromosomes of the run's windows are tiled with windows of ``data.window_length`` bp
   every ``stride`` bp (windows with more than 1 % N dropped);
2. the tiles get splits as training windows do (``data.split``: chromosomes, regions, ``gap``); only
   training tiles are kept, and tiles overlapping any labelled reference window of the run are dropped;
3. the tiles are lifted to the target genomes with the run's ``lifted`` source options
   (:func:`~seqlab.data.homologs.lift_examples`: same ``min_match``, length ratio, N filter);
4. a lifted tile overlapping any homolog of the run in its genome (the lifted windows) is dropped, and so
   is one within ``data.split.gap`` bp of a val/test homolog (the leakage guard's rule).

The candidates carry no labels (labels 0, weights 0); ``noisy_student`` scores them with its teacher and
keeps the confident ones (``noisy_student.teacher_windows``). Counts of every step are in the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import DataConfig
from seqlab.config.lift import LiftedSourceConfig
from seqlab.data.homologs import guard_leakage, lift_examples
from seqlab.data.labels import overlaps_any
from seqlab.data.sources.common import apply_splits
from seqlab.data.sources.lifted import lift_options, lift_targets
from seqlab.data.table import FRAME_COLUMNS, ExampleTable, finish_frame
from seqlab.data.windows import tile_genome
from seqlab.io.genome import Genome

__all__ = ["candidate_windows"]


def _lifted_source(config: DataConfig) -> LiftedSourceConfig:
    """The first ``kind: lifted`` entry of ``data.sources`` (its genomes and lift options)."""
    for source in config.sources:
        if isinstance(source, LiftedSourceConfig):
            return source
    raise ValueError("noisy_student.teacher_windows: data.sources needs a {kind: lifted} entry (genomes and chains)")


def _training_tiles(config: DataConfig, reference: ExampleTable, stride: int, report: dict[str, Any]) -> pd.DataFrame:
    """Training-split tiles of the reference chromosomes that overlap no labelled reference window."""
    name = next(iter(config.genomes))
    genome = Genome(config.genomes[name].fasta, name)
    chroms = list(dict.fromkeys(reference.frame["chrom"].astype(str)))
    tiles, stats = tile_genome(genome, config.window_length, stride, chroms)
    report["tiles"] = stats.n_bins
    tiles = tiles.assign(genome=name, strand="+", source="teacher_windows", origin="")
    tiles, _ = apply_splits(tiles, config, {})
    tiles = tiles[tiles["split"] == "train"]
    report["training_tiles"] = len(tiles)
    labelled = reference.frame[["chrom", "start", "end"]].astype({"chrom": str})
    tiles = tiles[~overlaps_any(tiles, labelled)].reset_index(drop=True)
    report["tiles_outside_labelled_windows"] = len(tiles)
    return tiles


def _outside_homologs(candidates: ExampleTable, homologs: ExampleTable, gap: int) -> np.ndarray:
    """Bool (N,): candidates overlapping no homolog of their genome and kept clear of val/test homologs."""
    frame = candidates.frame.astype({"genome": str, "chrom": str})
    held = homologs.frame.astype({"genome": str, "chrom": str, "split": str})
    keep = np.ones(len(frame), dtype=bool)
    for genome, rows in frame.groupby("genome", sort=False).groups.items():
        rows = np.asarray(rows)
        keep[rows] = ~overlaps_any(frame.loc[rows], held[held["genome"] == genome])
    guarded, _ = guard_leakage(frame, held[held["split"].isin(["val", "test"])], gap)
    return keep & guarded


def candidate_windows(config: DataConfig, reference: ExampleTable, homologs: ExampleTable, stride: int) -> ExampleTable:
    """Unlabelled target-genome windows outside the run's lifted windows (see the module docstring).

    Args:
        config: the run's data section (genomes with chains, a ``lifted`` source, split, window length).
        reference: the run's labelled reference-genome windows (every split).
        homologs: the run's homolog windows (every split, after the leakage guard).
        stride: bp between the starts of reference tiles.

    Returns:
        A table of target-genome windows (split ``train``, ``source`` ``teacher_windows``, ``origin`` the
        reference tile), labels and weights float32 (N, T) zeros, ``report["teacher_windows"]`` the counts.

    Raises:
        ValueError: no ``lifted`` source, or no candidate left.
    """
    source = _lifted_source(config)
    report: dict[str, Any] = {"stride": stride}
    tiles = _training_tiles(config, reference, stride, report)
    if tiles.empty:
        raise ValueError("noisy_student.teacher_windows: no training tile outside the labelled windows")
    n, t = len(tiles), len(reference.task_names)
    table = ExampleTable(
        frame=finish_frame(tiles[FRAME_COLUMNS]),
        labels=np.zeros((n, t), np.float32),
        weights=np.ones((n, t), np.float32),
        tasks=reference.tasks.copy(),
        genomes=dict(reference.genomes),
    )
    ref_name, targets = lift_targets(source, config.genomes)
    lifted = lift_examples(table, targets, lift_options(source, config.split.gap), reference=ref_name)
    report["lifted"] = len(lifted)
    keep = _outside_homologs(lifted, homologs, config.split.gap)
    candidates = lifted.subset(np.flatnonzero(keep))
    candidates.frame = candidates.frame.assign(source="teacher_windows")
    report["candidates"] = {str(g): int(c) for g, c in candidates.frame["genome"].value_counts(sort=False).items()}
    if len(candidates) == 0:
        raise ValueError("noisy_student.teacher_windows: every lifted tile overlaps a homolog of the run")
    n = len(candidates)
    candidates.labels, candidates.weights = np.zeros((n, t), np.float32), np.zeros((n, t), np.float32)
    candidates.report = {"teacher_windows": report}
    return candidates
