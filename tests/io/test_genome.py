import gzip
import pickle
from pathlib import Path

import pysam
import pytest

from seqlab.io.genome import Genome, canonical_chrom

SEQS = {
    "chr1": "ACGTACGTNNacgtacgtAAAACCCCGGGGTTTT" * 3,
    "chrM": "GATTACA" * 5,
    "chrX": "TTTTGGGGCCCCAAAA",
}


def _write(path: Path) -> Path:
    with open(path, "w") as handle:
        for name, seq in SEQS.items():
            handle.write(f">{name} some description\n")
            for i in range(0, len(seq), 10):
                handle.write(seq[i : i + 10] + "\n")
    return path


@pytest.fixture(params=["plain", "bgzip"])
def fasta(request, tmp_path) -> Path:
    plain = _write(tmp_path / "toy.fa")
    if request.param == "plain":
        return plain
    compressed = tmp_path / "toy.fa.gz"
    pysam.tabix_compress(str(plain), str(compressed))
    pysam.faidx(str(compressed))  # writes .fai and .gzi
    assert (tmp_path / "toy.fa.gz.gzi").is_file()
    return compressed


def test_sizes_fetch_and_case(fasta):
    genome = Genome(fasta, name="toy")
    assert genome.name == "toy"
    assert genome.chrom_sizes == {name: len(seq) for name, seq in SEQS.items()}
    assert genome.fetch("chr1", 0, 12) == "ACGTACGTNNac"
    assert genome.fetch("chr1", 95, 102) == SEQS["chr1"][95:102]
    assert genome.fetch("chrX", 16, 16) == ""


def test_aliases(fasta):
    genome = Genome(fasta)
    assert genome.resolve("1") == "chr1"
    assert genome.resolve("MT") == "chrM"
    assert genome.resolve("M") == "chrM"
    assert genome.resolve("X") == "chrX"
    assert genome.fetch("MT", 0, 7) == "GATTACA"
    assert "1" in genome and "chr2" not in genome


def test_missing_chromosome_lists_what_the_genome_has(fasta):
    genome = Genome(fasta)
    with pytest.raises(KeyError, match=r"'chr2' not in genome.*chr1, chrM, chrX"):
        genome.fetch("chr2", 0, 10)


def test_padding_and_bounds(fasta):
    genome = Genome(fasta)
    assert genome.fetch("chrX", -3, 2, pad=True) == "NNNTT"
    assert genome.fetch("chrX", 14, 19, pad=True) == "AANNN"
    assert genome.fetch("chrX", -2, 18, pad=True) == "NN" + SEQS["chrX"] + "NN"
    assert genome.fetch("chrX", 20, 23, pad=True) == "NNN"
    with pytest.raises(ValueError, match="runs off chromosome chrX"):
        genome.fetch("chrX", 10, 17)
    with pytest.raises(ValueError, match="end < start"):
        genome.fetch("chrX", 5, 4)


def test_fetch_many_keeps_input_order(fasta):
    genome = Genome(fasta)
    out = genome.fetch_many(["chrX", "chr1", "chrX"], [4, 0, 0], [8, 4, 4])
    assert out == ["GGGG", "ACGT", "TTTT"]


def test_pickle_drops_the_handle_and_reopens(fasta):
    genome = Genome(fasta)
    genome.fetch("chr1", 0, 4)
    assert genome._fasta is not None
    clone = pickle.loads(pickle.dumps(genome))
    assert clone._fasta is None
    assert clone.fetch("chrX", 0, 4) == "TTTT"
    genome.close()
    assert genome.fetch("chrX", 0, 4) == "TTTT"


def test_canonical_names():
    assert canonical_chrom("chr1") == canonical_chrom("1") == "1"
    assert canonical_chrom("chrM") == canonical_chrom("MT") == canonical_chrom("chrMT") == "MT"
    assert canonical_chrom("chrUn_gl000220") == "Un_gl000220"
    assert canonical_chrom("chr") == "chr"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="genome FASTA not found"):
        Genome(tmp_path / "nope.fa")


def test_plain_gzip_is_rejected_with_a_clear_error(tmp_path):
    path = tmp_path / "plain.fa.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(">chr1\nACGT\n")
    with pytest.raises(ValueError, match="cannot index genome FASTA"):
        Genome(path)


@pytest.mark.realdata
def test_hg19_chr22_bgzip_matches_window_fasta(shared_data):
    from seqlab.io.fasta import read_sequence_set

    genome = Genome(shared_data / "dna/chr22_primates/hg19.chr22.fa.gz", name="hg19")
    assert genome.chrom_sizes == {"chr22": 51_304_566}
    assert genome.resolve("22") == "chr22"
    windows = read_sequence_set(shared_data / "dna/gm12878_hg19/windows/CTCF_GM12878_pos.fa.gz")
    chr22 = windows[windows["chrom"] == "chr22"]
    compared = 0
    for row in chr22.itertuples():
        seq = genome.fetch("22", row.start, row.end)
        if "N" in seq.upper():
            continue  # outside the MAF subset
        assert seq.upper() == row.sequence
        if compared == 0:
            assert genome.fetch("chr22", row.start, row.start + 60).upper() == row.sequence[:60]
        compared += 1
    assert compared >= 20


def test_stale_index_is_reported(tmp_path):
    import os
    import warnings

    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\nACGTACGTACGTAC\n")
    assert Genome(fasta).chrom_sizes == {"chr1": 14}  # writes g.fa.fai
    fasta.write_text(">chr1\nACGTACGTACGTACGT\n")
    index = tmp_path / "g.fa.fai"
    os.utime(index, (fasta.stat().st_mtime - 10, fasta.stat().st_mtime - 10))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert Genome(fasta).chrom_sizes == {"chr1": 14}  # the stale index still says 14
    assert any("is older than the genome FASTA" in str(w.message) for w in caught)
