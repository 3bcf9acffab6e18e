"""Logos of interpretation results: one per TF-MoDISco pattern, and attribution logos of single windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqlab.evaluation.interpret.motifs import Pattern
from seqlab.evaluation.plots import plot_logo

__all__ = ["information_content", "plot_attribution_logo", "plot_pattern_logo"]


def information_content(ppm: np.ndarray, pseudocount: float = 1e-3) -> np.ndarray:
    """Letter heights in bits of a PPM (W, 4): each frequency times the position's information content."""
    p = (np.asarray(ppm, dtype=float) + pseudocount) / (1 + 4 * pseudocount)
    bits = 2.0 + (p * np.log2(p)).sum(axis=1, keepdims=True)
    return p * bits


def plot_pattern_logo(pattern: Pattern, path: str | Path, title: str | None = None) -> Path:
    """The pattern's contribution weight matrix (W, 4) as a logo PNG (negative contributions below the axis)."""
    return plot_logo(pattern.cwm, path, title or f"{pattern.name} ({pattern.n_seqlets} seqlets)")


def plot_attribution_logo(attributions: np.ndarray, path: str | Path, title: str | None = None) -> Path:
    """Attributions of one window, float (4, W), as a logo PNG (the observed base's bar at each position)."""
    return plot_logo(np.asarray(attributions, dtype=float).T, path, title)
