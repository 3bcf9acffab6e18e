"""Synthetic genomes and peak files for the data-layer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_fasta(path: Path, records: dict[str, str], width: int = 60) -> Path:
    """Write records as FASTA wrapped at ``width`` columns."""
    with open(path, "w") as handle:
        for name, sequence in records.items():
            handle.write(f">{name}\n")
            for i in range(0, len(sequence), width):
                handle.write(sequence[i : i + width] + "\n")
    return path


def random_dna(rng: np.random.Generator, length: int, gc: float) -> str:
    """Random DNA with expected GC fraction ``gc``."""
    probs = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(rng.choice(list("ACGT"), size=length, p=probs))


def blocky_dna(rng: np.random.Generator, n_blocks: int, block: int = 1000) -> str:
    """DNA made of blocks whose GC fraction cycles through 0.3, 0.45, 0.6, 0.75."""
    levels = [0.3, 0.45, 0.6, 0.75]
    return "".join(random_dna(rng, block, levels[i % 4]) for i in range(n_blocks))


@pytest.fixture(scope="session")
def synthetic_genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chr1 40 kb, chr2 and chr3 20 kb (blocky GC), chrY 8 kb, chrM 500 bp; chr1 ends in 300 bp of N."""
    folder = tmp_path_factory.mktemp("genome")
    rng = np.random.default_rng(7)
    records = {
        "chr1": blocky_dna(rng, 40)[:-300] + "N" * 300,
        "chr2": blocky_dna(rng, 20),
        "chr3": blocky_dna(rng, 20).lower(),
        "chrY": random_dna(rng, 8000, 0.4),
        "chrM": random_dna(rng, 500, 0.45),
    }
    return write_fasta(folder / "toy.fa", records)


def _write_peaks(path: Path, rows: list[tuple]) -> Path:
    lines = [f"{c}\t{s}\t{e}\tp{i}\t500\t.\t10.0\t-1\t3.0\t{summit}\n" for i, (c, s, e, summit) in enumerate(rows)]
    path.write_text("".join(lines))
    return path


@pytest.fixture
def peaks_writer():
    """``write(path, rows)``: narrowPeak rows (chrom, start, end, summit)."""
    return _write_peaks


@pytest.fixture
def fasta_writer():
    """``write(path, {name: sequence})``: a FASTA wrapped at 60 columns."""
    return write_fasta
