"""What the commands print (issue 9, item 16): logs once, warnings without paths, a line per epoch in logs,
and commands that start without loading torch or Lightning."""

import io
import logging
import subprocess
import sys
import warnings
from types import SimpleNamespace

from lightning.pytorch.callbacks import RichProgressBar

from seqlab.cli.common import setup_logging
from seqlab.training.progress import EpochLines, progress_callback


def test_warnings_are_one_line_without_their_source_path(capsys):
    setup_logging()
    try:
        warnings.warn("the val split is small", UserWarning, stacklevel=1)
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "the val split is small" in err and ".py:" not in err and "UserWarning" not in err


def test_lightning_messages_are_not_printed_twice(capsys):
    setup_logging(training=True)
    try:
        logging.getLogger("lightning.pytorch.utilities.rank_zero").warning("a lightning warning")
    finally:
        logging.getLogger().handlers.clear()
    assert capsys.readouterr().err.count("a lightning warning") == 1


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_line_per_validation_when_stderr_is_not_a_terminal():
    assert isinstance(progress_callback(_Tty()), RichProgressBar)
    stream = io.StringIO()
    lines = progress_callback(stream)
    assert isinstance(lines, EpochLines)
    trainer = SimpleNamespace(
        sanity_checking=False, state=SimpleNamespace(fn="fit"), is_global_zero=True, max_epochs=20, current_epoch=2,
        global_step=56, callback_metrics={"val_loss": 0.5712, "val_auroc": 0.74, "train_loss_epoch": 1.0, "lr": 1},
    )  # fmt: skip
    lines.on_validation_end(trainer, None)
    assert stream.getvalue().startswith("epoch 3/20 step 56: val_auroc 0.74 val_loss 0.5712 (")
    assert stream.getvalue().count("\n") == 1


def test_report_and_predict_modules_start_without_lightning():
    code = (
        "import sys, seqlab.cli.main, seqlab.reports; heavy = {'torch', 'lightning'} & set(sys.modules); "
        "import seqlab.pipeline; print(sorted(heavy), 'lightning' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] False"


def test_one_spelling_per_command_and_choices_from_typer():
    from typer.testing import CliRunner

    from seqlab.cli.main import app

    runner = CliRunner()
    for args in (["dna", "train"], ["dna", "report"], ["protein", "embed"], ["dna", "embed"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
    for args in (["train"], ["predict"], ["report"], ["embed"], ["variant-effect"]):  # the old top-level aliases
        assert runner.invoke(app, [*args, "--help"]).exit_code == 2, args
    result = runner.invoke(app, ["dna", "report", "x", "--split", "train"])
    assert result.exit_code == 2 and "Invalid value for '--split'" in result.output
    assert "'train' is not one of" in result.output


def test_a_repeated_warning_is_printed_once_and_lightning_tips_never(capsys):
    setup_logging(training=True)
    try:
        for _ in range(3):
            logging.getLogger("seqlab.pipeline").warning("audit: GC content is a shortcut")
        logging.getLogger("seqlab.pipeline").warning("another finding")
        logging.getLogger("lightning.pytorch.utilities.rank_zero").info("💡 Tip: try installing litlogger")
        logging.getLogger("lightning.pytorch.utilities.rank_zero").warning("💡 Tip: try installing litlogger")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert err.count("GC content is a shortcut") == 1 and "another finding" in err and "litlogger" not in err


def test_progress_lines_go_to_stderr(capsys):
    lines = EpochLines()
    trainer = SimpleNamespace(
        sanity_checking=False, state=SimpleNamespace(fn="fit"), is_global_zero=True, max_epochs=2, current_epoch=0,
        global_step=5, callback_metrics={"val_loss": 0.5},
    )  # fmt: skip
    lines.on_validation_end(trainer, None)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("epoch 1/2 step 5: val_loss 0.5 (")
