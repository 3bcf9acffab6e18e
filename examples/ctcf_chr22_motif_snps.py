"""Motif-breaking SNPs at GM12878 CTCF peaks of hg19 chr22: the VCF route against the paired route (issue 14).

For every chr22 CTCF peak whose summit window (200 bp) holds a JASPAR MA0139.2 hit (log-odds >= 10), the SNP
that changes the hit's most informative base to its least likely base is written to a VCF with the genome's
REF. Then, for each model given:

1. ``seqlab dna variant-effect MODEL --vcf snps.vcf --genome hg19.chr22.fa.gz`` (the VCF route, window
   centred on the variant);
2. the same SNPs as paired FASTA files (reference / alternative windows centred on the variant) through
   ``seqlab dna alleles`` (the paired route): the sign of each SNP's effect must agree with route 1;
3. the paired route with the variant ``d`` bp right of the window centre (d = 0, 25, 50, 75, 90): how the
   effect depends on the variant's distance from the centre.

    python examples/ctcf_chr22_motif_snps.py --data-dir ../shared/data --out runs/ctcf-snps MODEL [MODEL ...]

Writes ``OUT/snps.vcf``, ``OUT/ve_<i>.tsv``, ``OUT/pairs_d<d>/``, and prints one summary table (TSV).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab import pipeline
from seqlab.evaluation.alleles import jaspar_log_odds
from seqlab.io.genome import Genome
from seqlab.io.intervals import read_intervals

WINDOW = 200
MIN_HIT = 10.0
OFFSETS = (0, 25, 50, 75, 90)
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def best_hit(sequence: str, log_odds: np.ndarray) -> tuple[float, int, bool]:
    """(score, start, on the minus strand) of the best PWM hit of ``sequence`` (upper-case ACGT)."""
    width = log_odds.shape[1]
    codes = np.frombuffer(sequence.encode(), dtype=np.uint8)
    index = np.full(256, -1)
    index[np.frombuffer(b"ACGT", dtype=np.uint8)] = np.arange(4)
    bases = index[codes]
    best = (-np.inf, 0, False)
    for minus, matrix in ((False, log_odds), (True, log_odds[::-1, ::-1])):
        for start in range(len(sequence) - width + 1):
            window = bases[start : start + width]
            if (window < 0).any():
                continue
            score = float(matrix[window, np.arange(width)].sum())
            if score > best[0]:
                best = (score, start, minus)
    return best


def motif_snps(genome: Genome, peaks: pd.DataFrame, log_odds: np.ndarray) -> pd.DataFrame:
    """One motif-breaking SNP per peak with a strong hit: chrom, pos (1-based), ref, alt, id."""
    width = log_odds.shape[1]
    information = (np.exp2(log_odds) * 0.25 * log_odds).sum(axis=0)  # relative entropy per motif column
    rows = []
    for peak in peaks.itertuples():
        summit = int(peak.start) + int(peak.summit if peak.summit >= 0 else (peak.end - peak.start) // 2)
        start = summit - WINDOW // 2
        sequence = genome.fetch(peak.chrom, start, start + WINDOW).upper()
        score, hit, minus = best_hit(sequence, log_odds)
        if score < MIN_HIT:
            continue
        column = int(np.argmax(information))
        offset = hit + (width - 1 - column if minus else column)
        worst = int(np.argmin(log_odds[:, column]))
        alt = "ACGT"[worst].translate(COMPLEMENT) if minus else "ACGT"[worst]
        ref = sequence[offset]
        if ref == alt:
            continue
        position = start + offset
        rows.append({"chrom": peak.chrom, "pos": position + 1, "id": f"{peak.chrom}:{position + 1}:{ref}>{alt}",
                     "ref": ref, "alt": alt})  # fmt: skip
    return pd.DataFrame(rows).drop_duplicates("id")


def write_vcf(snps: pd.DataFrame, path: Path) -> None:
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{s.chrom}\t{s.pos}\t{s.id}\t{s.ref}\t{s.alt}\t.\t.\t." for s in snps.sort_values("pos").itertuples()]
    path.write_text("\n".join(lines) + "\n")


def write_pairs(genome: Genome, snps: pd.DataFrame, d: int, folder: Path) -> tuple[Path, Path]:
    """Reference and alternative 200-bp windows with the SNP ``d`` bp right of the centre."""
    folder.mkdir(parents=True, exist_ok=True)
    ref_lines, alt_lines = [], []
    for s in snps.itertuples():
        index = WINDOW // 2 + d
        start = s.pos - 1 - index
        window = genome.fetch(s.chrom, start, start + WINDOW).upper()
        assert window[index] == s.ref, (s.id, window[index])
        ref_lines += [f">{s.id}", window]
        alt_lines += [f">{s.id}", window[:index] + s.alt + window[index + 1 :]]
    paths = folder / "ref.fa", folder / "alt.fa"
    for path, lines in zip(paths, (ref_lines, alt_lines), strict=True):
        path.write_text("\n".join(lines) + "\n")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    genome_path = args.data_dir / "dna" / "chr22_primates" / "hg19.chr22.fa.gz"
    genome = Genome(genome_path)
    peaks = read_intervals(args.data_dir / "dna" / "gm12878_hg19" / "peaks" / "CTCF_GM12878_hg19.narrowPeak.gz")
    peaks = peaks[peaks["chrom"] == "chr22"]
    snps = motif_snps(genome, peaks, jaspar_log_odds("MA0139.2"))
    write_vcf(snps, args.out / "snps.vcf")
    rows = []
    paired = {}
    for d in OFFSETS:
        ref_fa, alt_fa = write_pairs(genome, snps, d, args.out / f"pairs_d{d}")
        summary = pipeline.alleles(args.models, ref_fa, alt_fa, args.out / f"pairs_d{d}", overwrite=True)
        per_pair = pd.read_csv(args.out / f"pairs_d{d}" / "pairs.tsv", sep="\t")
        paired[d] = per_pair
        for row in summary.itertuples():
            effect = per_pair.loc[per_pair["model"] == row.model, "effect"]
            rows.append({"route": "paired", "d": d, "model": row.model, "n": row.n_pairs,
                         "fraction_ref_above_alt": row.fraction_a_above_b,
                         "mean_delta_logit": -effect.mean()})  # fmt: skip
    for i, model in enumerate(args.models):
        out = args.out / f"ve_{i}.tsv"
        pipeline.variant_effect(model, args.out / "snps.vcf", genome_path, out, overwrite=True)
        effects = pd.read_csv(out, sep="\t").set_index("id")["delta_logit"]
        name = sorted(set(paired[0]["model"]) - {"ensemble"})[i] if len(args.models) > 1 else paired[0]["model"][0]
        pair_effect = -paired[0].loc[paired[0]["model"] == name].set_index("id")["effect"]
        agree = float((np.sign(effects.loc[pair_effect.index]) == np.sign(pair_effect)).mean())
        rows.append({"route": "vcf", "d": 0, "model": str(model), "n": len(effects),
                     "fraction_ref_above_alt": float((effects < 0).mean()), "mean_delta_logit": float(effects.mean()),
                     "sign_agrees_with_paired": agree})  # fmt: skip
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    print(table.to_csv(sep="\t", index=False, float_format="%.4f"))


if __name__ == "__main__":
    main()
