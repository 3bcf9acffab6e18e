"""``seqlab dna interpret``: attributions, motifs (TF-MoDISco + Tomtom against JASPAR), logos and a report.

Thin over :mod:`seqlab.evaluation.interpret`; registered by ``seqlab.cli.dna.register``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqlab.cli.common import Center, console, setup_logging, user_errors

if TYPE_CHECKING:
    from torch import nn

    from seqlab.models.sequence_model import SequenceModel

# The keys of seqlab.evaluation.interpret.attributions.METHODS (not imported here: captum loads slowly).
Method = StrEnum("Method", {name: name for name in ("ism", "saliency", "ig", "deepliftshap")})
ModelArg = Annotated[
    Path, typer.Argument(help="A model folder, a run folder or a seqlab checkpoint (.ckpt).", show_default=False)
]


def explained_module(model: SequenceModel, task: str | None, subspace: str | None) -> tuple[nn.Module, int]:
    """The module to attribute and the output column of ``task``.

    Raises:
        ValueError: a one-hot-less model, an unknown or missing ``--task``, an unknown ``--subspace`` or a
            ``--subspace`` on a model without a metadata head (each naming the argument).
    """
    from seqlab.evaluation.embed import resolve_subspace
    from seqlab.evaluation.interpret.attributions import SubspaceLogits

    if model.encoding != "onehot":
        raise ValueError(f"MODEL reads {model.encoding!r} inputs; interpretation needs a one-hot (4-channel) model")
    tasks = model.tasks
    if task is None and len(tasks) > 1:
        raise ValueError(f"--task: the model has {len(tasks)} tasks; name one of {tasks}")
    if task is not None and task not in tasks:
        raise ValueError(f"--task {task!r} is not one of the model's tasks {tasks}")
    target = tasks.index(task) if task is not None else 0
    if subspace is None:
        return model, target
    if not hasattr(model.head, "group_weights"):
        raise ValueError(f"--subspace {subspace!r}: the model has no metadata head (MFD), so no subspaces")
    try:
        group = resolve_subspace(model, subspace)
    except ValueError as err:
        raise ValueError(f"--subspace: {err}") from None
    if group == "full":
        return model, target
    return SubspaceLogits(model, group).eval(), target


def _windows(
    length: int, fasta: Path | None, bed: Path | None, genome: Path | None, center: str
) -> tuple[Any, list[str]]:
    """Index and sequences of the windows: FASTA records of the model's length, or windows centred on BED regions."""
    import pandas as pd

    from seqlab.evaluation.predict import region_windows
    from seqlab.io.fasta import read_fasta
    from seqlab.io.genome import Genome
    from seqlab.io.intervals import read_intervals

    if (bed is None) == (fasta is None):
        raise ValueError("give exactly one of --fasta or --bed (with --genome)")
    if fasta is not None:
        names, sequences = read_fasta(fasta)
        wrong = [i for i, s in enumerate(sequences) if len(s) != length]
        if wrong:
            i = wrong[0]
            raise ValueError(
                f"--fasta {fasta}: record {names[i]!r} has {len(sequences[i])} bp, not the model's {length}"
            )
        return pd.DataFrame({"name": names}), [s.upper() for s in sequences]
    if genome is None:
        raise ValueError("--bed needs --genome to read the region sequences")
    reference = Genome(genome)
    index, resolved = region_windows(reference, read_intervals(bed), length, center)
    sequences = [
        reference.fetch(resolved[c], int(s), int(s) + length, pad=True).upper()
        for c, s in zip(index["chrom"], index["window_start"], strict=True)
    ]
    return index, sequences


def interpret_command(
    model: ModelArg,
    out: Annotated[Path, typer.Option(help="Output folder (new or empty): report.md, motifs.tsv, logos/, ...")],
    fasta: Annotated[Path | None, typer.Option(help="FASTA records of the model's window length.")] = None,
    bed: Annotated[Path | None, typer.Option(help="BED/narrowPeak regions (windows centred on each).")] = None,
    genome: Annotated[Path | None, typer.Option(help="Genome FASTA (needed with --bed).")] = None,
    task: Annotated[str | None, typer.Option(help="The task explained (needed when the model has several).")] = None,
    subspace: Annotated[
        str | None, typer.Option(help="MFD models: explain this subspace's contribution (biological, technical).")
    ] = None,
    method: Annotated[Method, typer.Option(help="Attribution method.")] = Method.deepliftshap,
    window: Annotated[int | None, typer.Option(help="Attribute only the centre W bp (default: all).")] = None,
    batch_size: Annotated[int, typer.Option(help="Inputs per forward pass.")] = 256,
    top_windows: Annotated[int, typer.Option(help="Attribution logos for this many top windows.")] = 5,
    motif_windows: Annotated[int, typer.Option(help="Highest-scoring windows given to TF-MoDISco.")] = 20_000,
    motifs: Annotated[bool, typer.Option(help="Discover motifs (TF-MoDISco) and match them to JASPAR.")] = True,
    center: Annotated[
        Center, typer.Option(help="'summit' (narrowPeak summits where given) or 'center'.")
    ] = Center.summit,
    seed: Annotated[int, typer.Option(help="Seed of the DeepLIFT/SHAP dinucleotide shuffles.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier interpretation in --out.")] = False,
) -> None:
    """Explain a model: attributions per window, the motifs it learned (matched to JASPAR), logos, report.md."""
    import torch

    from seqlab.models.sequence_model import SequenceModel
    from seqlab.outputs import refuse_existing_folder

    setup_logging()
    with user_errors():
        refuse_existing_folder(out, overwrite, marker="report.md")
        try:
            from seqlab.evaluation.interpret.report import interpret_windows
        except ModuleNotFoundError as err:
            raise ValueError(f"seqlab dna interpret needs {err.name}: pip install 'seqlab[interpret]'") from None
        network = SequenceModel.from_pretrained(model)
        explained, target = explained_module(network, task, subspace)
        index, sequences = _windows(network.window_length, fasta, bed, genome, center.value)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        name = network.tasks[target] + (f" ({subspace} subspace)" if subspace else "")
        result = interpret_windows(
            explained.to(device), sequences, index, out, method=method.value, target=target, target_name=name,
            window=window, batch_size=batch_size, top_windows=top_windows, motif_windows=motif_windows,
            motifs=motifs, seed=seed, device=device, overwrite=overwrite,
        )  # fmt: skip
    for row in result.motifs.itertuples():
        console.print(f"{row.pattern}: {row.n_seqlets} seqlets, {row.best_name} ({row.best_id}) q={row.best_q:.2g}")
    console.print(f"{len(result.index):,} windows explained ({method.value}) -> {out}/report.md")
