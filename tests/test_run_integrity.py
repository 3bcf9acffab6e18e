"""Run folders under attack and accident (issue 17): tampered checkpoints, runs killed early, files
named as folders, killed writers, and many processes starting in one folder at once."""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import os
import pickle
import socket
import tempfile
from pathlib import Path

import pytest
import torch
from pydantic import BaseModel

from seqlab.config.hardware import HardwareConfig
from seqlab.io.errors import InputError
from seqlab.runlock import RunLockedError, acquire_lock, release_lock
from seqlab.runs import RunPaths, start_run


class _Config(BaseModel):
    seed: int = 0
    name: str = "t"
    max_epochs: int = 3


class _Marker:
    """Unpickling this creates ``path``: what a crafted checkpoint would run."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _started_run(folder: Path) -> RunPaths:
    with start_run(folder, _Config()) as run:
        pass
    return run.paths


# ----------------------------------------------------------------------------- item 1: no code from a checkpoint


def test_a_tampered_checkpoint_is_refused_on_resume_and_runs_no_code(tmp_path):
    paths = _started_run(tmp_path / "r")
    marker = tmp_path / "pwned"
    torch.save({"global_step": 3, "epoch": 1, "payload": _Marker(marker)}, paths.last_checkpoint)
    with pytest.raises(InputError) as err:
        start_run(paths.root, _Config(), resume=True)
    message = str(err.value)
    assert message.startswith(f"{paths.last_checkpoint}: cannot be read safely as a checkpoint")
    assert "\n" not in message
    assert not marker.exists()  # the pickle's code never ran
    assert not paths.lock.exists()  # the refused resume released the folder


def test_a_foreign_pickle_in_a_stage_checkpoint_is_refused_too(tmp_path):
    paths = _started_run(tmp_path / "r")
    stage = paths.stage("pretrain").make()
    marker = tmp_path / "pwned"
    stage.last_checkpoint.write_bytes(pickle.dumps(_Marker(marker)))  # a plain pickle, not even torch's format
    with pytest.raises(InputError, match="pretrain/checkpoints/last.ckpt: cannot be read safely"):
        start_run(paths.root, _Config(), resume=True)
    assert not marker.exists()


def test_protein_finetune_reads_its_checkpoints_safely():
    import inspect

    from seqlab.protein import finetune

    source = inspect.getsource(finetune)
    assert "weights_only=False" not in source and "read_checkpoint(" in source


def test_the_trainer_reads_resume_checkpoints_through_the_safe_reader(tmp_path):
    from seqlab.training.trainer import build_trainer

    cpu = HardwareConfig(accelerator="cpu")
    trainer = build_trainer(RunPaths(tmp_path / "r"), monitor="val_loss", mode="min", hardware=cpu)
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Marker(marker)}, path)
    with pytest.raises(InputError, match="evil.ckpt: cannot be read safely"):
        trainer.strategy.checkpoint_io.load_checkpoint(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------- item 3: killed before last.ckpt


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_from_the_beginning(tmp_path, caplog):
    paths = _started_run(tmp_path / "r")  # config.yaml written, then killed before any checkpoint
    paths.metrics_csv.write_text("epoch,step,train_loss\n0,9,0.7\n")
    (paths.root / "examples").mkdir()
    with pytest.raises(ValueError, match="already holds a run"):
        start_run(paths.root, _Config())
    with caplog.at_level(logging.WARNING, logger="seqlab.runs"), start_run(paths.root, _Config(), resume=True) as run:
        assert run.resume is False and run.checkpoint is None
        assert paths.lock.is_file()  # under the lock of the resumed folder
        with pytest.raises(RunLockedError):
            start_run(paths.root, _Config(), resume=True)
    assert "found no checkpoint" in caplog.text and "starting the run from the beginning" in caplog.text
    assert not paths.metrics_csv.exists() and not (paths.root / "examples").exists()  # the killed start's files
    assert paths.config.is_file()


def test_resume_without_a_checkpoint_still_refuses_another_config(tmp_path):
    paths = _started_run(tmp_path / "r")
    with pytest.raises(ValueError, match=r"differs .* in seed"):
        start_run(paths.root, _Config(seed=4), resume=True)


def test_resume_with_a_checkpoint_reports_resume(tmp_path):
    paths = _started_run(tmp_path / "r")
    torch.save({"global_step": 4, "epoch": 0}, paths.last_checkpoint)
    with start_run(paths.root, _Config(), resume=True) as run:
        assert run.resume is True and run.checkpoint == paths.last_checkpoint


# ----------------------------------------------------------------------------- item 4: --out naming a file


@pytest.mark.parametrize("below", [False, True])
def test_a_run_folder_that_is_a_file_is_one_line(tmp_path, below):
    existing = tmp_path / "results.tsv"
    existing.write_text("mine\n")
    out = existing / "run" if below else existing
    with pytest.raises(InputError, match=f"^{existing}: is a file, not a folder"):
        start_run(out, _Config())
    assert existing.read_text() == "mine\n"


# ----------------------------------------------------------------------------- item 8: temporary files


def test_leftover_hidden_temporary_files_are_removed_by_the_next_start(tmp_path):
    paths = _started_run(tmp_path / "r")
    torch.save({"global_step": 4, "epoch": 0}, paths.last_checkpoint)
    stage = paths.stage("round_1").stage("student").make()
    leftovers = [
        paths.checkpoints / ".last.ckpt.4242.tmp",  # a checkpoint killed while written
        paths.logs / ".metrics.csv.abc123.tmp",
        stage.checkpoints / ".best.ckpt.17.tmp",
        paths.root / ".introspection.png.x.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"")
    leftovers.append(paths.root / ".tokenizer.k2j4.tmp")  # a staging folder of a killed save_tokenizer
    (leftovers[-1] / "inner").mkdir(parents=True)
    with start_run(paths.root, _Config(), resume=True):
        pass
    assert [p for p in leftovers if p.exists()] == []


def test_checkpoints_are_written_beside_their_target_not_through_tmpdir(tmp_path, monkeypatch):
    from seqlab.training.trainer import build_trainer

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-tmpdir"))  # $TMPDIR unusable
    paths = RunPaths(tmp_path / "r")
    trainer = build_trainer(paths, monitor="val_loss", mode="min", hardware=HardwareConfig(accelerator="cpu"))
    io = trainer.strategy.checkpoint_io
    io.save_checkpoint({"global_step": 1, "state_dict": {"w": torch.ones(3)}}, paths.last_checkpoint)
    assert torch.load(paths.last_checkpoint, weights_only=True)["global_step"] == 1
    assert sorted(p.name for p in paths.checkpoints.iterdir()) == ["last.ckpt"]


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from seqlab.training.trainer import RunCheckpointIO

    target = tmp_path / "last.ckpt"
    RunCheckpointIO().save_checkpoint({"global_step": 1}, target)

    def half_save(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(OSError, match="disk full"):
        RunCheckpointIO().save_checkpoint({"global_step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True)["global_step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_metrics_csv_is_rewritten_whole_or_not_at_all(tmp_path, monkeypatch):
    from seqlab.training.trainer import _AppendingCSVLogger

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "metrics.csv").write_text("epoch,step,val_loss\n0,9,0.5\n")
    logger = _AppendingCSVLogger(save_dir=logs, name="", version="")
    logger.log_metrics({"epoch": 1, "val_loss": 0.4, "val_auroc": 0.7}, step=19)
    logger.save()
    rows = list(csv.DictReader((logs / "metrics.csv").open()))
    assert [(r["step"], r["val_loss"], r["val_auroc"]) for r in rows] == [("9", "0.5", ""), ("19", "0.4", "0.7")]

    def half_rows(self, rows):  # a kill in the middle of writing the rows
        self.writerow(next(iter(rows)))
        raise KeyboardInterrupt

    before = (logs / "metrics.csv").read_text()
    monkeypatch.setattr(csv.DictWriter, "writerows", half_rows)
    logger.log_metrics({"epoch": 2, "val_loss": 0.3}, step=29)
    with pytest.raises(KeyboardInterrupt):
        logger.save()
    assert (logs / "metrics.csv").read_text() == before
    assert sorted(p.name for p in logs.iterdir()) == ["metrics.csv"]


def test_the_introspection_heatmap_is_written_atomically(tmp_path, monkeypatch):
    import matplotlib.figure
    import pandas as pd

    from seqlab.evaluation.introspect import plot_feature_factor_heatmap

    table = pd.DataFrame({"feature": [0, 1], "group": ["bio", "tech"], "lab": [0.2, 0.9], "target": [0.8, 0.1]})
    path = tmp_path / "introspection.png"
    path.write_bytes(b"earlier figure")

    def half_png(self, fname, **kwargs):
        fname.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", half_png)
    with pytest.raises(KeyboardInterrupt):
        plot_feature_factor_heatmap(table, path)
    assert path.read_bytes() == b"earlier figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["introspection.png"]


def test_a_tokenizer_folder_appears_complete_or_not_at_all(tmp_path, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    from seqlab.protein.tokenizer import build_residue_tokenizer, load_tokenizer, save_tokenizer

    tokenizer = build_residue_tokenizer()
    out = tmp_path / "tokenizer"
    save_tokenizer(tokenizer, out)
    assert load_tokenizer(out).vocab_size == tokenizer.vocab_size
    (out / "config.json").write_text("{}")  # a model's file beside the tokenizer's: kept
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    save_tokenizer(tokenizer, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    def half_save(self, folder, *args, **kwargs):
        (Path(folder) / "tokenizer.json").write_text("{")
        raise KeyboardInterrupt

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", half_save)
    for target in (out, tmp_path / "new"):
        with pytest.raises(KeyboardInterrupt):
            save_tokenizer(tokenizer, target)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer"]  # no half-written new folder


# ----------------------------------------------------------------------------- item 12: OS-level lock


def _contender(folder: str, barrier, results, done) -> None:
    barrier.wait()
    try:
        lock = acquire_lock(Path(folder))
    except RunLockedError:
        results.put("refused")
        return
    results.put("won")
    done.wait(30)  # hold the lock until every contender has tried
    release_lock(lock)


@pytest.mark.parametrize("left_behind", ["nothing", "dead owner", "garbage"])
def test_exactly_one_of_several_processes_started_at_once_wins(tmp_path, left_behind):
    folder = tmp_path / "r"
    folder.mkdir()
    if left_behind == "dead owner":  # the lock file of a killed run: free, its pid only informs
        (folder / ".lock").write_text(json.dumps({"pid": 999_999_999, "host": socket.gethostname()}))
    elif left_behind == "garbage":
        (folder / ".lock").write_text("{half")
    context = multiprocessing.get_context("fork")
    n = 6
    barrier, results, done = context.Barrier(n), context.Queue(), context.Event()
    processes = [context.Process(target=_contender, args=(str(folder), barrier, results, done)) for _ in range(n)]
    for process in processes:
        process.start()
    try:
        outcomes = sorted(results.get(timeout=60) for _ in range(n))
    finally:
        done.set()
        for process in processes:
            process.join(30)
    assert outcomes == ["refused"] * (n - 1) + ["won"]
    assert all(process.exitcode == 0 for process in processes)
    assert not (folder / ".lock").exists()  # released by the winner


def test_the_lock_is_an_os_lock_held_for_the_life_of_the_run(tmp_path):
    import fcntl

    with start_run(tmp_path / "r", _Config()) as run:
        owner = json.loads(run.paths.lock.read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with open(run.paths.lock) as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunLockedError, match=rf"in use by another run \(pid {os.getpid()} on"):
            start_run(tmp_path / "r", _Config(), resume=True)
    assert not run.paths.lock.exists()
