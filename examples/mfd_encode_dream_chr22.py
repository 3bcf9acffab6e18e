"""Build the task table of the ENCODE-DREAM chr22 compendium for MFD (examples/mfd_encode_dream_chr22.yaml).

    python examples/mfd_encode_dream_chr22.py [OUT] [--bundle DIR]
    python examples/mfd_encode_dream_chr22.py --baseline RUN     # after seqlab dna train: imputation baseline

Writes into OUT (default ``runs/mfd_encode_dream_chr22_data``, beside the repository's ``runs/``):

* ``summits/<task>.bed``: one 1-bp interval [start + peak, start + peak + 1) per peak row of the
  bundle's file (conservative and relaxed alike; the relaxed files' 10 extra IDR columns are dropped).
  With ``data.min_overlap: 1`` and 200-bp tiling bins, a bin is positive for a task exactly when one
  of its summits falls in the bin; every other bin is negative (a bin with only a relaxed summit is a
  negative of the conservative task: the conservative set is the stricter call of the same data).
* ``tasks.tsv``: one task per experiment x peak set (``<biosample>.<target>.<peak_set>``, 174 rows), with
  ``target``, ``biosample``, ``peak_set`` and the cell line's 8 expression covariates ``GEPC1``..``GEPC8``
  (``biosamples.tsv``); peak paths are absolute (the file is generated on this machine).

The bundle is ``../shared/data/dna/encode_dream_chr22`` (README there).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT.parent / "shared" / "data" / "dna" / "encode_dream_chr22"
OUT = ROOT / "runs" / "mfd_encode_dream_chr22_data"
COVARIATES = [f"GEPC{i}" for i in range(1, 9)]


def summits(peak_file: Path) -> pd.DataFrame:
    """chrom, start, end of the 1-bp summit of every row of a (10- or 20-column) narrowPeak file."""
    with gzip.open(peak_file, "rt") as handle:
        rows = [line.rstrip("\n").split("\t")[:10] for line in handle if line.strip()]
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "score", "strand", "signal", "p", "q", "peak"])
    summit = frame["start"].astype(int) + frame["peak"].astype(int)
    return pd.DataFrame({"chrom": frame["chrom"], "start": summit, "end": summit + 1})


def build(out: Path = OUT, bundle: Path = BUNDLE) -> Path:
    """Write ``summits/`` and ``tasks.tsv`` into ``out``; return the table's path."""
    experiments = pd.read_csv(bundle / "experiments.tsv", sep="\t")
    biosamples = pd.read_csv(bundle / "biosamples.tsv", sep="\t", dtype={c: str for c in COVARIATES})
    covariates = biosamples.set_index("biosample")[COVARIATES]
    (out / "summits").mkdir(parents=True, exist_ok=True)
    rows = []
    for row in experiments.itertuples():
        task = f"{row.biosample}.{row.target}.{row.peak_set}"
        bed = out / "summits" / f"{task}.bed"
        summits(bundle / row.file).to_csv(bed, sep="\t", header=False, index=False)
        rows.append({"task": task, "peaks": str(bed.resolve()), "target": row.target, "biosample": row.biosample,
                     "peak_set": row.peak_set, **covariates.loc[row.biosample].to_dict()})  # fmt: skip
    table = out / "tasks.tsv"
    pd.DataFrame(rows).to_csv(table, sep="\t", index=False, lineterminator="\n")
    return table


def label_baseline(run: Path) -> dict[str, dict[str, float]]:
    """ENCODE-DREAM baseline of the held-out experiments of an MFD run: the observed test labels of the same
    TF and peak set in the other cells, averaged, as the score (AUROC, AUPR), next to MFD's imputed ones."""
    import json

    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seqlab.data.table import ExampleTable

    metrics = json.loads((run / "metrics.json").read_text())
    table = ExampleTable.load(run / "examples")
    rows = table.split_indices("test")
    labels, weights = table.label_rows(rows)
    tasks = table.tasks.reset_index(drop=True)
    held = set(metrics["holdout"]["tasks"])
    imputed = metrics["imputation"]["imputed"]["per_task"]
    out = {}
    for t, row in tasks.iterrows():
        if row["task"] not in held:
            continue
        others = tasks.index[(tasks["target"] == row["target"]) & (tasks["peak_set"] == row["peak_set"])
                             & (tasks["biosample"] != row["biosample"]) & ~tasks["task"].isin(held)]  # fmt: skip
        y, w = labels[:, t], weights[:, t] > 0
        score = labels[:, others].mean(axis=1)
        out[row["task"]] = {
            "other_cells": len(others), "positives": int(y[w].sum()),
            "labels_auroc": float(roc_auc_score(y[w], score[w])),
            "labels_aupr": float(average_precision_score(y[w], score[w])),
            "mfd_auroc": imputed[row["task"]]["auroc"], "mfd_aupr": imputed[row["task"]]["aupr"],
        }  # fmt: skip
    means = {
        k: float(np.mean([v[k] for v in out.values()]))
        for k in ("labels_auroc", "labels_aupr", "mfd_auroc", "mfd_aupr")
    }
    return {"per_task": out, "mean": means}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT)
    parser.add_argument("--bundle", type=Path, default=BUNDLE)
    parser.add_argument(
        "--baseline", type=Path, help="an MFD run folder: print the label baseline of its held-out tasks"
    )
    arguments = parser.parse_args()
    if arguments.baseline:
        import json

        print(json.dumps(label_baseline(arguments.baseline), indent=1))
    else:
        print(build(arguments.out, arguments.bundle))
