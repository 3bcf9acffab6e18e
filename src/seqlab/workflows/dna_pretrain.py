"""``seqlab dna pretrain``: masked-language-model pre-training of a transformer encoder on genomes.

Windows of ``window`` bp are cut from every chromosome of the given FASTA files every ``stride`` bp
(windows with more than ``max_n_fraction`` N are dropped), optionally ``max_windows`` of them drawn
at random; a random ``val_fraction`` of them is held out for the validation loss. Tokens are single
nucleotides (``A C G T N`` plus the RoBERTa specials: ``<s> ACGT... </s>``).

The machinery is the protein wing's (:mod:`seqlab.protein.mlm`): a ``RobertaForMaskedLM`` sized by
:class:`~seqlab.protein.config.MlmModelConfig`, the 80/10/10 masking collator, AdamW with linear
warm-up and decay, validation every ``optim.val_every_steps`` steps. The output folder is a run
folder (checkpoints/, logs/, metrics.json) whose ``model/`` is a Hugging Face folder (``config.json``,
the final weights, tokenizer) that the ``hf`` trunk loads::

    model: {trunk: {arch: hf, path: OUT/model}}
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerFast

from seqlab.atomic import atomic_dir, write_json
from seqlab.config.hardware import HardwareConfig
from seqlab.io.errors import InputError
from seqlab.io.genome import Genome
from seqlab.protein.config import MlmModelConfig, OptimConfig
from seqlab.protein.mlm import MlmCollator, MlmModule, build_mlm_model, evaluate_mlm, model_sizes, optim_trainer
from seqlab.protein.tokenizer import letter_tokenizer, save_tokenizer
from seqlab.runs import RunPaths

__all__ = ["GenomeCorpus", "genome_windows", "nucleotide_tokenizer", "pretrain_dna"]

log = logging.getLogger(__name__)

NUCLEOTIDES = "ACGTN"


def nucleotide_tokenizer(model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """One token per nucleotide (``A C G T N``), RoBERTa specials and templates (``<s> ... </s>``)."""
    return letter_tokenizer(NUCLEOTIDES, model_max_length)


@dataclass
class GenomeCorpus:
    """Windows cut from genomes: upper-case sequences of the train and validation parts."""

    train: list[str]
    val: list[str]


def genome_windows(
    fastas: list[Path],
    window: int,
    stride: int | None = None,
    max_windows: int | None = None,
    max_n_fraction: float = 0.1,
    val_fraction: float = 0.05,
    seed: int = 0,
) -> GenomeCorpus:
    """Windows of ``window`` bp every ``stride`` (default ``window``) bp of every chromosome of ``fastas``.

    The candidate windows are shuffled (``seed``) and read in that order until ``max_windows`` (None:
    all) have at most ``max_n_fraction`` N, so a small corpus of a large genome reads only what it keeps.

    Raises:
        InputError: no window survives (FASTA too short or mostly N).
    """
    stride = stride or window
    genomes = [Genome(fasta) for fasta in fastas]
    places = [(g, chrom, start) for g, genome in enumerate(genomes) for chrom, size in genome.chrom_sizes.items()
              for start in range(0, size - window + 1, stride)]  # fmt: skip
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(places))
    wanted = len(places) if max_windows is None else max_windows
    sequences: list[str] = []
    for chunk in np.array_split(order, max(1, -(-len(places) // max(2 * wanted, 1)))):
        for g, rows in _by_genome(places, chunk).items():
            chroms, starts = [places[i][1] for i in rows], np.array([places[i][2] for i in rows], dtype=np.int64)
            for seq in genomes[g].fetch_many(chroms, starts, starts + window):
                seq = seq.upper()
                if seq.count("N") <= max_n_fraction * window:
                    sequences.append(seq)
        if len(sequences) >= wanted:
            break
    sequences = sequences[:wanted]
    if not sequences:
        raise InputError(f"dna pretrain: no {window}-bp window with at most {max_n_fraction:.0%} N in {fastas}")
    n_val = max(1, int(round(val_fraction * len(sequences)))) if len(sequences) > 1 else 0
    return GenomeCorpus(train=sequences[n_val:], val=sequences[:n_val])


def _by_genome(places: list[tuple[int, str, int]], rows: np.ndarray) -> dict[int, list[int]]:
    """The rows of ``places`` grouped by genome index (first-seen order)."""
    groups: dict[int, list[int]] = {}
    for i in rows.tolist():
        groups.setdefault(places[i][0], []).append(i)
    return groups


def pretrain_dna(
    fastas: list[Path],
    out: str | Path,
    *,
    window: int = 510,
    stride: int | None = None,
    max_windows: int | None = None,
    model: MlmModelConfig | None = None,
    optim: OptimConfig | None = None,
    hardware: HardwareConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Pre-train a nucleotide-level RoBERTa on genome windows; write ``out/model`` for the ``hf`` trunk.

    Args:
        fastas: genome FASTA files (plain or bgzip).
        out: the run folder (refused when ``out/model`` exists: nothing is replaced).
        window: bp per window (tokens: ``window + 2`` with ``<s>`` and ``</s>``).
        stride: bp between window starts (default ``window``).
        max_windows: windows drawn at random (None: all).
        model: encoder sizes (default preset ``tiny``); ``max_position_embeddings`` is raised to fit.
        optim: optimiser, steps, batch size, validation interval.
        hardware: accelerator, precision, threads.
        seed: seeds the window draw, masking and initialisation.

    Returns:
        The metrics document (also ``out/metrics.json``): windows, parameters, steps, the final model's
        validation loss and perplexity (``val``), wall time, the model folder (the final weights, as
        ``seqlab protein pretrain`` writes them).
    """
    started = time.perf_counter()
    run = RunPaths(out)
    if (run.root / "model").exists():
        raise InputError(f"dna pretrain: {run.root / 'model'} exists; choose another --out (nothing is replaced)")
    run.make()
    model = (model or MlmModelConfig()).model_copy()
    optim, hardware = optim or OptimConfig(), hardware or HardwareConfig()
    if hardware.threads is not None:
        torch.set_num_threads(hardware.threads)
    model.max_position_embeddings = max(model.max_position_embeddings, window + 4)
    L.seed_everything(seed, workers=True, verbose=False)
    corpus = genome_windows(fastas, window, stride, max_windows, seed=seed)
    tokenizer = nucleotide_tokenizer(window + 2)
    encode = lambda seqs: tokenizer(seqs)["input_ids"]  # noqa: E731
    collate = MlmCollator(tokenizer)
    train = DataLoader(encode(corpus.train), batch_size=optim.batch_size, shuffle=True, collate_fn=collate)
    val = DataLoader(encode(corpus.val), batch_size=optim.batch_size, collate_fn=collate)
    module = MlmModule(build_mlm_model(model, tokenizer), optim)
    trainer = optim_trainer(run, optim, hardware, monitor="val_loss", mode="min", train_batches=len(train))
    trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
    held_out = evaluate_mlm(module.model, val)
    with atomic_dir(run.root / "model") as folder:  # a kill never leaves a half-written model/
        module.model.save_pretrained(folder)
        save_tokenizer(tokenizer, folder)
    metrics = {
        "genomes": [str(f) for f in fastas],
        "windows": {"train": len(corpus.train), "val": len(corpus.val), "bp": window},
        "parameters": sum(p.numel() for p in module.model.parameters()),
        "sizes": model_sizes(model),
        "steps": trainer.global_step,
        "val": held_out,
        "model": "model",
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_json(run.metrics, metrics)
    return metrics
