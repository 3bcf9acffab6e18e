"""Interpretation speed: ISM and DeepLIFT/SHAP windows/s, seqlab against tangermeme, one thread, same run.

Model: the DeepBind trunk of ``examples/gm12878_ctcf_windows.yaml`` (64 filters of 24 bp, hidden 32,
linear head, one task; seeded weights: speed does not depend on them). Windows: ``--n`` random 200-bp
ACGT sequences (seeded). Variants, each explaining output 0 of every window:

* ``seqlab ism``: ``seqlab.evaluation.interpret.ism.ism`` (3 substitutions x 200 positions, batched; its
  first convolution patched from the reference window, ``fast=True``, the default).
* ``tangermeme ism``: ``tangermeme.saturation_mutagenesis.saturation_mutagenesis(hypothetical=True)``
  with its defaults (fastISM only when it estimates the plain path at over 30 s).
* ``tangermeme ism fastISM``: the same with that threshold set to 0 (its private ``_FAST_MIN_SECONDS``),
  so its fastISM path (the model captured with ``torch.export`` on every call, then checked) always runs.
* ``seqlab deepliftshap``: ``seqlab.evaluation.interpret.attributions.deep_lift_shap`` (DeepLIFT rules of
  ``seqlab.evaluation.interpret.deeplift``, 20 exact dinucleotide shuffles per window).
* ``tangermeme deepliftshap``: ``tangermeme.deep_lift_shap.deep_lift_shap(n_shuffles=20)`` (both return the
  attributions of the observed bases; both compute the hypothetical contributions on the way).

Before timing, the ISM results are checked equal (seqlab's mean-centred deltas against tangermeme's
hypothetical ISM), and both DeepLIFT/SHAP implementations are run on the same references (seqlab's
shuffles) and compared: their largest attribution difference and per-window sums, and each sum against
output minus mean reference output (DeepBind's ReLU and max-poolings are modules, so both sums are exact
to float rounding). Each repeat runs every variant once in a rotated order; the table gives the median
windows/s and the ratio seqlab / tangermeme (for the ISM rows, against each tangermeme ISM variant).
``--methods ism`` times only the ISM variants. The batch (mutants or inputs per forward pass) defaults to
256, the CLI's. ``--large N`` then times seqlab's methods (``--large-methods``) on N windows once.

    .venv/bin/python bench/bench_interpret.py                    # --n 200 --repeats 3 --threads 1
    .venv/bin/python bench/bench_interpret.py --methods ism --n 60 --batch-size 1024
    .venv/bin/python bench/bench_interpret.py --large 10000      # and the 10,000-window times
    .venv/bin/python bench/bench_interpret.py --n 20 --repeats 1 --large 10000 --large-methods saliency
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from common import cpu_model, header_text, load_average, table_lines

from seqlab.evaluation.interpret.attributions import METHODS, deep_lift_shap
from seqlab.evaluation.interpret.ism import ism, ism_hypothetical
from seqlab.evaluation.interpret.shuffle import dinucleotide_shuffle
from seqlab.models.sequence_model import build_model


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)
    config = {"trunk": {"arch": "deepbind", "filters": 64, "kernel_size": 24, "hidden": 32}}
    params = {"tasks": ["CTCF"], "window_length": 200, "encoding": "onehot"}
    return build_model(config, params).eval()


def random_windows(n: int, seed: int = 0) -> torch.Tensor:
    codes = torch.randint(0, 4, (n, 200), generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


def tangermeme_ism(model: torch.nn.Module, x: torch.Tensor, batch_size: int, always_fast: bool) -> torch.Tensor:
    """tangermeme's hypothetical ISM; ``always_fast``: its fastISM path without the 30-s threshold."""
    from tangermeme import saturation_mutagenesis as module

    threshold = module._FAST_MIN_SECONDS
    module._FAST_MIN_SECONDS = 0.0 if always_fast else threshold
    try:
        return module.saturation_mutagenesis(model, x, target=0, batch_size=batch_size, hypothetical=True)
    finally:
        module._FAST_MIN_SECONDS = threshold


def variants(
    model: torch.nn.Module, batch_size: int, methods: list[str]
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_deep_lift_shap

    every = {
        "seqlab ism": lambda x: ism_hypothetical(ism(model, x, 0, batch_size=batch_size)),
        "tangermeme ism": lambda x: tangermeme_ism(model, x, batch_size, always_fast=False),
        "tangermeme ism fastISM": lambda x: tangermeme_ism(model, x, batch_size, always_fast=True),
        "seqlab deepliftshap": lambda x: deep_lift_shap(model, x, 0, batch_size=batch_size, n_shuffles=20).attributions,
        "tangermeme deepliftshap": lambda x: tm_deep_lift_shap(
            model, x, target=0, batch_size=batch_size, n_shuffles=20, random_state=0
        ),
    }
    return {name: run for name, run in every.items() if name.split()[1] in methods}


def check(model: torch.nn.Module, x: torch.Tensor, batch_size: int, methods: list[str]) -> str:
    """ISM equal (both tangermeme paths); DeepLIFT/SHAP on the same references (seqlab's shuffles) compared,
    and each one's sums."""
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_deep_lift_shap

    ours = ism_hypothetical(ism(model, x, 0, batch_size=batch_size))
    ism_gap = max(
        (ours - tangermeme_ism(model, x, batch_size, always_fast)).abs().max().item() for always_fast in (False, True)
    )
    if ism_gap > 1e-4:
        raise SystemExit(f"ISM results differ by {ism_gap:.3g}")
    if "deepliftshap" not in methods:
        return f"ISM max |difference| {ism_gap:.1e} (tangermeme's plain and fastISM paths)"
    references = dinucleotide_shuffle(x, 20, seed=0)
    mine = deep_lift_shap(model, x, 0, batch_size=batch_size, references=references).attributions
    theirs = tm_deep_lift_shap(model, x, target=0, references=references, warning_threshold=1e9)
    with torch.no_grad():
        delta = model(x)[:, 0] - model(references.flatten(0, 1))[:, 0].reshape(len(x), -1).mean(dim=1)
    gaps = [(a.sum(dim=(1, 2)) - delta).abs().max().item() for a in (mine, theirs)]
    between = (mine.sum(dim=(1, 2)) - theirs.sum(dim=(1, 2))).abs().max().item()
    largest = (mine - theirs).abs().max().item()
    return (f"ISM max |difference| {ism_gap:.1e}; DeepLIFT/SHAP on the same references: attributions differ by "
            f"{largest:.1e} at most (largest {theirs.abs().max().item():.1e}), per-window sums by {between:.2e}; "
            f"sum - (output - mean reference output) up to {gaps[0]:.2e} (seqlab), {gaps[1]:.2e} (tangermeme); "
            f"output differences up to {delta.abs().max().item():.2f}")  # fmt: skip


def ratio_rows(seconds: dict[str, list[float]]) -> list[tuple[str, str, str]]:
    """Per repeat, tangermeme's time / seqlab's (the two ran back to back): median and range per comparison."""
    rows = []
    for name in seconds:
        if not name.startswith("tangermeme"):
            continue
        ours = "seqlab " + name.split()[1]
        ratios = [theirs / mine for theirs, mine in zip(seconds[name], seconds[ours], strict=True)]
        median, low, high = statistics.median(ratios), min(ratios), max(ratios)
        rows.append((f"{ours} vs {name}", f"{median:.2f}x", f"{low:.2f}..{high:.2f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="windows per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--methods", default="ism,deepliftshap", help="timed methods (ism, deepliftshap)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--large", type=int, default=0, help="also time seqlab on this many windows, once")
    parser.add_argument("--large-methods", default="saliency,deepliftshap,ism", help="methods --large times")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    model, x = make_model(), random_windows(args.n)
    print(header_text({"machine": f"{platform.node()} {cpu_model()}", "torch": f"{torch.__version__}, "
                       f"{torch.get_num_threads()} thread(s)", "load at start": load_average(),
                       "windows": f"{args.n} x 200 bp, batch {args.batch_size}"}), flush=True)  # fmt: skip
    methods = args.methods.split(",")
    runs = variants(model, args.batch_size, methods)
    print(check(model, x[:50], args.batch_size, methods), flush=True)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(args.repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            start = time.perf_counter()
            runs[name](x)
            seconds[name].append(time.perf_counter() - start)
    rows = []
    for name in names:
        rate = args.n / statistics.median(seconds[name])
        low, high = (args.n / max(seconds[name]), args.n / min(seconds[name]))
        rows.append((name, f"{rate:.1f}", f"{low:.1f}..{high:.1f}"))
    print("\n".join(table_lines(("variant", "windows/s", "min..max"), rows)), flush=True)
    print("\n".join(table_lines(("seqlab / tangermeme", "paired ratio", "min..max"), ratio_rows(seconds))), flush=True)
    if args.large:
        big = random_windows(args.large, seed=1)
        for method in args.large_methods.split(","):
            start = time.perf_counter()
            METHODS[method](model, big, 0, batch_size=args.batch_size)
            print(f"seqlab {method}: {args.large:,} windows in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"load at end: {load_average()}")


if __name__ == "__main__":
    main()
