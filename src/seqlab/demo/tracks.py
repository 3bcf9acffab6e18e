"""Simulated ChIP-seq signal tracks with a known answer, for ``seqlab demo tracks``.

What is simulated (one ``numpy.random.Generator`` seeded by ``seed``; the same seed gives the same files):

* a genome (``genome.fa`` + ``.fai``) with the drifting-GC, CpG-depleted background and N gaps of
  :mod:`seqlab.demo.simulate`;
* two factors, ``TF_A`` (JASPAR MA0139, CTCF) and ``TF_B`` (MA0080, SPI1), each planted in ~1 of every
  ``spacing`` bp (one 500-bp slot each, on either strand). A site's ``strength`` is
  ``amplitude * exp(score - best) ** 0.5 * lognormal(0, 0.4)`` (better matches bind more, with
  site-to-site variation no sequence explains) and ``bound`` is drawn with probability 0.8 (an unbound
  site adds nothing: chromatin the sequence cannot see). Both keep a model below the ceiling;
* the expected signal of a task at base ``x``: ``background(x) + sum over its bound sites of strength *
  exp(-(x - centre)^2 / (2 * footprint^2))``, with ``background(x) = 0.2 * exp(4 * (gc(x) - 0.42))``
  and ``gc(x)`` the GC share of the 1 kb around ``x`` (so GC explains a little of the signal);
* the observed track: Poisson(expected) per base, written as a bigWig (``TF_A.bw``, ``TF_B.bw``; every
  non-N base has a value, 0 included); the control: Poisson(background) per base (``control.bw``).

Truth: ``sites.tsv`` (chrom, start, end, centre, strand, task, score (log-odds), strength, bound,
sequence on +) and ``simulation.json`` (the constants above).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.atomic import write_json, write_text
from seqlab.data.table import ExampleTable
from seqlab.demo.simulate import _background, _free_slots, _log_odds, _pfm, _sample_pfm, _write_fasta
from seqlab.io.tracks import TrackIntervals, write_track

__all__ = [
    "TRACK_CHROMS",
    "TRACK_FACTORS",
    "demo_config",
    "expected_signal",
    "run_tracks_demo",
    "simulate_tracks",
    "truth_targets",
]

TRACK_CHROMS: dict[str, int] = {"chr1": 600_000, "chr2": 200_000, "chr3": 200_000}
TRACK_FACTORS: dict[str, str] = {"TF_A": "MA0139", "TF_B": "MA0080"}
AMPLITUDE = 6.0
FOOTPRINT = 40.0
BOUND_SHARE = 0.8
SPACING = 2_000
DEMO_SPLIT = {"val_chroms": ["chr2"], "test_chroms": ["chr3"]}
WINDOW = 400
BIN = 200
_COMPLEMENT = np.frombuffer(b"TGCA", np.uint8)
_ASCII = np.frombuffer(b"ACGT", np.uint8)


def background_rate(bases: np.ndarray) -> np.ndarray:
    """float64 (L,) background rate ``0.2 * exp(4 * (gc - 0.42))``, gc over the 1 kb around each base.

    Args:
        bases: ASCII uint8 (L,) of one chromosome (N counts as neither GC nor AT).
    """
    upper = bases & ~np.uint8(32)
    gc = np.isin(upper, np.frombuffer(b"GC", np.uint8)).astype(np.float64)
    known = np.isin(upper, _ASCII).astype(np.float64)
    kernel = np.ones(1001)
    share = np.convolve(gc, kernel, "same") / np.maximum(np.convolve(known, kernel, "same"), 1.0)
    return 0.2 * np.exp(4.0 * (share - 0.42))


def expected_signal(background: np.ndarray, centres: np.ndarray, strengths: np.ndarray) -> np.ndarray:
    """float64 (L,) expected signal: background plus a Gaussian footprint of each site's strength.

    The footprint is cut at 4 standard deviations (160 bp) from the centre.

    Args:
        background: float64 (L,) background rate.
        centres: int64 (S,) site centres (bound sites only).
        strengths: float64 (S,) site strengths (the footprint's height).
    """
    spikes = np.zeros(background.size)
    np.add.at(spikes, centres, strengths)
    reach = int(4 * FOOTPRINT)
    offsets = np.arange(-reach, reach + 1)
    footprint = np.exp(-(offsets**2) / (2 * FOOTPRINT**2))
    return background + np.convolve(spikes, footprint, "same")


def _plant(
    rng: np.random.Generator, genome: dict[str, np.ndarray], slots: tuple[np.ndarray, np.ndarray], task: str
) -> pd.DataFrame:
    """Write one factor's sites into ``genome`` (in place); their truth rows."""
    probs, _ = _pfm(TRACK_FACTORS[task])
    width = probs.shape[0]
    chroms, starts = slots
    codes = _sample_pfm(rng, probs, starts.size)
    scores = _log_odds(probs, codes)
    best = float(np.log(probs.max(axis=1) * 4).sum())
    strand = np.where(rng.random(starts.size) < 0.5, "+", "-")
    offset = rng.integers(50, 500 - width - 50, starts.size)
    site_starts = starts + offset
    sequences = []
    for chrom, start, code, sign in zip(chroms, site_starts, codes, strand, strict=True):
        forward = _ASCII[code] if sign == "+" else _COMPLEMENT[code[::-1]]
        genome[chrom][start : start + width] = forward
        sequences.append(forward.tobytes().decode())
    strength = AMPLITUDE * np.exp(scores - best) ** 0.5 * rng.lognormal(0.0, 0.4, starts.size)
    return pd.DataFrame({
        "chrom": chroms, "start": site_starts, "end": site_starts + width, "centre": site_starts + width // 2,
        "strand": strand, "task": task, "score": scores.round(4), "strength": strength.round(4),
        "bound": rng.random(starts.size) < BOUND_SHARE, "sequence": sequences,
    })  # fmt: skip


def _runs(values: np.ndarray, keep: np.ndarray) -> TrackIntervals:
    """Runs of equal values over the bases where ``keep`` holds (float32 values, int64 coordinates)."""
    index = np.flatnonzero(keep)
    if index.size == 0:
        return TrackIntervals.empty()
    breaks = np.flatnonzero((np.diff(index) != 1) | (np.diff(values[index]) != 0)) + 1
    first = np.concatenate([[0], breaks])
    last = np.concatenate([breaks, [index.size]]) - 1
    return TrackIntervals(index[first].astype(np.int64), index[last].astype(np.int64) + 1,
                          values[index[first]].astype(np.float32))  # fmt: skip


def _draw_tracks(
    rng: np.random.Generator, genome: dict[str, np.ndarray], sites: pd.DataFrame
) -> dict[str, list[tuple[str, TrackIntervals]]]:
    """Per track name (each task, ``control``), the per-chromosome runs of its Poisson draws."""
    out: dict[str, list[tuple[str, TrackIntervals]]] = {name: [] for name in [*TRACK_FACTORS, "control"]}
    for chrom, bases in genome.items():
        background = background_rate(bases)
        keep = (bases & ~np.uint8(32)) != ord("N")
        for task in TRACK_FACTORS:
            mine = sites[(sites["chrom"] == chrom) & (sites["task"] == task) & sites["bound"]]
            mean = expected_signal(background, mine["centre"].to_numpy(np.int64), mine["strength"].to_numpy())
            out[task].append((chrom, _runs(rng.poisson(mean).astype(np.float32), keep)))
        out["control"].append((chrom, _runs(rng.poisson(background).astype(np.float32), keep)))
    return out


def simulate_tracks(out_dir: str | Path, seed: int = 0, chrom_sizes: dict[str, int] | None = None) -> dict[str, Path]:
    """Write the simulated genome, tracks, task table and truth into ``out_dir`` (see the module docstring).

    Args:
        out_dir: output folder (created).
        seed: seed of every draw.
        chrom_sizes: chromosome -> length (default :data:`TRACK_CHROMS`, 1 Mb in three chromosomes).

    Returns:
        Paths by key: ``genome``, ``tasks`` (task, track, control; paths relative to it), ``sites``,
        ``simulation``, and one per track (``TF_A``, ``TF_B``, ``control``).

    Raises:
        ValueError: the chromosomes are too small to hold one site per ``SPACING`` bp.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = dict(chrom_sizes or TRACK_CHROMS)
    rng = np.random.default_rng(seed)
    genome, gaps = {}, {}
    for chrom, length in sizes.items():
        genome[chrom], gaps[chrom] = _background(rng, length)
    slot_chrom, slot_start = _free_slots(gaps)
    per_task = sum(sizes.values()) // SPACING
    if 2 * per_task > slot_chrom.size:
        raise ValueError(f"{2 * per_task} sites need more room than {sum(sizes.values())} bp")
    picked = rng.permutation(slot_chrom.size)[: 2 * per_task]
    names = np.array(list(sizes), dtype=object)
    sites = pd.concat([
        _plant(rng, genome, (names[slot_chrom[part]], slot_start[part]), task)
        for task, part in zip(TRACK_FACTORS, np.split(picked, 2), strict=True)
    ], ignore_index=True).sort_values(["chrom", "start"], kind="stable", ignore_index=True)  # fmt: skip
    paths = {"genome": out / "genome.fa", "tasks": out / "tasks.tsv", "sites": out / "sites.tsv",
             "simulation": out / "simulation.json"}  # fmt: skip
    _write_fasta(paths["genome"], genome)
    for name, runs in _draw_tracks(rng, genome, sites).items():
        paths[name] = write_track(out / f"{name}.bw", sizes, runs)
    sites.to_csv(paths["sites"], sep="\t", index=False)
    write_text(paths["tasks"], "task\ttrack\tcontrol\n" + "".join(f"{t}\t{t}.bw\tcontrol.bw\n" for t in TRACK_FACTORS))
    write_json(paths["simulation"], _simulation_info(seed, sizes, sites))
    return paths


def _simulation_info(seed: int, sizes: dict[str, int], sites: pd.DataFrame) -> dict[str, Any]:
    """The constants and counts of a simulation (``simulation.json``)."""
    counts = sites.groupby("task")["bound"].agg(["size", "sum"])
    return {
        "seed": seed,
        "chrom_sizes": sizes,
        "factors": TRACK_FACTORS,
        "amplitude": AMPLITUDE,
        "footprint_sd": FOOTPRINT,
        "bound_share": BOUND_SHARE,
        "site_spacing": SPACING,
        "background": "0.2 * exp(4 * (gc_1kb - 0.42))",
        "sites": {task: {"planted": int(row["size"]), "bound": int(row["sum"])} for task, row in counts.iterrows()},
    }


def demo_config(paths: dict[str, Path], seed: int, max_epochs: int) -> dict[str, Any]:
    """The demo's run config: 400-bp windows tiled every 200 bp, one 200-bp bin each, log1p of the mean."""
    return {
        "seed": seed,
        "name": "demo-tracks",
        "data": {
            "genomes": {"simulated": {"fasta": str(paths["genome"])}},
            "tasks": str(paths["tasks"]),
            "sources": [{"kind": "tracks", "bin_size": BIN, "target_length": BIN, "stride": BIN, "log1p": True}],
            "window_length": WINDOW,
            "split": DEMO_SPLIT,
            "augment": {"max_shift": 0, "reverse_complement": True},
            "batch_size": 64,
        },
        "model": {"trunk": {"arch": "deepbind"}, "head": {"kind": "linear"}, "objective": {"kind": "regression"}},
        "train": {"max_epochs": max_epochs, "patience": 3, "learning_rate": 0.003},
        "hardware": {"threads": 1},
    }


def truth_targets(table: ExampleTable, sites: pd.DataFrame) -> np.ndarray:
    """float32 (N, T, B) targets of the expected (noise-free) signal: what a perfect model predicts.

    The same transformation as the demo's ``tracks`` source (mean over each bin, then ``log1p``).
    """
    from seqlab.io.genome import Genome

    frame, tasks = table.frame, table.task_names
    genome = Genome(next(iter(table.genomes.values())))
    n_bins = (table.targets.shape[2]) if table.targets is not None else 1
    span = (frame["start"].to_numpy() + WINDOW // 2 - n_bins * BIN // 2).astype(np.int64)
    out = np.zeros((len(frame), len(tasks), n_bins), np.float32)
    for chrom in frame["chrom"].astype(str).unique():
        bases = np.frombuffer(genome.fetch(chrom, 0, genome.chrom_sizes[chrom]).encode(), np.uint8)
        background = background_rate(bases)
        rows = np.flatnonzero(frame["chrom"].astype(str).to_numpy() == chrom)
        for t, task in enumerate(tasks):
            mine = sites[(sites["chrom"] == chrom) & (sites["task"] == task) & sites["bound"]]
            mean = expected_signal(background, mine["centre"].to_numpy(np.int64), mine["strength"].to_numpy())
            mass = np.concatenate([[0.0], np.cumsum(mean)])
            for b in range(n_bins):
                first = span[rows] + b * BIN
                out[rows, t, b] = np.log1p((mass[first + BIN] - mass[first]) / BIN)
    return out


def run_tracks_demo(
    out_dir: str | Path = "runs/demo-tracks",
    seed: int = 0,
    max_epochs: int = 15,
    train: bool = True,
    chrom_sizes: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Simulate tracks, train a regression DeepBind (``train``), score baselines and the noise-free truth.

    Writes ``data/`` (simulation), ``demo.yaml`` (the run config), ``run/`` (``seqlab dna train``'s
    folder, with ``train``) and ``metrics.json``: the run's metrics (``test.per_task.<task>.pearson``)
    plus ``baselines.<gc|kmer>.<val|test>`` and ``truth.<val|test>`` (the expected signal's scores: the
    ceiling that Poisson noise leaves).

    Args:
        out_dir: the demo folder.
        seed: seeds the simulation and training.
        max_epochs: training epochs at most (early stopping on validation).
        train: train the model (False: simulation, config, baselines and truth only).
        chrom_sizes: the simulated chromosomes (default :data:`TRACK_CHROMS`; val chr2, test chr3).
    """
    import yaml

    from seqlab import pipeline
    from seqlab.config import DataConfig, DnaRunConfig, load_config, validate_config
    from seqlab.data.build import build_examples
    from seqlab.evaluation.track_baselines import score_regression, table_baselines

    out = Path(out_dir).absolute()
    paths = simulate_tracks(out / "data", seed=seed, chrom_sizes=chrom_sizes)
    raw = demo_config(paths, seed, max_epochs)
    config_path = write_text(out / "demo.yaml", yaml.safe_dump(raw, sort_keys=False))
    metrics: dict[str, Any] = {}
    if train:
        config = load_config(config_path, DnaRunConfig)
        result = pipeline.train(config, out / "run", overwrite=True)  # the demo's own run: a rerun replaces it
        metrics, table = dict(result.metrics), result.table
    else:  # the data section alone: what the baselines need
        table = build_examples(validate_config(raw["data"], DataConfig, str(config_path), out))
    assert table.targets is not None
    metrics["baselines"] = table_baselines(table)
    truth = truth_targets(table, pd.read_csv(paths["sites"], sep="\t"))
    metrics["truth"] = {
        split: score_regression(truth[rows], table.targets[rows], None, table.task_names)
        for split in ("val", "test")
        for rows in [table.split_indices(split)]
    }
    write_json(out / "metrics.json", metrics)
    return metrics
