"""Entry point of the ``seqlab`` command: assembles the command groups of each module."""

from __future__ import annotations

import typer

from seqlab.cli import demo, dna, protein_finetune, protein_pretrain, reference
from seqlab.cli.ssl import ssl_app

app = typer.Typer(
    name="seqlab",
    help="Deep learning on DNA and protein sequences that learns from more than labels.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
dna_app = typer.Typer(
    help="DNA wing: audit a data set, train, evaluate, predict, score variants, summarise runs.",
    no_args_is_help=True,
)
demo_app = typer.Typer(help="Run an embedded demo offline on data the install brings.", no_args_is_help=True)
protein_app = typer.Typer(
    help="Protein wing: pair corpora, BPE tokenizer, MLM pre-training, Longformer, fine-tuning.",
    no_args_is_help=True,
)

dna.register(dna_app)
reference.register(app)
demo.register(demo_app)
protein_pretrain.register(protein_app)
protein_finetune.register(protein_app)
app.add_typer(dna_app, name="dna")
app.add_typer(protein_app, name="protein")
app.add_typer(ssl_app, name="ssl")
app.add_typer(demo_app, name="demo")


if __name__ == "__main__":
    app()
