"""Build the task table of the ENCODE-DREAM chr22 compendium for MFD (examples/mfd_encode_dream_chr22.yaml).

    python examples/mfd_encode_dream_chr22.py [OUT] [--bundle DIR]
    python examples/mfd_encode_dream_chr22.py --summarise RUN [--plain PLAIN_RUN]   # after seqlab dna train

Writes into OUT (default ``runs/mfd_encode_dream_chr22_data``, beside the repository's ``runs/``):

* ``summits/<task>.bed``: one 1-bp interval [start + peak, start + peak + 1) per peak row of the
  bundle's file (conservative and relaxed alike; the relaxed files' 10 extra IDR columns are dropped).
  With ``data.min_overlap: 1`` and 200-bp tiling bins, a bin is positive for a task exactly when one
  of its summits falls in the bin; every other bin is negative (a bin with only a relaxed summit is a
  negative of the conservative task: the conservative set is the stricter call of the same data).
* ``tasks.tsv``: one task per experiment x peak set (``<biosample>.<target>.<peak_set>``, 174 rows), with
  ``target``, ``biosample``, ``peak_set`` and the cell line's 8 expression covariates ``GEPC1``..``GEPC8``
  (``biosamples.tsv``); peak paths are absolute (the file is generated on this machine).

``--summarise RUN`` prints a run's figures (docs/results.md): seen tasks' test AUROC/AUPR, live features,
collapse, the conservative/relaxed disentanglement (:func:`disentanglement`) and, for an MFD run with held-out
experiments, their imputed AUROC/AUPR next to the two baselines of
:func:`seqlab.evaluation.compendium.imputation_baselines` (observed labels of the same TF and peak set in the
other cells, averaged; with ``--plain``, the fair plain head's outputs for them, averaged).

The bundle is ``../shared/data/dna/encode_dream_chr22`` (README there).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
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


def _seen_means(metrics: dict) -> dict[str, float]:
    """Mean test AUROC/AUPR of the seen tasks, overall and per peak set (NaN-skipping)."""
    per_task = metrics["test"]["per_task"]
    out = {"auroc": metrics["test"]["auroc"], "aupr": metrics["test"]["aupr"]}
    for peak_set in ("conservative", "relaxed"):
        values = [v["aupr"] for t, v in per_task.items() if t.endswith(peak_set) and v.get("aupr") is not None]
        out[f"aupr_{peak_set}"] = float(np.nanmean(values)) if values else float("nan")
    return out


def _pairs(tasks: list[str]) -> list[tuple[int, int]]:
    """(conservative, relaxed) column pairs of the same experiment among ``tasks`` (``<cell>.<TF>.<peak_set>``)."""
    index = {t: i for i, t in enumerate(tasks)}
    return [(i, index[t[: -len("conservative")] + "relaxed"]) for t, i in index.items()
            if t.endswith(".conservative") and t[: -len("conservative")] + "relaxed" in index]  # fmt: skip


def disentanglement(run: Path) -> dict:
    """The conservative/relaxed difference of a run's model on the test bins (MFD or plain head).

    * ``shift``: for every seen experiment with both peak sets, the change of its logit when only
      ``peak_set`` changes (conservative -> relaxed; for the plain head: its relaxed output minus its
      conservative output). ``shift_auroc``: how well that change ranks the experiment's relaxed-only
      bins (a relaxed summit, no conservative one) among all test bins, mean over experiments;
      ``share`` (metadata head): each subspace's share of the mean |change| (technical = 1 by
      construction: the biological weights do not read ``peak_set``).
    * ``probe``: a logistic regression (5-fold CV AUROC) on each subspace's features of the test bins
      that carry a summit of any of these experiments: relaxed-only bins (1) vs bins with a conservative
      summit (0).
    """
    from seqlab.data.table import ExampleTable
    from seqlab.evaluation.compendium import logit_shift
    from seqlab.evaluation.disentanglement import features_and_logits
    from seqlab.evaluation.probe import linear_probe
    from seqlab.metrics import binary_auroc_aupr
    from seqlab.models.metadata_head import MetadataHead
    from seqlab.models.sequence_model import SequenceModel

    model = SequenceModel.from_pretrained(run)
    table = ExampleTable.load(run / "examples")
    rows = table.split_indices("test")
    labels, _ = table.label_rows(rows)
    names = list(table.task_names)
    features, logits = features_and_logits(model, table, rows, model.data_params.encoding)
    tasks = list(model.tasks)
    pairs = _pairs(tasks)
    con, rel = [p[0] for p in pairs], [p[1] for p in pairs]
    y_con = labels[:, [names.index(tasks[i]) for i in con]] > 0.5
    y_rel = labels[:, [names.index(tasks[i]) for i in rel]] > 0.5
    out: dict = {"experiments": len(pairs)}
    if isinstance(model.head, MetadataHead):
        metadata = model.data_params.task_metadata
        shift = logit_shift(model.head, features, [metadata[i] for i in con], [metadata[i] for i in rel])
        delta = sum(shift["delta"].values()) + shift["bias"][None, :]
        out["share"] = shift["share"]
        parts = dict(model.head.feature_slices) | {"full": slice(None)}
    else:
        delta = logits[:, rel] - logits[:, con]
        parts = {"full": slice(None)}
    only = y_rel & ~y_con
    out["shift_auroc"] = float(np.nanmean([binary_auroc_aupr(only[:, e], delta[:, e])[0] for e in range(len(pairs))]))
    peak = y_rel.any(axis=1) | y_con.any(axis=1)
    label = (~y_con.any(axis=1))[peak].astype(int)
    probe = linear_probe({k: features[peak][:, v] for k, v in parts.items()}, label, folds=5)
    out["probe"] = {row.feature_set: {"auroc": row.auroc, "n_features": row.n_features} for row in probe.itertuples()}
    out["probe_windows"] = {"relaxed_only": int(label.sum()), "conservative": int((label == 0).sum())}
    return out


def summarise(run: Path, plain: Path | None = None) -> dict:
    """One run's figures for docs/results.md: seen tasks, live features, collapse, disentanglement, and for an
    MFD run with held-out experiments the imputed ones next to both baselines (``plain``: the fair plain head's
    run with the same held-out experiments: the average of its outputs for the same TF in the other cells).
    """
    from seqlab.data.table import ExampleTable
    from seqlab.evaluation.compendium import imputation_baselines
    from seqlab.models.sequence_model import SequenceModel

    metrics = json.loads((run / "metrics.json").read_text())
    out = {"seen": _seen_means(metrics), "epochs": metrics.get("epochs"), "steps": metrics.get("steps"),
           "live_fraction": metrics["disentanglement"]["live_fraction"],
           "mean_logit_r": metrics["collapse"]["mean_logit_r"], "disentanglement": disentanglement(run)}  # fmt: skip
    imputation = metrics.get("imputation")
    if imputation:
        held = list(imputation["held_out"])
        plain_model = SequenceModel.from_pretrained(plain) if plain else None
        baselines = imputation_baselines(ExampleTable.load(run / "examples"), held, plain_model)
        for task in held:
            baselines["per_task"][task] |= {
                f"mfd_{k}": imputation["imputed"]["per_task"][task][k] for k in ("auroc", "aupr")
            }
        baselines["mean"] |= {f"mfd_{k}": imputation["imputed"][k] for k in ("auroc", "aupr")}
        out["imputation"] = baselines
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT)
    parser.add_argument("--bundle", type=Path, default=BUNDLE)
    parser.add_argument("--summarise", type=Path, metavar="RUN", help="a run folder: print its figures (JSON)")
    parser.add_argument("--plain", type=Path, help="with --summarise of an MFD run: the fair plain head's run")
    arguments = parser.parse_args()
    if arguments.summarise:
        print(json.dumps(summarise(arguments.summarise, arguments.plain), indent=1))
    else:
        print(build(arguments.out, arguments.bundle))
