"""Wall time of short seqlab commands (start-up dominated): --help, report --help, report, predict.

Runs each command ``--repeats`` times in a fresh interpreter with ``PYTHONPATH=<src>`` and prints the
best time, so two source trees (e.g. before and after a change) can be compared on the same machine:

    .venv/bin/python bench/bench_cli_startup.py --src /work/main/src
    .venv/bin/python bench/bench_cli_startup.py --src src --checkpoint run/checkpoints/best.ckpt \\
        --bed regions.bed --genome genome.fa

``report`` reads two small run folders written to a temporary folder; ``predict`` runs only when a
checkpoint, a BED file and a genome are given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METRICS = {"auroc": 0.91, "aupr": 0.81, "per_task": {"CTCF": {"auroc": 0.91, "aupr": 0.81, "n_pos": 10, "n_neg": 20}}}


def _best(command: list[str], env: dict[str, str], cwd: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Print the machine's load and one line per command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default="src", help="source tree put first on PYTHONPATH")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--bed", type=Path)
    parser.add_argument("--genome", type=Path)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(Path(args.src).resolve()))
    seqlab = [sys.executable, "-m", "seqlab.cli.main"]
    print(f"bench_cli_startup: src {args.src}, nproc {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in ("run1", "run2"):
            (folder / run).mkdir()
            (folder / run / "metrics.json").write_text(json.dumps({"val": METRICS, "test": METRICS, "wall_time_s": 1}))
        commands = {"seqlab --help": ["--help"], "seqlab dna report --help": ["dna", "report", "--help"],
                    "seqlab dna report run1 run2": ["dna", "report", "run1", "run2"]}  # fmt: skip
        if args.checkpoint and args.bed and args.genome:
            commands["seqlab dna predict --bed (3 regions)"] = [
                "dna", "predict", str(args.checkpoint.resolve()), "--bed", str(args.bed.resolve()),
                "--genome", str(args.genome.resolve()), "--out", str(folder / "p.tsv"),
            ]  # fmt: skip
        for name, extra in commands.items():
            print(f"{name:36s} best of {args.repeats}: {_best(seqlab + extra, env, folder, args.repeats):6.2f} s")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
