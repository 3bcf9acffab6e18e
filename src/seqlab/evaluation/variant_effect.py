"""Variant effects: the change of a model's prediction when a variant's ALT allele replaces REF.

For every variant the reference and the alternative window have the model's length L and are
centred on the variant. Before building windows, REF and ALT lose their common suffix, then their
common prefix (the VCF anchor base of indels), which leaves the changed bases at position ``p``:

* SNVs and equal-length substitutions: both windows start at ``p + len(ref) // 2 - L // 2``, so a
  SNV sits at index ``L // 2`` and the two windows differ only at the changed bases;
* indels: each window is the genome with its allele written at ``p`` and cut to L bp centred on
  that allele (an insertion's bases, or a deletion's junction, sit at index ``L // 2``); flanks come
  from the genome, so both windows are exactly L bp long.

Windows crossing a chromosome end are padded with N and flagged ``padded``. Every scored variant
carries ``n_fraction``, the share of N in its reference window (padding included).

REF is checked against the genome (case-insensitive) before any scoring: a variant whose REF
differs from the genome goes to the mismatch table, with the genome's bases, and is never scored.
Where the genome has N under REF the variant is not a mismatch (the build may be right) but is
counted apart (``skipped_genome_n``) and never scored. Variants on chromosomes the genome does not
have, or running past a chromosome's end, are counted (and the chromosomes logged), never scored.

``shifts`` (k >= 0) averages every score over the windows shifted by -k..k bp as well as over both
strands (``2 * (2k + 1)`` windows per allele; half as many forward passes for a strand-symmetric
trunk); ``padded`` then refers to the widest span.

Paired mode (:func:`score_paired`) scores the records of a reference FASTA against those of an
alternative FASTA, pair by pair in file order, with the same columns: ``id`` is the reference
record's name; ``chrom``, ``pos``, ``ref``, ``alt`` come from a name such as
``chr1:12289969:G>A|chr1:12289904-12290104`` (else from the bases where the two records differ, and
missing ``chrom``/``pos``).

Scores, per variant and task, both strands averaged:

* ``ref_prob``, ``alt_prob``: the mean of the two strands' probabilities (sigmoid of each strand's
  logit, then averaged; the same numbers as ``predict_regions``); ``delta_prob = alt_prob - ref_prob``;
* ``ref_logit``, ``alt_logit``: the mean of the two strands' logits; ``delta_logit = alt_logit -
  ref_logit``. Note that ``sigmoid(ref_logit)`` is in general not ``ref_prob``.

Subspace effects (``subspace=``, models with a metadata head): the ALT score is computed from the
reference window's trunk features with only the named subspace's features taken from the ALT window
(``z_mix = z_ref`` with ``z_mix[g] = z_alt[g]``), per strand and shift; ``ref_*`` stays the full
reference score. With ``subspace='bio'`` (the head's first group) the technical features are held at
the reference, so ``delta_logit`` = mean over strands of <z_alt^bio - z_ref^bio, w_e^bio>: the
variant's effect through the biological subspace alone. ``subspace=None`` or ``'full'``: the
ordinary effect.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import torch

from seqlab.evaluation.predict import GenomeLike, write_tsv
from seqlab.io.errors import InputError
from seqlab.io.fasta import read_fasta
from seqlab.models.scoring import map_batches, n_fraction, strand_scores
from seqlab.models.sequence_model import SequenceModel
from seqlab.outputs import new_files, refuse_existing

__all__ = [
    "METRICS",
    "VariantScores",
    "allele_windows",
    "score_paired",
    "score_variants",
    "subspace_pair_logits",
    "trim_alleles",
    "variant_effect_paths",
    "write_variant_effects",
]

log = logging.getLogger(__name__)

METRICS = ["ref_prob", "alt_prob", "delta_prob", "ref_logit", "alt_logit", "delta_logit"]
VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "padded", "n_fraction"]
MISMATCH_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "genome_ref"]


class VariantScores(NamedTuple):
    """Result of :func:`score_variants`.

    Attributes:
        scores: long layout: ``chrom, pos, id, ref, alt, padded, n_fraction, task`` + :data:`METRICS`,
            one row per (variant, task), variants in input order, tasks in model order; wide layout:
            ``chrom, pos, id, ref, alt, padded, n_fraction`` + one column ``{metric}.{task}`` per
            metric and task. ``pos`` is 1-based, as in the VCF. Floats are float64.
        mismatches: ``chrom, pos, id, ref, alt, genome_ref`` (the genome's bases over REF,
            upper-case), one row per variant whose REF differs from the genome.
        counts: ``variants`` (input rows), ``scored``, ``skipped_ref_mismatch``, ``skipped_genome_n``,
            ``skipped_chrom_not_in_genome``, ``skipped_outside_chromosome`` (paired mode: ``pairs``,
            ``scored``).
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
        "skipped_genome_n": 0,
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
        if genome_ref != ref.upper() and "N" in genome_ref and "N" not in ref.upper():
            counts["skipped_genome_n"] += 1
            continue
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
    if counts["skipped_genome_n"]:
        log.warning("%d variants sit on N in the genome (not scored)", counts["skipped_genome_n"])
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


def score_variants(
    model: SequenceModel,
    genome: GenomeLike,
    variants_df: pd.DataFrame,
    batch_size: int = 256,
    layout: Literal["long", "wide"] = "long",
    progress: bool = True,
    shifts: int = 0,
    subspace: str | None = None,
) -> VariantScores:
    """Score every variant whose REF matches the genome; see the module docstring for the rules.

    Args:
        model: the model (windows of ``model.window_length`` bp; ``model.tasks`` name the scores).
        genome: the genome the variants refer to (``seqlab.io.genome.Genome``).
        variants_df: columns ``chrom``, ``pos0`` (0-based), ``ref``, ``alt``, optional ``id``
            (``read_vcf(...).variants``). SNVs, substitutions and indels are all scored.
        batch_size: variants per forward pass (each run on both alleles, strands and shifts).
        layout: 'long' (one row per variant and task) or 'wide' (one row per variant).
        progress: show a progress bar for inputs of more than one batch.
        shifts: average over windows shifted by -shifts..shifts bp (0: the centred window only).
        subspace: None / 'full' (the ordinary effect), or a subspace of a metadata head ('bio', 'tech'
            or a group name): ALT changes only that subspace's features (module docstring).

    Returns:
        ``VariantScores(scores, mismatches, counts)``; see :class:`VariantScores`.
    """
    missing = {"chrom", "pos0", "ref", "alt"} - set(variants_df.columns)
    if missing:
        raise ValueError(f"variants table lacks columns {sorted(missing)}")
    _check_options(layout, shifts)
    _check_subspace(model, subspace)
    tasks = model.tasks
    length = model.window_length

    keep, keep_chroms, mismatch_rows, counts = _check_variants(genome, variants_df)
    mismatches = _variant_frame(variants_df, [m["row"] for m in mismatch_rows]).assign(
        genome_ref=[m["genome_ref"] for m in mismatch_rows]
    )[MISMATCH_COLUMNS]

    variants = _variant_frame(variants_df, keep)
    pos0 = (variants["pos"] - 1).tolist()
    padded = np.zeros(len(keep), dtype=bool)
    sizes = genome.chrom_sizes

    def pair(i: int) -> tuple[str, str]:
        chrom = keep_chroms[i]
        ref = variants["ref"].iat[i]
        ref_window, alt_window, padded[i] = allele_windows(
            genome, chrom, pos0[i], ref, variants["alt"].iat[i], length + 2 * shifts, sizes[chrom]
        )
        return ref_window, alt_window

    logits, fractions = _pair_logits(model, pair, len(keep), batch_size, shifts, progress, subspace)
    variants["padded"] = padded
    variants["n_fraction"] = fractions
    return VariantScores(_layout_scores(variants, logits, tasks, layout), mismatches, counts)


def _check_options(layout: str, shifts: int) -> None:
    if layout not in ("long", "wide"):
        raise ValueError(f"layout must be 'long' or 'wide', got {layout!r}")
    if int(shifts) < 0:
        raise ValueError(f"shifts must be >= 0 (windows shifted by -shifts..shifts bp), got {shifts}")


def _check_subspace(model: SequenceModel, subspace: str | None) -> None:
    if subspace not in (None, "full"):
        from seqlab.evaluation.embed import resolve_subspace

        resolve_subspace(model, subspace)  # fails before any window is read


def subspace_pair_logits(model: SequenceModel, x: torch.Tensor, subspace: str, windows: int = 1) -> torch.Tensor:
    """Logits of (ref, alt) window groups where ALT changes only one subspace of the trunk features.

    Args:
        model: the model (``strand_features``, ``head``).
        x: float32 (P * 2 * K, C, L): per pair, its K ref windows then its K alt windows (K = ``windows``,
            the shifts), as ``_pair_logits`` batches them.
        subspace: a name :func:`seqlab.evaluation.embed.resolve_subspace` accepts ('bio', a group, 'full').
        windows: K, windows per allele.

    Returns:
        float32 (P * 2 * K, 2, T) like ``model.strand_logits``: each ref row's logits from its own features,
        each alt row's from the same-shift ref features with the subspace's columns from the alt window.
    """
    from seqlab.evaluation.embed import resolve_subspace, subspace_slices

    part = subspace_slices(model)[resolve_subspace(model, subspace)]
    features = model.strand_features(x)  # (P*2*K, 2 strands, F)
    width = features.shape[-1]
    grouped = features.reshape(-1, 2, windows, 2, width)  # pair, allele, shift, strand, F
    mixed = grouped[:, 0].clone()
    mixed[..., part] = grouped[:, 1][..., part]
    both = torch.stack((grouped[:, 0], mixed), dim=1).reshape(-1, width)
    return model.head(both).reshape(features.shape[0], 2, -1).float()


def _pair_logits(
    model: SequenceModel,
    pair: Any,
    n: int,
    batch_size: int,
    shifts: int,
    progress: bool,
    subspace: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Logits of ``n`` (ref, alt) window pairs of L + 2*shifts bp, at every shift and on both strands.

    ``pair(i)`` returns the two wide windows of pair ``i``. Returns float32 (n, 2, 2 * (2*shifts + 1), T)
    logits (pair, allele, shift x strand, task) and float64 (n,) N fractions of the centred ref windows.
    ``subspace``: ALT logits from the ref features with that subspace from ALT (:func:`subspace_pair_logits`).
    """
    length = model.window_length
    n_tasks = model.n_tasks
    offsets = [shifts + s for s in range(-shifts, shifts + 1)]
    fractions = np.zeros(n, dtype=np.float64)
    if n == 0:
        return np.zeros((0, 2, 2 * len(offsets), n_tasks), dtype=np.float32), fractions

    def batches() -> Iterator[list[str]]:
        for first in range(0, n, batch_size):
            batch: list[str] = []
            for i in range(first, min(first + batch_size, n)):
                ref_window, alt_window = pair(i)
                fractions[i] = n_fraction([ref_window[shifts : shifts + length]])[0]
                batch += [w[o : o + length] for w in (ref_window, alt_window) for o in offsets]
            yield batch

    if subspace in (None, "full"):
        forward = lambda m, x: m.strand_logits(x)  # noqa: E731
    else:
        forward = lambda m, x: subspace_pair_logits(m, x, subspace, len(offsets))  # noqa: E731
    logits = map_batches(
        model,
        batches(),
        forward,
        model.encoding,
        total=-(-n // batch_size),
        description="scoring variants",
        progress=progress,
    )  # (n * 2 * shifts, strands, T)
    return logits.reshape(n, 2, len(offsets) * 2, n_tasks), fractions


def _layout_scores(variants: pd.DataFrame, logits: np.ndarray, tasks: list[str], layout: str) -> pd.DataFrame:
    """The metric columns (long or wide) of float (N, 2 alleles, K windows, T) logits."""
    prob, logit = strand_scores(logits)  # (N, 2, T) float64
    values = {
        "ref_prob": prob[:, 0],
        "alt_prob": prob[:, 1],
        "delta_prob": prob[:, 1] - prob[:, 0],
        "ref_logit": logit[:, 0],
        "alt_logit": logit[:, 1],
        "delta_logit": logit[:, 1] - logit[:, 0],
    }
    if layout == "wide":
        wide = {f"{metric}.{task}": values[metric][:, t] for metric in METRICS for t, task in enumerate(tasks)}
        return pd.concat([variants.reset_index(drop=True), pd.DataFrame(wide)], axis=1)
    scores = variants.loc[variants.index.repeat(len(tasks))].reset_index(drop=True)
    scores["task"] = np.tile(np.array(tasks, dtype=object), len(variants))
    for metric in METRICS:
        scores[metric] = values[metric].reshape(-1)
    return scores


_VARIANT_NAME = re.compile(
    r"^(?P<chrom>[^:|\s]+):(?P<pos>[0-9]+):(?P<ref>[ACGTNacgtn]+)>(?P<alt>[ACGTNacgtn]+)(?:[|].*)?$"
)


def _differing_bases(ref: str, alt: str) -> tuple[str, str]:
    """The bases of two equal-length sequences from their first to their last difference ("" if none)."""
    if len(ref) != len(alt):
        return "", ""
    diff = [i for i, (a, b) in enumerate(zip(ref.upper(), alt.upper(), strict=True)) if a != b]
    return (ref[diff[0] : diff[-1] + 1], alt[diff[0] : diff[-1] + 1]) if diff else ("", "")


def score_paired(
    model: SequenceModel,
    ref_fasta: str | Path,
    alt_fasta: str | Path,
    batch_size: int = 256,
    layout: Literal["long", "wide"] = "long",
    progress: bool = True,
    shifts: int = 0,
    subspace: str | None = None,
) -> VariantScores:
    """Score the records of ``alt_fasta`` against those of ``ref_fasta``, pair by pair in file order.

    Each record is centre-cropped to L + 2 * shifts bp (L = ``model.window_length``); a
    shorter record is an error. The columns are those of :func:`score_variants` (see the module
    docstring for where ``chrom, pos, ref, alt`` come from); ``padded`` is always False and the
    mismatch table is empty. ``subspace`` as in :func:`score_variants`.

    Raises:
        InputError: the files hold different numbers of records, or a record is too short.
    """
    _check_options(layout, shifts)
    _check_subspace(model, subspace)
    tasks = model.tasks
    wide = model.window_length + 2 * shifts
    ref_names, ref_seqs = read_fasta(ref_fasta)
    alt_names, alt_seqs = read_fasta(alt_fasta)
    if len(ref_names) != len(alt_names):
        raise InputError(
            f"{len(ref_names)} records, but {alt_fasta} has {len(alt_names)}; records are paired in file order",
            file=ref_fasta,
        )
    for path, names, seqs in ((ref_fasta, ref_names, ref_seqs), (alt_fasta, alt_names, alt_seqs)):
        short = [i for i, seq in enumerate(seqs) if len(seq) < wide]
        if short:
            raise InputError(
                f"record {names[short[0]]!r} has {len(seqs[short[0]])} bp, fewer than the {wide} bp needed "
                f"(window {wide - 2 * shifts} + 2 x shifts {shifts}); {len(short)} records are too short",
                file=path,
            )
    crop = [[seq[len(seq) // 2 - wide // 2 :][:wide] for seq in seqs] for seqs in (ref_seqs, alt_seqs)]
    rows = []
    for name, ref_seq, alt_seq in zip(ref_names, crop[0], crop[1], strict=True):
        match = _VARIANT_NAME.match(name)
        if match:
            rows.append((match["chrom"], int(match["pos"]), name, match["ref"], match["alt"]))
        else:
            rows.append(("", pd.NA, name, *_differing_bases(ref_seq, alt_seq)))
    variants = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"]).astype({"pos": "Int64"})
    logits, fractions = _pair_logits(
        model, lambda i: (crop[0][i], crop[1][i]), len(rows), batch_size, shifts, progress, subspace
    )
    variants["padded"] = False
    variants["n_fraction"] = fractions
    counts = {"pairs": len(rows), "scored": len(rows)}
    mismatches = pd.DataFrame(columns=MISMATCH_COLUMNS)
    return VariantScores(_layout_scores(variants, logits, tasks, layout), mismatches, counts)


def variant_effect_paths(path: str | Path) -> dict[str, Path]:
    """The files of one variant-effect output: ``{"mismatches": ..., "counts": ..., "scores": path}``.

    ``effects.tsv`` has ``effects.ref_mismatches.tsv`` and ``effects.counts.tsv`` beside it; the
    scores file comes last (the order in which they are published).
    """
    path = Path(path)
    stem = path.name[: -len(".tsv")] if path.name.endswith(".tsv") else path.name
    return {
        "mismatches": path.with_name(f"{stem}.ref_mismatches.tsv"),
        "counts": path.with_name(f"{stem}.counts.tsv"),
        "scores": path,
    }


def write_variant_effects(
    scores: pd.DataFrame,
    mismatches: pd.DataFrame,
    counts: Mapping[str, int],
    path: str | Path,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the scores, the REF mismatches and the counts as TSV files, as a set.

    The three files are written under temporary names and then moved into place, the scores file
    last; without ``overwrite`` an existing one is refused and none of the set is left behind
    (:func:`seqlab.outputs.new_files`).

    Args:
        scores: ``VariantScores.scores`` (long or wide).
        mismatches: ``VariantScores.mismatches``.
        counts: ``VariantScores.counts``, possibly merged with ``read_vcf``'s counts.
        path: the scores file, e.g. ``effects.tsv``; the others go beside it as
            ``effects.ref_mismatches.tsv`` (only when a REF differed from the genome) and
            ``effects.counts.tsv`` (columns ``category, count``).
        overwrite: replace existing files of the set (an earlier mismatch file goes when there is none now).

    Returns:
        ``{"mismatches"?: ..., "counts": ..., "scores": ...}``: the paths written.

    Raises:
        OutputExistsError: a file of the set exists (or appears while writing) and ``overwrite`` is False.
    """
    paths = variant_effect_paths(path)
    refuse_existing(list(paths.values()), overwrite)  # a stale mismatch file would not belong to this set
    if mismatches.empty:  # nothing to report: no mismatch file (an earlier one is removed with the set)
        paths.pop("mismatches").unlink(missing_ok=True)
    tables = {"mismatches": (mismatches, False), "counts": (_counts_frame(counts), False), "scores": (scores, True)}
    with new_files(list(paths.values()), overwrite) as staged:
        for staging, name in zip(staged, paths, strict=True):
            table, full_precision = tables[name]
            write_tsv(table, staging, full_precision=full_precision)
    return paths


def _counts_frame(counts: Mapping[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"category": list(counts), "count": list(counts.values())})
