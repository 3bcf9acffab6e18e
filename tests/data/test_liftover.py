"""Point and interval liftover: identical to the ``liftover`` package and to UCSC liftOver's minMatch rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.data.liftover import lift_intervals, lift_points
from seqlab.io.chain import read_chain

liftover = pytest.importorskip("liftover")

SIZE = 2000

# chr1 -> qA (+, gaps on both sides), chr1 -> qB (- strand), and a third chain overlapping the first
# (positions 120..129 map twice), chr2 -> qA.
TOY = """\
chain 100 chr1 1000 + 100 200 qA 900 + 10 105 1
50 10 5
40

chain 50 chr1 1000 + 400 450 qB 500 - 20 70 2
50

chain 20 chr1 1000 + 120 130 qB 500 + 300 310 3
10

chain 10 chr2 300 + 0 10 qA 900 + 800 810 4
10
"""


def naive_points(chains: list[dict], chrom: str, pos: int) -> list[tuple[str, int, str]]:
    """The liftover package's rule (target.cpp), one block at a time."""
    hits = []
    for chain in chains:
        if chain["t_name"] != chrom:
            continue
        for t, q, size in chain["blocks"]:
            if t <= pos < t + size:
                raw = q + pos - t
                minus = chain["q_strand"] == "-"
                hits.append((chain["q_name"], chain["q_size"] - 1 - raw if minus else raw, chain["q_strand"]))
    return sorted(hits)


def naive_interval(chains: list[dict], chrom: str, s: int, e: int, min_match: float) -> tuple:
    """UCSC liftOver.c remapRange + mapThroughChain for one interval (no -multiple)."""
    hit, partial = [], 0
    for chain in chains:
        if chain["t_name"] != chrom:
            continue
        inside = [(max(s, t), min(e, t + size), q, t) for t, q, size in chain["blocks"] if t < e and t + size > s]
        aligned = sum(b - a for a, b, _, _ in inside)
        if aligned >= min_match * (e - s):
            hit.append((chain, inside))
        elif aligned > 0:
            partial += 1
    if not hit:
        return ("deleted", "partially_deleted", "split")[min(partial, 2)], None
    if len(hit) > 1:
        return "duplicated", None
    chain, inside = hit[0]
    q_first = inside[0][2] + inside[0][0] - inside[0][3]
    q_last = inside[-1][2] + inside[-1][1] - inside[-1][3]
    if chain["q_strand"] == "-":
        q_first, q_last = chain["q_size"] - q_last, chain["q_size"] - q_first
    return "ok", (chain["q_name"], q_first, q_last, chain["q_strand"])


def chain_text(chains: list[dict]) -> str:
    out = []
    for k, chain in enumerate(chains):
        blocks = chain["blocks"]
        t0, q0 = blocks[0][0], blocks[0][1]
        t1, q1 = blocks[-1][0] + blocks[-1][2], blocks[-1][1] + blocks[-1][2]
        out.append(
            f"chain 1 {chain['t_name']} {SIZE} + {t0} {t1} {chain['q_name']} {chain['q_size']} "
            f"{chain['q_strand']} {q0} {q1} {k + 1}"
        )
        for (t, q, size), (t_next, q_next, _) in zip(blocks, blocks[1:], strict=False):
            out.append(f"{size} {t_next - t - size} {q_next - q - size}")
        out.append(str(blocks[-1][2]))
        out.append("")
    return "\n".join(out)


@st.composite
def chain_sets(draw) -> list[dict]:
    chains = []
    for _ in range(draw(st.integers(1, 4))):
        t, q = draw(st.integers(0, 600)), draw(st.integers(0, 600))
        blocks = []
        for _ in range(draw(st.integers(1, 6))):
            size = draw(st.integers(1, 40))
            blocks.append((t, q, size))
            t, q = t + size + draw(st.integers(0, 15)), q + size + draw(st.integers(0, 15))
        chains.append(
            {
                "t_name": draw(st.sampled_from(["chr1", "chr2"])),
                "q_name": draw(st.sampled_from(["qA", "qB"])),
                "q_size": SIZE,
                "q_strand": draw(st.sampled_from("+-")),
                "blocks": blocks,
            }
        )
    return chains


def hits_of(result, i: int) -> list[tuple[str, int, str]]:
    rows = np.flatnonzero(result.index == i)
    return sorted((str(result.chrom[j]), int(result.pos[j]), str(result.strand[j])) for j in rows)


def test_toy_chain_every_position_matches_liftover_package(tmp_path: Path) -> None:
    path = tmp_path / "toy.chain"
    path.write_text(TOY)
    chain, reference = read_chain(path), liftover.ChainFile(str(path))
    chroms = ["chr1"] * 1000 + ["chr2"] * 300 + ["chrX"] * 5
    positions = list(range(1000)) + list(range(300)) + list(range(5))
    result = lift_points(chain, chroms, positions)
    for i, (c, p) in enumerate(zip(chroms, positions, strict=True)):
        assert hits_of(result, i) == sorted(reference[c][p]), (c, p)
    # hand-checked values: '+' block, '-' block, gap, double hit
    unique = result.unique()
    assert unique.loc[100, ["chrom", "pos", "strand"]].tolist() == ["qA", 10, "+"]
    assert unique.loc[165, ["chrom", "pos", "strand"]].tolist() == ["qA", 70, "+"]
    assert unique.loc[400, ["chrom", "pos", "strand"]].tolist() == ["qB", 500 - 1 - 20, "-"]
    assert unique.loc[449, "pos"] == 500 - 1 - 69
    assert result.n_hits[155] == 0  # gap between blocks
    assert result.n_hits[125] == 2 and unique.loc[125, "pos"] == -1  # two chains: counted, not silently one
    assert result.n_hits[1300:].sum() == 0  # chromosome absent from the chain
    assert result.n_hits.sum() == 50 + 40 + 50 + 10 + 10


def test_chromosome_aliases(tmp_path: Path) -> None:
    path = tmp_path / "toy.chain"
    path.write_text(TOY)
    result = lift_points(read_chain(path), ["1", "chr1"], [100, 100])
    assert result.unique()["pos"].tolist() == [10, 10]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chains=chain_sets(), seed=st.integers(0, 2**16))
def test_points_match_naive_rule_and_liftover_package(tmp_path: Path, chains: list[dict], seed: int) -> None:
    path = tmp_path / "random.chain"
    path.write_text(chain_text(chains))
    chain, reference = read_chain(path), liftover.ChainFile(str(path))
    rng = np.random.default_rng(seed)
    chroms = rng.choice(["chr1", "chr2"], 200).tolist()
    positions = rng.integers(0, 1000, 200)
    result = lift_points(chain, chroms, positions)
    for i, (c, p) in enumerate(zip(chroms, positions.tolist(), strict=True)):
        expected = naive_points(chains, c, p)
        assert hits_of(result, i) == expected == sorted(reference[c][p])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chains=chain_sets(), seed=st.integers(0, 2**16), min_match=st.sampled_from([0.1, 0.5, 0.95, 1.0]))
def test_intervals_match_liftover_min_match_rule(tmp_path: Path, chains: list[dict], seed: int, min_match) -> None:
    path = tmp_path / "random.chain"
    path.write_text(chain_text(chains))
    chain = read_chain(path)
    rng = np.random.default_rng(seed)
    chroms = rng.choice(["chr1", "chr2"], 100).tolist()
    starts = rng.integers(0, 900, 100)
    ends = starts + rng.integers(1, 120, 100)
    result = lift_intervals(chain, chroms, starts, ends, min_match=min_match)
    for i in range(100):
        status, mapped = naive_interval(chains, chroms[i], int(starts[i]), int(ends[i]), min_match)
        row = result.iloc[i]
        assert row["status"] == status
        if mapped is not None:
            assert (row["chrom"], row["start"], row["end"], row["strand"]) == mapped
            # coordinate maths: the mapped ends are the lifted first and last aligned bases
            assert 0 <= row["start"] < row["end"] <= SIZE
        else:
            assert row["start"] == -1 and row["chain"] == -1


def test_interval_statuses_and_length_ratio(tmp_path: Path) -> None:
    path = tmp_path / "toy.chain"
    path.write_text(TOY)
    chain = read_chain(path)
    chroms = ["chr1"] * 6
    starts = [100, 100, 400, 140, 500, 120]
    ends = [150, 200, 450, 170, 600, 130]
    out = lift_intervals(chain, chroms, starts, ends, min_match=0.9)
    assert out["status"].tolist() == ["ok", "ok", "ok", "partially_deleted", "deleted", "duplicated"]
    assert out.loc[0, ["chrom", "start", "end", "strand"]].tolist() == ["qA", 10, 60, "+"]
    assert out.loc[1, ["start", "end", "aligned"]].tolist() == [10, 105, 90]
    assert out.loc[2, ["chrom", "start", "end", "strand"]].tolist() == ["qB", 500 - 70, 500 - 20, "-"]
    assert out.loc[3, ["aligned", "n_hits", "n_partial"]].tolist() == [20, 0, 1]
    assert out.loc[5, ["n_hits", "chain", "start"]].tolist() == [2, -1, -1]
    loose = lift_intervals(chain, chroms, starts, ends, min_match=0.5)
    assert loose.loc[3, "status"] == "ok"
    # [140, 190): chain 1 aligns 40 of 50 (10 in its target gap); the query span is 45 bp: ratio 1.11
    strict = lift_intervals(chain, ["chr1"], [140], [190], min_match=0.5, max_length_ratio=1.05)
    assert strict.loc[0, "status"] == "length_ratio"
    assert lift_intervals(chain, ["chr1"], [140], [190], min_match=0.5, max_length_ratio=1.2).loc[0, "end"] == 95
    with pytest.raises(ValueError, match="empty or reversed"):
        lift_intervals(chain, ["chr1"], [10], [10])


@pytest.mark.realdata
@pytest.mark.parametrize("species", ["PanTro2", "Gorilla"])
def test_real_chains_identical_to_liftover_package(shared_data: Path, species: str) -> None:
    path = shared_data / "dna" / "chr22_primates" / f"hg19To{species}.chr22.chain.gz"
    chain, reference = read_chain(path), liftover.ChainFile(str(path))
    rng = np.random.default_rng(0)
    blocks = chain.blocks["chr22"]
    inside = rng.integers(blocks.t_start[0], blocks.t_end[-1], 8000)
    anywhere = rng.integers(0, chain.target_sizes["chr22"], 4000)
    positions = np.concatenate([inside, anywhere])
    result = lift_points(chain, ["chr22"] * positions.size, positions)
    mismatches = sum(hits_of(result, i) != sorted(reference["chr22"][int(p)]) for i, p in enumerate(positions))
    assert mismatches == 0
    assert positions.size >= 10_000
    mapped = int((result.n_hits == 1).sum())
    assert 4000 < mapped < positions.size  # a real mix of mapped and unmapped positions


def test_empty_input_and_unknown_chromosomes(tmp_path: Path) -> None:
    path = tmp_path / "toy.chain"
    path.write_text(TOY)
    chain = read_chain(path)
    empty = lift_points(chain, [], [])
    assert empty.n_hits.shape == (0,) and empty.unique().shape == (0, 5)
    assert lift_intervals(chain, [], [], []).shape == (0, 9)
    assert lift_points(chain, ["chrZ"], [5]).unique().loc[0, "n_hits"] == 0
    assert lift_intervals(chain, ["chrZ"], [5], [10]).loc[0, "status"] == "deleted"
