"""MFD training step vs the plain multi-task step: same trunk, same batch, same experiments (issue 8 goal: <= 1.5x).

Both sides are built from the same trunk config and seed: the plain side is ``SupervisedModule``'s model
(a linear head, one weight vector per experiment) with AdamW; the MFD side is ``MfdModule``'s model
(metadata head) with its penalty and, for adversarial penalties, the adversary's Adam optimiser. One
step is what ``training_step`` does, without Lightning around it (the same for both sides):

* plain: features -> logits -> weighted BCE -> backward -> AdamW step;
* MFD: features; ``adversary_steps`` adversary steps on the detached subspaces (cross_prediction,
  shuffle); logits from the metadata-computed weights; BCE + weight * penalty -> backward -> AdamW step.

Steps are interleaved (plain, MFD, MFD, plain, ...) so that load from other jobs falls on both alike;
the ratio is the median MFD step time over the median plain step time, after warm-up steps. Memory
per experiment added is counted from the parameters (and analytically for the activations).

    PYTHONPATH=src .venv/bin/python bench/bench_mfd.py                  # basenji (1,024 bp) + deepbind (200 bp)
    PYTHONPATH=src .venv/bin/python bench/bench_mfd.py --steps 6 --trunks deepbind
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import torch
from common import cpu_model, header_text, load_average, table_lines

from seqlab.losses import weighted_bce_with_logits
from seqlab.models.metadata_head import MetadataHead
from seqlab.training.base import make_data_params
from seqlab.training.mfd import MfdModule
from seqlab.training.supervised import SupervisedModule

TRUNKS = {"basenji": ({"arch": "basenji"}, 1024), "deepbind": ({"arch": "deepbind"}, 200)}
HEAD = {
    "columns": {"target": "categorical", "biosample": "categorical", "lab": "categorical"},
    "groups": {"biological": ["target", "biosample"], "technical": ["lab"]},
    "sizes": {"biological": 0.75, "technical": 0.25},
    "hidden": 32,
}
PENALTIES = ["none", "covariance", "cross_prediction", "shuffle"]


def experiments(targets: int = 4, biosamples: int = 3, labs: int = 2) -> list[dict[str, str]]:
    """target x biosample x lab metadata records (24 experiments by default)."""
    grid = itertools.product(range(targets), range(biosamples), range(labs))
    return [
        {"task": f"t{t}_b{b}_l{lab}", "target": f"T{t}", "biosample": f"B{b}", "lab": f"L{lab}"} for t, b, lab in grid
    ]


def _plain_step(module: SupervisedModule, optimiser: torch.optim.Optimizer, batch: dict[str, torch.Tensor]) -> None:
    optimiser.zero_grad(set_to_none=True)
    loss = weighted_bce_with_logits(module.model(batch["x"]), batch["y"], batch["weight"])
    loss.backward()
    optimiser.step()


def _mfd_step(module: MfdModule, optimisers: list[torch.optim.Optimizer], batch: dict[str, torch.Tensor]) -> None:
    features = module.model.features(batch["x"])
    pair = module.pair_subspaces(features)
    if module.has_adversary:
        a, b = pair[0].detach(), pair[1].detach()
        for _ in range(int(module.hparams["mfd"]["adversary_steps"])):
            optimisers[1].zero_grad(set_to_none=True)
            module.penalty.adversary_loss(a, b).backward()
            optimisers[1].step()
    optimisers[0].zero_grad(set_to_none=True)
    loss = weighted_bce_with_logits(module.model.head(features), batch["y"], batch["weight"])
    if module.penalty is not None:
        loss = loss + module._independence(*pair, {}) + module._floor(*pair, {})  # penalty_side as configured
    loss.backward()
    optimisers[0].step()


def time_pair(
    trunk: str,
    penalty: str,
    batch_size: int,
    steps: int,
    warmup: int,
    setup: tuple[dict[str, Any], int, list[dict[str, Any]], dict[str, Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Median step times (s) of the plain and the MFD step, interleaved, and their ratio.

    ``setup`` (from :func:`compendium`) replaces the toy trunk, window, experiments, head and MFD settings.
    """
    config, length = TRUNKS[trunk]
    records, head, mfd_settings = experiments(), HEAD, {"penalty": penalty, "weight": 0.1}
    if setup is not None:
        config, length, records, head, mfd_settings = setup
    params = make_data_params([r["task"] for r in records], length, "onehot", "bench", records)
    torch.manual_seed(0)
    plain = SupervisedModule({"trunk": config}, params)
    torch.manual_seed(0)
    mfd = MfdModule({"trunk": config}, params, head=head, mfd=mfd_settings)
    plain.train(), mfd.train()
    plain_opt = torch.optim.AdamW(plain.model.parameters(), lr=1e-3)
    mfd_opts = mfd.configure_optimizers()
    generator = torch.Generator().manual_seed(0)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (batch_size, length), generator=generator), 4)
    batch = {
        "x": x.permute(0, 2, 1).float(),
        "y": (torch.rand(batch_size, len(records), generator=generator) < 0.3).float(),
        "weight": torch.ones(batch_size, len(records)),
    }
    times: dict[str, list[float]] = {"plain": [], "mfd": []}
    for step in range(warmup + steps):
        order = ("plain", "mfd") if step % 2 == 0 else ("mfd", "plain")
        for side in order:
            tick = time.perf_counter()
            if side == "plain":
                _plain_step(plain, plain_opt, batch)
            else:
                _mfd_step(mfd, mfd_opts, batch)
            if step >= warmup:
                times[side].append(time.perf_counter() - tick)
    plain_s, mfd_s = statistics.median(times["plain"]), statistics.median(times["mfd"])
    return {
        "plain_s": plain_s,
        "mfd_s": mfd_s,
        "ratio": mfd_s / plain_s,
        "trunk_features": plain.model.trunk.out_features,
    }


def compendium(path: str) -> tuple[dict[str, Any], int, list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(trunk config, window, seen experiments' metadata, head, mfd settings) of a compendium run config."""
    from seqlab.config import DnaRunConfig, MetadataHeadConfig
    from seqlab.config.base import load_config
    from seqlab.training.mfd_scheme import holdout_mask

    config = load_config(path, DnaRunConfig)
    tasks = pd.read_csv(config.data.tasks, sep="\t", dtype=str)
    held = holdout_mask(tasks, config.mfd.holdout) if config.mfd.holdout else np.zeros(len(tasks), dtype=bool)
    records = tasks.loc[~held].to_dict("records")  # as the pipeline passes them (text cells)
    assert isinstance(config.model.head, MetadataHeadConfig)
    head = config.model.head.model_dump(mode="json")
    mfd = config.mfd.model_dump(mode="json", exclude={"holdout", "holdout_reference"})
    return config.model.trunk.model_dump(mode="json"), config.data.window_length, records, head, mfd


def memory_per_experiment(features: int, batch_size: int) -> dict[str, Any]:
    """Parameters and activation floats one more experiment adds, plain vs MFD (values already known)."""
    records = experiments()
    params = make_data_params([r["task"] for r in records], 200, "onehot", "bench", records)
    more = [*records, {"task": "extra", "target": "T0", "biosample": "B1", "lab": "L0"}]  # a new combination
    params_more = make_data_params([r["task"] for r in more], 200, "onehot", "bench", more)
    new = [*records, {"task": "new", "target": "T9", "biosample": "B1", "lab": "L0"}]  # a new target value
    params_new = make_data_params([r["task"] for r in new], 200, "onehot", "bench", new)
    from seqlab.models.metadata_head import build_metadata_head

    heads = [build_metadata_head(HEAD, features, p) for p in (params, params_more, params_new)]
    assert all(isinstance(h, MetadataHead) for h in heads)
    count = [sum(p.numel() for p in h.parameters()) for h in heads]
    codes = heads[0].task_codes.shape[1]
    return {
        "plain_params": features + 1,  # one weight vector and bias per experiment
        "plain_bytes_with_adamw": 16 * (features + 1),  # weight + grad + 2 AdamW moments, float32
        "mfd_params": count[1] - count[0],  # 0: the weight networks depend on the vocabularies only
        "mfd_params_new_value": count[2] - count[0],  # one more input of its group's network and of the bias
        "mfd_buffer_floats": codes,  # the experiment's encoded metadata row
        "activation_floats_plain": 2 * batch_size,  # logits and their gradient
        "activation_floats_mfd": 2 * batch_size + 2 * features,  # + the computed weight row and its gradient
    }


def main() -> None:
    """Print the header, one row per trunk and penalty, and the memory per experiment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trunks", nargs="+", default=["basenji", "deepbind"], choices=sorted(TRUNKS))
    parser.add_argument("--penalties", nargs="+", default=PENALTIES, choices=PENALTIES)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--config",
        help="a compendium run config (metadata head): its trunk, window, seen experiments, head and penalty",
    )
    args = parser.parse_args()
    setup = compendium(args.config) if args.config else None
    if setup is not None:
        args.trunks, args.penalties = [setup[0]["arch"]], [setup[4]["penalty"]]
    torch.set_num_threads(args.threads)
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu_model()} ({torch.get_num_threads()} torch threads)",
        "python / torch": f"{platform.python_version()} / {torch.__version__}",
        "load average (start)": load_average(),
        "batch / experiments": f"{args.batch_size} / {len(setup[2]) if setup else len(experiments())}",
        "config": args.config or "toy experiments (target x biosample x lab)",
        "steps": f"{args.steps} measured per side after {args.warmup} warm-up, interleaved",
    }
    print(header_text(header), flush=True)
    rows, features = [], {}
    for trunk in args.trunks:
        for penalty in args.penalties:
            result = time_pair(trunk, penalty, args.batch_size, args.steps, args.warmup, setup)
            features[trunk] = result["trunk_features"]
            rows.append(
                (
                    trunk,
                    penalty,
                    f"{result['plain_s'] * 1e3:.1f}",
                    f"{result['mfd_s'] * 1e3:.1f}",
                    f"{result['ratio']:.3f}",
                )
            )
            print("  ".join(rows[-1]), flush=True)
    print()
    print("\n".join(table_lines(("trunk", "penalty", "plain ms/step", "MFD ms/step", "MFD / plain"), rows)))
    print(f"\nload average (end): {load_average()}")
    for trunk, width in features.items() if setup is None else ():
        memory = memory_per_experiment(width, args.batch_size)
        print(f"\nper experiment added ({trunk}, F = {width}, batch {args.batch_size}): {memory}")


if __name__ == "__main__":
    main()
