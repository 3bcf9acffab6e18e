import json
import logging
import os
import socket
import stat
import subprocess
import sys

import pytest
from pydantic import BaseModel

from seqlab.atomic import atomic_dir, atomic_open, write_json
from seqlab.runs import RunLockedError, RunPaths, config_differences, drop_rows_after, start_run


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_written_file_has_plain_open_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = write_json(tmp_path / "m.json", {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert path.read_text() == '{\n  "a": 1\n}\n'


# --------------------------------------------------------------------------- start_run (issue 9, items 1-2)


class _Train(BaseModel):
    max_epochs: int = 3
    learning_rate: float = 0.001
    threads: int | None = None


class _Config(BaseModel):
    seed: int = 0
    name: str = "t"
    train: _Train = _Train()


def _finished_run(folder):
    with start_run(folder, _Config()) as run:
        (run.paths.checkpoints / "last.ckpt").write_bytes(b"")
    return run.paths


def _fake_checkpoint(path, step):
    import torch

    torch.save({"global_step": step, "epoch": 1}, path)


def test_start_run_writes_config_and_releases_the_lock(tmp_path):
    with start_run(tmp_path / "r", _Config(seed=3)) as run:
        assert (tmp_path / "r" / ".lock").is_file()
        owner = json.loads((tmp_path / "r" / ".lock").read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        assert run.seed == 3 and run.checkpoint is None
    assert not (tmp_path / "r" / ".lock").exists()
    assert "seed: 3" in (tmp_path / "r" / "config.yaml").read_text()
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"config.yaml", "checkpoints", "logs", "plots"}


def test_second_run_into_a_locked_folder_is_refused_and_a_dead_owner_is_taken_over(tmp_path, caplog):
    folder = tmp_path / "r"
    code = "import sys, time; from seqlab.runlock import acquire_lock; " \
           "acquire_lock(sys.argv[1]); print('locked', flush=True); time.sleep(60)"  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    other = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert other.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"in use by another run \(pid {other.pid} on"):
            start_run(folder, _Config())
        assert not (folder / "config.yaml").exists()  # nothing written by the refused run
    finally:
        other.kill()
        other.wait()
    with caplog.at_level(logging.WARNING, logger="seqlab.runs"), start_run(folder, _Config()):
        pass  # the killed run's lock is stale: taken over
    assert "taking over the lock left by a run that is no longer running" in caplog.text


def test_used_folder_is_refused_unless_resume_or_overwrite(tmp_path):
    paths = _finished_run(tmp_path / "r")
    (paths.root / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="already holds a run; use --resume .* --overwrite"):
        start_run(paths.root, _Config())
    with pytest.raises(ValueError, match="exclude each other"):
        start_run(paths.root, _Config(), resume=True, overwrite=True)
    assert not paths.lock.exists()  # a refused start releases the lock
    with start_run(paths.root, _Config(seed=5), overwrite=True):
        pass
    assert not paths.last_checkpoint.exists() and (paths.root / "notes.txt").read_text() == "mine"
    assert "seed: 5" in paths.config.read_text()


def test_resume_with_another_seed_is_refused_before_anything_is_written(tmp_path):
    paths = _finished_run(tmp_path / "r")
    before = paths.config.read_bytes(), paths.config.stat().st_mtime_ns
    with pytest.raises(ValueError, match=r"differs .* in seed, train.learning_rate \(seed: 0 -> 2;"):
        start_run(paths.root, _Config(seed=2, train=_Train(learning_rate=0.01)), resume=True)
    assert (paths.config.read_bytes(), paths.config.stat().st_mtime_ns) == before
    # max_epochs and threads may change on resume; the stored config is updated
    _fake_checkpoint(paths.last_checkpoint, 10)
    with start_run(paths.root, _Config(train=_Train(max_epochs=9, threads=1)), resume=True) as run:
        assert run.checkpoint == paths.last_checkpoint
    assert "max_epochs: 9" in paths.config.read_text()


def test_config_differences_lists_changed_added_and_removed_keys():
    old = {"seed": 0, "train": {"max_epochs": 3, "lr": 1}, "hardware": {"devices": 1}, "gone": 1}
    new = {"seed": 0, "train": {"max_epochs": 5, "lr": 2}, "hardware": {"devices": 2}, "added": {"x": 1}}
    assert config_differences(old, new) == ["added.x", "gone", "train.lr"]


def test_resume_drops_the_log_rows_of_the_killed_epoch(tmp_path):
    paths = _finished_run(tmp_path / "r")
    paths.metrics_csv.write_text("epoch,step,val_loss\n0,9,0.5\n1,19,0.4\n2,24,\n2,29,0.3\n")
    _fake_checkpoint(paths.last_checkpoint, 19)
    (paths.root / ".metrics.json.x1y2.tmp").write_text("{")  # left by a kill inside atomic_open
    with start_run(paths.root, _Config(), resume=True):
        pass
    assert not (paths.root / ".metrics.json.x1y2.tmp").exists()
    assert paths.metrics_csv.read_text() == "epoch,step,val_loss\n0,9,0.5\n1,19,0.4\n"
    assert drop_rows_after(paths.metrics_csv, 0) == 2


def test_the_final_evaluation_of_a_stopped_run_is_dropped_by_its_epoch(tmp_path):
    log = tmp_path / "metrics.csv"
    log.write_text("epoch,step,val_loss\n0,13,0.6\n1,14,0.6\n")  # epoch 0 checkpoint at step 14, then a final val
    assert drop_rows_after(log, 14, epoch=0) == 1
    assert log.read_text() == "epoch,step,val_loss\n0,13,0.6\n"


def test_stages_are_run_folders_of_the_same_layout(tmp_path):
    with start_run(tmp_path / "r", _Config()) as run:
        stage = run.stage("round_1").make()
    assert isinstance(stage, RunPaths) and stage.last_checkpoint == tmp_path / "r/round_1/checkpoints/last.ckpt"
    with pytest.raises(ValueError, match="plain folder name"):
        run.stage("../x")


def test_atomic_dir_replaces_only_on_success_and_clears_leftovers(tmp_path):
    target = tmp_path / "model"
    (tmp_path / "model.partial-999").mkdir()  # left by a killed writer
    with atomic_dir(target) as tmp:
        (tmp / "w.bin").write_text("1")
    assert (target / "w.bin").read_text() == "1"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "w.bin").write_text("2")
        raise RuntimeError("killed")
    assert (target / "w.bin").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_step_column_is_found_by_name(tmp_path):
    log = tmp_path / "metrics.csv"
    log.write_text("epoch,train_loss,step,val_loss\n0,1.0,9,\n0,,9,0.5\n1,0.9,19,\n")
    assert drop_rows_after(log, 9) == 1
    assert log.read_text() == "epoch,train_loss,step,val_loss\n0,1.0,9,\n0,,9,0.5\n"


def test_a_multi_stage_run_resumes_from_its_stage_checkpoints(tmp_path):
    paths = _finished_run(tmp_path / "r")
    paths.last_checkpoint.unlink()
    stage = paths.stage("pretrain").make()
    _fake_checkpoint(stage.last_checkpoint, 5)
    stage.metrics_csv.write_text("epoch,step,val_loss\n0,5,0.5\n1,9,0.4\n")
    with start_run(paths.root, _Config(), resume=True) as run:
        assert run.checkpoint is None  # the stages hold theirs
    assert stage.metrics_csv.read_text() == "epoch,step,val_loss\n0,5,0.5\n"


def test_nested_stages_of_noisy_student_resume_and_trim_their_logs(tmp_path):
    # noisy_student writes round_1/student/, round_1/finetune/ and (teacher) ssl/pretrain/: two levels deep
    paths = _finished_run(tmp_path / "r")
    paths.last_checkpoint.unlink()
    stage = paths.stage("round_1").stage("student").make()
    _fake_checkpoint(stage.last_checkpoint, 5)
    stage.metrics_csv.write_text("epoch,step,val_loss\n0,5,0.5\n1,9,0.4\n")
    with start_run(paths.root, _Config(), resume=True) as run:
        assert run.checkpoint is None
    assert stage.metrics_csv.read_text() == "epoch,step,val_loss\n0,5,0.5\n"


def test_overwrite_removes_the_stage_folders_of_every_scheme(tmp_path):
    # a stage folder left behind keeps its checkpoints and appends the new run's log to the old metrics.csv
    paths = _finished_run(tmp_path / "r")
    for name in ("pretrain", "round_1", "ssl", "seen", "imputation"):
        stage = paths.stage(name).make()
        stage.metrics_csv.parent.mkdir(parents=True, exist_ok=True)
        stage.metrics_csv.write_text("epoch,step,val_loss\n0,5,0.5\n")
    (paths.root / "introspection.tsv").write_text("x\n")
    with start_run(paths.root, _Config(), overwrite=True):
        pass
    left = {p.name for p in paths.root.iterdir()}
    assert not left & {"pretrain", "round_1", "ssl", "seen", "imputation", "introspection.tsv"}, sorted(left)
