"""The README's Python lines run as written, on a tiny saved model with the files they name."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seqlab.models.sequence_model import build_model

REPO = Path(__file__).resolve().parents[1]


def readme_python_blocks() -> list[str]:
    """Every fenced ```python block of the README."""
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_the_readme_python_api_runs_as_written(tmp_path, monkeypatch):
    blocks = [block for block in readme_python_blocks() if "SequenceModel.from_pretrained" in block]
    assert len(blocks) == 1
    code = blocks[0]
    assert len(code.strip().splitlines()) == 6  # five lines and a blank one
    torch.manual_seed(0)
    params = {"tasks": ["POL2", "CTCF"], "window_length": 100, "encoding": "onehot"}
    model = build_model({"trunk": {"arch": "deepbind", "filters": 4, "kernel_size": 8, "hidden": 3}}, params)
    model.save_pretrained(tmp_path / "runs" / "pol2")
    rng = np.random.default_rng(0)
    chrom = "".join(rng.choice(list("ACGT"), 600))
    (tmp_path / "hg19.fa").write_text(f">chr1\n{chrom}\n")
    (tmp_path / "regions.bed").write_text("chr1\t100\t300\tr1\nchr1\t20\t60\tr2\n")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own lines
    result, table = namespace["result"], namespace["table"]
    assert result.tasks == ["POL2", "CTCF"] and result.probabilities.shape == (2, 2)
    assert result.cropped.tolist() == [True, False] and result.padded.tolist() == [False, True]
    assert ((result.probabilities > 0) & (result.probabilities < 1)).all()
    assert table["name"].tolist() == ["r1", "r2"] and table["padded"].tolist() == [False, True]
    written = pd.read_csv(tmp_path / "preds.tsv", sep="\t")
    np.testing.assert_array_equal(written["CTCF"].to_numpy(), table["CTCF"].to_numpy())
