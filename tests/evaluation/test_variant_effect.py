from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.evaluation.predict import predict_regions
from seqlab.evaluation.variant_effect import (
    METRICS,
    allele_windows,
    score_variants,
    trim_alleles,
    write_variant_effects,
)
from seqlab.io.genome import Genome
from seqlab.io.vcf import read_vcf
from seqlab.outputs import OutputExistsError
from tests.evaluation.toy import CHR1, WEIGHTS, sigmoid, toy_model


def strand_values(window: str) -> tuple[list[float], list[float]]:
    """(mean probability, mean logit) per task over the window and its reverse complement."""
    n_a, n_t = window.upper().count("A"), window.upper().count("T")
    probs = [(sigmoid(w * n_a + b) + sigmoid(w * n_t + b)) / 2 for w, b in WEIGHTS]
    logits = [((w * n_a + b) + (w * n_t + b)) / 2 for w, b in WEIGHTS]
    return probs, logits


def variants(*rows: tuple[str, int, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "pos0", "id", "ref", "alt"])


@pytest.fixture
def genome(tmp_path: Path) -> Genome:
    fasta = tmp_path / "toy.fa"
    fasta.write_text(f">chr1\n{CHR1}\n>chr2\nTTTTTAAAAACCCCCGGGGG\n")
    return Genome(fasta, "toy")


def test_trim_alleles() -> None:
    assert trim_alleles("C", "A") == (0, "C", "A")
    assert trim_alleles("A", "AT") == (1, "", "T")
    assert trim_alleles("ACG", "A") == (1, "CG", "")
    assert trim_alleles("ACGT", "AGGT") == (1, "C", "G")
    assert trim_alleles("aTG", "ATTG") == (1, "", "T")


def test_allele_windows_for_snv_insertion_deletion_and_chromosome_ends(genome: Genome) -> None:
    assert CHR1[21] == "A" and CHR1[22:24] == "CC"
    assert allele_windows(genome, "chr1", 21, "A", "G", 10, 40) == (CHR1[16:26], CHR1[16:21] + "G" + CHR1[22:26], False)
    # insertion after the anchor base: the inserted T sits at index 5 of the alt window
    assert allele_windows(genome, "chr1", 21, "A", "AT", 10, 40) == (
        CHR1[17:27],
        CHR1[17:22] + "T" + CHR1[22:26],
        False,
    )
    # deletion of CC: the reference window is centred on CC, the alternative on the junction
    assert allele_windows(genome, "chr1", 21, "ACC", "A", 10, 40) == (CHR1[18:28], CHR1[17:22] + CHR1[24:29], False)
    assert allele_windows(genome, "chr1", 1, "A", "C", 10, 40) == ("NNNN" + CHR1[:6], "NNNN" + "GC" + CHR1[2:6], True)
    assert allele_windows(genome, "chr1", 38, "G", "A", 10, 40) == (CHR1[33:] + "NNN", CHR1[33:38] + "AC" + "NNN", True)


def test_snp_changes_the_prediction_by_the_exact_amount(genome: Genome) -> None:
    assert CHR1[15] == "c"
    result = score_variants(toy_model(), genome, variants(("chr1", 15, "rs1", "C", "A")), progress=False)
    scores = result.scores
    assert list(scores.columns) == ["chrom", "pos", "id", "ref", "alt", "padded", "n_fraction", "task", *METRICS]
    assert scores[["chrom", "pos", "id", "task"]].values.tolist() == [
        ["chr1", 16, "rs1", "up"],
        ["chr1", 16, "rs1", "down"],
    ]
    ref_probs, ref_logits = strand_values(CHR1[10:20])
    alt_probs, alt_logits = strand_values(CHR1[10:15] + "A" + CHR1[16:20])
    np.testing.assert_allclose(scores["ref_prob"], ref_probs, rtol=1e-6)
    np.testing.assert_allclose(scores["alt_prob"], alt_probs, rtol=1e-6)
    np.testing.assert_allclose(scores["delta_prob"], np.subtract(alt_probs, ref_probs), rtol=1e-6)
    np.testing.assert_allclose(scores["ref_logit"], ref_logits, rtol=1e-6)
    # one more A on the forward strand only: the strand-averaged logit moves by w / 2
    assert scores["delta_logit"].tolist() == [0.25, -0.125]
    # strand averaging of probabilities, not sigmoid of the averaged logit
    assert not np.allclose(scores["ref_prob"], [sigmoid(v) for v in ref_logits])
    assert result.counts == {
        "variants": 1,
        "scored": 1,
        "skipped_ref_mismatch": 0,
        "skipped_genome_n": 0,
        "skipped_chrom_not_in_genome": 0,
        "skipped_outside_chromosome": 0,
    }


def test_ref_probabilities_match_predict_regions(genome: Genome) -> None:
    table = variants(("chr1", 15, "a", "C", "A"), ("chr1", 2, "b", "T", "G"), ("chr2", 19, "c", "G", "T"))
    scores = score_variants(toy_model(), genome, table, batch_size=2, progress=False).scores
    regions = pd.DataFrame({"chrom": table["chrom"], "start": table["pos0"], "end": table["pos0"] + 1})
    predicted = predict_regions(toy_model(), genome, regions, progress=False)
    np.testing.assert_allclose(
        scores["ref_prob"].to_numpy().reshape(3, 2), predicted[["up", "down"]].to_numpy(), rtol=1e-6
    )
    assert scores["padded"].tolist()[::2] == predicted["padded"].tolist() == [False, True, True]


def test_mismatches_and_missing_chromosomes_are_reported_not_scored(
    genome: Genome, caplog: pytest.LogCaptureFixture
) -> None:
    table = variants(
        ("chr1", 15, "wrong", "G", "A"),  # genome has c
        ("1", 10, "lower", "t", "G"),  # case-insensitive match through the 1 -> chr1 alias
        ("chr9", 5, "nochrom", "A", "C"),
        ("chr1", 40, "past_end", "A", "C"),
        ("chr1", 21, "mnv", "ACC", "GTA"),
    )
    with caplog.at_level(logging.WARNING):
        result = score_variants(toy_model(), genome, table, progress=False)
    assert result.mismatches.to_dict("records") == [
        {"chrom": "chr1", "pos": 16, "id": "wrong", "ref": "G", "alt": "A", "genome_ref": "C"}
    ]
    assert result.scores["id"].unique().tolist() == ["lower", "mnv"]
    assert result.counts == {
        "variants": 5,
        "scored": 2,
        "skipped_ref_mismatch": 1,
        "skipped_genome_n": 0,
        "skipped_chrom_not_in_genome": 1,
        "skipped_outside_chromosome": 1,
    }
    assert "chr9 (1)" in caplog.text and "wrong genome build" in caplog.text


def test_wide_layout_holds_the_long_values(genome: Genome) -> None:
    table = variants(("chr1", 15, "a", "C", "A"), ("chr1", 20, "b", "A", "AT"))
    long = score_variants(toy_model(), genome, table, progress=False).scores
    wide = score_variants(toy_model(), genome, table, layout="wide", progress=False).scores
    assert list(wide.columns[:6]) == ["chrom", "pos", "id", "ref", "alt", "padded"]
    assert list(wide.columns[7:]) == [f"{m}.{t}" for m in METRICS for t in ("up", "down")]
    for metric in METRICS:
        np.testing.assert_array_equal(wide[[f"{metric}.up", f"{metric}.down"]].to_numpy().ravel(), long[metric])


def test_vcf_to_files(tmp_path: Path, genome: Genome) -> None:
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t16\trs1\tC\tA,G\t.\t.\t.\n"
        "chr1\t16\trs2\tT\tA\t.\t.\t.\n"
        "chrUn\t3\trs3\tA\tC\t.\t.\t.\n"
        "chr1\t21\trs4\tA\tAT\t.\t.\t.\n"
    )
    read = read_vcf(vcf)
    result = score_variants(toy_model(), genome, read.variants, progress=False)
    paths = write_variant_effects(
        result.scores, result.mismatches, {**read.counts, **result.counts}, tmp_path / "ve.tsv"
    )
    assert {k: p.name for k, p in paths.items()} == {
        "scores": "ve.tsv",
        "mismatches": "ve.ref_mismatches.tsv",
        "counts": "ve.counts.tsv",
    }
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("ve")}
    (tmp_path / "again.counts.tsv").write_text("someone else's\n")  # one file of a new set exists already
    with pytest.raises(OutputExistsError, match=r"again.counts.tsv: exists; use --overwrite"):
        write_variant_effects(result.scores, result.mismatches, result.counts, tmp_path / "again.tsv")
    assert {p.name for p in tmp_path.iterdir()} - {"v.vcf", "toy.fa", "toy.fa.fai"} == {*before, "again.counts.tsv"}
    with pytest.raises(OutputExistsError, match=r"ve.ref_mismatches.tsv: exists"):
        write_variant_effects(result.scores, result.mismatches, result.counts, tmp_path / "ve.tsv")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("ve")} == before
    (tmp_path / "ve.tsv").write_text("stale\n")
    write_variant_effects(
        result.scores, result.mismatches, {**read.counts, **result.counts}, tmp_path / "ve.tsv", overwrite=True
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("ve")} == before
    scores = pd.read_csv(paths["scores"], sep="\t")
    assert scores[["id", "alt", "task"]].values.tolist() == [
        ["rs1", "A", "up"],
        ["rs1", "A", "down"],
        ["rs1", "G", "up"],
        ["rs1", "G", "down"],
    ]
    assert scores.loc[scores["alt"] == "A", "delta_logit"].tolist() == [0.25, -0.125]
    assert paths["mismatches"].read_text() == "chrom\tpos\tid\tref\talt\tgenome_ref\nchr1\t16\trs2\tT\tA\tC\n"
    counts = dict(pd.read_csv(paths["counts"], sep="\t").values.tolist())
    assert counts == {
        "data_lines": 4,
        "alleles": 5,
        "kept": 4,
        "skipped_symbolic": 0,
        "skipped_multiallelic": 0,
        "skipped_indel": 1,
        "skipped_alt_equals_ref": 0,
        "skipped_ref_n": 0,
        "variants": 4,
        "scored": 2,
        "skipped_ref_mismatch": 1,
        "skipped_genome_n": 0,
        "skipped_chrom_not_in_genome": 1,
        "skipped_outside_chromosome": 0,
    }


# ---------------------------------------------------------------- issue 9 items 12 and 14


def test_genome_n_at_the_variant_is_counted_apart_and_n_fraction_is_carried(tmp_path: Path, caplog) -> None:
    fasta = tmp_path / "n.fa"
    fasta.write_text(">chr1\n" + CHR1[:20] + "NN" + CHR1[22:] + "\n")
    genome = Genome(fasta)
    table = variants(("chr1", 20, "on_n", "T", "C"), ("chr1", 15, "near_n", "C", "A"), ("chr1", 5, "wrong", "G", "T"))
    with caplog.at_level(logging.WARNING):
        result = score_variants(toy_model(), genome, table, progress=False)
    assert result.counts["skipped_genome_n"] == 1
    assert result.counts["skipped_ref_mismatch"] == 1
    assert result.mismatches["id"].tolist() == ["wrong"]
    assert "1 variants sit on N in the genome" in caplog.text
    # windows: near_n [10, 20) holds no N; an SNV at 17 gets [12, 22), 2 of its 10 bp N
    assert result.scores["n_fraction"].tolist() == [0.0, 0.0]
    shifted = score_variants(toy_model(), genome, variants(("chr1", 17, "x", "G", "A")), progress=False)
    assert shifted.scores["n_fraction"].tolist() == [0.2, 0.2]


def _shift_mean(windows: list[str]) -> tuple[np.ndarray, np.ndarray]:
    values = [strand_values(w) for w in windows]
    return np.mean([v[0] for v in values], axis=0), np.mean([v[1] for v in values], axis=0)


def test_shifts_average_over_shifted_windows(genome: Genome) -> None:
    result = score_variants(toy_model(), genome, variants(("chr1", 15, "rs1", "C", "A")), shifts=1, progress=False)
    alt = CHR1[:15] + "A" + CHR1[16:]
    ref_prob, ref_logit = _shift_mean([CHR1[9:19], CHR1[10:20], CHR1[11:21]])
    alt_prob, alt_logit = _shift_mean([alt[9:19], alt[10:20], alt[11:21]])
    np.testing.assert_allclose(result.scores["ref_prob"], ref_prob, rtol=1e-9)
    np.testing.assert_allclose(result.scores["alt_logit"], alt_logit, rtol=1e-9)
    np.testing.assert_allclose(result.scores["delta_prob"], alt_prob - ref_prob, rtol=1e-9)
    with pytest.raises(ValueError, match="shifts must be >= 0"):
        score_variants(toy_model(), genome, variants(("chr1", 15, "rs1", "C", "A")), shifts=-1)


def test_paired_fasta_mode_matches_the_vcf_path(tmp_path: Path, genome: Genome) -> None:
    from seqlab.evaluation.variant_effect import score_paired

    alt = CHR1[:15] + "A" + CHR1[16:]
    ref_fa, alt_fa = tmp_path / "ref.fa", tmp_path / "alt.fa"
    ref_fa.write_text(f">chr1:16:C>A|chr1:8-22\n{CHR1[8:22]}\n>other\n{CHR1[20:34]}\n")
    assert CHR1[27] == "T"
    alt_fa.write_text(f">chr1:16:C>A|chr1:8-22\n{alt[8:22]}\n>other2\n{CHR1[20:27]}G{CHR1[28:34]}\n")
    for shifts in (0, 2):
        paired = score_paired(toy_model(), ref_fa, alt_fa, shifts=shifts, progress=False)
        vcf_path = score_variants(
            toy_model(), genome, variants(("chr1", 15, "rs1", "C", "A")), shifts=shifts, progress=False
        )
        assert list(paired.scores.columns) == list(vcf_path.scores.columns)
        first = paired.scores.iloc[:2]
        assert first[["chrom", "pos", "ref", "alt"]].values.tolist() == [["chr1", 16, "C", "A"]] * 2
        for metric in METRICS:
            np.testing.assert_allclose(first[metric], vcf_path.scores[metric], rtol=1e-9, err_msg=metric)
    other = paired.scores.iloc[2]
    assert other["id"] == "other" and other["chrom"] == "" and pd.isna(other["pos"])
    assert (other["ref"], other["alt"]) == ("T", "G")
    assert paired.counts == {"pairs": 2, "scored": 2}
    with pytest.raises(ValueError, match=r"ref.fa: record 'chr1:16:C>A\|chr1:8-22' has 14 bp, fewer than the 16"):
        score_paired(toy_model(), ref_fa, alt_fa, shifts=3, progress=False)
    alt_fa.write_text(f">a\n{alt[8:22]}\n")
    with pytest.raises(ValueError, match=r"ref.fa: 2 records, but .*alt.fa has 1"):
        score_paired(toy_model(), ref_fa, alt_fa, progress=False)


def test_no_mismatch_file_when_every_ref_matches(tmp_path: Path, genome: Genome) -> None:
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t16\trs1\tC\tA\t.\t.\t.\n"
    )
    read = read_vcf(vcf)
    result = score_variants(toy_model(), genome, read.variants, progress=False)
    assert result.mismatches.empty
    (tmp_path / "ve.ref_mismatches.tsv").write_text("from an earlier run\n")
    with pytest.raises(OutputExistsError, match=r"ve.ref_mismatches.tsv: exists"):  # a stale member of the set
        write_variant_effects(result.scores, result.mismatches, result.counts, tmp_path / "ve.tsv")
    paths = write_variant_effects(result.scores, result.mismatches, result.counts, tmp_path / "ve.tsv", overwrite=True)
    assert sorted(paths) == ["counts", "scores"]
    assert not (tmp_path / "ve.ref_mismatches.tsv").exists() and (tmp_path / "ve.tsv").is_file()


def test_explain_draws_ref_and_alt_logos_of_the_largest_effects(tmp_path: Path, genome: Genome) -> None:
    from seqlab import pipeline

    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t16\tc2a\tC\tA\t.\t.\t.\n"  # one more A: up +0.25 (strand mean), down -0.125
        "chr1\t2\ta2c\tA\tC\t.\t.\t.\n"  # one A fewer: up -0.25, down +0.125
    )
    out = tmp_path / "ve.tsv"
    pipeline.variant_effect(toy_model(), vcf, genome.path, out, explain=3)
    table = pd.read_csv(tmp_path / "ve.explain" / "explain.tsv", sep="\t")
    assert table["task"].tolist()[:2] == ["up", "up"] and table["delta_logit"].abs().tolist() == [0.25, 0.25, 0.125]
    first = table.iloc[0]
    assert first["variant_index"] == 5  # the toy model's 10-bp window centred on the SNV
    # gradient x input of a logit is its weight at every A (the toy trunk counts A): ALT - REF = weight x gain
    for row in table.itertuples():
        assert (tmp_path / "ve.explain" / row.ref_logo).is_file() and (tmp_path / "ve.explain" / row.alt_logo).is_file()
        gain = 1 if row.id == "c2a" else -1
        weight = 0.5 if row.task == "up" else -0.25
        assert row.alt_sum - row.ref_sum == pytest.approx(weight * gain)
    for name in ("ve.tsv", "ve.counts.tsv"):
        (tmp_path / name).unlink()
    with pytest.raises(OutputExistsError, match="ve.explain"):  # refused before any scoring
        pipeline.variant_effect(toy_model(), vcf, genome.path, out, explain=1)
    pipeline.variant_effect(toy_model(), vcf, genome.path, out, explain=1, overwrite=True)
    assert len(pd.read_csv(tmp_path / "ve.explain" / "explain.tsv", sep="\t")) == 1
