import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.config import AugmentConfig, DataConfig
from seqlab.data.build import ExampleTable
from seqlab.data.datamodule import DnaDataModule
from seqlab.data.dataset import WindowDataset
from seqlab.data.encoding import dinucleotide_one_hot, one_hot, reverse_complement_sequence
from seqlab.io.genome import Genome


@pytest.fixture
def table(synthetic_genome) -> ExampleTable:
    frame = pd.DataFrame(
        {
            "genome": "toy",
            "chrom": ["chr1", "chr2", "chr3", "chr1", "chr1", "chr2"],
            "start": [100, 50, -5, 3000, 4000, 900],
            "end": [120, 70, 15, 3020, 4020, 920],
            "strand": ["+", "-", "+", "+", "+", "+"],
            "split": ["train", "val", "test", "train", "train", "val"],
            "source": "peak",
        }
    )
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 0]], dtype=np.float32)
    weights = np.ones_like(labels)
    weights[1, 0] = 0
    return ExampleTable(frame, labels, weights, pd.DataFrame({"task": ["A", "B"]}), genomes={"toy": synthetic_genome})


def test_items_are_exact_tensors(table, synthetic_genome):
    genome = Genome(synthetic_genome)
    val = WindowDataset(table, "val")
    assert len(val) == 2
    item = val[0]
    expected = one_hot(reverse_complement_sequence(genome.fetch("chr2", 50, 70)))
    assert item["x"].dtype == torch.float32 and item["x"].shape == (4, 20)
    np.testing.assert_array_equal(item["x"].numpy(), expected)
    assert item["y"].tolist() == [0, 1] and item["weight"].tolist() == [0, 1]
    assert item["index"].dtype == torch.int64 and int(item["index"]) == 1
    test = WindowDataset(table, "test", encoding="dinucleotide")
    x = test[0]["x"].numpy()
    np.testing.assert_array_equal(x, dinucleotide_one_hot("N" * 5 + genome.fetch("chr3", 0, 15)))
    assert x.shape == (16, 20) and x[:, :5].sum() == 0
    assert len(WindowDataset(table, None)) == 6


def test_augmentation_only_on_train(table, synthetic_genome):
    genome = Genome(synthetic_genome)
    augment = AugmentConfig(max_shift=3, reverse_complement=True)
    train = WindowDataset(table, "train", augment=augment, seed=5)
    options = {}
    for shift in range(-3, 4):
        seq = genome.fetch("chr1", 100 + shift, 120 + shift)
        options[(shift, False)] = one_hot(seq)
        options[(shift, True)] = one_hot(reverse_complement_sequence(seq))
    seen = set()
    for _ in range(80):
        x = train[0]["x"].numpy()
        matches = [key for key, value in options.items() if np.array_equal(value, x)]
        assert matches
        seen.add(matches[0])
    assert {flip for _, flip in seen} == {False, True}
    assert len({shift for shift, _ in seen}) >= 5
    replay = WindowDataset(table, "train", augment=augment, seed=5)
    fresh = WindowDataset(table, "train", augment=augment, seed=5)
    assert all(torch.equal(replay[i % 3]["x"], fresh[i % 3]["x"]) for i in range(10))
    val = WindowDataset(table, "val", augment=augment)
    assert val.augment is None
    assert torch.equal(val[0]["x"], WindowDataset(table, "val")[0]["x"])


def test_in_memory_sequences_shift_with_n(table):
    sequences = ["ACGTACGTACGTACGTACGT"] * 6
    memory = ExampleTable(table.frame, table.labels, table.weights, table.tasks, sequences=sequences)
    dataset = WindowDataset(memory, "train", augment=AugmentConfig(max_shift=2, reverse_complement=False))
    assert dataset.sequence(0, 2) == "GTACGTACGTACGTACGTNN"
    assert dataset.sequence(0, -2) == "NNACGTACGTACGTACGTAC"
    assert dataset.sequence(1) == sequences[1]  # in-memory sequences are already on their strand
    x = dataset[0]["x"].numpy()
    assert any(np.array_equal(x, one_hot(dataset.sequence(0, s))) for s in range(-2, 3))


def test_missing_genome_is_an_error(table):
    broken = ExampleTable(table.frame, table.labels, table.weights, table.tasks, genomes={})
    with pytest.raises(ValueError, match=r"genome\(s\) \['toy'\]"):
        WindowDataset(broken, "train")


def _config(tmp_path, **kwargs) -> DataConfig:
    return DataConfig(
        genomes={"toy": {"fasta": tmp_path / "g.fa"}},
        tasks=tmp_path / "t.tsv",
        batch_size=2,
        window_length=20,
        **kwargs,
    )


def test_datamodule_loaders(table, tmp_path):
    module = DnaDataModule(table, _config(tmp_path, augment={"max_shift": 1}), seed=3)
    assert (module.n_tasks, module.task_names, module.in_channels, module.seq_len) == (2, ["A", "B"], 4, 20)
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert batch["x"].shape == (2, 4, 20) and batch["x"].dtype == torch.float32
    assert batch["y"].shape == (2, 2) and batch["weight"].shape == (2, 2)
    assert batch["index"].dtype == torch.int64
    orders = [
        torch.cat([b["index"] for b in DnaDataModule(table, _config(tmp_path), seed=3).train_dataloader()]).tolist()
        for _ in range(2)
    ]
    assert orders[0] == orders[1] and sorted(orders[0]) == [0, 3, 4]
    assert torch.cat([b["index"] for b in module.val_dataloader()]).tolist() == [1, 5]
    assert torch.cat([b["index"] for b in module.test_dataloader()]).tolist() == [2]
    assert DnaDataModule(table, _config(tmp_path, encoding="dinucleotide")).in_channels == 16


def test_worker_processes_reopen_the_genome(table, tmp_path):
    module = DnaDataModule(table, _config(tmp_path), seed=0, workers=1)
    loader = module.val_dataloader()
    assert loader.persistent_workers
    in_workers = torch.cat([b["x"] for b in loader])
    in_process = torch.cat([b["x"] for b in DnaDataModule(table, _config(tmp_path)).val_dataloader()])
    assert torch.equal(in_workers, in_process)
