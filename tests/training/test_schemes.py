"""The training-scheme registry and the run context."""

from pathlib import Path

import pytest

from seqlab.config import DnaRunConfig
from seqlab.runs import RunPaths
from seqlab.training.builtin import SCHEMES
from seqlab.training.schemes import RunContext, Scheme, get_scheme, register_scheme
from seqlab.training.supervised import SUPERVISED, run_supervised


def test_builtin_schemes_are_registered_and_unknown_schemes_are_named():
    assert sorted(SCHEMES) == ["mfd", "noisy_student", "ssl", "supervised"]
    assert get_scheme("supervised") is SUPERVISED and SUPERVISED.run is run_supervised
    with pytest.raises(
        ValueError, match=r"train.scheme 'nope' has no registered implementation; registered: \[.*'supervised'"
    ):
        get_scheme("nope")
    with pytest.raises(ValueError, match="registered already"):
        register_scheme(Scheme("supervised", lambda ctx: {}))


def test_every_scheme_entry_names_its_config_sections_and_stage_folders():
    from seqlab.config.schemes import SCHEME_SECTIONS

    for name, scheme in SCHEMES.items():
        assert scheme.name == name and scheme.sections == SCHEME_SECTIONS.get(name, ())
        assert all(section in DnaRunConfig.model_fields for section in scheme.sections)
        assert scheme.stages  # "" is the run folder itself
    assert SCHEMES["ssl"].stages == ("pretrain", "finetune")
    assert SCHEMES["mfd"].stages == ("", "seen")


def test_register_a_scheme_and_stage_folders(tmp_path):
    def echo(ctx: RunContext) -> dict:
        return {"stage": str(ctx.stage("pretrain").root)}

    register_scheme(Scheme("test_echo", echo))
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


def test_evaluation_after_training_runs_on_the_hardware_accelerator(monkeypatch):
    """ctx.evaluate moves the model to hardware.accelerator's device (it took CUDA whenever present)."""
    import torch

    import seqlab.evaluation.evaluate as evaluate_module
    from seqlab import pipeline

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pipeline._device("cpu") == torch.device("cpu")
    assert pipeline._device("auto") == pipeline._device("gpu") == torch.device("cuda")
    seen = []
    monkeypatch.setattr(evaluate_module, "evaluate_table", lambda model, *args: seen.append(model) or {})
    model = torch.nn.Linear(2, 1)
    assert pipeline._evaluator("cpu")(model, None, None, ("test",)) == {}
    assert seen == [model] and next(model.parameters()).device == torch.device("cpu")
