"""``seqlab dna pileup`` (reads to a signal track) and ``seqlab dna baselines`` (baselines of track targets)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqlab.cli.common import DataDirOption, OverwriteOutputOption, SetOption, results, setup_logging, user_errors

__all__ = ["baselines_command", "pileup_command"]


def pileup_command(
    reads: Annotated[
        Path, typer.Argument(help="Reads: BED6 with strand (plain or gzip), as MACS ships.", show_default=False)
    ],
    genome: Annotated[Path, typer.Option(help="Genome FASTA (chromosome names and lengths).", show_default=False)],
    out: Annotated[
        Path, typer.Option(help="Output track: .bw/.bigWig, else bedGraph (.gz: gzip).", show_default=False)
    ],
    extend: Annotated[
        int, typer.Option(help="Fragment length from the 5' end along the strand (MACS --extsize).", min=1)
    ] = 200,
    five_prime: Annotated[
        bool, typer.Option("--five-prime", help="Count 5' ends only (1 bp a read) instead of fragments.")
    ] = False,
    keep_dup: Annotated[
        int | None,
        typer.Option(help="Keep at most this many reads per strand and 5' end (MACS --keep-dup; default all).", min=1),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out.")] = False,
) -> None:
    """Pile up single-end reads into a per-base count track (every genome chromosome, 0 where no read lies).

    With --extend 228 --keep-dup 1 the bundle's CTCF ChIP reads give MACS3's treat pileup base for base.
    """
    from seqlab.data.pileup import pileup_file
    from seqlab.io.genome import Genome

    setup_logging()
    with user_errors():
        if out.exists() and not overwrite:
            raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
        fasta = Genome(genome, genome.name)
        counts = pileup_file(reads, out, fasta, extend=None if five_prime else extend, keep_dup=keep_dup)
    results.print(f"{counts['reads_kept']:,} of {counts['reads']:,} reads piled up into {counts['runs']:,} runs: {out}")


def baselines_command(
    config: Annotated[Path, typer.Argument(help="Run config (YAML) with a tracks source.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder for metrics.json (and profile stores).", show_default=False)],
    set_: SetOption = None,
    data_dir: DataDirOption = None,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Fit the track baselines on the config's training windows; score them on val and test.

    Binned targets: GC content (linear) and k-mer counts (k = 4-6, ridge, alpha chosen on val); profiles:
    the average training profile and the control profile scaled. Writes metrics.json
    (baselines.<name>.<split>.pearson, ...).
    """
    from seqlab.config import DnaRunConfig, load_config
    from seqlab.evaluation.track_baselines import run_baselines

    setup_logging()
    with user_errors():
        run_config = load_config(config, DnaRunConfig, overrides=set_ or [], data_dir=data_dir)
        metrics = run_baselines(run_config.data, out, overwrite=overwrite)
    for name, scores in metrics["baselines"].items():
        if name == "n_examples":
            continue
        for split in ("val", "test"):
            values = {k: v for k, v in scores[split].items() if k != "per_task"}
            cells = ", ".join(f"{k} {'NA' if v is None else f'{v:.4f}'}" for k, v in values.items())
            results.print(f"{name} {split}: {cells}")
    results.print(f"windows {metrics['baselines']['n_examples']}; data {metrics['data']}; {out / 'metrics.json'}")
