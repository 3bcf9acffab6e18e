"""Commands that write a folder or file refuse an existing one before any work, unless --overwrite."""

import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app


@pytest.mark.parametrize(
    ("args", "existing"),
    [
        (["protein", "longformer", "{missing}", "--out", "{out}"], "out/config.json"),
        (["protein", "embed", "{missing}", "--sequences", "{missing}", "--out", "{out}.npy"], "out.npy"),
        (["protein", "embed", "{missing}", "--sequences", "{missing}", "--out", "{out}.npy"], "out.ids.tsv"),
        (["dna", "embed", "{missing}", "--fasta", "{missing}", "--out", "{out}"], "out/subspaces.json"),
    ],
)
def test_an_existing_output_is_refused_before_the_model_is_read(tmp_path, args, existing):
    path = tmp_path / existing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("earlier output")
    filled = [a.format(missing=tmp_path / "missing", out=tmp_path / "out") for a in args]
    result = CliRunner().invoke(app, filled)
    assert result.exit_code == 2
    assert "exists" in result.output and "missing" not in result.output.replace(str(tmp_path), "")
    assert path.read_text() == "earlier output"
    with_overwrite = CliRunner().invoke(app, [*filled, "--overwrite"])
    assert with_overwrite.exit_code == 2 and "missing" in with_overwrite.output  # passed the check, then no model
