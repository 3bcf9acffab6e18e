"""DNA commands: ``audit``, ``train``, ``evaluate``, ``predict``, ``variant-effect`` (over seqlab.pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from seqlab.cli.common import (
    Center,
    DataDirOption,
    EvaluateSplit,
    Indels,
    Layout,
    Multiallelic,
    OutDirOption,
    OverwriteOption,
    OverwriteOutputOption,
    ReportSplit,
    ResumeOption,
    SetOption,
    results,
    run_folder,
    setup_logging,
    user_errors,
)
from seqlab.config import DnaRunConfig, load_config

ConfigArg = Annotated[Path, typer.Argument(help="Run config (YAML). Unknown keys are errors.", show_default=False)]
ThreadsOption = Annotated[
    int | None, typer.Option(help="CPU threads of torch (default: torch's, every core).", min=1, show_default=False)
]


def metrics_table(metrics: dict[str, Any], title: str) -> Table:
    """A rich table of the per-task metrics of every split in a metrics.json document.

    Binary models: AUROC, AUPR and class counts; regression models: Pearson, Spearman and the count;
    profile models: count Pearson, median profile Pearson and JSD, and the windows.
    """
    splits = [metrics.get(split, {}) for split in ("train", "val", "test", "all")]
    if any("count_pearson" in split for split in splits):
        names, counts = ("count_pearson", "profile_pearson", "jsd"), ("n",)
        headers: tuple[str, ...] = ("count Pearson", "profile Pearson", "JSD", "n")
    elif any("pearson" in split for split in splits):
        names, counts, headers = ("pearson", "spearman"), ("n",), ("Pearson", "Spearman", "n")
    else:
        names, counts, headers = ("auroc", "aupr"), ("n_pos", "n_neg"), ("AUROC", "AUPR", "pos", "neg")
    table = Table(title=title)
    for column in ("split", "task", *headers):
        table.add_column(column, justify="left" if column in ("split", "task") else "right")

    def cell(value: float | None) -> str:
        return "NA" if value is None else f"{value:.4f}"

    for split in ("train", "val", "test", "all"):
        if split not in metrics:
            continue
        for task, values in metrics[split]["per_task"].items():
            table.add_row(split, task, *(cell(values[n]) for n in names), *(str(values[c]) for c in counts))
        table.add_row(split, "[bold]mean[/]", *(cell(metrics[split][n]) for n in names), *("" for _ in counts))
    return table


def scored_lines(metrics: dict[str, Any]) -> list[str]:
    """One line per evaluated split: the reference windows scored and the homolog windows left out."""
    lines = []
    for split, n in metrics.get("n_examples", {}).items():
        homologs = metrics.get("homologs_left_out", {}).get(split, {})
        line = f"{split}: {n:,} {'reference ' if homologs else ''}windows scored"
        if homologs:
            per_genome = ", ".join(f"{genome} {count:,}" for genome, count in homologs.items())
            line += f"; {sum(homologs.values()):,} homolog windows left out ({per_genome})"
        lines.append(line)
    return lines


def _load(config: Path, overrides: list[str] | None, data_dir: str | None) -> DnaRunConfig:
    return load_config(config, DnaRunConfig, overrides=overrides or [], data_dir=data_dir)


def audit_command(
    config: ConfigArg,
    out: Annotated[Path | None, typer.Option(help="Folder for audit.json and audit.txt.")] = None,
    set_: SetOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Audit a data set for shortcuts: duplicates, label conflicts, one-class chromosomes, GC alone."""
    from seqlab import pipeline

    setup_logging()
    with user_errors():
        report = pipeline.audit(_load(config, set_, data_dir), out)
    results.print(report.to_text(), highlight=False)


def train_command(
    config: ConfigArg,
    out: OutDirOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    set_: SetOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Train a model: build examples, audit, train with early stopping, evaluate the best checkpoint."""
    from seqlab import pipeline

    setup_logging(training=True)
    with user_errors():
        run_config = _load(config, set_, data_dir)
        result = pipeline.train(run_config, run_folder(out, run_config.name), resume=resume, overwrite=overwrite)
    results.print(metrics_table(result.metrics, f"{run_config.name}: best checkpoint, both strands averaged"))
    results.print(f"run folder: {result.run_dir}")


def evaluate_command(
    model: Annotated[
        Path,
        typer.Argument(help="A model folder, a run folder (seqlab dna train) or a .ckpt.", show_default=False),
    ],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Evaluate this checkpoint on the stored examples of the run folder MODEL.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Data (or run) config whose examples to evaluate on.", show_default=False)
    ] = None,
    fasta: Annotated[
        list[str] | None,
        typer.Option(help="Labelled FASTA set PATH:TASK=LABEL[,TASK=LABEL] (repeatable).", show_default=False),
    ] = None,
    positives: Annotated[
        list[Path] | None, typer.Option(help="FASTA of positives of --task (repeatable).", show_default=False)
    ] = None,
    negatives: Annotated[
        list[Path] | None, typer.Option(help="FASTA of negatives of --task (repeatable).", show_default=False)
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="Task of --positives/--negatives (default: the model's only task).")
    ] = None,
    split: Annotated[
        list[EvaluateSplit] | None,
        typer.Option(
            help="Split(s) to evaluate (default: val+test of a run, else test).",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the reports (default: the run folder).")] = None,
    set_: SetOption = None,
    data_dir: DataDirOption = None,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    threads: ThreadsOption = None,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Evaluate a model on a labelled set: metrics.json, metrics_per_task.tsv, prediction TSVs and plots.

    Without --config or FASTA sets, the examples a run folder stored at training time are used.
    """
    from seqlab import pipeline

    setup_logging()
    with user_errors():
        splits = [value.value for value in split] if split else None
        sets: list[Any] = list(fasta or [])
        if positives or negatives:
            if task is None:
                from seqlab.models.sequence_model import SequenceModel

                tasks = SequenceModel.from_pretrained(checkpoint or model).tasks
                if len(tasks) != 1:
                    raise ValueError(f"the model has {len(tasks)} tasks {tasks}: name one with --task")
                task = tasks[0]
            sets += [(path, {task: 1.0}) for path in positives or []]
            sets += [(path, {task: 0.0}) for path in negatives or []]
        data = _load(config, set_, data_dir) if config is not None else None
        if checkpoint is not None:
            result = pipeline.evaluate(
                checkpoint, out or (model if not sets and data is None else None), data=data, fasta_sets=sets,
                splits=splits, batch_size=batch_size, run_dir=model, threads=threads, overwrite=overwrite,
            )  # fmt: skip
        else:
            result = pipeline.evaluate(
                model,
                out,
                data=data,
                fasta_sets=sets,
                splits=splits,
                batch_size=batch_size,
                threads=threads,
                overwrite=overwrite,
            )
    results.print(metrics_table(result.metrics, f"{model}: evaluation"))
    for line in scored_lines(result.metrics):
        results.print(line)
    results.print(f"reports: {result.run_dir}")


def predict_command(
    checkpoint: Annotated[
        Path, typer.Argument(help="A model folder, a run folder or a seqlab checkpoint (.ckpt).", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Output TSV of per-task predictions (default predictions.tsv without --bigwig-out)."),
    ] = None,
    bed: Annotated[Path | None, typer.Option(help="BED/narrowPeak regions (windows centred on each).")] = None,
    bigwig_out: Annotated[
        Path | None,
        typer.Option(
            help="With --bed: one bigWig per task over the regions, binned at the model's resolution "
            "(several tasks: NAME.<task>.bw).",
            show_default=False,
        ),
    ] = None,
    fasta: Annotated[
        Path | None, typer.Option(help="FASTA of sequences (scored on the model's window centred on each).")
    ] = None,
    genome: Annotated[Path | None, typer.Option(help="Genome FASTA (needed with --bed).")] = None,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    center: Annotated[
        Center,
        typer.Option(help="'summit': narrowPeak summits where given (as training); 'center'."),
    ] = Center.summit,
    allow_all_n: Annotated[bool, typer.Option(help="Predict windows that are all N (else an error).")] = False,
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            help="Imputation (metadata-head model): an experiment to predict, COLUMN=VALUE[,COLUMN=VALUE...], "
            "e.g. target=CTCF,biosample=K562,assay=ChIP-seq,lab=L1,date=2020 (repeatable; task=NAME names it).",
            show_default=False,
        ),
    ] = None,
    metadata_table: Annotated[
        Path | None,
        typer.Option(help="Imputation: a TSV of experiments to predict (task-table rows, peak files not needed)."),
    ] = None,
    threads: ThreadsOption = None,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Predict per-task probabilities and logits (regression models: values; profile models: total counts;
    both strands averaged) for BED regions or FASTA sequences; --bigwig-out writes the predictions over BED
    regions as bigWig tracks (profile models: the predicted profile at base resolution).

    With --metadata or --metadata-table (a model with a metadata head, train.scheme: mfd) the columns are
    the given experiments, predicted from their metadata alone; a value never seen in training is an error.
    """
    from seqlab import pipeline

    setup_logging()
    with user_errors():
        records = None
        if metadata or metadata_table is not None:
            from seqlab.io.metadata import parse_metadata, read_metadata_table

            records = parse_metadata(metadata or [])
            records += read_metadata_table(metadata_table) if metadata_table is not None else []
        if out is None and bigwig_out is None:
            out = Path("predictions.tsv")
        frame = pipeline.predict(
            checkpoint, out, bigwig_out=bigwig_out, bed=bed, fasta=fasta, genome=genome, batch_size=batch_size,
            center=center.value, allow_all_n=allow_all_n, metadata=records, threads=threads, overwrite=overwrite,
        )  # fmt: skip
    targets = [str(path) for path in (out, bigwig_out) if path is not None]
    results.print(f"{len(frame):,} predictions written to {' and '.join(targets)}")


def variant_effect_command(
    checkpoint: Annotated[
        Path, typer.Argument(help="A model folder, a run folder or a seqlab checkpoint (.ckpt).", show_default=False)
    ],
    vcf: Annotated[Path | None, typer.Option(help="VCF (plain, gzip or bgzip).", show_default=False)] = None,
    genome: Annotated[Path | None, typer.Option(help="Genome FASTA the VCF refers to.", show_default=False)] = None,
    out: Annotated[Path, typer.Option(help="Output TSV of effects.")] = Path("variant_effects.tsv"),
    ref_fasta: Annotated[
        Path | None, typer.Option(help="Paired mode: reference sequences (instead of --vcf/--genome).")
    ] = None,
    alt_fasta: Annotated[
        Path | None, typer.Option(help="Paired mode: alternative sequences, paired with --ref-fasta in file order.")
    ] = None,
    shifts: Annotated[
        int, typer.Option(help="Also average over windows shifted by -k..k bp (0: the centred window only).")
    ] = 0,
    indels: Annotated[Indels, typer.Option(help="'skip' indels (counted) or 'score' them.")] = Indels.skip,
    multiallelic: Annotated[
        Multiallelic,
        typer.Option(help="'split' multi-allelic records or 'skip' them."),
    ] = Multiallelic.split,
    layout: Annotated[
        Layout,
        typer.Option(help="'long' (a row per variant and task) or 'wide'."),
    ] = Layout.long,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    subspace: Annotated[
        str | None,
        typer.Option(help="MFD models: 'bio' (or 'tech', a group): ALT changes only that subspace; default full."),
    ] = None,
    overwrite: OverwriteOutputOption = False,
    explain: Annotated[
        int,
        typer.Option(help="Attribution logos (REF, ALT, +/-20 bp) of the N largest |delta_logit| in <out>.explain/."),
    ] = 0,
) -> None:
    """Score variants: reference and alternative predictions and their difference, per task.

    VCF mode (--vcf, --genome): REF alleles are checked against the genome; mismatches go to
    <out>.ref_mismatches.tsv and are never scored. Paired mode (--ref-fasta, --alt-fasta): records
    are scored pair by pair. Counts of what was scored and skipped go to <out>.counts.tsv.
    """
    from seqlab import pipeline

    setup_logging()
    with user_errors():
        counts = pipeline.variant_effect(
            checkpoint, vcf, genome, out, indels=indels.value, multiallelic=multiallelic.value, layout=layout.value,
            batch_size=batch_size, shifts=shifts, ref_fasta=ref_fasta, alt_fasta=alt_fasta, subspace=subspace,
            overwrite=overwrite, explain=explain,
        )  # fmt: skip
    table = Table(title=f"variant effects -> {out}")
    table.add_column("count")
    table.add_column("n", justify="right")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    results.print(table)


def report_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (e.g. one per seed).", show_default=False)],
    split: Annotated[ReportSplit, typer.Option(help="Split to summarise.")] = ReportSplit.test,
    out: Annotated[Path | None, typer.Option(help="Also write the summary as TSV.")] = None,
) -> None:
    """Summarise several runs (e.g. seeds): per-task AUROC and AUPR as mean +/- sd."""
    from seqlab.reports import summarize_runs, write_summary

    with user_errors():
        summary = summarize_runs(list(runs), split=split.value)
        if out is not None:
            write_summary(summary, out)
    table = Table(title=f"{split} metrics over {len(runs)} run(s)")
    for column in ("task", "runs", "AUROC", "AUPR", "wall time (s)"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for row in summary.itertuples():
        table.add_row(
            row.task, str(row.n_runs), f"{row.auroc_mean:.4f} +/- {row.auroc_sd:.4f}",
            f"{row.aupr_mean:.4f} +/- {row.aupr_sd:.4f}", f"{row.wall_time_s_mean:.0f}",
        )  # fmt: skip
    results.print(table)


def introspect_command(
    run: Annotated[
        Path, typer.Argument(help="A run folder, model folder or .ckpt of an MFD model.", show_default=False)
    ],
    out: Annotated[Path | None, typer.Option(help="Folder for the TSV and heatmap (default: RUN).")] = None,
) -> None:
    """Which latent features follow which metadata factor (eta² of the metadata-computed weights).

    Writes introspection.tsv (one row per feature: its subspace and eta² per factor) and introspection.png.
    """
    from seqlab.training.mfd_scheme import introspect

    setup_logging()
    with user_errors():
        result = introspect(run, out)
    table = Table(title="mean eta² per subspace and factor")
    factors = list(result["lands_in"])
    table.add_column("subspace")
    for factor in factors:
        table.add_column(factor, justify="right")
    for group, values in result["association"].items():
        table.add_row(group, *(f"{values[f]:.3f}" for f in factors))
    table.add_row("[bold]lands in[/]", *(result["lands_in"][f] for f in factors))
    results.print(table)
    results.print(f"written: {result['table']}, {result['heatmap']}")


def pretrain_command(
    fastas: Annotated[list[Path], typer.Argument(help="Genome FASTA files (plain or bgzip).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Run folder; refused when its model/ exists.")],
    window: Annotated[int, typer.Option(help="Window length in bp (tokens: one per nucleotide).")] = 510,
    stride: Annotated[int | None, typer.Option(help="bp between window starts (default: the window).")] = None,
    max_windows: Annotated[int | None, typer.Option(help="Windows drawn at random (default: all).")] = None,
    preset: Annotated[str, typer.Option(help="Encoder size: tiny (2x64), small (4x256), base (12x768).")] = "tiny",
    max_steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 16,
    learning_rate: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 5e-4,
    val_every_steps: Annotated[int, typer.Option(help="Validate every this many steps.")] = 200,
    seed: Annotated[int, typer.Option(help="Seeds the window draw, masking and initialisation.")] = 0,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads.")] = None,
) -> None:
    """Masked-language-model pre-training of a nucleotide-level transformer (RoBERTa) on genomes.

    Writes OUT/model, a Hugging Face folder that `model.trunk: {arch: hf, path: OUT/model}` loads.
    """
    from seqlab.config.hardware import HardwareConfig
    from seqlab.protein.config import MlmModelConfig, OptimConfig
    from seqlab.workflows.dna_pretrain import pretrain_dna

    setup_logging(training=True)
    with user_errors():
        if preset not in ("tiny", "small", "base"):
            raise ValueError(f"--preset must be one of tiny, small, base, not {preset!r}")
        metrics = pretrain_dna(
            fastas,
            out,
            window=window,
            stride=stride,
            max_windows=max_windows,
            model=MlmModelConfig(preset=preset),
            optim=OptimConfig(
                max_steps=max_steps,
                batch_size=batch_size,
                learning_rate=learning_rate,
                val_every_steps=val_every_steps,
                progress_bar=False,
            ),  # fmt: skip
            hardware=HardwareConfig(threads=threads),
            seed=seed,
        )
    results.print(f"{metrics['parameters']:,} parameters, {metrics['steps']} steps, validation loss "
                  f"{metrics['val']['mlm_loss']:.4f} (perplexity {metrics['val']['perplexity']:.3f}); "
                  f"model folder: {Path(out) / 'model'}")  # fmt: skip


COMMANDS = {
    "audit": audit_command,
    "train": train_command,
    "evaluate": evaluate_command,
    "predict": predict_command,
    "variant-effect": variant_effect_command,
    "report": report_command,
    "introspect": introspect_command,
}


def register(app: typer.Typer) -> None:
    """Add the DNA commands to ``app`` (``seqlab dna``)."""
    from seqlab.cli.alleles import alleles_command
    from seqlab.cli.features import embed_command, probe_command  # MFD features
    from seqlab.cli.interpret import interpret_command
    from seqlab.cli.tracks import baselines_command, pileup_command

    commands = {**COMMANDS, "embed": embed_command, "probe": probe_command, "alleles": alleles_command}
    commands["pretrain"] = pretrain_command
    commands["pileup"] = pileup_command
    commands["baselines"] = baselines_command
    commands["interpret"] = interpret_command
    for name, command in commands.items():
        app.command(name)(command)
