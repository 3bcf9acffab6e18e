"""DNA data sections: where examples come from (genome, tasks, modes), splits, encoding, augmentation."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from seqlab.config.base import StrictModel

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "NegativesConfig",
    "SequenceSetConfig",
    "SplitConfig",
    "StoreConfig",
    "TilingConfig",
]


class NegativesConfig(StrictModel):
    """Background negatives sampled from the genome."""

    ratio: float = Field(1.0, ge=0, description="Negatives per positive window (0 disables sampling).")
    gc_match: bool = Field(True, description="Match the GC-content distribution of the positives.")
    gc_bins: int = Field(20, ge=1, description="Number of GC-content bins used for matching.")
    max_n_fraction: float = Field(0.01, ge=0, le=1, description="Reject windows with more N than this.")
    exclude_flank: int = Field(0, ge=0, description="Extra bp around every peak that negatives avoid.")


class TilingConfig(StrictModel):
    """Genome tiling: fixed bins with a stride, labelled by overlap with each task's peaks."""

    bin_size: int = Field(200, gt=0, description="Bin length in bp (labels come from the bin).")
    stride: int = Field(200, gt=0, description="Distance between bin starts in bp.")
    chroms: list[str] | None = Field(None, description="Chromosomes to tile (default: all in the genome).")
    max_n_fraction: float = Field(0.01, ge=0, le=1, description="Drop bins with more N than this.")


class SequenceSetConfig(StrictModel):
    """A ready-made FASTA of windows with one label per task (coordinates parsed from chr:start-end names)."""

    fasta: Path
    labels: dict[str, float] = Field(
        ..., description="Label of every record of this file, per task name, e.g. {CTCF: 1}."
    )


class SplitConfig(StrictModel):
    """Chromosome-level split: never random over windows."""

    test_chroms: list[str] = Field(default_factory=lambda: ["chr8", "chr9"], description="Test chromosomes.")
    val_chroms: list[str] = Field(
        default_factory=lambda: ["chr7"], description="Validation chromosomes (early stopping, checkpoint choice)."
    )
    exclude_chroms: list[str] = Field(default_factory=list, description="Chromosomes dropped entirely.")


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

    mode: Literal["peaks", "tiling", "sequences"] = Field(
        "peaks", description="peaks: windows on peaks + sampled negatives; tiling: genome bins; sequences: FASTA sets."
    )
    genome: Path | None = Field(None, description="Genome FASTA (plain or bgzip with .fai/.gzi).")
    genome_name: str = Field("genome", description="Name of the genome, recorded on every example.")
    tasks: Path | None = Field(None, description="Task table TSV: task, peaks and metadata columns.")
    sequences: list[SequenceSetConfig] = Field(
        default_factory=list, description="Ready-made FASTA sets with labels (mode sequences): [{fasta, labels}]."
    )
    window_length: int = Field(200, gt=0, description="Window (model input) length in bp.")
    center: Literal["summit", "center"] = Field(
        "summit", description="Centre windows on the narrowPeak summit (column 10) or interval centre."
    )
    chrom_end: Literal["drop", "pad"] = Field("drop", description="Windows crossing a chromosome end.")
    min_overlap: int = Field(1, ge=1, description="Minimum bp overlap with a peak for a positive label.")
    negatives: NegativesConfig = Field(default_factory=NegativesConfig)
    tiling: TilingConfig = Field(default_factory=TilingConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    encoding: Literal["onehot", "dinucleotide"] = Field(
        "onehot", description="onehot: 4 channels (N = zeros); dinucleotide: 16 channels."
    )
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    deduplicate: bool = Field(True, description="Drop duplicate windows (same genome, chrom, start, end).")
    batch_size: int = Field(128, gt=0, description="Windows per batch.")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes (each opens the genome itself).")
    store: StoreConfig = Field(default_factory=StoreConfig)

    @model_validator(mode="after")
    def _inputs_present(self) -> DataConfig:
        if self.mode in ("peaks", "tiling") and (self.genome is None or self.tasks is None):
            raise ValueError(f"data.mode={self.mode!r} needs data.genome and data.tasks")
        if self.mode == "sequences" and not self.sequences:
            raise ValueError("data.mode='sequences' needs at least one entry in data.sequences")
        return self
