"""Multi-process training on the CPU (issue 6): 2 DDP processes (gloo) gather whole-split metrics that
equal a single process's on the same data and weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_gathers_the_whole_split_metrics(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        import ddp_job
    finally:
        sys.path.remove(str(HERE))
    import torch

    from seqlab.config.hardware import HardwareConfig
    from seqlab.runs import RunPaths
    from seqlab.training.trainer import build_trainer

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1] / "src"), *sys.path]))
    job = subprocess.run([sys.executable, str(HERE / "ddp_job.py"), str(tmp_path / "ddp"), "2"], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert job.returncode == 0, job.stderr[-3000:]
    gathered = json.loads((tmp_path / "ddp" / "gathered.json").read_text())
    assert gathered["world_size"] == 2
    assert gathered["val"]["n"] == 101 and gathered["test"]["n"] == 77  # every window once (padding removed)

    # one process, the same data and the DDP run's final weights
    model = ddp_job.module()
    model.load_state_dict(torch.load(tmp_path / "ddp" / "weights.pt"))
    data = ddp_job.loaders()
    trainer = build_trainer(RunPaths(tmp_path / "single"), monitor="val_auroc", mode="max",
                            hardware=HardwareConfig(accelerator="cpu", devices=1), progress_bar=False)  # fmt: skip
    trainer.validate(model, data["val"], verbose=False)
    trainer.test(model, data["test"], verbose=False)
    for split in ("val", "test"):
        single = model.last_metrics[split]
        assert ddp_job._windows(single) == gathered[split]["n"]
        assert single.auroc == pytest.approx(gathered[split]["auroc"], abs=1e-6)
        for task, auroc in gathered[split]["per_task"].items():
            assert single.per_task[task].auroc == pytest.approx(auroc, abs=1e-6)
    assert 0.6 < gathered["val"]["per_task"]["A"] < 1.0  # a learnt, non-trivial value is compared
