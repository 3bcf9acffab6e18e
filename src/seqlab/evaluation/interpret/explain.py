"""Why a variant changes a prediction: reference and alternative attribution logos around the variant.

For the variants with the largest effects (``|delta_logit|`` over variant x task rows) the reference and
alternative windows are explained by gradient x input (:func:`.attributions.saliency`: one backward pass per
window, exact for the model as it is) for that task's logit, and the ``2 * flank + 1`` positions centred on
the variant are drawn as two logos (``<rank>_<name>.ref.png``, ``.alt.png``). The variant's index in the
window is the first base where the two windows differ (an SNV sits at ``L // 2``; an indel is centred there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.encoding import encode_batch
from seqlab.evaluation.interpret.logos import plot_attribution_logo
from seqlab.evaluation.variant_effect import allele_windows
from seqlab.io.fasta import read_fasta
from seqlab.io.genome import Genome
from seqlab.models.scoring import fit_to_window, model_device
from seqlab.models.sequence_model import SequenceModel
from seqlab.outputs import new_folder

__all__ = ["EXPLAIN_INDEX", "explain_effects", "explain_variants", "largest_effects"]

EXPLAIN_INDEX = "explain.tsv"


def largest_effects(scores: pd.DataFrame, tasks: Sequence[str], n: int) -> pd.DataFrame:
    """The ``n`` variant x task rows with the largest ``|delta_logit|`` (long rows from a long or wide table).

    Returns:
        Columns ``chrom, pos, id, ref, alt, task, delta_logit`` (the variant as in the scores), largest first.
    """
    variant = ["chrom", "pos", "id", "ref", "alt"]
    if "task" in scores.columns:
        long = scores[[*variant, "task", "delta_logit"]]
    else:
        long = pd.concat(
            [scores[variant].assign(task=task, delta_logit=scores[f"delta_logit.{task}"]) for task in tasks],
            ignore_index=True,
        )
    order = np.argsort(-np.abs(long["delta_logit"].to_numpy()), kind="stable")[:n]
    return long.iloc[order].reset_index(drop=True)


def _variant_index(ref: str, alt: str) -> int:
    differs = [i for i, (a, b) in enumerate(zip(ref.upper(), alt.upper(), strict=True)) if a != b]
    return differs[0] if differs else len(ref) // 2


def explain_variants(
    model: SequenceModel,
    chosen: pd.DataFrame,
    windows: Sequence[tuple[str, str]],
    out_dir: str | Path,
    flank: int = 20,
    overwrite: bool = False,
) -> Path:
    """Attribution logos of the reference and alternative window of each chosen variant x task.

    Args:
        model: the model (its task names index ``chosen['task']``).
        chosen: rows of :func:`largest_effects`.
        windows: ``(ref_window, alt_window)`` per row of ``chosen``, each ``model.window_length`` bp.
        out_dir: the folder written (whole or not at all; refused when it exists unless ``overwrite``).
        flank: bases drawn on each side of the variant.
        overwrite: replace an earlier explanation folder.

    Returns:
        ``out_dir``, holding the logos and ``explain.tsv`` (``rank, id, task, delta_logit, variant_index,
        ref_sum, alt_sum`` (the attributions summed over the drawn positions), ``ref_logo, alt_logo``
        (paths relative to the folder)).
    """
    from seqlab.evaluation.interpret.attributions import saliency  # captum loads slowly: only when explaining

    rows = []
    with new_folder(out_dir, overwrite, EXPLAIN_INDEX) as staging:
        for rank, (row, (ref, alt)) in enumerate(zip(chosen.itertuples(), windows, strict=True), start=1):
            x = encode_batch([ref, alt], model.encoding).to(model_device(model))
            attributions = saliency(model, x, target=model.tasks.index(row.task)).attributions.cpu().numpy()
            centre = _variant_index(ref, alt)
            start, stop = max(centre - flank, 0), min(centre + flank + 1, model.window_length)
            name = f"{rank:03d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', str(row.id))}_{row.task}"
            logos = {}
            for allele, values in zip(("ref", "alt"), attributions, strict=True):
                logos[allele] = f"{name}.{allele}.png"
                title = (
                    f"{row.id} {row.task} {allele.upper()}: delta logit {row.delta_logit:+.3f}, bases {start}-{stop}"
                )
                plot_attribution_logo(values[:, start:stop], staging / logos[allele], title)
            sums = attributions[:, :, start:stop].sum(axis=(1, 2))
            rows.append({"rank": rank, "id": row.id, "task": row.task, "delta_logit": row.delta_logit,
                         "variant_index": centre, "ref_sum": sums[0], "alt_sum": sums[1],
                         "ref_logo": logos["ref"], "alt_logo": logos["alt"]})  # fmt: skip
        pd.DataFrame(rows).to_csv(staging / EXPLAIN_INDEX, sep="\t", index=False, float_format="%.6g")
    return Path(out_dir)


def explain_effects(
    model: SequenceModel,
    scores: pd.DataFrame,
    n: int,
    out_dir: str | Path,
    source: Genome | tuple[str | Path, str | Path],
    overwrite: bool = False,
) -> Path:
    """:func:`explain_variants` for the ``n`` largest effects of a variant-effect table.

    Args:
        model: the model that scored them.
        scores: the scores table (long or wide) of ``score_variants`` or ``score_paired``.
        n: how many variant x task rows to explain.
        out_dir: the folder written.
        source: the genome the VCF refers to, or the paired (reference, alternative) FASTA files; windows
            are rebuilt as scoring built them (centred on the variant; paired records fitted to the window).
        overwrite: replace an earlier explanation folder.
    """
    chosen = largest_effects(scores, model.tasks, n)
    if isinstance(source, Genome):
        names = {chrom: source.resolve(chrom) for chrom in chosen["chrom"].unique()}
        windows = [
            allele_windows(source, names[v.chrom], int(v.pos) - 1, v.ref, v.alt, model.window_length,
                           source.chrom_sizes[names[v.chrom]])[:2]
            for v in chosen.itertuples()
        ]  # fmt: skip
    else:
        (ref_names, ref_seqs), (_, alt_seqs) = read_fasta(source[0]), read_fasta(source[1])
        pairs = dict(zip(ref_names, zip(ref_seqs, alt_seqs, strict=True), strict=True))
        windows = [tuple(fit_to_window(pairs[str(v.id)], model.window_length)[0]) for v in chosen.itertuples()]
    return explain_variants(model, chosen, windows, out_dir, overwrite=overwrite)
