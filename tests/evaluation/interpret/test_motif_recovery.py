"""A known answer for motif discovery: a model that scans the CTCF matrix recovers MA0139 (slow: TF-MoDISco)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqlab.evaluation.interpret.motifs import jaspar_motifs
from seqlab.evaluation.interpret.report import interpret_windows

torch.set_num_threads(1)


class PwmScanner(nn.Module):
    """logit (B, 1) = logsumexp of a matrix's log-odds scores over positions and both strands (hand-set weights)."""

    def __init__(self, ppm: np.ndarray) -> None:
        super().__init__()
        log_odds = np.log2((ppm + 0.01) / 0.25)
        weights = np.stack([log_odds, log_odds[::-1, ::-1]])  # forward and reverse-complement filters
        self.conv = nn.Conv1d(4, 2, ppm.shape[1], bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(weights.copy()).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).flatten(1).logsumexp(dim=1, keepdim=True)


@pytest.mark.slow
def test_planted_ctcf_sites_are_recovered_and_matched_to_ma0139(tmp_path) -> None:
    motifs = jaspar_motifs()
    ppm = motifs.ppms[[i.split(".")[0] for i in motifs.ids].index("MA0139")]  # (4, 19)
    rng = np.random.default_rng(0)
    sequences = []
    for i in range(600):
        codes = rng.integers(0, 4, 100)
        if i % 3:  # two windows in three carry a sampled CTCF site, on either strand
            site = np.array([rng.choice(4, p=ppm[:, j]) for j in range(ppm.shape[1])])
            site = 3 - site[::-1] if rng.random() < 0.5 else site
            start = rng.integers(20, 60)
            codes[start : start + len(site)] = site
        sequences.append("".join("ACGT"[c] for c in codes))
    index = pd.DataFrame({"name": [f"w{i}" for i in range(600)]})
    result = interpret_windows(PwmScanner(ppm), sequences, index, tmp_path / "out", method="saliency", top_windows=1)
    top = result.motifs.iloc[0]
    assert top["best_id"].startswith("MA0139") and top["best_q"] < 0.05
    assert (tmp_path / "out" / "logos" / f"{top['pattern']}.png").is_file()
    assert "MA0139" in (tmp_path / "out" / "report.md").read_text()
