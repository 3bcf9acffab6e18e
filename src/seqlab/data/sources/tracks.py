"""``kind: tracks``: quantitative targets from bigWig/bedGraph tracks, built one chromosome at a time.

The task table names each task's track in a ``track`` column (bigWig or bedGraph, plain or gzip; relative
to ``data.root`` or the table's folder) and optionally a ``control`` track (input / IgG). Windows are
``window_length`` bp with a target span of ``target_length`` bp centred in them:

* ``windows: tiling``: spans tiled over the chromosomes with ``stride``;
* ``windows: peaks``: windows centred on the peaks of the table's ``peaks`` column (union over tasks);
  with ``background`` also GC-matched windows away from every peak (``ratio`` per peak window of each
  split, drawn inside that split with a seed of their own, as the ``peaks`` source's negatives), whose
  targets are what their tracks hold there (``source`` column ``background``; peak windows ``tracks``).

A span with more N than ``max_n_fraction`` is dropped. Its ``B = target_length / bin_size`` bins get the
mean (or sum) of the track over their bases, bases without a track value counting as 0 (bigWigs made
from bedGraphs leave zero signal uncovered); then ``clip`` and ``log1p``. A task's target over a window
counts (weight 1) when its track has a value on at least one base and on at least ``min_coverage`` of the
span; otherwise its weight is 0. Windows where no task counts are dropped and counted
(``windows_no_coverage``). The table's ``targets`` are float32 (N, T, B), its ``labels`` all 0.

With ``profile: true`` the base-resolution targets of every kept span (uncovered bases 0) go to a
:class:`~seqlab.data.targets.ProfileStore` file in ``profile_dir`` (``profiles.f32``, and
``controls.f32`` with a control column), appended per chromosome: memory holds one chromosome's runs of
one track and its windows' targets, never a genome-wide matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from seqlab.config import DataConfig, TracksSourceConfig
from seqlab.data.negatives import split_negatives
from seqlab.data.sources.common import apply_splits, resolved_peaks
from seqlab.data.sources.registry import SourceContext
from seqlab.data.table import ExampleTable, finish_frame
from seqlab.data.targets import ProfileWriter
from seqlab.data.windows import make_windows, sequence_content, tile_genome
from seqlab.io.errors import InputError
from seqlab.io.genome import Genome
from seqlab.io.tasks import read_task_table
from seqlab.io.tracks import Track

__all__ = ["bin_targets", "build_tracks"]

_PROFILE_BLOCK = 4096  # windows whose profiles are made and written at once


def _tracks(tasks: pd.DataFrame, column: str, config: DataConfig, source: TracksSourceConfig) -> list[Track] | None:
    """The tracks of a task-table column (None when the table lacks it), paths as the peaks column's."""
    if column not in tasks.columns:
        return None
    assert config.tasks is not None
    root = Path(config.root) if config.root is not None else Path(config.tasks).parent
    out = []
    for line, value in enumerate(tasks[column].astype(str), start=2):
        path = Path(value.strip())
        path = path if path.is_absolute() else (root / path).resolve()
        if not value.strip() or not path.is_file():
            raise InputError(f"track file not found: {path}", file=config.tasks, line=line, field=column)
        out.append(Track(path, allow_negative=source.allow_negative))
    return out


def bin_targets(
    sums: np.ndarray, covered: np.ndarray, source: TracksSourceConfig, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin targets and whether they count, from a track's bin sums.

    Args:
        sums: float64 (N, B) signal sum per bin.
        covered: int64 (N, B) bases with a value per bin.
        source: aggregate, clip, log1p, min_coverage, bin_size.
        length: span length (B * bin_size).

    Returns:
        ``(targets float32 (N, B), counts bool (N,))``.
    """
    values = sums / source.bin_size if source.aggregate == "mean" else sums
    if source.clip is not None:
        values = np.minimum(values, source.clip)
    if source.log1p:
        values = np.log1p(values)
    share = covered.sum(axis=1) / length
    return values.astype(np.float32), (share > 0) & (share >= source.min_coverage)


def _spans(
    source: TracksSourceConfig,
    config: DataConfig,
    genome: Genome,
    chrom: str,
    peak_windows: pd.DataFrame | None,
    report: dict,
) -> np.ndarray:
    """int64 span starts of ``chrom`` that pass the N filter (tiled, or of the peak windows there)."""
    length = source.target_length or source.bin_size
    if peak_windows is None:
        bins, stats = tile_genome(genome, length, source.stride or length, [chrom], source.max_n_fraction, 1 << 19)
        report["spans_n_dropped"] += stats.n_dropped_n
        return bins["start"].to_numpy(np.int64)
    mine = peak_windows[peak_windows["chrom"] == chrom]
    starts = mine["start"].to_numpy(np.int64) + config.window_length // 2 - length // 2
    if starts.size == 0:
        return starts
    _, n_fraction = sequence_content(genome.fetch_many([chrom] * starts.size, starts, starts + length, pad=True))
    rich = n_fraction > source.max_n_fraction
    report["spans_n_dropped"] += int(rich.sum())
    return starts[~rich]


def _peak_windows(source: TracksSourceConfig, config: DataConfig, genome: Genome, report: dict) -> pd.DataFrame:
    """Distinct windows centred on every task's peaks, plus background windows (``source.background``), sorted.

    Columns ``chrom``, ``start``, ``end`` and ``background`` (bool: a GC-matched background window).
    """
    assert config.tasks is not None
    peaks = resolved_peaks(read_task_table(config.tasks, config.root), genome, report)
    parts = [make_windows(p, genome, config.window_length, source.center, config.chrom_end)[0] for p in peaks.values()]
    frame = pd.concat(parts, ignore_index=True).drop_duplicates(["chrom", "start"]).assign(background=False)
    if source.background is not None:
        frame = pd.concat([frame, _background(source, config, genome, frame, peaks, report)], ignore_index=True)
    return frame.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)


def _background(
    source: TracksSourceConfig,
    config: DataConfig,
    genome: Genome,
    windows: pd.DataFrame,
    peaks: dict[str, pd.DataFrame],
    report: dict,
) -> pd.DataFrame:
    """Background windows (``background`` True) away from every peak, GC-matched to each split's peak windows.

    Only peak windows whose span passes the N filter count (those the build keeps).

    ``source.background.ratio`` per peak window of each split, drawn inside that split (see
    :func:`~seqlab.data.negatives.split_negatives`); what was requested and found goes to ``report["background"]``.
    """
    assert source.background is not None
    placed, _ = apply_splits(windows.assign(genome=genome.name), config, {})  # drops are counted per chromosome
    length = source.target_length or source.bin_size
    spans = placed["start"].to_numpy(np.int64) + config.window_length // 2 - length // 2
    _, n_fraction = sequence_content(genome.fetch_many(placed["chrom"], spans, spans + length, pad=True))
    placed = placed[n_fraction <= source.max_n_fraction]  # the peak windows the build keeps
    gc, _ = sequence_content(genome.fetch_many(placed["chrom"], placed["start"], placed["end"], pad=True))
    exclude = pd.concat([p[["chrom", "start", "end"]] for p in peaks.values()], ignore_index=True)
    drawn, report["background"] = split_negatives(
        source.background, config, genome, placed, gc, exclude, source.max_n_fraction
    )
    if drawn is None:
        return windows.iloc[:0]
    return drawn[["chrom", "start", "end"]].assign(background=True)


def _chrom_targets(
    tracks: list[Track], matched: list[dict], chrom: str, spans: np.ndarray, source: TracksSourceConfig, length: int
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """float32 (n, T, B) targets, float32 (n, T) weights and, with ``source.profile``, each track's runs.

    Without profiles one track's runs are held at a time (about 20 bytes a run).
    """
    n_bins = length // source.bin_size
    targets = np.zeros((spans.size, len(tracks), n_bins), np.float32)
    weights = np.zeros((spans.size, len(tracks)), np.float32)
    runs = []
    for t, (track, names) in enumerate(zip(tracks, matched, strict=True)):
        part = track.intervals(names[chrom]) if chrom in names else None
        if source.profile:
            runs.append(part)
        if part is None or not len(part):
            continue
        sums, covered = part.bin_sums(spans, n_bins, source.bin_size)
        part.drop_cache()
        targets[:, t], counts = bin_targets(sums, covered, source, length)
        weights[:, t] = counts
    return targets, weights, runs


def _profiles(runs: list[Any], spans: np.ndarray, length: int) -> np.ndarray:
    """float32 (n, T, L) base-resolution values of every track's runs over the spans (uncovered: 0)."""
    out = np.zeros((spans.size, len(runs), length), np.float32)
    for t, part in enumerate(runs):
        if part is not None and len(part):
            out[:, t] = np.nan_to_num(part.dense(spans, length), nan=0.0)
    return out


@dataclass
class _Plan:
    """What every chromosome's part of a ``tracks`` build needs."""

    source: TracksSourceConfig
    config: DataConfig
    genome: Genome
    tasks: pd.DataFrame
    tracks: list[Track]
    matched: list[dict[str, str]]
    controls: list[Track] | None
    control_matched: list[dict[str, str]]
    length: int
    report: dict[str, Any]


def _plan(source: TracksSourceConfig, config: DataConfig) -> _Plan:
    """Open the genome, the task table and its tracks, each checked against the genome."""
    if config.reference is None or config.tasks is None:
        raise ValueError("a tracks source needs data.genomes and data.tasks")
    genome = Genome(config.genomes[config.reference].fasta, config.reference)
    tasks = read_task_table(config.tasks, config.root, peaks=False)
    length = source.target_length or source.bin_size
    if length > config.window_length:
        raise ValueError(
            f"data.sources (kind tracks): target_length {length} exceeds data.window_length {config.window_length}"
        )
    tracks = _tracks(tasks, "track", config, source)
    if tracks is None:
        raise InputError(
            f"a tracks source needs a 'track' column (bigWig/bedGraph); it has {list(tasks.columns)}",
            file=config.tasks,
            line=1,
        )
    controls = _tracks(tasks, "control", config, source)

    def match(track: Track) -> dict[str, str]:
        return track.match_genome(
            genome.chrom_sizes, genome.resolve_many(list(track.chrom_sizes)), config.window_length
        )

    counters = ("excluded_chrom_dropped", "region_gap_dropped", "spans_n_dropped", "windows_crossing_chrom_end")
    report: dict[str, Any] = {"kind": "tracks", **dict.fromkeys(counters, 0), "windows_no_coverage": 0}
    return _Plan(
        source, config, genome, tasks, tracks, [match(t) for t in tracks], controls,
        [match(t) for t in controls or []], length, report,
    )  # fmt: skip


def _chrom_part(
    plan: _Plan, chrom: str, peak_windows: pd.DataFrame | None, writers: list[ProfileWriter]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One chromosome's windows (frame with split), float32 (n, T, B) targets and (n, T) weights.

    Windows crossing the chromosome end (``data.chrom_end: drop``), outside the splits, or where no task's
    track has a value are dropped and counted; the kept windows' profiles go to ``writers``.
    """
    config, length, report = plan.config, plan.length, plan.report
    spans = _spans(plan.source, config, plan.genome, chrom, peak_windows, report)
    starts = spans + length // 2 - config.window_length // 2
    crossing = (starts < 0) | (starts + config.window_length > plan.genome.chrom_sizes[chrom])
    report["windows_crossing_chrom_end"] += int(crossing.sum())
    if config.chrom_end == "drop":
        spans, starts = spans[~crossing], starts[~crossing]
    background = np.zeros(starts.size, bool)
    if peak_windows is not None:
        mine = peak_windows[(peak_windows["chrom"] == chrom) & peak_windows["background"]]
        background = np.isin(starts, mine["start"].to_numpy(np.int64))
    frame = pd.DataFrame({
        "genome": plan.genome.name, "chrom": chrom, "start": starts, "end": starts + config.window_length,
        "source": np.where(background, "background", "tracks"),
    })  # fmt: skip
    frame, kept = apply_splits(frame, config, report)
    targets, weights, runs = _chrom_targets(plan.tracks, plan.matched, chrom, spans[kept], plan.source, length)
    some = weights.any(axis=1)
    report["windows_no_coverage"] += int((~some).sum())
    spans = spans[kept][some]
    if writers:
        control_runs = [
            c.intervals(m[chrom]) if chrom in m else None
            for c, m in zip(plan.controls or [], plan.control_matched, strict=True)
        ]
        for first in range(0, spans.size, _PROFILE_BLOCK):  # (block, T, L) at a time
            block = spans[first : first + _PROFILE_BLOCK]
            writers[0].append(_profiles(runs, block, length))
            if plan.controls is not None:
                writers[1].append(_profiles(control_runs, block, length))
    return frame[some], targets[some], weights[some]


def build_tracks(source: TracksSourceConfig, config: DataConfig, context: SourceContext) -> ExampleTable:
    """Builder of the ``data.sources`` kind ``tracks`` (see the module docstring), one chromosome at a time.

    Raises:
        ValueError: no genome or task table, a target span longer than the window, no window kept.
        InputError: a task table without a ``track`` column, a missing track file, or a bad track
            (see :class:`~seqlab.io.tracks.Track`).
        FileExistsError: ``profile_dir`` already holds a profile store.
    """
    plan = _plan(source, config)
    peak_windows = _peak_windows(source, config, plan.genome, plan.report) if source.windows == "peaks" else None
    if peak_windows is not None:
        chroms = list(dict.fromkeys(peak_windows["chrom"]))
    else:
        chroms = [plan.genome.resolve(c) for c in source.chroms] if source.chroms else list(plan.genome.chrom_sizes)
    writers = _writers(source, len(plan.tracks), plan.length, plan.controls is not None)
    parts = [_chrom_part(plan, chrom, peak_windows, writers) for chrom in chroms]
    stores = [w.finish() for w in writers]
    n = sum(len(f) for f, _, _ in parts)
    plan.report.update(windows=n, bins_per_window=plan.length // source.bin_size, bin_size=source.bin_size)
    if n == 0:
        raise ValueError(f"the tracks source kept no window: {plan.report}")
    frame = pd.concat([f for f, _, _ in parts], ignore_index=True).assign(strand="+")
    return ExampleTable(
        frame=finish_frame(frame),
        labels=sp.csr_matrix((n, len(plan.tasks)), dtype=np.float32),
        weights=np.concatenate([w for _, _, w in parts]),
        tasks=plan.tasks,
        genomes={plan.genome.name: plan.genome.path},
        report=plan.report,
        targets=np.concatenate([t for _, t, _ in parts]),
        profiles=stores[0] if stores else None,
        control_profiles=stores[1] if len(stores) > 1 else None,
    )


def _writers(source: TracksSourceConfig, n_tasks: int, length: int, control: bool) -> list[ProfileWriter]:
    """The profile writers (targets, then controls) when ``profile: true``."""
    if not source.profile:
        return []
    assert source.profile_dir is not None
    names = ["profiles.f32"] + (["controls.f32"] if control else [])
    return [ProfileWriter(Path(source.profile_dir) / name, n_tasks, length) for name in names]
