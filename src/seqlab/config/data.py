"""DNA data sections: genomes, tasks, example sources (peaks, tiling, sequences), splits, encoding, augmentation.

``data.sources`` is a list of typed entries, one per kind of example, picked by ``kind`` from an open
registry (:mod:`seqlab.config.sources`; the built-ins are registered in :mod:`seqlab.config`): a new
kind is a ``SourceConfig`` subclass registered with ``register_source_config`` and a builder
registered in ``seqlab.data.sources``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from seqlab.config.base import StrictModel
from seqlab.config.sources import SourceConfig, pick_source

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "GenomeConfig",
    "NegativesConfig",
    "PeaksSourceConfig",
    "SequenceSetConfig",
    "SequencesSourceConfig",
    "SetTargetConfig",
    "SourceConfig",
    "SplitConfig",
    "StoreConfig",
    "SubsampleConfig",
    "TilingSourceConfig",
    "TracksSourceConfig",
]


class GenomeConfig(StrictModel):
    """One genome by name: its FASTA and the chain file from the reference genome to it."""

    fasta: Path = Field(..., description="Genome FASTA (plain or bgzip with .fai/.gzi).")
    chain: Path | None = Field(None, description="UCSC chain file reference genome -> this genome (for lifting).")


class NegativesConfig(StrictModel):
    """Background negatives sampled from the genome."""

    ratio: float = Field(
        1.0, ge=0, description="Negatives per positive window of each split, drawn in that split (0 disables sampling)."
    )
    gc_match: bool = Field(True, description="Match the GC-content distribution of the positives.")
    gc_bins: int = Field(20, ge=1, description="Number of GC-content bins used for matching.")
    exclude_flank: int = Field(0, ge=0, description="Extra bp around every peak that negatives avoid.")
    seed: int = Field(0, description="Seed of the negative sampling (independent of the run seed: same test set).")


class SubsampleConfig(StrictModel):
    """Keep ``n`` peak windows per task in some splits (the few-peak regime as a config key)."""

    n: int = Field(
        ...,
        gt=0,
        description="Peak windows kept per task in `splits`, counted after the window filters (chromosome end, "
        "excluded chromosomes and region gaps, max_n_fraction, duplicates): n training windows per task, "
        "all when a task has fewer.",
    )
    by: Literal["signal", "random"] = Field(
        "signal", description="signal: the n strongest (narrowPeak signalValue, else score); random: n at random."
    )
    seed: int = Field(0, description="Seed of the random choice (by: random).")
    splits: list[Literal["train", "val", "test"]] = Field(
        default_factory=lambda: ["train"],
        min_length=1,
        description="Splits whose peaks are subsampled (a peak's split is its window's, by the data.split rules); "
        "peaks of the other splits are all kept, so the default [train] keeps the same val/test windows for every n.",
    )


class PeaksSourceConfig(SourceConfig):
    """Windows centred on every task's peaks (union over tasks) plus GC-matched background negatives."""

    kind: Literal["peaks"] = "peaks"
    center: Literal["summit", "center"] = Field(
        "summit", description="Centre windows on the narrowPeak summit (column 10) or interval centre."
    )
    max_n_fraction: float = Field(
        0.01, ge=0, le=1, description="Drop positive and negative windows with more N than this (same filter)."
    )
    negatives: NegativesConfig = Field(default_factory=NegativesConfig)
    subsample: SubsampleConfig | None = Field(
        None, description="Keep only n peaks per task in some splits (default: train): {n, by, seed, splits}."
    )


class TilingSourceConfig(SourceConfig):
    """Genome tiling: fixed bins with a stride, labelled by overlap with each task's peaks."""

    kind: Literal["tiling"] = "tiling"
    bin_size: int = Field(200, gt=0, description="Bin length in bp (labels come from the bin).")
    stride: int = Field(200, gt=0, description="Distance between bin starts in bp.")
    chroms: list[str] | None = Field(None, description="Chromosomes to tile (default: all in the genome).")
    max_n_fraction: float = Field(0.01, ge=0, le=1, description="Drop bins with more N than this.")


class TracksSourceConfig(SourceConfig):
    """Quantitative targets from bigWig/bedGraph tracks (task-table columns ``track``, optional ``control``).

    Windows are tiled, or centred on the task table's peaks; each window's target span (``target_length``
    bp, centred in the window) is cut into bins of ``bin_size`` bp whose mean or sum is the target.
    """

    kind: Literal["tracks"] = "tracks"
    windows: Literal["tiling", "peaks"] = Field(
        "tiling", description="tiling: target spans tiled with `stride`; peaks: windows centred on the peaks column."
    )
    bin_size: int = Field(128, gt=0, description="Target bin width in bp.")
    target_length: int | None = Field(
        None, gt=0, description="Target span in bp, centred in the window, a multiple of bin_size (default bin_size)."
    )
    stride: int | None = Field(None, gt=0, description="tiling: distance between spans (default target_length).")
    chroms: list[str] | None = Field(None, description="tiling: chromosomes to tile (default: all in the genome).")
    center: Literal["summit", "center"] = Field("summit", description="peaks: centre on the summit or the centre.")
    aggregate: Literal["mean", "sum"] = Field("mean", description="A bin's target: mean or sum of its bases.")
    clip: float | None = Field(None, description="Clip bin targets above this value (before log1p).")
    log1p: bool = Field(False, description="Targets are log(1 + value).")
    min_coverage: float = Field(
        0.0,
        ge=0,
        le=1,
        description="A task's target over a window counts (weight 1) when at least this share of its span has a "
        "track value (and always at least one base); windows where no task counts are dropped.",
    )
    max_n_fraction: float = Field(0.01, ge=0, le=1, description="Drop windows whose target span has more N than this.")
    allow_negative: bool = Field(False, description="Accept negative track values (else an error naming the place).")
    background: NegativesConfig | None = Field(
        None,
        description="peaks: also GC-matched background windows away from every peak (ratio per peak window of "
        "each split, drawn inside that split; seed independent of the run seed), with their tracks' targets.",
    )
    profile: bool = Field(False, description="Also store base-resolution targets of the span (for profile heads).")
    profile_dir: Path | None = Field(
        None,
        description="Folder of the profile stores (profile: true); must not hold one already.",
        json_schema_extra={"config_relative": True, "output": True},
    )

    @model_validator(mode="after")
    def _check(self) -> TracksSourceConfig:
        length = self.target_length or self.bin_size
        if length % self.bin_size:
            raise ValueError(f"target_length ({length}) must be a multiple of bin_size ({self.bin_size})")
        if self.profile and self.profile_dir is None:
            raise ValueError("profile: true needs profile_dir (where the base-resolution store is written)")
        if self.background is not None and self.windows != "peaks":
            raise ValueError("background needs windows: peaks (tiled windows already cover the background)")
        if self.log1p and self.allow_negative:
            raise ValueError("log1p needs non-negative values; it cannot go with allow_negative")
        return self

    @property
    def quantitative(self) -> bool:
        """Tracks give quantitative targets."""
        return True


class SetTargetConfig(StrictModel):
    """A task's per-record target from a peak file: the largest value of the peaks matching the record.

    A record matches a peak whose summit lies in the record's window (``match: summit``; a peak without
    a summit, or a BED line, counts by its midpoint ``(start + end) // 2``) or that overlaps the window by
    1 bp or more (``match: overlap``); with several matches the largest value counts.
    """

    peaks: Path = Field(..., description="narrowPeak, broadPeak or BED file (relative to data.root).")
    column: Literal["signal_value", "p_value", "q_value", "score"] = Field(
        "signal_value", description="Peak column giving the value (narrowPeak columns 7, 8, 9 or BED's score, 5)."
    )
    transform: Literal["none", "log1p"] = Field("none", description="none, or log1p: log(1 + value).")
    match: Literal["summit", "overlap"] = Field(
        "summit",
        description="summit: the peak's summit lies in the record's window (a peak without one, or a BED line: its "
        "midpoint); overlap: the peak overlaps the window by 1 bp or more.",
    )
    missing: Literal["zero", "error"] = Field(
        "zero", description="A record matching no peak: target 0 (zero) or an error naming it (error)."
    )


class SequenceSetConfig(StrictModel):
    """A ready-made FASTA of windows with one label per task, or per-record targets (chr:start-end names).

    Coordinates are parsed from the ``chr:start-end`` record names; ``targets`` reads per-record values from a
    peak file at those coordinates.
    """

    fasta: Path
    labels: dict[str, float] = Field(
        default_factory=dict, description="Label of every record of this file, per task name, e.g. {CTCF: 1}."
    )
    targets: dict[str, SetTargetConfig] = Field(
        default_factory=dict,
        description="Per-record quantitative targets per task name, from a peak file, e.g. {CTCF: {peaks: "
        "CTCF.narrowPeak.gz, transform: log1p}}; a source with targets in any set trains a regression model, "
        "its sets' labels being constant targets.",
    )
    exclude: Path | None = Field(
        None,
        description="BED or narrowPeak of intervals (relative to data.root): records overlapping one by 1 bp or "
        "more are dropped (counted), e.g. a factor's peaks to keep its sites out of a set used as its negatives.",
    )

    @model_validator(mode="after")
    def _labels_or_targets(self) -> SequenceSetConfig:
        if not self.labels and not self.targets:
            raise ValueError(f"{self.fasta}: give labels or targets (per task name)")
        both = sorted(set(self.labels) & set(self.targets))
        if both:
            raise ValueError(f"{self.fasta}: task {both[0]!r} has both a label and targets; give one")
        return self


class SequencesSourceConfig(SourceConfig):
    """Ready-made FASTA sets with one label per task and file, or per-record targets; unlabelled tasks get weight 0."""

    kind: Literal["sequences"] = "sequences"
    sets: list[SequenceSetConfig] = Field(
        ..., min_length=1, description="FASTA sets: [{fasta, labels and/or targets}]."
    )
    genome: str | None = Field(
        None, description="Genome name recorded on the records (default: the reference genome, else 'genome')."
    )

    @property
    def quantitative(self) -> bool:
        """Whether some set gives per-record targets."""
        return any(entry.targets for entry in self.sets)



class SplitConfig(StrictModel):
    """Chromosome- and region-level split: never random over windows."""

    test_chroms: list[str] = Field(default_factory=lambda: ["chr8", "chr9"], description="Test chromosomes.")
    val_chroms: list[str] = Field(
        default_factory=lambda: ["chr7"], description="Validation chromosomes (early stopping, checkpoint choice)."
    )
    exclude_chroms: list[str] = Field(default_factory=list, description="Chromosomes dropped entirely.")
    test_regions: Path | None = Field(
        None,
        description="BED of test regions (a window is test when inside one); relative to the config's folder.",
        json_schema_extra={"config_relative": True},
    )
    val_regions: Path | None = Field(
        None,
        description="BED of validation regions; relative to the config's folder.",
        json_schema_extra={"config_relative": True},
    )
    gap: int = Field(
        0, ge=0, description="Windows within this many bp of a region of another split are dropped (and counted)."
    )
    genome: str | None = Field(
        None,
        description="Genome whose chromosome/region names the split refers to (default: the reference genome); "
        "examples of other genomes take their origin's split, else train.",
    )
    allow_small_splits: bool = Field(
        False,
        description="Train even when a validation or test split has fewer than 10 positives or 10 negatives of a "
        "task among its reference windows (an error otherwise: metrics on a handful of windows mislead); for toy "
        "data and tests.",
    )


class AugmentConfig(StrictModel):
    """Training-time augmentation (training split only)."""

    max_shift: int = Field(0, ge=0, description="Random shift of the window by up to this many bp.")
    reverse_complement: bool = Field(True, description="Reverse-complement half of training examples.")


class StoreConfig(StrictModel):
    """The on-disk window store that training reads batches from (one byte per base, memory-mapped)."""

    enabled: bool = Field(True, description="Read windows from a window store (false: read the FASTA per window).")
    dir: Path | None = Field(
        None, description="Folder of window stores (default: store/ in the run folder; reused while the key matches)."
    )


class DataConfig(StrictModel):
    """Where examples come from and how they become tensors."""

    root: Path | None = Field(
        None,
        description="Folder the relative data paths of this section (genomes, FASTA sets, region BEDs, the task "
        "table's peak files) resolve against, relative to the config file; --data-dir replaces it. Default: "
        "the config's folder.",
    )
    genomes: dict[str, GenomeConfig] = Field(
        default_factory=dict, description="Genomes by name: {NAME: {fasta, chain}}; the first is the reference."
    )
    tasks: Path | None = Field(
        None,
        description="Task table TSV: task, peaks and metadata columns (relative to the config's folder; its peak "
        "paths relative to data.root when set, else to the table's folder). With sequences sources only: task "
        "and metadata columns (for the metadata head), no peaks column needed.",
        json_schema_extra={"config_relative": True},
    )
    sources: list[SerializeAsAny[SourceConfig]] = Field(
        default_factory=lambda: [PeaksSourceConfig()],
        description="Example sources, each {kind: peaks | tiling | tracks | sequences | lifted, ...}; their tables are "
        "concatenated.",
    )
    window_length: int = Field(200, gt=0, description="Window (model input) length in bp.")
    chrom_end: Literal["drop", "pad"] = Field("drop", description="Windows crossing a chromosome end.")
    min_overlap: int = Field(1, ge=1, description="Minimum bp overlap with a peak for a positive label.")
    split: SplitConfig = Field(default_factory=SplitConfig)
    encoding: Literal["onehot", "dinucleotide"] = Field(
        "onehot", description="onehot: 4 channels (N = zeros); dinucleotide: 16 channels."
    )
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    deduplicate: bool = Field(True, description="Drop duplicate windows (same genome, chrom, start, end).")
    batch_size: int = Field(128, gt=0, description="Windows per batch.")
    store: StoreConfig = Field(default_factory=StoreConfig)

    @field_validator("sources", mode="before")
    @classmethod
    def _source_sections(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [pick_source(index, entry) for index, entry in enumerate(value)]

    @property
    def reference(self) -> str | None:
        """Name of the reference genome (the first of ``genomes``), None without genomes."""
        return next(iter(self.genomes), None)

    @property
    def genome_name(self) -> str:
        """Name recorded on examples and models: the reference genome, else the first sequences source's."""
        if self.reference is not None:
            return self.reference
        named = [s.genome for s in self.sources if isinstance(s, SequencesSourceConfig) and s.genome]
        return named[0] if named else "genome"

    @model_validator(mode="after")
    def _inputs_present(self) -> DataConfig:
        if not self.sources:
            raise ValueError("data.sources is empty: give at least one {kind: peaks | tiling | sequences} entry")
        for i, source in enumerate(self.sources):
            if source.kind in ("peaks", "tiling", "tracks") and (not self.genomes or self.tasks is None):
                raise ValueError(f"data.sources[{i}] (kind {source.kind}) needs data.genomes and data.tasks")
        if self.split.genome is not None and self.genomes and self.split.genome not in self.genomes:
            raise ValueError(f"data.split.genome {self.split.genome!r} is not one of data.genomes {list(self.genomes)}")
        return self
