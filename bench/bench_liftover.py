"""Summits lifted per second: seqlab's vectorised ``lift_points`` against ``pyliftover`` and ``liftover``.

All three read the same chain (default: the shared hg19 -> panTro2 chr22 chain) and lift the same
random chr22 positions (seeded; by default between the first and last aligned base). seqlab lifts
``--n`` positions in one call; the two packages are called once per position (their API), on the
first ``--n-per-point`` of them, and their rate is extrapolated per summit. The hits of the
per-point tools are compared with seqlab's on that subset (must be identical). Chain loading is
timed separately. Each timing is the median of ``--repeats``.

    .venv/bin/python bench/bench_liftover.py                # --n 1000000 --n-per-point 20000 --repeats 3
    .venv/bin/python bench/bench_liftover.py --homologs-only # only the homolog-table and identity-weight rates
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model, header_text, load_average, table_lines  # noqa: E402

from seqlab.data.liftover import lift_points  # noqa: E402
from seqlab.io.chain import read_chain  # noqa: E402

DEFAULT_CHAIN = Path("/work/shared/data/dna/chr22_primates/hg19ToPanTro2.chr22.chain.gz")


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chain", type=Path, default=DEFAULT_CHAIN)
    parser.add_argument("--n", type=int, default=1_000_000, help="positions lifted by seqlab (one call)")
    parser.add_argument("--n-per-point", type=int, default=20_000, help="positions lifted by the per-point tools")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--span",
        choices=["aligned", "chromosome"],
        default="aligned",
        help="draw positions between the first and last aligned base (summit-like) or over the whole chromosome",
    )
    parser.add_argument("--homologs-only", action="store_true", help="skip the summit comparison")
    args = parser.parse_args()
    if args.homologs_only:
        homolog_rate(args)
        return

    import liftover
    import pyliftover

    print("# bench_liftover: summits per second through a UCSC chain")
    print(
        header_text(
            {
                "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
                "cpu": cpu_model(),
                "load average (start, 1/5/15 min)": load_average(),
                "chain": args.chain,
                "positions (seqlab / per-point tools)": f"{args.n:,} / {args.n_per_point:,}",
                "repeats": args.repeats,
                "positions drawn over": args.span,
            }
        ),
        flush=True,
    )
    load_s, chain = timed(lambda: read_chain(args.chain), args.repeats)
    load_lo, lo_chain = timed(lambda: liftover.ChainFile(str(args.chain)), args.repeats)
    load_py, py_chain = timed(lambda: pyliftover.LiftOver(str(args.chain)), 1)
    target = next(iter(chain.blocks))
    rng = np.random.default_rng(args.seed)
    blocks = chain.blocks[target]
    low, high = (blocks.t_start[0], blocks.t_end[-1]) if args.span == "aligned" else (0, chain.target_sizes[target])
    positions = rng.integers(low, high, args.n)
    chroms = np.full(args.n, target, dtype=object)
    seqlab_s, result = timed(lambda: lift_points(chain, chroms, positions), args.repeats)

    subset = positions[: args.n_per_point].tolist()
    lo_target = lo_chain[target]
    lo_s, lo_hits = timed(lambda: [lo_target[p] for p in subset], args.repeats)
    py_s, py_hits = timed(lambda: [py_chain.convert_coordinate(target, p) for p in subset], args.repeats)
    mismatch_lo = mismatch_py = 0
    for i in range(len(subset)):
        rows = np.flatnonzero(result.index == i) if result.n_hits[i] else []
        mine = sorted((str(result.chrom[j]), int(result.pos[j]), str(result.strand[j])) for j in rows)
        mismatch_lo += mine != sorted(lo_hits[i])
        mismatch_py += mine != sorted((c, p, s) for c, p, s, *_ in (py_hits[i] or []))

    rates = {
        "seqlab lift_points": args.n / seqlab_s,
        "liftover (C++, per point)": len(subset) / lo_s,
        "pyliftover (per point)": len(subset) / py_s,
    }
    base = rates["pyliftover (per point)"]
    rows = [
        ("seqlab lift_points", f"{load_s:.2f}", f"{rates['seqlab lift_points']:,.0f}", "-", "-"),
        ("liftover", f"{load_lo:.2f}", f"{rates['liftover (C++, per point)']:,.0f}", str(mismatch_lo), ""),
        ("pyliftover", f"{load_py:.2f}", f"{base:,.0f}", str(mismatch_py), ""),
    ]
    rows = [(*r[:4], f"{rates['seqlab lift_points'] / float(r[2].replace(',', '')):.1f}x") for r in rows]
    header = ("tool", "chain load s", "summits/s", "mismatches vs seqlab", "seqlab speed-up")
    print("\n".join(table_lines(header, rows)))
    print(f"seqlab: {args.n:,} summits in {seqlab_s:.3f} s ({int((result.n_hits == 1).sum()):,} single hits)")
    homolog_rate(args)
    print(f"load average (end): {load_average()}")


def homolog_rate(args: argparse.Namespace) -> None:
    """Windows per second of ``lift_examples`` (all steps: chains, FASTA reads, filters, guard, report)."""
    from seqlab.data.homologs import LiftOptions, TargetGenome, lift_examples
    from seqlab.io.intervals import read_intervals

    bundle = args.chain.parent
    peaks_path = bundle.parent / "gm12878_hg19" / "peaks" / "CTCF_GM12878_hg19.narrowPeak.gz"
    if not peaks_path.is_file():
        print(f"homolog tables: skipped ({peaks_path} not found)")
        return
    import pandas as pd

    from seqlab.data.build import ExampleTable

    peaks = read_intervals(peaks_path, "narrowPeak")
    peaks = peaks[peaks["chrom"] == "chr22"]
    summit = (peaks["start"] + peaks["summit"]).to_numpy()
    rng = np.random.default_rng(args.seed)
    background = rng.integers(17_500_000, 51_000_000, 4 * summit.size)  # negatives-like windows
    centres = np.concatenate([summit, background])
    frame = pd.DataFrame({"genome": "hg19", "chrom": "chr22", "start": centres - 100, "end": centres + 100})
    frame = frame.assign(strand="+", split=np.where(centres < 25_000_000, "test", "train"), source="bench", origin="")
    labels = np.r_[np.ones(summit.size), np.zeros(background.size)][:, None]
    table = ExampleTable(
        frame,
        labels,
        np.ones_like(labels),
        pd.DataFrame({"task": ["CTCF"]}),
        genomes={"hg19": bundle / "hg19.chr22.fa.gz"},
    )
    targets = [
        TargetGenome("panTro2", bundle / "panTro2.chr22.fa.gz", bundle / "hg19ToPanTro2.chr22.chain.gz"),
        TargetGenome("gorilla", bundle / "gorilla.chr22.fa.gz", bundle / "hg19ToGorilla.chr22.chain.gz"),
    ]
    for weight in ("one", "identity"):
        seconds, homologs = timed(lambda w=weight: lift_examples(table, targets, LiftOptions(weight=w)), args.repeats)
        print(
            f"homolog tables (weight {weight}): {len(table):,} windows x {len(targets)} genomes in {seconds:.2f} s "
            f"= {len(table) * len(targets) / seconds:,.0f} windows/s; {len(homologs):,} homologs kept"
        )
    identity_rate(table, targets[0], args.repeats)


def identity_rate(table, target, repeats: int) -> None:
    """Windows per second of the identity weights alone (``weight: identity``), on one genome's kept lifts."""
    from seqlab.data.encoding import reverse_complement_sequence
    from seqlab.data.homologs import _human_sequences, _identity, lift_windows
    from seqlab.io.genome import Genome

    chain, genome = read_chain(target.chain), Genome(target.fasta, target.name)
    lifted = lift_windows(table.frame, chain, genome)
    rows = np.flatnonzero((lifted["status"] == "kept").to_numpy())
    homolog = [
        reverse_complement_sequence(q) if m == "-" else q
        for q, m in zip(lifted["sequence"].to_numpy()[rows], lifted["strand"].to_numpy()[rows], strict=True)
    ]
    human = _human_sequences(table, rows)
    seconds, _ = timed(lambda: _identity(table.frame, lifted, rows, chain, human, homolog), repeats)
    rate = rows.size / seconds
    print(f"identity weights alone ({target.name}): {rows.size:,} windows in {seconds:.3f} s = {rate:,.0f} windows/s")


if __name__ == "__main__":
    main()
