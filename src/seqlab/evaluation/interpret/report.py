"""Interpretation of many windows, streamed to disk: attributions, motifs, logos and a Markdown report.

``interpret_windows`` writes a new folder (refusing one that holds files, unless ``overwrite``):

* ``attributions.npz``: ``attributions`` and ``hypothetical`` float32 (N, 4, W), ``one_hot`` uint8
  (N, 4, W) of the centre W positions (``numpy.load``); ``index.tsv``: one row per window in the same
  order (``name``, coordinates where known, ``logit`` of the explained output).
  The arrays are filled chunk by chunk through memory-mapped ``.npy`` files and then stored
  uncompressed in the ``.npz``, so memory stays bounded by one chunk for any number of windows.
* ``motifs.tsv`` (:func:`~seqlab.evaluation.interpret.motifs.match_patterns` columns),
  ``logos/<pattern>.png`` and ``logos/window_<i>.png`` (the top windows' attributions), ``report.md``.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from numpy.lib.format import open_memmap
from torch import nn

from seqlab.atomic import write_text
from seqlab.data.encoding import encode_batch
from seqlab.evaluation.interpret.attributions import METHODS
from seqlab.evaluation.interpret.ism import centre_span
from seqlab.evaluation.interpret.logos import plot_attribution_logo, plot_pattern_logo
from seqlab.evaluation.interpret.motifs import MOTIF_COLUMNS, discover_patterns, jaspar_motifs, match_patterns
from seqlab.evaluation.predict import write_tsv
from seqlab.outputs import new_folder

__all__ = ["InterpretResult", "attribute_to_disk", "interpret_windows"]

ARRAYS = ("attributions", "hypothetical", "one_hot")


class InterpretResult(NamedTuple):
    """What :func:`interpret_windows` wrote: the index (with ``logit``), the motif table (maybe empty), paths."""

    index: pd.DataFrame
    motifs: pd.DataFrame
    paths: dict[str, Path]


def attribute_to_disk(
    model: nn.Module,
    sequences: Sequence[str],
    out_dir: Path,
    method: str,
    target: int = 0,
    window: int | None = None,
    batch_size: int = 256,
    chunk: int = 2048,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Attribute every sequence with ``method`` into ``out_dir/<array>.npy`` memory maps, chunk by chunk.

    Args:
        model: maps float32 (B, 4, L) one-hot to logits (B, T), on ``device``.
        sequences: N strings of the model's window length L.
        out_dir: folder for ``attributions.npy``, ``hypothetical.npy`` (float32 (N, 4, W)), ``one_hot.npy``
            (uint8 (N, 4, W)).
        method: a key of :data:`~seqlab.evaluation.interpret.attributions.METHODS`.
        target: the output column explained.
        window: centre positions kept (default all L).
        batch_size: forward passes' batch (see each method).
        chunk: windows attributed, then written, at a time (bounds memory).
        seed: seed of DeepLIFT/SHAP's shuffles.
        device: where the model runs.

    Returns:
        float32 (N,) the explained logit of each window.
    """
    n, length = len(sequences), len(sequences[0])
    start, stop = centre_span(length, window)
    arrays = {
        name: open_memmap(out_dir / f"{name}.npy", mode="w+", dtype=np.uint8 if name == "one_hot" else np.float32,
                          shape=(n, 4, stop - start))
        for name in ARRAYS
    }  # fmt: skip
    logits = np.empty(n, dtype=np.float32)
    function = METHODS[method]
    for first in range(0, n, chunk):
        x = encode_batch(list(sequences[first : first + chunk]), "onehot").to(device)
        result = function(model, x, target=target, window=window, batch_size=batch_size, seed=seed + first)
        part = slice(first, first + x.shape[0])
        arrays["attributions"][part] = result.attributions.detach().cpu().numpy()
        arrays["hypothetical"][part] = result.hypothetical.detach().cpu().numpy()
        arrays["one_hot"][part] = x[..., start:stop].cpu().numpy().astype(np.uint8)
        with torch.no_grad():
            logits[part] = (
                torch.cat([model(x[i : i + batch_size])[:, target] for i in range(0, x.shape[0], batch_size)])
                .cpu()
                .numpy()
            )
    for array in arrays.values():
        array.flush()
    return logits


def _store_npz(staging: Path, path: Path) -> Path:
    """Zip the staged ``.npy`` files, uncompressed and one at a time, into ``path`` (an ``.npz``)."""
    partial = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in ARRAYS:
            archive.write(staging / f"{name}.npy", arcname=f"{name}.npy")
    partial.replace(path)
    return path


def _motif_section(
    staging: Path, logits: np.ndarray, out: Path, motif_windows: int, min_windows: int
) -> tuple[pd.DataFrame, list[str]]:
    """TF-MoDISco on the ``motif_windows`` highest-scoring windows, Tomtom against JASPAR, pattern logos."""
    chosen = np.sort(np.argsort(-logits, kind="stable")[:motif_windows])
    if chosen.size < min_windows:
        return pd.DataFrame(columns=MOTIF_COLUMNS), [
            f"Motif discovery skipped: {chosen.size} windows (fewer than {min_windows})."
        ]
    hypothetical = np.load(staging / "hypothetical.npy", mmap_mode="r")[chosen]
    one_hot = np.load(staging / "one_hot.npy", mmap_mode="r")[chosen].astype(np.float32)
    patterns = discover_patterns(hypothetical, one_hot)
    motifs = jaspar_motifs()
    table = match_patterns(patterns, motifs)
    lines = [f"TF-MoDISco on the {chosen.size:,} highest-scoring windows; Tomtom against "
             f"{motifs.release} CORE vertebrates ({len(motifs.ids):,} matrices); q-values per pattern.", "",
             "| pattern | seqlets | best match | q-value | strand | second | logo |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for pattern, row in zip(patterns, table.itertuples(), strict=True):
        logo = plot_pattern_logo(pattern, out / "logos" / f"{pattern.name}.png",
                                 f"{pattern.name}: {row.best_name} ({row.best_id}) q={row.best_q:.2g}")  # fmt: skip
        lines.append(f"| {row.pattern} | {row.n_seqlets} | {row.best_id} {row.best_name} | {row.best_q:.3g} | "
                     f"{row.orientation} | {row.second_id} {row.second_name} | ![](logos/{logo.name}) |")  # fmt: skip
    if not patterns:
        lines.append("| (no pattern found) | | | | | | |")
    return table, lines


def _top_window_logos(staging: Path, index: pd.DataFrame, out: Path, top_windows: int) -> list[str]:
    """Attribution logos of the ``top_windows`` highest-logit windows; their report lines."""
    attributions = np.load(staging / "attributions.npy", mmap_mode="r")
    logits = index["logit"].to_numpy()
    lines = []
    for rank, i in enumerate(np.argsort(-logits, kind="stable")[:top_windows]):
        name = index["name"].iat[i] if "name" in index else str(i)
        title = f"{name}: logit {logits[i]:.3g}"
        logo = plot_attribution_logo(np.array(attributions[i]), out / "logos" / f"window_{rank}.png", title)
        lines.append(f"{rank + 1}. {name} (logit {logits[i]:.3g})  \n   ![](logos/{logo.name})")
    del attributions
    return lines


def interpret_windows(
    model: nn.Module,
    sequences: Sequence[str],
    index: pd.DataFrame,
    out_dir: str | Path,
    method: str = "deepliftshap",
    target: int = 0,
    target_name: str = "",
    window: int | None = None,
    batch_size: int = 256,
    top_windows: int = 5,
    motif_windows: int = 20_000,
    motifs: bool = True,
    seed: int = 0,
    device: str | torch.device = "cpu",
    overwrite: bool = False,
) -> InterpretResult:
    """Attributions of N windows to disk, then TF-MoDISco + Tomtom, logos and ``report.md`` (module docstring).

    Args:
        model: maps float32 (B, 4, L) one-hot to logits (B, T).
        sequences: N strings of the model's window length.
        index: one row per sequence (written as ``index.tsv`` with the ``logit`` column added).
        out_dir: output folder; filled beside it under a temporary name and renamed into place when
            complete (``seqlab.outputs.new_folder``).
        method: ``ism``, ``saliency``, ``ig`` or ``deepliftshap``.
        target: the output column explained.
        target_name: its name in the report.
        window: centre positions attributed (default all).
        batch_size: forward passes' batch.
        top_windows: attribution logos drawn for this many highest-scoring windows.
        motif_windows: windows (highest logit first) given to TF-MoDISco.
        motifs: run motif discovery and matching.
        seed: seed of the shuffles.
        device: where the model runs.
        overwrite: replace an earlier interpretation folder (one holding ``report.md``).

    Raises:
        ValueError: no sequences.
        OutputExistsError: ``out_dir`` is not empty (without ``overwrite``, or not an interpretation folder).
    """
    if not sequences:
        raise ValueError("no windows to interpret")
    out = Path(out_dir)
    with new_folder(out, overwrite, marker="report.md") as folder:
        staging = folder / ".staging"
        (folder / "logos").mkdir()
        staging.mkdir()
        logits = attribute_to_disk(
            model, sequences, staging, method, target, window, batch_size, seed=seed, device=device
        )
        index = index.assign(logit=logits)
        write_tsv(index, folder / "index.tsv")
        start, stop = centre_span(len(sequences[0]), window)
        lines = [f"# Interpretation: {target_name or f'output {target}'}, {method}", "",
                 f"{len(sequences):,} windows; attributions of the centre {stop - start:,} bp in "
                 "[attributions.npz](attributions.npz) (rows as in [index.tsv](index.tsv)).", ""]  # fmt: skip
        table = pd.DataFrame(columns=MOTIF_COLUMNS)
        if motifs:
            table, motif_lines = _motif_section(staging, logits, folder, motif_windows, min_windows=20)
            write_tsv(table, folder / "motifs.tsv")
            lines += ["## Motifs ([motifs.tsv](motifs.tsv))", "", *motif_lines, ""]
        lines += ["## Highest-scoring windows", "", *_top_window_logos(staging, index, folder, top_windows)]
        _store_npz(staging, folder / "attributions.npz")
        shutil.rmtree(staging)
        write_text(folder / "report.md", "\n".join(lines) + "\n")
    names = ["index.tsv", "attributions.npz", "report.md"] + (["motifs.tsv"] if motifs else [])
    return InterpretResult(index, table, {name.split(".")[0]: out / name for name in names})
