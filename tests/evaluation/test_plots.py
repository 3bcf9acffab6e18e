import numpy as np
import pytest

from seqlab.evaluation.plots import plot_logo, plot_pr_curves, plot_roc_curves

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data():
    rng = np.random.default_rng(0)
    y = (rng.random((60, 3)) < 0.4).astype(np.float32)
    y[:, 2] = 0  # single class: no curve
    probs = np.clip(y * 0.5 + rng.random((60, 3)) * 0.6, 0, 1).astype(np.float32)
    weight = np.ones_like(y)
    weight[:5, 0] = 0
    return y, probs, weight


@pytest.mark.parametrize("plot", [plot_roc_curves, plot_pr_curves])
def test_curves_are_written_as_png(plot, tmp_path):
    y, probs, weight = _data()
    path = plot(y, probs, weight, ["a", "b", "flat"], tmp_path / "plots" / "curve.png", title="test")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    assert sorted(p.name for p in path.parent.iterdir()) == ["curve.png"]


def test_curves_without_any_defined_task_still_write_a_png(tmp_path):
    y = np.ones((4, 1), dtype=np.float32)
    path = plot_roc_curves(y, y * 0.5, None, ["flat"], tmp_path / "roc.png")
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_logo(tmp_path):
    matrix = np.full((8, 4), 0.1)
    matrix[np.arange(8), [2, 0, 3, 0, 0, 2, 1, 1]] = 1.5
    path = plot_logo(matrix, tmp_path / "logo.png", title="GATAAGCC")
    assert path.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match=r"\(L, 4\) matrix"):
        plot_logo(np.zeros((8, 5)), tmp_path / "bad.png")


def test_fully_masked_task_is_skipped(tmp_path):
    y, probs, weight = _data()
    weight[:, 1] = 0
    path = plot_pr_curves(y, probs, weight, ["a", "masked", "flat"], tmp_path / "pr.png")
    assert path.read_bytes().startswith(PNG_MAGIC)
