"""Lightning's deterministic mode holds only while a trainer runs, not for the rest of the process."""

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from seqlab.runs import RunPaths
from seqlab.training.trainer import build_trainer


class _Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.seen: list[bool] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(torch.are_deterministic_algorithms_enabled())
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self.layer(batch[0]).pow(2).mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_deterministic_algorithms_on_inside_fit_and_as_before_outside(tmp_path):
    torch.use_deterministic_algorithms(False)  # the state outside, whatever an earlier test left
    data = DataLoader(TensorDataset(torch.ones(4, 2)), batch_size=2)
    trainer = build_trainer(RunPaths(tmp_path).make(), monitor="val_loss", mode="min", max_steps=2, progress_bar=False)
    assert not torch.are_deterministic_algorithms_enabled()  # building the trainer changes nothing
    module = _Tiny()
    trainer.fit(module, train_dataloaders=data, val_dataloaders=data)
    assert module.seen == [True, True]
    assert not torch.are_deterministic_algorithms_enabled()
    # what needs a non-deterministic kernel still runs afterwards (max-unpooling has no deterministic one)
    pooled, index = torch.nn.functional.max_pool1d(torch.randn(1, 1, 4, requires_grad=True), 2, return_indices=True)
    torch.nn.functional.max_unpool1d(pooled, index, 2).sum().backward()
