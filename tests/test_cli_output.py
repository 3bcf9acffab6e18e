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


def test_a_line_per_validation_when_stdout_is_not_a_terminal():
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


def test_symmetric_groups_keep_the_old_names_as_aliases():
    from typer.testing import CliRunner

    from seqlab.cli.main import app

    runner = CliRunner()
    for args in (["dna", "train"], ["train"], ["dna", "report"], ["report"], ["protein", "embed"], ["embed"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
    top = runner.invoke(app, ["--help"]).output
    assert "dna" in top and "protein" in top and "variant-effect" not in top  # aliases are hidden
    result = runner.invoke(app, ["dna", "report", "x", "--split", "train"])
    assert result.exit_code == 2 and "--split must be one of test, val, not 'train'" in " ".join(result.output.split())
