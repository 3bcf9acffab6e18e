"""Variant effects: the change of a model's prediction when a variant's ALT allele replaces REF.

For every variant the reference and the alternative window have the model's length L and are
centred on the variant. Before building windows, REF and ALT lose their common suffix, then their
common prefix (the VCF anchor base of indels), which leaves the changed bases at position ``p``:

* SNVs and equal-length substitutions: both windows start at ``p + len(ref) // 2 - L // 2``, so a
  SNV sits at index ``L // 2`` and the two windows differ only at the changed bases;
* indels: each window is the genome with its allele written at ``p`` and cut to L bp centred on
  that allele (an insertion's bases, or a deletion's junction, sit at index ``L // 2``); flanks come
  from the genome, so both windows are exactly L bp long.

Windows crossing a chromosome end are padded with N and flagged ``padded``.

REF is checked against the genome (case-insensitive) before any scoring: a variant whose REF
differs from the genome goes to the mismatch table, with the genome's bases, and is never scored.
Variants on chromosomes the genome does not have, or running past a chromosome's end, are counted
(and the chromosomes logged), never scored.

Scores, per variant and task, both strands averaged:

* ``ref_prob``, ``alt_prob``: the mean of the two strands' probabilities (sigmoid of each strand's
  logit, then averaged; the same numbers as ``predict_regions``); ``delta_prob = alt_prob - ref_prob``;
* ``ref_logit``, ``alt_logit``: the mean of the two strands' logits; ``delta_logit = alt_logit -
  ref_logit``. Note that ``sigmoid(ref_logit)`` is in general not ``ref_prob``.

Subspace effects (``subspace=``, models with a metadata head): the ALT score is computed from the
reference window's trunk features with only the named subspace's features taken from the ALT window
(``z_mix = z_ref`` with ``z_mix[g] = z_alt[g]``), per strand; ``ref_*`` stays the full reference
score. With ``subspace='bio'`` (the head's first group) the technical features are held at the
reference, so ``delta_logit`` = mean over strands of <z_alt^bio - z_ref^bio, w_e^bio>: the variant's
effect through the biological subspace alone. ``subspace=None`` or ``'full'``: the ordinary effect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlab.evaluation.predict import GenomeLike, map_batches, strand_logits, write_tsv

__all__ = [
    "METRICS",
    "VariantScores",
    "allele_windows",
    "score_variants",
    "subspace_pair_logits",
    "trim_alleles",
    "write_variant_effects",
]

log = logging.getLogger(__name__)

METRICS = ["ref_prob", "alt_prob", "delta_prob", "ref_logit", "alt_logit", "delta_logit"]
VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "padded"]
MISMATCH_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "genome_ref"]


class VariantScores(NamedTuple):
    """Result of :func:`score_variants`.

    Attributes:
        scores: long layout: ``chrom, pos, id, ref, alt, padded, task`` + :data:`METRICS`, one row
            per (variant, task), variants in input order, tasks in model order; wide layout:
            ``chrom, pos, id, ref, alt, padded`` + one column ``{metric}.{task}`` per metric and task.
            ``pos`` is 1-based, as in the VCF.
        mismatches: ``chrom, pos, id, ref, alt, genome_ref`` (the genome's bases over REF,
            upper-case), one row per variant whose REF differs from the genome.
        counts: ``variants`` (input rows), ``scored``, ``skipped_ref_mismatch``,
            ``skipped_chrom_not_in_genome``, ``skipped_outside_chromosome``.
    """

    scores: pd.DataFrame
    mismatches: pd.DataFrame
    counts: dict[str, int]


def trim_alleles(ref: str, alt: str) -> tuple[int, str, str]:
    """Drop the common suffix, then the common prefix (case-insensitive) of REF and ALT.

    Returns:
        ``(offset, ref_core, alt_core)``: the changed bases start ``offset`` bp after POS; either
        core may be empty (a pure insertion or deletion).
    """
    end = 0
    while end < min(len(ref), len(alt)) and ref[len(ref) - 1 - end].upper() == alt[len(alt) - 1 - end].upper():
        end += 1
    ref, alt = ref[: len(ref) - end], alt[: len(alt) - end]
    start = 0
    while start < min(len(ref), len(alt)) and ref[start].upper() == alt[start].upper():
        start += 1
    return start, ref[start:], alt[start:]


def _allele_window(left: str, allele: str, right: str, length: int) -> tuple[str, int, int]:
    """Cut ``left + allele + right`` to ``length`` bp centred on the allele.

    Returns the window and how many bp of ``left`` and of ``right`` it uses.
    """
    start = len(left) + len(allele) // 2 - length // 2
    window = (left + allele + right)[start : start + length]
    used_left = max(len(left) - start, 0)
    used_right = max(start + length - len(left) - len(allele), 0)
    return window, used_left, used_right


def allele_windows(
    genome: GenomeLike, chrom: str, pos0: int, ref: str, alt: str, length: int, chrom_size: int
) -> tuple[str, str, bool]:
    """Reference and alternative windows of ``length`` bp centred on a variant.

    Args:
        genome: the genome (``seqlab.io.genome.Genome``); ``chrom`` must be its own name.
        chrom: chromosome, as the genome names it.
        pos0: 0-based position of REF's first base.
        ref: the REF allele (assumed to match the genome).
        alt: the ALT allele.
        length: window length L.
        chrom_size: length of ``chrom`` (``genome.chrom_sizes[chrom]``), to flag padded windows.

    Returns:
        ``(ref_window, alt_window, padded)``: two strings of ``length`` bp (case as in the genome,
        alleles as given) and whether either window crosses a chromosome end (padded with N).
    """
    offset, ref_core, alt_core = trim_alleles(ref, alt)
    position = pos0 + offset
    after = position + len(ref_core)
    left = genome.fetch(chrom, position - length, position, pad=True)
    right = genome.fetch(chrom, after, after + length, pad=True)
    padded = False
    windows = []
    for allele in (ref_core, alt_core):
        window, used_left, used_right = _allele_window(left, allele, right, length)
        padded |= position - used_left < 0 or after + used_right > chrom_size
        windows.append(window)
    return windows[0], windows[1], padded


def _check_variants(
    genome: GenomeLike, variants_df: pd.DataFrame
) -> tuple[list[int], list[str], list[dict[str, Any]], dict[str, int]]:
    """Split variants into scorable ones (row indices and genome chromosome names) and mismatches."""
    counts = {
        "variants": len(variants_df),
        "scored": 0,
        "skipped_ref_mismatch": 0,
        "skipped_chrom_not_in_genome": 0,
        "skipped_outside_chromosome": 0,
    }
    sizes = genome.chrom_sizes
    resolved: dict[str, str | None] = {}
    absent: dict[str, int] = {}
    keep: list[int] = []
    keep_chroms: list[str] = []
    mismatches: list[dict[str, Any]] = []
    columns = zip(
        variants_df["chrom"].astype(str),
        variants_df["pos0"].astype("int64"),
        variants_df["ref"].astype(str),
        strict=True,
    )
    for row, (chrom, pos0, ref) in enumerate(columns):
        if chrom not in resolved:
            try:
                resolved[chrom] = genome.resolve(chrom)
            except KeyError:
                resolved[chrom] = None
        name = resolved[chrom]
        if name is None:
            counts["skipped_chrom_not_in_genome"] += 1
            absent[chrom] = absent.get(chrom, 0) + 1
            continue
        if pos0 < 0 or pos0 + len(ref) > sizes[name]:
            counts["skipped_outside_chromosome"] += 1
            continue
        genome_ref = genome.fetch(name, int(pos0), int(pos0) + len(ref)).upper()
        if genome_ref != ref.upper():
            counts["skipped_ref_mismatch"] += 1
            mismatches.append({"row": row, "genome_ref": genome_ref})
            continue
        keep.append(row)
        keep_chroms.append(name)
    if absent:
        listed = ", ".join(f"{chrom} ({n})" for chrom, n in sorted(absent.items())[:10])
        log.warning("%d variants on chromosomes the genome lacks: %s", counts["skipped_chrom_not_in_genome"], listed)
    if counts["skipped_outside_chromosome"]:
        log.warning("%d variants run past their chromosome's end", counts["skipped_outside_chromosome"])
    if mismatches:
        log.warning(
            "%d of %d variants have a REF that differs from the genome (wrong genome build?); "
            "they are listed in the mismatch table and not scored",
            len(mismatches),
            len(variants_df),
        )
    counts["scored"] = len(keep)
    return keep, keep_chroms, mismatches, counts


def _variant_frame(variants_df: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
    picked = variants_df.iloc[rows]
    ids = picked["id"].astype(str).to_numpy() if "id" in picked.columns else np.full(len(rows), ".")
    return pd.DataFrame(
        {
            "chrom": picked["chrom"].astype(str).to_numpy(),
            "pos": picked["pos0"].to_numpy(dtype=np.int64) + 1,
            "id": ids,
            "ref": picked["ref"].astype(str).to_numpy(),
            "alt": picked["alt"].astype(str).to_numpy(),
        }
    )


def subspace_pair_logits(model: nn.Module, x: torch.Tensor, encoding: str, subspace: str) -> torch.Tensor:
    """Logits of (ref, alt) window pairs where ALT changes only one subspace of the trunk features.

    Args:
        model: a ``SequenceModel`` (``features``, ``head``).
        x: float32 (2V, C, L), rows ref_0, alt_0, ref_1, alt_1, ...
        encoding: 'onehot' or 'dinucleotide'.
        subspace: a name :func:`seqlab.evaluation.embed.resolve_subspace` accepts ('bio', a group, 'full').

    Returns:
        float32 (2V, 2, T) like ``strand_logits``: each ref row's logits from its own features, each alt
        row's from the ref features with the subspace's columns replaced by the alt window's.
    """
    from seqlab.evaluation.embed import resolve_subspace, strand_features, subspace_slices

    part = subspace_slices(model)[resolve_subspace(model, subspace)]
    features = strand_features(model, x, encoding)  # (2V, 2, F)
    ref, alt = features[0::2], features[1::2]
    mixed = ref.clone()
    mixed[..., part] = alt[..., part]
    pairs = torch.stack((ref, mixed), dim=1).reshape(-1, features.shape[-1])  # (V*2*2, F): ref/alt, strand
    return model.head(pairs).reshape(features.shape[0], 2, -1).float()


def score_variants(
    model: nn.Module,
    data_params: Mapping[str, Any],
    genome: GenomeLike,
    variants_df: pd.DataFrame,
    batch_size: int = 256,
    layout: Literal["long", "wide"] = "long",
    progress: bool = True,
    subspace: str | None = None,
) -> VariantScores:
    """Score every variant whose REF matches the genome; see the module docstring for the rules.

    Args:
        model: maps float32 (B, C, L) to logits (B, T), L = ``data_params['window_length']``.
        data_params: ``tasks`` (list[str], T names), ``window_length`` (int), ``encoding`` (str).
        genome: the genome the variants refer to (``seqlab.io.genome.Genome``).
        variants_df: columns ``chrom``, ``pos0`` (0-based), ``ref``, ``alt``, optional ``id``
            (``read_vcf(...).variants``). SNVs, substitutions and indels are all scored.
        batch_size: windows per forward pass (each run on both strands).
        layout: 'long' (one row per variant and task) or 'wide' (one row per variant).
        progress: show a progress bar for inputs of more than one batch.
        subspace: None / 'full' (the ordinary effect), or a subspace of a metadata head ('bio', 'tech'
            or a group name): ALT changes only that subspace's features (module docstring).

    Returns:
        ``VariantScores(scores, mismatches, counts)``; see :class:`VariantScores`.
    """
    missing = {"chrom", "pos0", "ref", "alt"} - set(variants_df.columns)
    if missing:
        raise ValueError(f"variants table lacks columns {sorted(missing)}")
    if layout not in ("long", "wide"):
        raise ValueError(f"layout must be 'long' or 'wide', got {layout!r}")
    tasks = [str(task) for task in data_params["tasks"]]
    length = int(data_params["window_length"])
    encoding = str(data_params["encoding"])
    if subspace in (None, "full"):
        forward = lambda m, x: strand_logits(m, x, encoding)  # noqa: E731
    else:
        from seqlab.evaluation.embed import resolve_subspace

        resolve_subspace(model, subspace)  # fail before reading any window
        forward = lambda m, x: subspace_pair_logits(m, x, encoding, subspace)  # noqa: E731

    keep, keep_chroms, mismatch_rows, counts = _check_variants(genome, variants_df)
    mismatches = _variant_frame(variants_df, [m["row"] for m in mismatch_rows]).assign(
        genome_ref=[m["genome_ref"] for m in mismatch_rows]
    )[MISMATCH_COLUMNS]

    variants = _variant_frame(variants_df, keep)
    pos0 = (variants["pos"] - 1).tolist()
    padded = np.zeros(len(keep), dtype=bool)  # filled while the batches are built
    sizes = genome.chrom_sizes
    if keep:

        def batches() -> Iterator[list[str]]:
            for first in range(0, len(keep), batch_size):
                batch: list[str] = []
                for i in range(first, min(first + batch_size, len(keep))):
                    chrom = keep_chroms[i]
                    ref_window, alt_window, padded[i] = allele_windows(
                        genome, chrom, pos0[i], variants["ref"].iat[i], variants["alt"].iat[i], length, sizes[chrom]
                    )
                    batch += [ref_window, alt_window]
                yield batch

        logits = map_batches(
            model,
            batches(),
            forward,
            encoding,
            total=-(-len(keep) // batch_size),
            description="scoring variants",
            progress=progress,
        ).reshape(len(keep), 2, 2, len(tasks))  # variant, allele (ref, alt), strand, task
    else:
        logits = np.zeros((0, 2, 2, len(tasks)), dtype=np.float32)
    logits = logits.astype(np.float64)
    mean_prob = (0.5 + 0.5 * np.tanh(logits / 2)).mean(axis=2)  # sigmoid without overflow warnings
    mean_logit = logits.mean(axis=2)
    values = {
        "ref_prob": mean_prob[:, 0],
        "alt_prob": mean_prob[:, 1],
        "delta_prob": mean_prob[:, 1] - mean_prob[:, 0],
        "ref_logit": mean_logit[:, 0],
        "alt_logit": mean_logit[:, 1],
        "delta_logit": mean_logit[:, 1] - mean_logit[:, 0],
    }
    variants["padded"] = padded
    if layout == "wide":
        wide = {f"{metric}.{task}": values[metric][:, t] for metric in METRICS for t, task in enumerate(tasks)}
        scores = pd.concat([variants, pd.DataFrame(wide)], axis=1)
    else:
        scores = variants.loc[variants.index.repeat(len(tasks))].reset_index(drop=True)
        scores["task"] = np.tile(np.array(tasks, dtype=object), len(keep))
        for metric in METRICS:
            scores[metric] = values[metric].reshape(-1)
    return VariantScores(scores, mismatches, counts)


def write_variant_effects(
    scores: pd.DataFrame, mismatches: pd.DataFrame, counts: Mapping[str, int], path: str | Path
) -> dict[str, Path]:
    """Write the scores, the REF mismatches and the counts as TSV files, each atomically.

    Args:
        scores: ``VariantScores.scores`` (long or wide).
        mismatches: ``VariantScores.mismatches``.
        counts: ``VariantScores.counts``, possibly merged with ``read_vcf``'s counts.
        path: the scores file, e.g. ``effects.tsv``; the others go beside it as
            ``effects.ref_mismatches.tsv`` and ``effects.counts.tsv`` (columns ``category, count``).

    Returns:
        ``{"scores": ..., "mismatches": ..., "counts": ...}`` paths.
    """
    path = Path(path)
    stem = path.name[: -len(".tsv")] if path.name.endswith(".tsv") else path.name
    paths = {
        "scores": path,
        "mismatches": path.with_name(f"{stem}.ref_mismatches.tsv"),
        "counts": path.with_name(f"{stem}.counts.tsv"),
    }
    write_tsv(scores, paths["scores"])
    write_tsv(mismatches, paths["mismatches"])
    write_tsv(pd.DataFrame({"category": list(counts), "count": list(counts.values())}), paths["counts"])
    return paths
