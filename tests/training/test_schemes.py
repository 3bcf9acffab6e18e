"""The training-scheme registry and the run context."""

from pathlib import Path

import pytest

from seqlab.runs import RunPaths
from seqlab.training.schemes import SCHEMES, RunContext, get_scheme, register_scheme, run_supervised


def test_supervised_is_registered_and_unknown_schemes_are_named():
    assert get_scheme("supervised") is run_supervised and SCHEMES["supervised"] is run_supervised
    with pytest.raises(
        ValueError, match=r"train.scheme 'nope' has no registered implementation; registered: \[.*'supervised'"
    ):
        get_scheme("nope")
    with pytest.raises(ValueError, match="registered already"):
        register_scheme("supervised")(lambda ctx: {})


def test_register_a_scheme_and_stage_folders(tmp_path):
    @register_scheme("test_echo")
    def echo(ctx: RunContext) -> dict:
        return {"stage": str(ctx.stage("pretrain").root)}

    try:
        ctx = RunContext(config=None, run=RunPaths(tmp_path), table=None, data_params=None, seed=0, evaluate=None)
        assert get_scheme("test_echo")(ctx) == {"stage": str(tmp_path / "pretrain")}
        stage = ctx.stage("round_1")
        assert isinstance(stage, RunPaths) and stage.best_checkpoint == Path(
            tmp_path, "round_1", "checkpoints", "best.ckpt"
        )
        for bad in ("", "a/b", ".hidden"):
            with pytest.raises(ValueError, match="one plain folder name"):
                ctx.stage(bad)
    finally:
        SCHEMES.pop("test_echo")
