"""Subspace features: a trained model's per-window latent features, cut into its subspaces.

For a model with a metadata head (MFD) the trunk's features z (F,) are cut into the head's groups'
subspaces (``biological``, ``technical``... in head order); every model also gives ``full``, the whole
feature vector (for a linear head that is all there is). Each window's features are the mean of the
forward strand's and the reverse complement's features (the same strand averaging as prediction).

``embed_windows(model, sequences) -> {subspace: float32 (N, F_g)}`` is the core;
``embed_regions`` / ``embed_fasta`` add the window index of BED regions or FASTA records, and
``write_embedding`` stores one ``features.<subspace>.npy`` (float32 (N, F_g), ``numpy.load``) per
subspace, ``index.tsv`` (one row per window, in the same order as the arrays' rows) and
``subspaces.json`` (subspace -> [start, stop) of its columns in the full feature vector).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from seqlab.atomic import atomic_open
from seqlab.evaluation.predict import GenomeLike, region_windows, write_tsv
from seqlab.io.fasta import parse_window_names, read_fasta
from seqlab.models.scoring import map_batches
from seqlab.models.sequence_model import SequenceModel

__all__ = [
    "Embedding",
    "embed_fasta",
    "embed_regions",
    "embed_windows",
    "resolve_subspace",
    "subspace_slices",
    "write_embedding",
]


class Embedding(NamedTuple):
    """Result of :func:`embed_regions` / :func:`embed_fasta`.

    Attributes:
        index: one row per window (``name, chrom, start, end`` and the window scored).
        features: subspace -> float32 (N, F_g), rows in ``index`` order.
        slices: subspace -> (start, stop) of its columns in the full feature vector.
    """

    index: pd.DataFrame
    features: dict[str, np.ndarray]
    slices: dict[str, tuple[int, int]]


def subspace_slices(model: SequenceModel) -> dict[str, slice]:
    """``full`` (all F trunk features) and, for a metadata head, each group's slice, in head order.

    Args:
        model: a ``SequenceModel`` (``model.trunk.out_features`` and ``model.head``).
    """
    out = {"full": slice(0, int(model.trunk.out_features))}
    for group, part in (getattr(model.head, "feature_slices", None) or {}).items():
        if group == "full":
            raise ValueError("a metadata head group may not be called 'full' (the name of the whole feature vector)")
        out[str(group)] = part
    return out


def resolve_subspace(model: SequenceModel, name: str) -> str:
    """The subspace ``name`` names: a group of the model's metadata head, 'full', or 'bio' / 'tech' for the
    head's first / second group.

    Raises:
        ValueError: the model has no such subspace (the known ones listed).
    """
    slices = subspace_slices(model)
    groups = [g for g in slices if g != "full"]
    aliases = {"bio": 0, "biological": 0, "tech": 1, "technical": 1}
    if name in slices:
        return name
    if name in aliases and len(groups) > aliases[name]:
        return groups[aliases[name]]
    hint = "" if groups else " (the model has no metadata head, so only 'full')"
    raise ValueError(f"subspace {name!r} is not one of {list(slices)}{hint}")


def _split(model: SequenceModel, full: np.ndarray) -> dict[str, np.ndarray]:
    return {name: np.ascontiguousarray(full[:, part]) for name, part in subspace_slices(model).items()}


def embed_windows(
    model: SequenceModel,
    sequences: Sequence[str],
    batch_size: int = 256,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Strand-averaged trunk features of sequences of the model's window length, per subspace.

    Args:
        model: a ``SequenceModel``.
        sequences: N strings of ``window_length`` bp.
        batch_size: windows per forward pass (each run on both strands).
        progress: show a progress bar for more than one batch.

    Returns:
        subspace -> float32 (N, F_g): ``full`` (N, F) and, with a metadata head, one entry per group.

    Raises:
        ValueError: a sequence of another length (its index named).
    """
    length = model.window_length
    wrong = [i for i, s in enumerate(sequences) if len(s) != length]
    if wrong:
        raise ValueError(f"sequence {wrong[0]} has {len(sequences[wrong[0]])} bp, not the model's {length} bp window")
    if not sequences:
        width = int(model.trunk.out_features)
        return _split(model, np.zeros((0, width), dtype=np.float32))

    def batches() -> Iterator[list[str]]:
        for first in range(0, len(sequences), batch_size):
            yield list(sequences[first : first + batch_size])

    full = map_batches(
        model,
        batches(),
        lambda m, x: m.strand_features(x).mean(dim=1),
        model.encoding,
        total=-(-len(sequences) // batch_size),
        description="embedding",
        progress=progress,
    )
    return _split(model, full.astype(np.float32, copy=False))


def _slices(model: SequenceModel) -> dict[str, tuple[int, int]]:
    return {name: (part.start, part.stop) for name, part in subspace_slices(model).items()}


def embed_regions(
    model: SequenceModel,
    genome: GenomeLike,
    regions_df: pd.DataFrame,
    batch_size: int = 256,
    center: Literal["summit", "center"] = "summit",
    progress: bool = False,
) -> Embedding:
    """Features of windows of the model's length centred on BED regions (as ``predict_regions`` centres them).

    Args:
        model: a ``SequenceModel``.
        genome: the regions' genome; windows off a chromosome end are padded with N (``padded``).
        regions_df: ``chrom``, ``start``, ``end`` (0-based, half-open), optional ``name`` / ``summit``.
        batch_size: windows per forward pass (each run on both strands).
        center: 'summit' (narrowPeak summits where given) or 'center' (interval centres).
        progress: show a progress bar for more than one batch.

    Returns:
        :class:`Embedding` with index columns ``name, chrom, start, end, window_start, window_end, padded``.

    Raises:
        ValueError: regions on chromosomes the genome lacks (listed).
    """
    length = model.window_length
    index, resolved = region_windows(genome, regions_df, length, center)
    sequences = [
        genome.fetch(resolved[c], int(s), int(s) + length, pad=True)
        for c, s in zip(index["chrom"], index["window_start"], strict=True)
    ]
    features = embed_windows(model, sequences, batch_size, progress)
    return Embedding(index, features, _slices(model))


def read_fasta_windows(fasta_path: str | Path, length: int) -> tuple[pd.DataFrame, list[str]]:
    """Records of a FASTA file centre-cropped to ``length`` bp, and their index (``name, chrom, start, end``).

    Coordinates are parsed from ``chrom:start-end`` names (missing otherwise).

    Raises:
        ValueError: a record shorter than ``length`` (named).
    """
    names, sequences = read_fasta(fasta_path)
    short = [i for i, s in enumerate(sequences) if len(s) < length]
    if short:
        raise ValueError(f"{fasta_path}: record {names[short[0]]!r} is shorter than the model's {length} bp window")
    coords = parse_window_names(names)
    parsed = coords["parsed"].to_numpy()
    index = pd.DataFrame(
        {
            "name": names,
            "chrom": coords["chrom"].where(parsed),
            "start": coords["start"].astype("Int64").where(parsed),
            "end": coords["end"].astype("Int64").where(parsed),
        }
    )
    cropped = [s[len(s) // 2 - length // 2 :][:length] for s in sequences]
    return index, cropped


def embed_fasta(
    model: SequenceModel,
    fasta_path: str | Path,
    batch_size: int = 256,
    progress: bool = False,
) -> Embedding:
    """Features of every record of a FASTA file (longer records centre-cropped, as ``predict_fasta`` does)."""
    index, sequences = read_fasta_windows(fasta_path, model.window_length)
    features = embed_windows(model, sequences, batch_size, progress)
    return Embedding(index, features, _slices(model))


def write_embedding(embedding: Embedding, out_dir: str | Path) -> dict[str, Path]:
    """Write ``index.tsv``, ``features.<subspace>.npy`` (float32 (N, F_g)) and ``subspaces.json`` into ``out_dir``.

    Returns:
        name -> path of every file written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"index": write_tsv(embedding.index, out / "index.tsv")}
    for name, array in embedding.features.items():
        path = out / f"features.{name}.npy"
        with atomic_open(path, "wb") as handle:
            np.save(handle, np.asarray(array, dtype=np.float32))
        paths[name] = path
    document = {name: {"start": a, "stop": b} for name, (a, b) in embedding.slices.items()}
    with atomic_open(out / "subspaces.json", "w") as handle:
        json.dump(document, handle, indent=2)
    paths["subspaces"] = out / "subspaces.json"
    return paths
