"""``seqlab protein corpus | tokenizer | pretrain | longformer``: pair corpora, BPE, MLM pre-training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from seqlab.cli.common import (
    DataDirOption,
    MissingSequences,
    OutDirOption,
    OverwriteOption,
    OverwriteOutputOption,
    ResumeOption,
    SetOption,
    UnknownResidues,
    options_config,
    results,
    run_folder,
    setup_logging,
    user_errors,
)

__all__ = ["register"]

UnknownOption = Annotated[
    UnknownResidues,
    typer.Option(
        "--unknown",
        help="Residues outside the 20 amino acids + X: 'map_to_x' or 'reject'.",
    ),
]


def _print_corpus_summary(summary: dict[str, Any]) -> None:
    table = Table(title="pair corpus")
    for column in ("split", "binding", "non-binding", "pairs", "proteins"):
        table.add_column(column, justify="right" if column != "split" else "left")
    for split, counts in summary["pairs"].items():
        table.add_row(
            split,
            str(counts["binding"]),
            str(counts["non_binding"]),
            str(counts["total"]),
            str(summary["proteins"][split]),
        )
    results.print(table)
    build = summary["build"]
    results.print(
        f"links rows {build['links_rows']}, linked pairs {build['linked_pairs']}, binding pairs "
        f"{build['binding_pairs']}; dropped: {build['self_links_dropped']} self links, "
        f"{build['linked_pairs_dropped_without_sequence']} pairs without sequence "
        f"({build['proteins_without_sequence']} proteins), "
        f"{build.get('binding_pairs_dropped_cross_split', 0)} binding pairs across strict splits; "
        f"validation/test proteins also in training: {summary['val_test_proteins_in_train']}"
    )


def corpus(
    links: Annotated[Path, typer.Option(help="STRING protein.links / links.detailed / actions file (gz or plain).")],
    sequences: Annotated[Path, typer.Option(help="Sequence dictionary TSV (id<TAB>sequence) or protein FASTA.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for pairs.tsv.gz and summary.json.")],
    threshold: Annotated[int, typer.Option(help="Binding: the pair's highest score is at least this.")] = 700,
    ratio: Annotated[float, typer.Option(help="Non-binding pairs per binding pair.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the split, the negatives and the pair order.")] = 0,
    strict_split: Annotated[
        bool, typer.Option(help="Split proteins, so no validation/test protein is in the training pairs.")
    ] = True,
    val_fraction: Annotated[float, typer.Option(help="Validation share (of proteins if strict, else of pairs).")] = 0.1,
    test_fraction: Annotated[float, typer.Option(help="Test share (of proteins if strict, else of pairs).")] = 0.1,
    unknown: UnknownOption = UnknownResidues.map_to_x,
    missing: Annotated[
        MissingSequences,
        typer.Option(help="Links naming proteins without a sequence: 'drop' (counted) or 'error'."),
    ] = MissingSequences.drop,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Build a binding/non-binding pair corpus from STRING links and sequences."""
    setup_logging()
    with user_errors():
        from seqlab.outputs import refuse_existing_folder
        from seqlab.protein.config import CorpusConfig
        from seqlab.protein.corpus import PAIRS_FILE, corpus_from_config

        refuse_existing_folder(out_dir, overwrite, PAIRS_FILE)  # before any work

        config = options_config(CorpusConfig, {
            "links": ("--links", links),
            "sequences": ("--sequences", sequences),
            "score_threshold": ("--threshold", threshold),
            "negative_ratio": ("--ratio", ratio),
            "strict_split": ("--strict-split", strict_split),
            "val_fraction": ("--val-fraction", val_fraction),
            "test_fraction": ("--test-fraction", test_fraction),
            "unknown_residues": ("--unknown", unknown.value),
            "missing_sequences": ("--missing", missing.value),
        })  # fmt: skip
        built = corpus_from_config(config, seed=seed)
        built.save(out_dir, overwrite=overwrite)
        _print_corpus_summary(built.summary())
        results.print(f"corpus written to {out_dir}")


def _print_compression(report: dict[str, Any]) -> None:
    table = Table(title=f"compression on {report['sequences']} sequences ({report['residues']} residues)")
    table.add_column("tokenizer")
    table.add_column("residues/token", justify="right")
    table.add_column("tokens/sequence", justify="right")
    for limit in report["thresholds"]:
        table.add_column(f"> {limit} tokens", justify="right")
    for name in ("bpe", "residue"):
        stats = report[name]
        shares = [f"{stats['share_longer_than'][str(t)]:.2%}" for t in report["thresholds"]]
        table.add_row(
            name, f"{stats['mean_residues_per_token']:.3f}", f"{stats['mean_tokens_per_sequence']:.1f}", *shares
        )
    results.print(table)


def tokenizer(
    sequences: Annotated[
        Path, typer.Option(help="FASTA, sequence dictionary, or a corpus folder (its training proteins are used).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Tokenizer folder (AutoTokenizer.from_pretrained loads it).")],
    vocab_size: Annotated[
        int, typer.Option(help="Largest vocabulary (special tokens and residues included).")
    ] = 10_000,
    min_frequency: Annotated[int, typer.Option(help="Fewest occurrences of a pair for a merge.")] = 2,
    max_length: Annotated[int, typer.Option(help="model_max_length stored with the tokenizer.")] = 512,
    unknown: UnknownOption = UnknownResidues.map_to_x,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Train a BPE tokenizer on protein sequences and print its compression report."""
    setup_logging()
    with user_errors():
        from seqlab.outputs import refuse_existing_folder

        refuse_existing_folder(out_dir, overwrite, "tokenizer.json")  # before any work
        from seqlab.io.protein import read_sequences
        from seqlab.protein.config import TokenizerConfig
        from seqlab.protein.corpus import PAIRS_FILE, PairCorpus
        from seqlab.protein.tokenizer import compression_report, train_bpe_tokenizer, write_compression_report

        config = options_config(TokenizerConfig, {
            "vocab_size": ("--vocab-size", vocab_size),
            "min_frequency": ("--min-frequency", min_frequency),
            "model_max_length": ("--max-length", max_length),
        })  # fmt: skip
        if sequences.is_dir() or sequences.name == PAIRS_FILE:
            seqs = list(PairCorpus.load(sequences).proteins("train").values())
        else:
            seqs = list(read_sequences(sequences, unknown=unknown.value).values())
        trained = train_bpe_tokenizer(seqs, config, out_dir)
        report = compression_report(trained, seqs)
        write_compression_report(report, out_dir)
        _print_compression(report)
        results.print(f"tokenizer ({len(trained)} tokens) written to {out_dir}")


def pretrain(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="PretrainConfig YAML file.")],
    out_dir: OutDirOption = None,
    overrides: SetOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Pre-train a RoBERTa (or continue a Longformer) masked LM on a pair or single corpus."""
    setup_logging(training=True)
    with user_errors():
        from seqlab.config import load_config
        from seqlab.protein.config import PretrainConfig
        from seqlab.protein.pretrain import pretrain as run_pretrain

        config = load_config(config_path, PretrainConfig, overrides=overrides or [], data_dir=data_dir)
        run_dir = run_folder(out_dir, config.name)
        metrics = run_pretrain(config, run_dir, resume=resume, overwrite=overwrite)
        table = Table(
            title=f"masked LM ({metrics['mode']}), {metrics['steps']} steps, {metrics['tokens_seen']:,} tokens"
        )
        for column in ("split", "mlm loss", "perplexity", "masked tokens"):
            table.add_column(column, justify="right" if column != "split" else "left")
        for split in ("val", "test"):
            if split in metrics:
                m = metrics[split]
                table.add_row(split, f"{m['mlm_loss']:.4f}", f"{m['perplexity']:.3f}", str(m["masked_tokens"]))
        results.print(table)
        results.print(f"run folder: {run_dir} (model: {run_dir / 'model'})")


def longformer(
    model_dir: Annotated[Path, typer.Argument(metavar="MODEL_DIR", help="save_pretrained RoBERTa MLM folder.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the Longformer MLM and its tokenizer.")],
    max_length: Annotated[int, typer.Option(help="Longest input in tokens (special tokens included).")] = 2048,
    attention_window: Annotated[int, typer.Option(help="Local attention window (even).")] = 512,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Convert a RoBERTa masked LM into a Longformer masked LM for long inputs."""
    setup_logging()
    with user_errors():
        from seqlab.outputs import refuse_existing_folder

        refuse_existing_folder(out_dir, overwrite, "config.json")  # before any work
        from seqlab.protein.config import LongformerConfig
        from seqlab.protein.longformer import convert_to_longformer

        config = options_config(LongformerConfig, {
            "max_length": ("--max-length", max_length),
            "attention_window": ("--attention-window", attention_window),
        })  # fmt: skip
        convert_to_longformer(model_dir, out_dir, config)
        results.print(f"Longformer ({max_length} tokens, window {attention_window}) written to {out_dir}")


def register(app: typer.Typer) -> None:
    """Add ``corpus``, ``tokenizer``, ``pretrain`` and ``longformer`` to ``app`` (``seqlab protein``)."""
    app.command("corpus")(corpus)
    app.command("tokenizer")(tokenizer)
    app.command("pretrain")(pretrain)
    app.command("longformer")(longformer)
