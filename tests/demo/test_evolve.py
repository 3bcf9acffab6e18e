from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.demo.evolve import Branch, EvolvedGenomes, OriginMap, evolve_species, homolog_truth, write_chain
from seqlab.demo.simulate import FactorSpec
from seqlab.io.genome import Genome

SIZES = {"chr1": 60_000, "chr2": 50_000}
FACTORS = (FactorSpec("REST", "MA0138", sites=16, decoys=6, noise_peaks=2),)
TREE = (
    Branch("ape", "human", substitution_rate=0.02, indel_rate=0.002, inversions=1, transpositions=1),
    Branch("anc", "human", substitution_rate=0.03, indel_rate=0.001, inversions=0, transpositions=0),
    Branch("monkey", "anc", substitution_rate=0.04, indel_rate=0.002, inversions=2, transpositions=1),
)
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@pytest.fixture(scope="module")
def evolved(tmp_path_factory: pytest.TempPathFactory) -> EvolvedGenomes:
    return evolve_species(tmp_path_factory.mktemp("evolve"), seed=5, chrom_sizes=SIZES, factors=FACTORS, tree=TREE)


def _read_chains(path: Path) -> list[tuple[list[str], list[list[int]]]]:
    chains, current = [], None
    for line in path.read_text().splitlines():
        if line.startswith("chain"):
            current = (line.split(), [])
            chains.append(current)
        elif line:
            current[1].append([int(v) for v in line.split()])
    return chains


def test_files_and_leaves(evolved: EvolvedGenomes) -> None:
    assert sorted(evolved.genomes) == ["ape", "monkey"]  # 'anc' is an inner node: not written
    for name in ("ape", "monkey"):
        assert evolved.genomes[name].is_file() and evolved.genomes[name].with_name("genome.fa.fai").is_file()
        assert evolved.chains[name].name == f"human_to_{name}.chain"
    assert evolved.human["peaks_REST"].is_file()
    assert evolved.summary["events"]["ape"]["inversions"] == 2  # one per chromosome
    # evolving twice with the same seed gives the same chains
    again = evolve_species(evolved.root.parent / "again", seed=5, chrom_sizes=SIZES, factors=FACTORS, tree=TREE)
    assert again.chains["monkey"].read_bytes() == evolved.chains["monkey"].read_bytes()


def test_chain_format_is_consistent(evolved: EvolvedGenomes) -> None:
    genome = Genome(evolved.genomes["monkey"])
    strands = set()
    for header, blocks in _read_chains(evolved.chains["monkey"]):
        assert header[0] == "chain" and header[4] == "+" and len(header) == 13
        t_size, t_start, t_end = int(header[3]), int(header[5]), int(header[6])
        q_size, q_start, q_end = int(header[8]), int(header[10]), int(header[11])
        assert t_size == SIZES[header[2]] and q_size == genome.chrom_sizes[header[7]]
        assert all(len(b) == 3 for b in blocks[:-1]) and len(blocks[-1]) == 1
        assert all(v >= 0 for b in blocks for v in b)
        assert t_end - t_start == sum(b[0] for b in blocks) + sum(b[1] for b in blocks[:-1])
        assert q_end - q_start == sum(b[0] for b in blocks) + sum(b[2] for b in blocks[:-1])
        assert int(header[1]) == sum(b[0] for b in blocks)
        assert 0 <= q_start < q_end <= q_size
        strands.add(header[9])
    assert strands == {"+", "-"}  # inversions give '-' chains


def test_liftover_package_maps_every_sampled_base_to_the_truth(evolved: EvolvedGenomes) -> None:
    liftover = pytest.importorskip("liftover")
    human = Genome(evolved.human["genome"])
    rng = np.random.default_rng(0)
    for name in ("ape", "monkey"):
        chain = liftover.ChainFile(str(evolved.chains[name]))
        genome = Genome(evolved.genomes[name])
        checked = same = minus = 0
        for chrom, size in SIZES.items():
            truth = evolved.origin[name][chrom]
            for pos in rng.integers(0, size, 1_000).tolist():
                hits = [(c, int(p), s) for c, p, s in chain[chrom][pos]]
                if truth.pos[pos] < 0:
                    assert hits == []  # deleted in the species
                    continue
                strand = "-" if truth.minus[pos] else "+"
                assert hits == [(chrom, int(truth.pos[pos]), strand)]
                base = genome.fetch(chrom, hits[0][1], hits[0][1] + 1).upper()
                if strand == "-":
                    base = base.translate(_COMPLEMENT)
                checked += 1
                minus += strand == "-"
                same += base == human.fetch(chrom, pos, pos + 1).upper()
        assert checked > 1_900 and minus > 50
        # identity of aligned bases follows the simulated substitution rates (+ N gaps, never mutated)
        expected = {"ape": 0.98, "monkey": 0.93}[name]
        assert abs(same / checked - expected) < 0.02


def test_site_truth_matches_the_species_genome(evolved: EvolvedGenomes) -> None:
    fates = pd.read_csv(evolved.truth["monkey"], sep="\t")
    sites = pd.read_csv(evolved.human["sites"], sep="\t")
    assert len(fates) == int((sites["kind"] == "bound").sum()) == 16
    genome = Genome(evolved.genomes["monkey"])
    for fate, site in zip(fates.itertuples(), sites[sites["kind"] == "bound"].itertuples(), strict=True):
        assert (fate.human_chrom, fate.human_start) == (site.chrom, site.start)
        if fate.chrom == ".":
            continue
        bases = genome.fetch(fate.chrom, fate.start, fate.end).upper()
        flipped = fate.strand != site.strand
        if flipped:
            bases = bases.translate(_COMPLEMENT)[::-1]
        assert sum(a != b for a, b in zip(bases, site.sequence, strict=True)) == fate.mismatches
        assert fate.intact == (fate.mismatches <= 1)
    assert fates["intact"].sum() >= 12  # sites are conserved (0.2 x the background rate)


def test_homolog_truth_exact() -> None:
    fates = pd.DataFrame({"task": ["A", "A", "B"], "intact": [True, False, True], "chrom": ["c1", "c1", "c1"],
                          "start": [100, 500, 900], "end": [110, 510, 910]})  # fmt: skip
    windows = pd.DataFrame({"chrom": ["c1", "c1", "c1", "c2", "c1"], "start": [50, 95, 450, 50, 105],
                            "end": [250, 105, 650, 250, 305]})  # fmt: skip
    assert homolog_truth(windows, fates, "A").tolist() == [True, False, False, False, False]
    assert homolog_truth(windows, fates, "B").tolist() == [False] * 5


def test_write_chain_minus_strand_coordinates(tmp_path: Path) -> None:
    # human chrA (10 bp): bases 0-3 map to 0-3 on '+', 4-7 inverted onto query 7..4, 8-9 deleted
    origin = {"chrA": OriginMap(np.array([0, 1, 2, 3, 7, 6, 5, 4, -1, -1]), np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0],
                                                                                       dtype=bool))}  # fmt: skip
    assert write_chain(tmp_path / "x.chain", origin, {"chrA": 10}, {"chrA": 12}) == 2
    assert (tmp_path / "x.chain").read_text() == (
        "chain 4 chrA 10 + 0 4 chrA 12 + 0 4 1\n4\n\n"
        "chain 4 chrA 10 + 4 8 chrA 12 - 4 8 2\n4\n\n"  # forward 7..4 on a 12-bp query = reverse 4..7
    )
