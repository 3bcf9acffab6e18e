"""Semi-supervised commands: ``seqlab ssl lift`` (homolog windows and pseudo-labels in other genomes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqlab.cli.common import DataDirOption, OverwriteOutputOption, SetOption, results, setup_logging, user_errors

ssl_app = typer.Typer(
    help="Cross-species pseudo-labelling: lift labelled windows to other genomes through UCSC chains.",
    no_args_is_help=True,
)


@ssl_app.command("lift")
def lift_command(
    config: Annotated[Path, typer.Argument(help="Run config (YAML): data.genomes with chains, data.sources.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default: runs/<name>/lift).")] = None,
    set_: SetOption = None,
    data_dir: DataDirOption = None,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Lift every labelled window to every target genome; write homologs/, lift_report.json and .tsv."""
    from seqlab.config import DnaRunConfig, load_config
    from seqlab.workflows.lift import lift_summary, run_lift

    setup_logging()
    with user_errors():
        run_config = load_config(config, DnaRunConfig, overrides=set_ or [], data_dir=data_dir)
        out_dir = out if out is not None else Path("runs") / run_config.name / "lift"
        result = run_lift(run_config, out_dir, overwrite=overwrite)
    results.print(lift_summary(result.report), highlight=False)
    results.print(f"homolog table: {result.out_dir / 'homologs'}; report: {result.out_dir / 'lift_report.tsv'}")
