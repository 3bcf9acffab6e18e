"""``seqlab demo dna`` and ``seqlab demo protein``: embedded demos that run offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seqlab.cli.common import console, setup_logging, user_errors
from seqlab.cli.dna import metrics_table

OutOption = Annotated[Path | None, typer.Option(help="Demo folder (default: runs/demo-<kind>).")]
SeedOption = Annotated[int, typer.Option(help="Seed of the simulation/corpus, sampling and training.")]


def dna(out: OutOption = None, seed: SeedOption = 0) -> None:
    """Simulated genome with real JASPAR motifs (CTCF, SPI1, and REST with few sites) -> peaks -> model.

    Writes the genome FASTA, narrowPeak files and task table to disk, then builds windows and
    GC-matched negatives, splits by chromosome (val chr5, test chr6), trains a DeepBind model,
    evaluates it with both strands averaged, and scores motif-breaking vs random SNPs.
    """
    from seqlab.demo.dna import run_dna_demo

    setup_logging(training=True)
    folder = out or Path("runs/demo-dna")
    with user_errors():
        metrics = run_dna_demo(folder, seed=seed)
    console.print(metrics_table(metrics, "seqlab demo dna: simulated genome, best checkpoint"))
    effects = Table(title="CTCF variant effects on the test chromosome (alt - ref probability)")
    for column in ("SNPs", "n", "mean delta"):
        effects.add_column(column, justify="left" if column == "SNPs" else "right")
    for kind, values in metrics["variant_effects_ctcf"].items():
        effects.add_row(f"{kind} sites", str(values["n"]), f"{values['mean_delta_prob']:+.4f}")
    console.print(effects)
    console.print(f"{metrics['n_parameters']:,} parameters, {metrics['epochs']} epochs, "
                  f"{metrics['wall_time_s']:.0f} s; run folder: {folder / 'run'}")  # fmt: skip


def protein(
    out: OutOption = None,
    seed: SeedOption = 0,
    quick: Annotated[bool, typer.Option(help="A much smaller run (about a minute), for smoke tests.")] = False,
) -> None:
    """Real UniProt proteins (p-scldata): BPE tokenizer, pair MLM pre-training, localization fine-tune.

    No interaction data ships with the install, so the demo's pairs are a declared stand-in (see
    the printed note); real pair corpora come from STRING files (seqlab protein corpus).
    """
    from seqlab.demo.protein import run_protein_demo

    setup_logging(training=True)
    with user_errors():
        run_protein_demo(out or Path("runs/demo-protein"), seed=seed, quick=quick)


def register(app: typer.Typer) -> None:
    """Add ``dna`` and ``protein`` to the demo group."""
    app.command("dna")(dna)
    app.command("protein")(protein)
