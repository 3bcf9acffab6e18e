import csv
import shutil

import lightning as L
import numpy as np
import pytest
import torch

from seqlab.config import ModelConfig
from seqlab.config.hardware import HardwareConfig
from seqlab.models.sequence_model import SequenceModel
from seqlab.runs import RunPaths
from seqlab.training.supervised import SupervisedModule
from seqlab.training.trainer import MONITOR_MODES, build_trainer

EPOCHS = 5


def _trainer(run: RunPaths, max_epochs: int) -> L.Trainer:
    return build_trainer(
        run,
        monitor="val_auroc",
        mode=MONITOR_MODES["val_auroc"],
        max_epochs=max_epochs,
        hardware=HardwareConfig(accelerator="cpu"),
        progress_bar=False,
    )


def _module(motifs, seed: int = 0) -> SupervisedModule:
    L.seed_everything(seed)
    return SupervisedModule(motifs.config, motifs.data_params, learning_rate=3e-2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, motifs):
    """One tiny run: fit on planted motifs, then test with the best checkpoint."""
    run = RunPaths(tmp_path_factory.mktemp("run"))
    module = _module(motifs)
    train, val, test = motifs.loaders()
    trainer = _trainer(run, EPOCHS)
    trainer.fit(module, train, val)
    val_auroc = float(trainer.callback_metrics["val_auroc"])
    trainer.test(module, test, ckpt_path="best")
    return run, module, trainer, val_auroc, test


def _csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_training_learns_planted_motifs(trained):
    _, module, trainer, val_auroc, _ = trained
    assert val_auroc > 0.9
    assert module.last_metrics["test"].auroc > 0.9
    assert trainer.current_epoch == EPOCHS
    assert set(module.last_metrics["val"].per_task) == {"gata", "ebox"}
    for name in ("test_auroc", "test_aupr", "test_loss", "test_auroc/gata", "test_loss/ebox"):
        assert name in trainer.callback_metrics


def test_test_metrics_cover_the_whole_split(trained):
    _, module, _, _, test = trained
    dataset = test.dataset
    for column, task in enumerate(("gata", "ebox")):
        counts = module.last_metrics["test"].per_task[task]
        assert counts.n_pos == int(dataset.y[:, column].sum()) and counts.n_pos + counts.n_neg == len(dataset)


def test_run_folder_has_checkpoints_and_logs(trained):
    run = trained[0]
    assert run.best_checkpoint.is_file() and run.last_checkpoint.is_file()
    rows = _csv_rows(run.logs / "metrics.csv")
    epochs = {int(row["epoch"]) for row in rows if row.get("val_auroc")}
    assert epochs == set(range(EPOCHS))


def test_checkpoint_stores_data_and_model_parameters(trained, motifs):
    run = trained[0]
    hparams = torch.load(run.best_checkpoint, weights_only=True)["hyper_parameters"]
    assert hparams["data_params"] == motifs.data_params
    assert hparams["data_params"]["task_metadata"][0] == {"task": "gata", "target": "GATA"}
    assert hparams["model_config"] == ModelConfig(trunk=motifs.config).model_dump(mode="json")
    assert hparams["model_config"]["head"] == {"kind": "linear"}
    assert hparams["learning_rate"] == 3e-2


def test_from_pretrained_checkpoint_reproduces_predictions(trained, motifs):
    run, module, _, _, test = trained
    model = SequenceModel.from_pretrained(run.best_checkpoint)
    assert model.data_params.to_dict() == motifs.data_params and not model.training
    with torch.no_grad():
        probs = np.concatenate([model.strand_probabilities(batch["x"]).numpy() for batch in test])
        best = SupervisedModule.load_from_checkpoint(run.best_checkpoint).model.eval()
        expected = np.concatenate([best.strand_probabilities(batch["x"]).numpy() for batch in test])
    np.testing.assert_array_equal(probs, expected)

    last = SequenceModel.from_pretrained(run.last_checkpoint)
    x = test.dataset.x[:16]
    reference = SupervisedModule.load_from_checkpoint(run.last_checkpoint).model.eval()
    assert torch.equal(last(x), reference(x))


def test_resume_continues_the_epoch_count_and_the_logs(trained, motifs, tmp_path):
    source = trained[0]
    run = RunPaths(tmp_path).make()
    shutil.copy(source.last_checkpoint, run.last_checkpoint)
    shutil.copy(source.logs / "metrics.csv", run.logs / "metrics.csv")
    train, val, _ = motifs.loaders()
    trainer = _trainer(run, EPOCHS + 1)
    trainer.fit(_module(motifs), train, val, ckpt_path=run.last_checkpoint)
    assert trainer.current_epoch == EPOCHS + 1
    assert torch.load(run.last_checkpoint, weights_only=True)["epoch"] == EPOCHS
    epochs = [int(row["epoch"]) for row in _csv_rows(run.logs / "metrics.csv") if row.get("val_auroc")]
    assert epochs == list(range(EPOCHS + 1))

    # A later evaluation in the same run folder adds its rows and keeps the training ones.
    _trainer(run, 1).test(_module(motifs), motifs.loaders()[2], verbose=False)
    rows = _csv_rows(run.logs / "metrics.csv")
    assert [int(row["epoch"]) for row in rows if row.get("val_auroc")] == list(range(EPOCHS + 1))
    assert any(row.get("test_auroc") for row in rows)


def test_same_seed_gives_identical_weights(motifs, tmp_path):
    states = []
    for attempt in range(2):
        module = _module(motifs, seed=7)
        train, val, _ = motifs.loaders(n_train=128, n_eval=64)
        _trainer(RunPaths(tmp_path / str(attempt)), max_epochs=2).fit(module, train, val)
        states.append(module.model.state_dict())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][key], states[1][key]) for key in states[0])


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model at"):
        SequenceModel.from_pretrained(tmp_path / "missing.ckpt")
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"layer.weight": torch.zeros(1)}}, other)
    with pytest.raises(ValueError, match="not a seqlab checkpoint"):
        SequenceModel.from_pretrained(other)
    text = tmp_path / "text.ckpt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="text.ckpt: cannot be read safely as a checkpoint"):
        SequenceModel.from_pretrained(text)
