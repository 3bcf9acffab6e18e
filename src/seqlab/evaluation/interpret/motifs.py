"""Motif discovery (TF-MoDISco, modisco-lite) on attributions and matching (Tomtom, memelite) to JASPAR.

``discover_patterns`` runs modisco-lite on hypothetical contributions and one-hot windows and returns
each pattern trimmed to its informative core; ``jaspar_motifs`` reads the JASPAR vertebrate CORE
collection from pyjaspar's local database (release ``JASPAR2026`` in pyjaspar 4.0); ``match_patterns``
scores every pattern against every JASPAR matrix with Tomtom and turns each pattern's p-values into
q-values (Benjamini-Hochberg over the database, as MEME's Tomtom does per query).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "MOTIF_COLUMNS",
    "JasparMotifs",
    "Pattern",
    "discover_patterns",
    "jaspar_motifs",
    "match_patterns",
    "q_values",
]

MOTIF_COLUMNS = ["pattern", "n_seqlets", "length", "best_id", "best_name", "best_p", "best_q", "orientation",
                 "second_id", "second_name", "second_q"]  # fmt: skip
TRIM_THRESHOLD = 0.3  # keep positions whose total |contribution| is >= 30% of the pattern's peak (modisco's report)


class Pattern(NamedTuple):
    """A TF-MoDISco pattern, trimmed.

    Attributes:
        name: ``pos_patterns.pattern_0`` style (sign of the contributions, then rank by support).
        n_seqlets: seqlets supporting it.
        ppm: float (W, 4) base frequencies (A, C, G, T) of its seqlets.
        cwm: float (W, 4) mean contributions (the contribution weight matrix).
        hcwm: float (W, 4) mean hypothetical contributions.
    """

    name: str
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray


class JasparMotifs(NamedTuple):
    """JASPAR matrices: ``ids`` (MA0139.2 ...), ``names`` (CTCF ...), ``ppms`` float (4, len) each, ``release``."""

    ids: list[str]
    names: list[str]
    ppms: list[np.ndarray]
    release: str


def _trim(pattern: Any, name: str) -> Pattern:
    cwm = np.asarray(pattern.contrib_scores, dtype=float)
    score = np.abs(cwm).sum(axis=1)
    keep = np.flatnonzero(score >= TRIM_THRESHOLD * score.max())
    part = slice(int(keep.min()), int(keep.max()) + 1)
    return Pattern(
        name,
        len(pattern.seqlets),
        np.asarray(pattern.sequence, dtype=float)[part],
        cwm[part],
        np.asarray(pattern.hypothetical_contribs, dtype=float)[part],
    )


def discover_patterns(
    hypothetical: np.ndarray,
    one_hot: np.ndarray,
    max_seqlets: int = 20_000,
    window_size: int = 21,
    flank: int = 10,
    n_leiden_runs: int = 10,
    seed_fdr: float = 0.2,
) -> list[Pattern]:
    """TF-MoDISco patterns of hypothetical contributions (modisco-lite).

    Args:
        hypothetical: float32 (N, 4, W) hypothetical contributions.
        one_hot: float (N, 4, W) the windows, one-hot.
        max_seqlets: seqlets per sign at most (modisco's ``max_seqlets_per_metacluster``).
        window_size: seqlet core width (``sliding_window_size``).
        flank: bases added on each side of a seqlet.
        n_leiden_runs: Leiden clusterings per round (modisco's default is 50; 10 is faster and stable on
            the demo and GM12878 checks).
        seed_fdr: seqlet false discovery rate (``target_seqlet_fdr``).

    Returns:
        Positive patterns, then negative ones, each sorted by support as modisco returns them.

    Raises:
        ValueError: arrays of different shapes, or windows shorter than a seqlet (window_size + 2 flank).
    """
    from modiscolite.tfmodisco import TFMoDISco

    if hypothetical.shape != one_hot.shape:
        raise ValueError(f"hypothetical contributions {hypothetical.shape} and one-hot {one_hot.shape} differ")
    if hypothetical.shape[-1] < window_size + 2 * flank:
        raise ValueError(
            f"--window {hypothetical.shape[-1]}: motif discovery needs at least {window_size + 2 * flank} positions"
        )
    positive, negative = TFMoDISco(
        one_hot=np.ascontiguousarray(np.swapaxes(one_hot, 1, 2), dtype=np.float32),
        hypothetical_contribs=np.ascontiguousarray(np.swapaxes(hypothetical, 1, 2), dtype=np.float32),
        max_seqlets_per_metacluster=max_seqlets,
        sliding_window_size=window_size,
        flank_size=flank,
        target_seqlet_fdr=seed_fdr,
        n_leiden_runs=n_leiden_runs,
    )
    out = [_trim(p, f"pos_patterns.pattern_{i}") for i, p in enumerate(positive or [])]
    return out + [_trim(p, f"neg_patterns.pattern_{i}") for i, p in enumerate(negative or [])]


def jaspar_motifs(collection: str = "CORE", tax_group: str = "vertebrates") -> JasparMotifs:
    """The latest version of every matrix of a JASPAR collection, from pyjaspar's local database."""
    from pyjaspar import jaspardb

    database = jaspardb()
    motifs = database.fetch_motifs(collection=collection, tax_group=[tax_group])
    ppms = []
    for motif in motifs:
        counts = np.array([motif.counts[base] for base in "ACGT"], dtype=float)
        ppms.append(counts / counts.sum(axis=0, keepdims=True))
    return JasparMotifs([m.matrix_id for m in motifs], [m.name for m in motifs], ppms, str(database.release))


def q_values(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of each row of p-values (Q, T) over its T tests."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, axis=1)
    ranked = np.take_along_axis(p, order, axis=1) * p.shape[1] / np.arange(1, p.shape[1] + 1)
    ranked = np.minimum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1].clip(max=1.0)
    out = np.empty_like(ranked)
    np.put_along_axis(out, order, ranked, axis=1)
    return out


def match_patterns(patterns: Sequence[Pattern], motifs: JasparMotifs) -> pd.DataFrame:
    """Tomtom (memelite) of each pattern's PPM against every JASPAR matrix: best and second-best match.

    Returns:
        One row per pattern: ``pattern, n_seqlets, length, best_id, best_name, best_p, best_q,
        orientation`` ('+' the matrix as JASPAR gives it, '-' its reverse complement), ``second_id,
        second_name, second_q``; empty without patterns.
    """
    if not patterns:
        return pd.DataFrame(columns=MOTIF_COLUMNS)
    from memelite import tomtom

    queries = [np.ascontiguousarray(p.ppm.T) for p in patterns]
    p_values, _, _, _, strands = tomtom(queries, motifs.ppms)
    q = q_values(p_values)
    rows = []
    for i, pattern in enumerate(patterns):
        best, second = np.argsort(p_values[i], kind="stable")[:2]
        rows.append([
            pattern.name, pattern.n_seqlets, len(pattern.ppm), motifs.ids[best], motifs.names[best],
            float(p_values[i, best]), float(q[i, best]), "+" if strands[i, best] == 0 else "-",
            motifs.ids[second], motifs.names[second], float(q[i, second]),
        ])  # fmt: skip
    return pd.DataFrame(rows, columns=MOTIF_COLUMNS)
