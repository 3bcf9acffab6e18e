"""End to end on a tiling source: a sparse table trains, is saved sparse in the run, and evaluates."""

import json

import numpy as np
import pytest

from seqlab import pipeline
from seqlab.config import DnaRunConfig
from seqlab.data.table import ExampleTable
from seqlab.demo.simulate import FactorSpec, simulate_dna_demo

SIZES = {"chr1": 200_000, "chr2": 60_000, "chr3": 60_000}


def test_a_tiling_run_trains_and_evaluates_on_sparse_labels(tmp_path):
    factors = (FactorSpec("CTCF", "MA0139", sites=80, decoys=10, noise_peaks=5),)
    simulate_dna_demo(tmp_path / "data", seed=2, chrom_sizes=SIZES, factors=factors)
    config = DnaRunConfig.model_validate(
        {
            "seed": 0,
            "name": "tiling",
            "data": {
                "genomes": {"genome": {"fasta": str(tmp_path / "data" / "genome.fa")}},
                "tasks": str(tmp_path / "data" / "tasks.tsv"),
                "window_length": 200,
                "split": {"val_chroms": ["chr2"], "test_chroms": ["chr3"]},
                "sources": [{"kind": "tiling", "bin_size": 100, "stride": 100}],
                "batch_size": 128,
            },
            "model": {"trunk": {"arch": "deepbind", "filters": 8, "kernel_size": 12, "hidden": 8}},
            "train": {"max_epochs": 1, "progress_bar": False},
        }
    )
    result = pipeline.train(config, tmp_path / "run")
    examples = tmp_path / "run" / "examples"
    assert (examples / "labels.npz").is_file() and (examples / "weights.npz").is_file()
    table = ExampleTable.load(examples)
    assert table.sparse and len(table) > 3000 and 0 < table.labels.nnz < 0.25 * len(table)
    assert result.table.sparse and len(result.table) == len(table)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    auroc = metrics["test"]["auroc"]
    assert np.isfinite(auroc)
    again = pipeline.evaluate(tmp_path / "run")  # reads the saved sparse table back
    assert again.metrics["test"]["auroc"] == pytest.approx(auroc, abs=1e-6)
