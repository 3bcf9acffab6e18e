"""``seqlab demo dna``, ``protein``, ``ssl``, ``mfd`` and ``tracks``: embedded demos that run offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seqlab.cli.common import Penalty, results, setup_logging, user_errors
from seqlab.cli.dna import metrics_table

OutOption = Annotated[Path | None, typer.Option(help="Demo folder (default: runs/demo-<kind>).")]
SeedOption = Annotated[int, typer.Option(help="Seed of the simulation/corpus, sampling and training.")]


def dna(
    out: OutOption = None,
    seed: SeedOption = 0,
    max_epochs: Annotated[int, typer.Option(help="Training epochs at most (early stopping, patience 3).")] = 12,
) -> None:
    """Simulated genome with real JASPAR motifs (CTCF, SPI1, and REST with few sites) -> peaks -> model.

    Writes the genome FASTA, narrowPeak files and task table to disk, then builds windows and
    GC-matched negatives, splits by chromosome (val chr5, test chr6), trains a DeepBind model,
    evaluates it with both strands averaged, and scores motif-breaking vs random SNPs.
    """
    from seqlab.demo.dna import run_dna_demo

    setup_logging(training=True)
    folder = out or Path("runs/demo-dna")
    with user_errors():
        metrics = run_dna_demo(folder, seed=seed, max_epochs=max_epochs)
    results.print(metrics_table(metrics, "seqlab demo dna: simulated genome, best checkpoint"))
    effects = Table(title="CTCF variant effects on the test chromosome (alt - ref probability)")
    for column in ("SNPs", "n", "mean delta"):
        effects.add_column(column, justify="left" if column == "SNPs" else "right")
    for kind, values in metrics["variant_effects_ctcf"].items():
        effects.add_row(f"{kind} sites", str(values["n"]), f"{values['mean_delta_prob']:+.4f}")
    results.print(effects)
    results.print(f"{metrics['n_parameters']:,} parameters, {metrics['epochs']} epochs, "
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


def ssl(
    out: OutOption = None,
    seed: SeedOption = 0,
    rounds: Annotated[int, typer.Option(help="Noisy Student rounds (the ssl model is the first teacher).")] = 1,
    max_epochs: Annotated[int, typer.Option(help="Training epochs at most of every stage.")] = 40,
) -> None:
    """Simulated species with a known answer: supervised vs ssl vs noisy_student on a few-peak factor.

    Simulates a human genome with REST sites (real JASPAR matrix), evolves four diverged species
    (5-25 % substitutions) along a tree and writes their FASTA and human-to-species chains; writes a
    run config (data.genomes with the chains, sources peaks + lifted, 17 human training peaks) and runs
    `seqlab dna train` on it with train.scheme supervised, ssl and noisy_student for 3 training seeds, plus
    a supervised control given as many optimiser steps as the longest semi-supervised run: lift
    (pseudo-labels), leakage guard, training, test on the same human test windows (chr6). Reports how
    many pseudo-labels are right and the predicted effect of SNPs that break planted sites vs random SNPs.
    """
    from seqlab.demo.ssl import comparison_rows, run_ssl_demo

    setup_logging(training=True)
    folder = out or Path("runs/demo-ssl")
    with user_errors():
        metrics = run_ssl_demo(folder, seed=seed, rounds=rounds, max_epochs=max_epochs)
    table = Table(title="seqlab demo ssl (simulated): same human test windows for every scheme, mean of 3 seeds")
    columns = ("scheme", "test AUROC", "test AUPR", "AUPR per seed", "steps", "motif SNP effect", "random SNP effect")
    for column in columns:
        table.add_column(column, justify="left" if column == "scheme" else "right")
    for row in comparison_rows(metrics):
        table.add_row(row["scheme"], f"{row['auroc']:.4f}", f"{row['aupr']:.4f}",
                      ", ".join(f"{v:.3f}" for v in row["aupr_seeds"]), f"{row['steps']:.0f}",
                      f"{row['motif_snp']:+.4f}", f"{row['random_snp']:+.4f}")  # fmt: skip
    results.print(table)
    labels = Table(title="Pseudo-labels against the simulated truth (intact bound site in the homolog)")
    for column in ("species", "homologs", "lifted positive", "truly positive", "labels right"):
        labels.add_column(column, justify="left" if column == "species" else "right")
    for species, tasks in metrics["pseudo_labels"].items():
        for values in tasks.values():
            labels.add_row(species, str(values["homologs"]), str(values["lifted_positive"]),
                           str(values["truly_positive"]), f"{values['right_fraction']:.1%}")  # fmt: skip
    results.print(labels)
    counts = metrics["counts"]
    identity = ", ".join(f"{name} {value:.1%}" for name, value in metrics["homolog_identity"].items())
    results.print(f"human training positives {counts['human_train_positive']}, training homologs "
                  f"{counts['homolog_train']:,} ({counts['homolog_train_positive']:,} positive); homolog "
                  f"identity {identity}; {metrics['wall_time_s']:.0f} s; folder: {folder}")  # fmt: skip


def mfd(
    out: OutOption = None,
    seed: SeedOption = 0,
    max_epochs: Annotated[
        int, typer.Option(help="Training epochs of every model (best validation checkpoint kept).")
    ] = 12,
    penalty: Annotated[
        Penalty,
        typer.Option(help="mfd.penalty."),
    ] = Penalty.cross_prediction,
) -> None:
    """Simulated compendium (factors x biosamples x labs with lab biases) -> MFD vs the plain multi-task head.

    Writes the genome, one narrowPeak file per experiment, the task table with metadata and the planted
    truth, then three run configs (mfd.yaml, mfd_no_penalty.yaml, plain.yaml) trained with seqlab dna train's
    machinery; reports test AUROC of each, imputation of held-out factor x biosample experiments (vs the
    same experiments seen in training), the eta² introspection, a lab-artefact probe of each subspace and
    the share of the artefact windows' logit excess coming from the technical subspace.
    """
    from seqlab.demo.mfd import run_mfd_demo

    setup_logging(training=True)
    folder = out or Path("runs/demo-mfd")
    with user_errors():
        metrics = run_mfd_demo(folder, seed=seed, max_epochs=max_epochs, penalty=penalty.value)
    table = Table(title="seqlab demo mfd: test split (seen experiments), both strands averaged")
    for column in ("model", "mean AUROC", "mean AUPR", "epochs", "lr", "live features", "mean logit r"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, label in (("plain", "plain head"), ("mfd", f"MFD ({penalty})"), ("mfd_no_penalty", "MFD, no penalty")):
        entry = metrics[name]
        live = ", ".join(f"{k} {v:.2f}" for k, v in entry["live_fraction"].items())
        table.add_row(label, f"{entry['test']['auroc']:.4f}", f"{entry['test']['aupr']:.4f}", str(entry["epochs"]),
                      f"{entry['learning_rate']:g}", live, f"{entry['mean_logit_r']:.3f}")  # fmt: skip
    results.print(table)
    imputation = metrics["imputation"]
    held = Table(title="held-out experiments: AUROC imputed from metadata vs seen in training")
    for column in ("experiment", "imputed", "seen"):
        held.add_column(column, justify="left" if column == "experiment" else "right")
    for task, values in (imputation or {}).get("per_task", {}).items():
        cells = [("NA" if values[k] is None else f"{values[k]:.4f}") for k in ("imputed_auroc", "seen_auroc")]
        held.add_row(task, *cells)
    results.print(held)
    probe = metrics["disentanglement"]["lab_probe"]["auroc"]
    results.print("lab-artefact probe AUROC per subspace: " + ", ".join(f"{k} {v:.3f}" for k, v in probe.items()))
    share = metrics["disentanglement"]["artefact_attribution"]["mean_technical_share"]
    if share is not None:
        results.print(f"share of the artefact windows' logit excess from the technical subspace: {share:.2f}")
    results.print(f"factor -> subspace: {metrics['disentanglement']['lands_in']}")
    effects = metrics["variant_effects"]
    snps = Table(
        title=f"variant effects, {effects['chrom']} (test): mean delta logit at planted motif sites "
        f"({effects['n_motif']} SNPs, {effects['n_bound_pairs']} site x binding-experiment pairs) vs random SNPs "
        f"({effects['n_random']}, all experiments)"
    )
    for column in ("model: features changed by ALT", "motif sites", "random SNPs"):
        snps.add_column(column, justify="left" if column.startswith("model") else "right")
    for key, values in effects["mean_delta_logit"].items():
        cells = [("NA" if values[k] is None else f"{values[k]:+.3f}") for k in ("motif_bound", "random")]
        snps.add_row(key.replace("_", ": ", 1), *cells)
    results.print(snps)
    results.print(f"{metrics['wall_time_s']:.0f} s; demo folder: {folder}")


def tracks(
    out: OutOption = None,
    seed: SeedOption = 0,
    max_epochs: Annotated[int, typer.Option(help="Training epochs at most (early stopping, patience 3).")] = 15,
    train: Annotated[bool, typer.Option(help="Train the regression model (--no-train: data and baselines).")] = True,
) -> None:
    """Simulated ChIP-seq tracks with planted motifs and a known answer -> regression DeepBind vs baselines.

    Writes a genome, two factors' signal bigWigs (Poisson draws around bound motif sites, GC-dependent
    background), a control bigWig, the planted sites (sites.tsv) and a run config (tiled 400-bp windows,
    one 200-bp bin, log1p; val chr2, test chr3), trains it with seqlab dna train's machinery and scores
    the GC and k-mer baselines and the noise-free truth (the ceiling) on the same windows.
    """
    from seqlab.demo.tracks import run_tracks_demo

    setup_logging(training=True)
    folder = out or Path("runs/demo-tracks")
    with user_errors():
        metrics = run_tracks_demo(folder, seed=seed, max_epochs=max_epochs, train=train)
    table = Table(title="seqlab demo tracks (simulated): test Pearson per task")
    rows = {"truth (noise-free signal)": metrics["truth"]["test"]}
    rows.update({f"baseline {name}": metrics["baselines"][name]["test"] for name in ("gc", "kmer")})
    if "test" in metrics:
        rows = {"model": metrics["test"], **rows}
    tasks = list(metrics["truth"]["test"]["per_task"])
    for column in ("predictor", *tasks, "mean"):
        table.add_column(column, justify="left" if column == "predictor" else "right")
    for name, scores in rows.items():
        cells = [scores["per_task"][task].get("pearson") for task in tasks] + [scores.get("pearson")]
        table.add_row(name, *("NA" if v is None else f"{v:.4f}" for v in cells))
    results.print(table)
    results.print(f"metrics: {folder / 'metrics.json'}")


def register(app: typer.Typer) -> None:
    """Add ``dna``, ``protein``, ``ssl``, ``mfd`` and ``tracks`` to the demo group."""
    app.command("dna")(dna)
    app.command("protein")(protein)
    app.command("ssl")(ssl)
    app.command("mfd")(mfd)
    app.command("tracks")(tracks)
