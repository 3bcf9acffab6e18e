"""Protein tokenization throughput: seqlab's BPE tokenizer (batch vs one at a time) vs one token per residue.

The BPE tokenizer is trained with ``train_bpe_tokenizer`` on the SHS148k sequence dictionary (5,189
proteins, vocab 10,000 by default); the per-residue tokenizer is ``build_residue_tokenizer``. Both are
``PreTrainedTokenizerFast`` objects with the same special tokens and templates (``<s> A </s>``).

Every mode encodes the same sequences (default: all of SHS148k) with special tokens and no
truncation or padding:

* ``batch``: ``tokenizer(list_of_sequences)``, the transformers call on the whole list (the Rust
  backend encodes in parallel with its own thread pool);
* ``batch-1-thread``: the same call with ``TOKENIZERS_PARALLELISM=false`` (batching without threads);
* ``encode_batch``: ``backend_tokenizer.encode_batch(list)``, the raw call seqlab's
  ``encode_corpus`` makes (no Python dicts built);
* ``one-at-a-time``: ``tokenizer(sequence)`` once per sequence, in a Python loop.

Repeats are interleaved: every repeat runs every mode once, in an order rotated from repeat to
repeat, so load from other jobs falls on all modes alike; the figures are medians over repeats.
The BPE word cache is cleared before every pass (each protein is one word; proteins shorter than
the cache's word limit would otherwise be looked up, not merged, from the second pass on).

Compression: mean residues per token (special tokens excluded) from ``compression_report``, on the
benchmarked sequences (in-sample: the tokenizer was trained on them) and, unless ``--no-heldout``,
on the SHS27k proteins for a BPE tokenizer trained on the SHS148k proteins that are not in SHS27k.

    .venv/bin/python bench/bench_protein_tokenization.py
    .venv/bin/python bench/bench_protein_tokenization.py --repeats 9 --no-heldout
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import tokenizers
import torch
import transformers
from common import cpu_model, load_average, print_header, table_lines
from transformers import PreTrainedTokenizerFast

from seqlab.io.protein import read_sequences
from seqlab.protein.config import TokenizerConfig
from seqlab.protein.tokenizer import (
    build_residue_tokenizer,
    compression_report,
    train_bpe_tokenizer,
    truncation,
)

DATA = Path("/work/shared/data/protein/shs27k")
SHS148K = DATA / "protein.SHS148k.sequences.dictionary.tsv.gz"
SHS27K = DATA / "protein.SHS27k.sequences.dictionary.tsv.gz"
MODES = ("batch", "batch-1-thread", "encode_batch", "one-at-a-time")


# --------------------------------------------------------------------------- machine notes










# --------------------------------------------------------------------------- the modes


def encoder(tokenizer: PreTrainedTokenizerFast, mode: str) -> Callable[[list[str]], int]:
    """A function encoding all sequences in ``mode``; returns the number of tokens (specials included)."""
    backend = tokenizer.backend_tokenizer

    def batch(seqs: list[str]) -> int:
        return sum(len(ids) for ids in tokenizer(seqs)["input_ids"])

    def one_at_a_time(seqs: list[str]) -> int:
        return sum(len(tokenizer(seq)["input_ids"]) for seq in seqs)

    def encode_batch(seqs: list[str]) -> int:
        with truncation(tokenizer, None) as raw:
            return sum(len(enc.ids) for enc in raw.encode_batch(seqs))

    def run(seqs: list[str]) -> int:
        backend.model._clear_cache()  # cold BPE word cache on every pass
        if mode == "batch-1-thread":
            before = os.environ.get("TOKENIZERS_PARALLELISM")
            os.environ["TOKENIZERS_PARALLELISM"] = "false"  # read by the Rust side at every call
            try:
                return batch(seqs)
            finally:
                if before is None:
                    del os.environ["TOKENIZERS_PARALLELISM"]
                else:
                    os.environ["TOKENIZERS_PARALLELISM"] = before
        return {"batch": batch, "encode_batch": encode_batch, "one-at-a-time": one_at_a_time}[mode](seqs)

    return run


def benchmark(
    tokenizers_: dict[str, PreTrainedTokenizerFast], seqs: list[str], modes: list[str], repeats: int
) -> dict[tuple[str, str], dict[str, list[float] | int]]:
    """Interleaved repeats of every (tokenizer, mode) case; wall and CPU seconds per pass."""
    cases = [(name, mode) for name in tokenizers_ for mode in modes]
    runs = {case: encoder(tokenizers_[case[0]], case[1]) for case in cases}
    results: dict[tuple[str, str], dict[str, list[float] | int]] = {
        case: {"wall": [], "cpu": [], "tokens": 0} for case in cases
    }
    for case in cases:  # untimed warm-up pass
        results[case]["tokens"] = runs[case](seqs[:200])
    for repeat in range(repeats):
        shift = repeat % len(cases)
        for case in cases[shift:] + cases[:shift]:
            c0, t0 = time.process_time(), time.perf_counter()
            tokens = runs[case](seqs)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            results[case]["wall"].append(wall)  # type: ignore[union-attr]
            results[case]["cpu"].append(cpu)  # type: ignore[union-attr]
            results[case]["tokens"] = tokens
        print(f"done: repeat {repeat + 1}/{repeats} (load average now {load_average()})", flush=True)
    return results


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=SHS148K, help="sequences the BPE is trained on (SHS148k)")
    parser.add_argument("--sequences", type=Path, default=None, help="sequences encoded (default: --train's)")
    parser.add_argument("--vocab", type=int, default=10_000, help="BPE vocabulary size (default 10000)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved passes per case (default 5)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of: {', '.join(MODES)}")
    parser.add_argument("--no-heldout", action="store_true", help="skip the held-out compression (SHS27k)")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise SystemExit(f"unknown mode(s) {unknown}; use {', '.join(MODES)}")
    transformers.logging.set_verbosity_error()  # "longer than the specified maximum length" warnings
    logging.getLogger("seqlab").setLevel(logging.ERROR)

    print("# bench_protein_tokenization: seqlab BPE (batch vs one at a time) vs one token per residue, CPU")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    train = read_sequences(args.train)
    seqs = list(train.values()) if args.sequences is None else list(read_sequences(args.sequences).values())
    residues = sum(len(s) for s in seqs)
    print_header(
        {
            "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "python": platform.python_version(),
            "torch / transformers / tokenizers": f"{torch.__version__} / {transformers.__version__} / "
            f"{tokenizers.__version__}",
            "torch threads": torch.get_num_threads(),
            "TOKENIZERS_PARALLELISM / RAYON_NUM_THREADS": f"{os.environ.get('TOKENIZERS_PARALLELISM', 'unset')} / "
            f"{os.environ.get('RAYON_NUM_THREADS', 'unset')}",
            "load average (start, 1/5/15 min)": load_average(),
            "BPE training set": f"{args.train.name}: {len(train):,} proteins",
            "encoded": f"{(args.sequences or args.train).name}: {len(seqs):,} proteins, {residues:,} residues "
            f"(median length {statistics.median(len(s) for s in seqs):.0f})",
            "interleaved passes per case": args.repeats,
        }
    )

    t0 = time.perf_counter()
    bpe = train_bpe_tokenizer(train.values(), TokenizerConfig(vocab_size=args.vocab))
    trained_in = time.perf_counter() - t0
    print(f"BPE trained in {trained_in:.1f} s: {len(bpe):,} tokens", flush=True)
    tokenizers_ = {"BPE": bpe, "residue": build_residue_tokenizer()}
    results = benchmark(tokenizers_, seqs, modes, args.repeats)

    base = statistics.median(results[("BPE", modes[0])]["wall"])  # type: ignore[arg-type]
    rows = []
    for (name, mode), result in results.items():
        walls: list[float] = result["wall"]  # type: ignore[assignment]
        cpus: list[float] = result["cpu"]  # type: ignore[assignment]
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        tokens = int(result["tokens"])  # type: ignore[arg-type]
        rows.append(
            (
                f"{name} / {mode}",
                f"{1000 * wall:,.0f} [{1000 * min(walls):,.0f}..{1000 * max(walls):,.0f}]",
                f"{len(seqs) / wall:,.0f}",
                f"{residues / wall / 1e6:.2f}",
                f"{tokens / wall / 1e6:.2f}",
                f"{tokens:,}",
                f"{1000 * cpu:,.0f}",
                f"{residues / cpu / 1e6:.2f}",
                f"{cpu / wall:.2f}",
                f"{base / wall:.3f}",
            )
        )
    print()
    print("## Throughput (medians over interleaved passes; every pass encodes all sequences)")
    print("ms/pass [min..max]: wall time; tokens include <s> and </s>. CPU ms/pass: process CPU time (all threads;")
    print("less sensitive to load from other jobs than wall time); M res/CPU-s: residues per CPU second; CPU/wall")
    print(f"> 1: the Rust thread pool ran in parallel. speed vs BPE / {modes[0]}: its wall time / this wall time.")
    header = (
        "tokenizer / mode",
        "ms/pass [min..max]",
        "seq/s",
        "M residues/s",
        "M tokens/s",
        "tokens",
        "CPU ms/pass",
        "M res/CPU-s",
        "CPU/wall",
        f"speed vs BPE / {modes[0]}",
    )
    print("\n".join(table_lines(header, rows)))

    def med(name: str, mode: str, key: str = "wall") -> float:
        return statistics.median(results[(name, mode)][key])  # type: ignore[arg-type]

    print()
    print("## Ratios (throughput of the first / the second, from median wall times; CPU: from median CPU times)")
    ratio_rows = []
    pairs = (("batch", "one-at-a-time"), ("batch", "batch-1-thread"), ("encode_batch", "batch"))
    for name in tokenizers_:
        for fast, slow in pairs:
            if fast in modes and slow in modes:
                ratio_rows.append(
                    (
                        f"{name}: {fast} / {slow}",
                        f"{med(name, slow) / med(name, fast):.2f}",
                        f"{med(name, slow, 'cpu') / med(name, fast, 'cpu'):.2f}",
                    )
                )
    for mode in modes:
        ratio_rows.append(
            (
                f"{mode}: BPE / residue, sequences/s",
                f"{med('residue', mode) / med('BPE', mode):.2f}",
                f"{med('residue', mode, 'cpu') / med('BPE', mode, 'cpu'):.2f}",
            )
        )
    print("\n".join(table_lines(("comparison", "ratio (wall)", "ratio (CPU)"), ratio_rows)))

    print()
    print("## Compression (mean residues per token, special tokens excluded; share of inputs > 512/1024 tokens)")
    comp_rows = []
    report = compression_report(bpe, seqs)
    for name in ("bpe", "residue"):
        stats = report[name]
        comp_rows.append(
            (
                f"{'BPE' if name == 'bpe' else 'residue'}, in-sample ({len(seqs):,} proteins)",
                f"{stats['mean_residues_per_token']:.3f}",
                f"{stats['mean_tokens_per_sequence']:.1f}",
                f"{stats['share_longer_than']['512']:.1%}",
                f"{stats['share_longer_than']['1024']:.1%}",
            )
        )
    if not args.no_heldout:
        held_out = read_sequences(SHS27K)
        rest = [seq for pid, seq in train.items() if pid not in held_out]
        other = train_bpe_tokenizer(rest, TokenizerConfig(vocab_size=args.vocab))
        stats = compression_report(other, held_out.values())["bpe"]
        comp_rows.append(
            (
                f"BPE, held out (trained on {len(rest):,} SHS148k proteins not in SHS27k; "
                f"encodes the {len(held_out):,} SHS27k)",
                f"{stats['mean_residues_per_token']:.3f}",
                f"{stats['mean_tokens_per_sequence']:.1f}",
                f"{stats['share_longer_than']['512']:.1%}",
                f"{stats['share_longer_than']['1024']:.1%}",
            )
        )
    header = ("tokenizer, sequences", "residues/token", "tokens/seq", "> 512", "> 1024")
    print("\n".join(table_lines(header, comp_rows)))
    print()
    print(f"load average (end, 1/5/15 min)  {load_average()}")


if __name__ == "__main__":
    main()
