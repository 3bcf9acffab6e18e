"""``seqlab protein finetune`` (classification fine-tuning) and ``seqlab protein embed`` (per-protein embeddings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from seqlab.cli.common import (
    DataDirOption,
    OutDirOption,
    OverwriteOption,
    OverwriteOutputOption,
    Pooling,
    ResumeOption,
    SetOption,
    results,
    run_folder,
    setup_logging,
    user_errors,
)

__all__ = ["classification_table", "register"]


def classification_table(metrics: dict[str, Any], title: str) -> Table:
    """A rich table of accuracy, macro-F1, MCC (and AUROC/AUPR for binary tasks) per split."""
    binary = "auroc" in metrics.get("test", {})
    columns = ["split", "n", "accuracy", "macro-F1", "MCC"] + (["AUROC", "AUPR"] if binary else [])
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column == "split" else "right")

    def cell(value: float | None) -> str:
        return "NA" if value is None or value != value else f"{value:.4f}"  # None (JSON) or NaN: undefined

    for split in ("val", "test"):
        if split in metrics:
            m = metrics[split]
            row = [split, str(m["n"]), cell(m["accuracy"]), cell(m["macro_f1"]), cell(m["mcc"])]
            table.add_row(*row, *([cell(m["auroc"]), cell(m["aupr"])] if binary else []))
    return table


def finetune(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="FinetuneConfig YAML file.")],
    out_dir: OutDirOption = None,
    overrides: SetOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Fine-tune a pre-trained folder (or the same architecture from scratch) on a classification task."""
    setup_logging(training=True)
    with user_errors():
        from seqlab.config import load_config
        from seqlab.protein.config import FinetuneConfig
        from seqlab.protein.finetune import finetune as run_finetune

        config = load_config(config_path, FinetuneConfig, overrides=overrides or [], data_dir=data_dir)
        run_dir = run_folder(out_dir, config.name)
        metrics = run_finetune(config, run_dir, resume=resume, overwrite=overwrite)
        origin = config.pretrained or "from scratch"
        results.print(classification_table(metrics, f"{metrics['task']['name']} ({origin}), best checkpoint"))
        results.print(f"run folder: {run_dir} (model: {run_dir / 'model'})")


def embed(
    model_dir: Annotated[
        Path, typer.Argument(metavar="MODEL_DIR", help="save_pretrained folder with the model and its tokenizer.")
    ],
    sequences: Annotated[Path, typer.Option(help="Protein FASTA or sequence dictionary TSV (plain or gzip).")],
    out: Annotated[Path, typer.Option("--out", help="Embeddings FILE.npy (ids go to FILE.ids.tsv beside it).")],
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 8,
    pooling: Annotated[
        Pooling,
        typer.Option(help="'mean' over residue tokens, or 'cls' (the <s> token)."),
    ] = Pooling.mean,
    max_tokens: Annotated[
        int | None, typer.Option(help="Truncate inputs to this many tokens (default: the model's limit).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="torch device (default: cuda if available, else cpu).")] = None,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Embed every protein of a FASTA with a model's encoder: float32 (N, hidden) .npy + ids .tsv."""
    setup_logging()
    with user_errors():
        from seqlab.outputs import refuse_existing
        from seqlab.protein.embed import embed_sequences, ids_path, write_embeddings

        refuse_existing([out, ids_path(out)], overwrite)  # before any work

        ids, embeddings = embed_sequences(
            model_dir,
            sequences,
            batch_size=batch_size,
            pooling=pooling.value,
            max_tokens=max_tokens,
            device=device,
        )
        npy, id_file = write_embeddings(ids, embeddings, out)
        results.print(f"{len(ids)} embeddings of size {embeddings.shape[1]} written to {npy} (ids: {id_file})")


def register(app: typer.Typer) -> None:
    """Add ``finetune`` and ``embed`` to ``app`` (``seqlab protein``)."""
    app.command("finetune")(finetune)
    app.command("embed")(embed)
