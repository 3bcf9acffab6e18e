"""Feature commands: ``seqlab dna embed`` (per-window latent features per subspace) and ``seqlab dna probe``.

Registered by ``seqlab.cli.dna.register``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seqlab.cli.common import Center, OverwriteOutputOption, results, setup_logging, user_errors

ModelArg = Annotated[
    Path, typer.Argument(help="A model folder, a run folder or a seqlab checkpoint (.ckpt).", show_default=False)
]


def embed_command(
    model: ModelArg,
    out: Annotated[Path, typer.Option(help="Output folder: index.tsv, features.<subspace>.npy, subspaces.json.")],
    bed: Annotated[Path | None, typer.Option(help="BED/narrowPeak regions (windows centred on each).")] = None,
    fasta: Annotated[Path | None, typer.Option(help="FASTA records (longer ones centre-cropped).")] = None,
    genome: Annotated[Path | None, typer.Option(help="Genome FASTA (needed with --bed).")] = None,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    center: Annotated[
        Center,
        typer.Option(help="'summit' (narrowPeak summits where given) or 'center'."),
    ] = Center.summit,
    overwrite: OverwriteOutputOption = False,
) -> None:
    """Write each window's latent features (both strands averaged), per subspace of an MFD model and in full."""
    from seqlab.evaluation.embed import embed_fasta, embed_regions, write_embedding
    from seqlab.io.genome import Genome
    from seqlab.io.intervals import read_intervals
    from seqlab.models.sequence_model import SequenceModel
    from seqlab.outputs import refuse_existing_folder

    setup_logging()
    with user_errors():
        refuse_existing_folder(out, overwrite, "subspaces.json")  # before any work
        if (bed is None) == (fasta is None):
            raise ValueError("give exactly one of --bed (with --genome) or --fasta")
        network = SequenceModel.from_pretrained(model)
        if bed is not None:
            if genome is None:
                raise ValueError("--bed needs --genome to read the region sequences")
            embedding = embed_regions(
                network, Genome(genome), read_intervals(bed), batch_size, center.value, progress=True
            )
        else:
            embedding = embed_fasta(network, fasta, batch_size, progress=True)
        write_embedding(embedding, out)
    shapes = ", ".join(f"{name} {array.shape[1]}" for name, array in embedding.features.items())
    results.print(f"{len(embedding.index):,} windows embedded ({shapes} features) -> {out}")


def _labelled_windows(
    positives: list[Path], negatives: list[Path], genome: Path | None, length: int
) -> tuple[list[str], list[int], list[str]]:
    """Sequences, labels and chromosomes of FASTA (.fa/.fa.gz) or BED (needs genome) files."""
    from seqlab.data.windows import center_windows
    from seqlab.evaluation.embed import read_fasta_windows
    from seqlab.io.genome import Genome
    from seqlab.io.intervals import read_intervals

    sequences: list[str] = []
    labels: list[int] = []
    chroms: list[str] = []
    reference = Genome(genome) if genome is not None else None
    for label, paths in ((1, positives), (0, negatives)):
        for path in paths:
            if path.name.lower().removesuffix(".gz").endswith((".bed", ".narrowpeak", ".broadpeak")):
                if reference is None:
                    raise ValueError(f"{path}: BED windows need --genome")
                regions = read_intervals(path)
                starts, _ = center_windows(regions, length, "center")
                names = regions["chrom"].astype(str).tolist()
                seqs = [
                    reference.fetch(reference.resolve(c), int(s), int(s) + length, pad=True)
                    for c, s in zip(names, starts, strict=True)
                ]
            else:
                index, seqs = read_fasta_windows(path, length)
                names = index["chrom"].fillna("").astype(str).tolist()
            sequences += seqs
            labels += [label] * len(seqs)
            chroms += names
    return sequences, labels, chroms


def probe_command(
    model: ModelArg,
    positives: Annotated[list[Path], typer.Option(help="Positive windows: FASTA or BED (repeatable).")],
    negatives: Annotated[list[Path], typer.Option(help="Negative windows: FASTA or BED (repeatable).")],
    genome: Annotated[Path | None, typer.Option(help="Genome FASTA (needed for BED windows).")] = None,
    out: Annotated[Path, typer.Option(help="Output TSV, one row per feature set.")] = Path("probe.tsv"),
    test_chroms: Annotated[
        str | None, typer.Option(help="Comma-separated test chromosomes (default: cross-validation).")
    ] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds (without --test-chroms).")] = 5,
    regress_gc: Annotated[bool, typer.Option(help="Also probe with GC content regressed out, and GC alone.")] = False,
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    seed: Annotated[int, typer.Option(help="Fold shuffling seed.")] = 0,
) -> None:
    """Logistic-regression probe on frozen features (full, and each subspace of an MFD model): AUROC per set."""
    import numpy as np

    from seqlab.evaluation.predict import write_tsv
    from seqlab.evaluation.probe import probe_windows
    from seqlab.models.sequence_model import SequenceModel

    setup_logging()
    with user_errors():
        network = SequenceModel.from_pretrained(model)
        sequences, labels, chroms = _labelled_windows(positives, negatives, genome, network.window_length)
        tests = [c.strip() for c in test_chroms.split(",")] if test_chroms else None
        frame = probe_windows(
            network, sequences, np.array(labels), chroms=chroms, test_chroms=tests, folds=folds,
            regress_gc=regress_gc, batch_size=batch_size, seed=seed,
        )  # fmt: skip
        write_tsv(frame, out)
    table = Table(title=f"linear probe ({frame['scheme'].iat[0]}) -> {out}")
    for column in ("feature set", "GC regressed", "features", "AUROC"):
        table.add_column(column, justify="left" if column == "feature set" else "right")
    for row in frame.itertuples():
        sd = "" if np.isnan(row.auroc_sd) else f" +/- {row.auroc_sd:.4f}"
        table.add_row(row.feature_set, str(row.gc_regressed), str(row.n_features), f"{row.auroc:.4f}{sd}")
    results.print(table)
