"""``seqlab dna alleles``: paired-allele benchmarks (does a model rank the binding allele first?)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seqlab.cli.common import results, setup_logging, user_errors


def alleles_command(
    models: Annotated[
        list[Path], typer.Argument(help="Model folders, run folders or .ckpt files (several: + ensemble).")
    ],
    pairs_a: Annotated[Path, typer.Option(help="FASTA of allele A (e.g. the binding allele).", show_default=False)],
    pairs_b: Annotated[
        Path, typer.Option(help="FASTA of allele B: the same IDs in the same order.", show_default=False)
    ],
    out: Annotated[Path, typer.Option(help="Folder for alleles.tsv and pairs.tsv.", show_default=False)],
    measured: Annotated[
        Path | None, typer.Option(help="TSV with columns id, effect (A over B): adds sign agreement and Spearman.")
    ] = None,
    jaspar: Annotated[
        str | None, typer.Option(help="JASPAR matrix ID for a PWM baseline (local database), e.g. MA0139.2.")
    ] = None,
    task: Annotated[list[str] | None, typer.Option(help="Only these tasks (repeatable; default all).")] = None,
    shifts: Annotated[
        int, typer.Option(help="Average over placements shifted -k..k bp (sequences shorter than the window).")
    ] = 0,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    overwrite: Annotated[bool, typer.Option(help="Replace alleles.tsv and pairs.tsv already in --out.")] = False,
) -> None:
    """Score paired alleles: the share of pairs where A scores above B (ties one half), with a 95 % CI.

    Per model and task (and the ensemble of several models: mean logit; and a JASPAR PWM with --jaspar).
    Sequences shorter than a model's window are centred and padded with N; longer ones centre-cropped.
    """
    from seqlab import pipeline

    setup_logging()
    with user_errors():
        summary = pipeline.alleles(
            models, pairs_a, pairs_b, out, measured=measured, jaspar=jaspar, tasks=task, shifts=shifts,
            batch_size=batch_size, overwrite=overwrite,
        )  # fmt: skip
    table = Table(title=f"allele pairs -> {out / 'alleles.tsv'}")
    columns = ["model", "task", "n_pairs", "fraction_a_above_b", "ci_low", "ci_high", "chance"]
    columns += [c for c in ("sign_agreement", "sign_chance", "spearman") if c in summary.columns]
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "task") else "right")
    for row in summary.itertuples(index=False):
        values = row._asdict()
        table.add_row(*(v if isinstance(v := values[c], str) else f"{v:.3f}" if isinstance(v, float) else str(v)
                        for c in columns))  # fmt: skip
    results.print(table)  # the result table goes to stdout; logs and errors to stderr
