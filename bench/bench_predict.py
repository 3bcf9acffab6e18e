"""Prediction speed: windows per second scoring the GM12878 CTCF test windows on one thread, both strands.

Windows: the 200-bp records of ``dna/gm12878_hg19/windows/CTCF_GM12878_{pos,neg}.fa.gz`` on the test
chromosomes of ``examples/gm12878_ctcf_windows.yaml`` (chr8, chr9). Model: that example's DeepBind
(64 filters of 24 bp, hidden 32, linear head; seeded weights: speed does not depend on them).
Every variant scores every window on both strands and is timed from strings to probabilities:

* ``seqlab, one pass`` (now): ``model.predict(windows)``; DeepBind declares ``strand_symmetric``,
  so each window goes through the trunk once (the trunk itself scans both strands: 2 convolutions).
* ``seqlab, two passes`` (before): the same call with the trunk's declaration switched off, as
  seqlab ran until now: the window and its reverse complement through the trunk (4 convolutions).
* ``seqlab predict_fasta``: ``seqlab dna predict --fasta`` without the CLI start-up: reading a plain
  FASTA of the windows, the output table, one pass.
* ``torch loop, both strands``: what a user writes without seqlab (gReLU's strand averaging alike):
  vectorised numpy one-hot, then ``(sigmoid(model(x)) + sigmoid(model(rc(x)))) / 2`` per batch.
* ``torch loop, one call``: the same loop calling the model once per batch (DeepBind's own two strands).

Outputs are checked equal before timing (one pass against two passes, seqlab against the torch loop).
Each repeat runs every variant once in a rotated order; the table gives the median windows/s, the
min..max over repeats and the ratio to ``seqlab, two passes``.

    .venv/bin/python bench/bench_predict.py          # defaults: --repeats 5 --batch-size 256 --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from common import cpu_model, header_text, load_average, table_lines

from seqlab.data.encoding import reverse_complement
from seqlab.evaluation.predict import predict_fasta
from seqlab.io.fasta import read_fasta
from seqlab.models.sequence_model import SequenceModel, build_model

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
WINDOWS = "dna/gm12878_hg19/windows"
TEST_CHROMS = ("chr8", "chr9")
MODEL = {"trunk": {"arch": "deepbind", "filters": 64, "kernel_size": 24, "hidden": 32}, "head": {"kind": "linear"}}
_CODES = np.full(256, 4, dtype=np.int64)
for _i, _base in enumerate("ACGT"):
    _CODES[ord(_base)] = _CODES[ord(_base.lower())] = _i


def test_windows(data: Path) -> list[str]:
    """The CTCF positive and negative windows on the test chromosomes, in file order."""
    windows: list[str] = []
    for side in ("pos", "neg"):
        names, sequences = read_fasta(data / WINDOWS / f"CTCF_GM12878_{side}.fa.gz")
        windows += [s for name, s in zip(names, sequences, strict=True) if name.split(":")[0] in TEST_CHROMS]
    return windows


def numpy_one_hot(windows: list[str]) -> torch.Tensor:
    """float32 (N, 4, L): one lookup over all bases at once (N and other codes all zeros)."""
    codes = _CODES[np.frombuffer("".join(windows).encode("ascii"), dtype=np.uint8)].reshape(len(windows), -1)
    onehot = np.eye(5, dtype=np.float32)[codes][..., :4]
    return torch.from_numpy(np.ascontiguousarray(onehot.transpose(0, 2, 1)))


def torch_loop(model: torch.nn.Module, windows: list[str], batch_size: int, both_strands: bool) -> np.ndarray:
    """Probabilities float32 (N, T) from a bare loop: one-hot, forward per batch (and reverse complement)."""
    x = numpy_one_hot(windows)
    out = []
    with torch.inference_mode():
        for first in range(0, len(x), batch_size):
            batch = x[first : first + batch_size]
            probs = torch.sigmoid(model(batch))
            if both_strands:
                probs = (probs + torch.sigmoid(model(reverse_complement(batch)))) / 2
            out.append(probs.numpy())
    return np.concatenate(out)


def variants(model: SequenceModel, windows: list[str], fasta: Path, batch_size: int) -> dict[str, Callable[[], None]]:
    def seqlab(symmetric: bool) -> Callable[[], None]:
        def run() -> None:
            model.trunk.strand_symmetric = symmetric
            model.predict(windows, batch_size=batch_size)
            model.trunk.strand_symmetric = True

        return run

    return {
        "seqlab, one pass": seqlab(True),
        "seqlab, two passes": seqlab(False),
        "seqlab predict_fasta": lambda: predict_fasta(model, fasta, batch_size=batch_size, progress=False),
        "torch loop, both strands": lambda: torch_loop(model, windows, batch_size, both_strands=True),
        "torch loop, one call": lambda: torch_loop(model, windows, batch_size, both_strands=False),
    }


def check_equal(model: SequenceModel, windows: list[str], batch_size: int) -> float:
    """Largest |difference| of probabilities between the variants; raises when above 1e-6."""
    one = model.predict(windows, batch_size=batch_size).probabilities
    model.trunk.strand_symmetric = False
    two = model.predict(windows, batch_size=batch_size).probabilities
    model.trunk.strand_symmetric = True
    loop = torch_loop(model, windows, batch_size, both_strands=True)
    worst = float(max(np.abs(one - two).max(), np.abs(one - loop).max()))
    if worst > 1e-6:
        raise SystemExit(f"variants disagree: max |difference| {worst:.3g}")
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default 5)")
    parser.add_argument("--batch-size", type=int, default=256, help="windows per forward pass (default 256)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    windows = test_windows(args.data)
    torch.manual_seed(0)
    model = build_model(MODEL, {"tasks": ["CTCF"], "window_length": 200, "encoding": "onehot"}).eval()
    rows = {
        "command": "python bench/bench_predict.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch threads": torch.get_num_threads(),
        "load average (start, 1/5/15 min)": load_average(),
        "windows": f"{len(windows):,} CTCF test windows ({', '.join(TEST_CHROMS)}), 200 bp, both strands",
        "model": "DeepBind 64 x 24 bp, hidden 32, linear head (examples/gm12878_ctcf_windows.yaml)",
    }
    print("# bench_predict: windows/s from strings to strand-averaged probabilities")
    print(header_text(rows), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "test.fa"
        fasta.write_text("".join(f">w{i}\n{w}\n" for i, w in enumerate(windows)))
        print(f"max |difference| between variants   {check_equal(model, windows, args.batch_size):.2e}")
        runs = variants(model, windows, fasta, args.batch_size)
        names = list(runs)
        rates: dict[str, list[float]] = {name: [] for name in names}
        for repeat in range(args.repeats):
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                start = time.perf_counter()
                runs[name]()
                rates[name].append(len(windows) / (time.perf_counter() - start))
    base = statistics.median(rates["seqlab, two passes"])
    table = [
        (
            name,
            f"{statistics.median(values):,.0f}",
            f"{min(values):,.0f}..{max(values):,.0f}",
            f"{statistics.median(values) / base:.2f}",
        )
        for name, values in rates.items()
    ]
    print("\n".join(table_lines(("variant", "windows/s (median)", "min..max", "x two passes"), table)))
    one, loop = statistics.median(rates["seqlab, one pass"]), statistics.median(rates["torch loop, both strands"])
    print(f"seqlab one pass / torch loop both strands: {one / loop:.2f}")
    print(f"load average (end, 1/5/15 min)  {load_average()}")


if __name__ == "__main__":
    main()
