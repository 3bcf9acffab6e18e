"""``seqlab demo mfd``: the simulated compendium through the user's code path, MFD vs the plain head.

``run_mfd_demo(out_dir)`` writes a simulated compendium (``seqlab.demo.compendium``: genome, one
narrowPeak file per experiment, a task table with metadata, the planted truth), writes two run configs
(``mfd.yaml``: ``model.head.kind: metadata``, ``train.scheme: mfd``; ``mfd_no_penalty.yaml``: the same
without the independence penalty, an ablation; ``plain.yaml``: the plain multi-task head, same scheme so
that all train on exactly the same examples with the same held-out experiments),
trains both with ``seqlab dna train``'s machinery (:func:`seqlab.pipeline.train`) and reports against the
truth:

* ``mfd.test`` / ``plain.test`` / ``mfd_no_penalty.test``: whole-split AUROC/AUPR of the seen experiments on
  the test chromosome;
* ``imputation``: the held-out factor x biosample experiments (``mfd.holdout``, from the truth), scored
  from their metadata alone, next to the same experiments when seen in training (stage ``seen/``);
* ``disentanglement``: eta² association of each subspace with each factor (``introspection.tsv`` and
  ``introspection.png`` in ``mfd/``); a lab probe: how well a logistic regression on each
  subspace's features of the test windows tells which lab's artefact (GC-rich slots of the ``gc`` lab,
  k-mer slots of the ``kmer`` lab, or none) a window carries (macro one-vs-rest AUROC, 5-fold CV); and
  the artefact attribution: in the logits of a biased lab's experiments, how much of the artefact
  windows' excess comes from the technical vs the biological subspace;
* ``variant_effects``: SNPs at the centre of planted motif sites on the test chromosome vs random SNPs
  there, scored by the MFD model in full and from each subspace alone (``score_variants(...,
  subspace=...)``: ALT changes only that subspace's features) and by the plain head; mean delta logit
  over the experiments the truth says bind the site (its factor, a biosample where it is accessible),
  for random SNPs over every experiment.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from seqlab import pipeline
from seqlab.atomic import write_json, write_text
from seqlab.config import DnaRunConfig, load_config
from seqlab.data.table import ExampleTable
from seqlab.demo.compendium import CompendiumSpec, simulate_compendium
from seqlab.evaluation.disentanglement import features_and_logits
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import SequenceModel

log = logging.getLogger(__name__)

__all__ = ["artefact_attribution", "demo_configs", "demo_snps", "lab_probe", "motif_variant_effects", "run_mfd_demo"]

# Sizes 0.75 / 0.25: a larger technical subspace (0.25 / 0.75) takes the lab artefacts (technical share 0.99
# vs 0.69 with the covariance penalty) but also the motif-site SNP effects, and costs MFD 0.07 test AUROC; the
# one-sided adversarial default reaches 0.90 with these sizes (docs/mfd.md, issue 15).
HEAD = {
    "kind": "metadata",
    "columns": {"target": "categorical", "biosample": "categorical", "assay": "categorical", "lab": "categorical",
                "date": "date"},
    "groups": {"biological": ["target", "biosample"], "technical": ["assay", "lab", "date"]},
    "sizes": {"biological": 0.75, "technical": 0.25},
    "hidden": 16,
}  # fmt: skip
DEFAULT_PENALTY = "cross_prediction"
DEFAULT_WEIGHT = 0.1
LEARNING_RATES = (0.003, 0.01)
TRUNK = {"arch": "deepbind", "filters": 64, "kernel_size": 16, "hidden": 64, "dropout": 0.1}


def demo_configs(
    paths: dict[str, Path],
    seed: int,
    max_epochs: int,
    chroms: list[str],
    penalty: str = DEFAULT_PENALTY,
    weight: float = DEFAULT_WEIGHT,
    allow_small_splits: bool = False,
    learning_rate: float = 0.003,
) -> dict[str, dict[str, Any]]:
    """The run configs (plain dicts, as written to YAML): MFD, MFD without penalty (ablation), the plain head.

    All three share the trunk, the examples, ``max_epochs`` and the patience rule (patience =
    ``max_epochs``: every model trains the full budget and keeps its best-validation checkpoint, so none
    stops early on a noisy validation curve).
    """
    truth = json.loads(Path(paths["truth"]).read_text())
    holdout = [{"target": target, "biosample": biosample} for target, biosample in truth["holdout"]]
    base = {
        "seed": seed,
        "data": {
            "genomes": {"simulated": {"fasta": str(paths["genome"])}},
            "tasks": str(paths["tasks"]),
            "sources": [{"kind": "peaks", "negatives": {"ratio": 1.0, "gc_match": False, "seed": seed}}],
            "window_length": 200,
            "min_overlap": 100,
            "split": {"val_chroms": [chroms[-2]], "test_chroms": [chroms[-1]],
                      "allow_small_splits": allow_small_splits},
            "augment": {"max_shift": 5, "reverse_complement": True},
            "batch_size": 64,
        },
        "train": {"scheme": "mfd", "max_epochs": max_epochs, "patience": max_epochs, "learning_rate": learning_rate,
                  "progress_bar": False},
        "hardware": {"threads": 1},
    }  # fmt: skip
    mfd = base | {
        "name": "demo-mfd",
        "model": {"trunk": TRUNK, "head": HEAD},
        "mfd": {"penalty": penalty, "weight": weight, "holdout": holdout, "holdout_reference": True},
    }
    ablation = base | {
        "name": "demo-mfd-no-penalty",
        "model": {"trunk": TRUNK, "head": HEAD},
        "mfd": {"penalty": "none", "holdout": holdout, "holdout_reference": False},
    }
    plain = base | {
        "name": "demo-mfd-plain",
        "model": {"trunk": TRUNK, "head": {"kind": "linear"}},
        "mfd": {"holdout": holdout, "holdout_reference": False},
    }
    return {"mfd": mfd, "mfd_no_penalty": ablation, "plain": plain}


def _artefact_labels(frame: pd.DataFrame, artifacts: pd.DataFrame) -> np.ndarray:
    """Per window: the lab whose artefact slot it overlaps, else 'none' (str (N,))."""
    labels = np.full(len(frame), "none", dtype=object)
    for row in artifacts.itertuples():
        inside = (frame["chrom"] == row.chrom) & (frame["start"] < row.end) & (frame["end"] > row.start)
        labels[inside.to_numpy()] = row.lab
    return labels


def _test_windows(run_dir: Path, artifacts_path: str | Path) -> tuple[Any, DataParams, np.ndarray, pd.DataFrame]:
    """(model, data params, trunk features float32 (N, F), test windows with their artefact lab) of a run."""
    model = SequenceModel.from_pretrained(run_dir)
    params = model.data_params
    table = ExampleTable.load(Path(run_dir) / pipeline.EXAMPLES_DIR)
    rows = table.split_indices("test")
    frame = table.frame.iloc[rows].reset_index(drop=True)
    frame["artefact"] = _artefact_labels(frame, pd.read_csv(artifacts_path, sep="\t"))
    return model, params, features_and_logits(model, table, rows, params.encoding)[0], frame


def lab_probe(features: np.ndarray, labels: np.ndarray, parts: dict[str, slice], seed: int = 0) -> dict[str, Any]:
    """How well each subspace's features tell which lab's artefact a window carries.

    A standardised logistic regression on the features of each subspace (and on all) is scored by
    5-fold cross-validated macro one-vs-rest AUROC (0.5: no lab signal, 1: the lab is identified).

    Args:
        features: float32 (N, F) trunk features of the windows.
        labels: str (N,): the lab whose artefact slot a window overlaps, else 'none'.
        parts: subspace name -> its feature slice.
        seed: seed of the cross-validation folds.

    Returns:
        ``{"classes": {label: n}, "auroc": {"all" or subspace: float}}`` (no AUROC with < 5 windows in a class).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes, counts = np.unique(labels, return_counts=True)
    out: dict[str, Any] = {"classes": {str(c): int(n) for c, n in zip(classes, counts, strict=True)}, "auroc": {}}
    if len(classes) < 2 or counts.min() < 5:
        return out
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for name, part in ({"all": slice(None)} | dict(parts)).items():
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        scores = cross_val_predict(probe, features[:, part], labels, cv=folds, method="predict_proba")
        out["auroc"][name] = float(roc_auc_score(labels, scores, multi_class="ovr", average="macro"))
    return out


@torch.no_grad()
def artefact_attribution(
    head: Any, params: DataParams, features: np.ndarray, windows: pd.DataFrame
) -> dict[str, dict[str, float]]:
    """Which subspace carries each lab's artefact peaks in that lab's experiments' logits.

    For each seen experiment e of a lab with an artefact (GC-rich or k-mer slots), the logit splits into
    per-group contributions c_g(j) = <z_j^g, w_e^g>; delta_g = mean of c_g over windows on that lab's
    artefact slots minus its mean over background negatives (``source == negative``, no artefact).
    Disentangled: the technical delta carries the artefact (the biological weights are shared by every
    lab, so a biological delta would predict the artefact for other labs too).

    Returns:
        ``{experiment: {group: delta_g, ..., "technical_share": delta_tech / sum |delta_g|}}``.
    """
    parts = head.contributions(torch.from_numpy(features), head.encode_metadata(params.task_metadata))
    background = ((windows["artefact"] == "none") & (windows["source"] == "negative")).to_numpy()
    groups = list(head.groups)
    out: dict[str, dict[str, float]] = {}
    for e, record in enumerate(params.task_metadata):
        on_artefact = (windows["artefact"] == record["lab"]).to_numpy()
        if on_artefact.sum() < 2 or background.sum() < 2:
            continue
        deltas = {}
        for group in groups:
            contribution = parts[group][:, e].numpy()
            deltas[group] = float(contribution[on_artefact].mean() - contribution[background].mean())
        total = sum(abs(v) for v in deltas.values())
        deltas["technical_share"] = float(deltas[groups[-1]] / total) if total > 0 else float("nan")
        out[str(record["task"])] = deltas
    return out


def demo_snps(sites: pd.DataFrame, genome: Any, chrom: str, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` SNPs at the centre of planted motif sites on ``chrom`` and ``n`` random SNPs there.

    Returns:
        ``chrom, pos0, ref, alt, id, kind`` ('motif' or 'random'), ``factor`` and ``site`` (row of ``sites``
        or -1). ALT is the base two steps on in ACGT (A<->G, C<->T), which breaks a motif's centre base.
    """
    rng = np.random.default_rng(seed)
    on_chrom = sites[sites["chrom"] == chrom]
    chosen = on_chrom.iloc[np.sort(rng.permutation(len(on_chrom))[:n])]
    inside = np.zeros(genome.chrom_sizes[chrom], dtype=bool)
    for row in on_chrom.itertuples():
        inside[row.start : row.end] = True
    candidates = np.flatnonzero(~inside[1_000:-1_000]) + 1_000
    random_pos = np.sort(rng.choice(candidates, size=min(3 * n, len(candidates)), replace=False))
    rows = []
    for kind, positions, factors, index in (
        ("motif", ((chosen["start"] + chosen["end"]) // 2).to_numpy(), chosen["factor"].to_numpy(), chosen.index),
        ("random", random_pos, np.full(len(random_pos), ""), np.full(len(random_pos), -1)),
    ):
        kept = 0
        for pos0, factor, site in zip(positions.tolist(), factors, index, strict=True):
            ref = genome.fetch(chrom, pos0, pos0 + 1).upper()
            if ref not in "ACGT" or kept >= n:
                continue
            alt = "ACGT"[("ACGT".index(ref) + 2) % 4]
            rows.append({"chrom": chrom, "pos0": pos0, "ref": ref, "alt": alt, "id": f"{kind}_{pos0 + 1}",
                         "kind": kind, "factor": factor, "site": int(site)})  # fmt: skip
            kept += 1
    return pd.DataFrame(rows)


def _bound_mask(snps: pd.DataFrame, sites: pd.DataFrame, metadata: list[dict[str, Any]]) -> np.ndarray:
    """Mask bool (V, T): experiment t binds variant v's site in the truth (its factor, a biosample where accessible)."""
    mask = np.zeros((len(snps), len(metadata)), dtype=bool)
    for v, (kind, site) in enumerate(zip(snps["kind"], snps["site"], strict=True)):
        if kind != "motif":
            continue
        row = sites.loc[site]
        for t, record in enumerate(metadata):
            biosamples = [b.strip() for b in str(record["biosample"]).split(",")]
            accessible = any(row.get(f"accessible_{b}", 0) == 1 for b in biosamples)
            mask[v, t] = record["target"] == row["factor"] and accessible
    return mask


def motif_variant_effects(
    runs: dict[str, Path], genome_path: str | Path, sites_path: str | Path, chrom: str, n: int = 60, seed: int = 0
) -> dict[str, Any]:
    """Variant effects at planted motif sites vs random SNPs on ``chrom``: MFD in full and per subspace, plain head.

    Args:
        runs: ``{"mfd": run folder, "plain": run folder}``.
        genome_path: the compendium's genome FASTA.
        sites_path: its ``sites.tsv`` (the planted motif instances).
        chrom: the chromosome (the test one: never trained on).
        n: SNPs of each kind.
        seed: which sites and random positions.

    Returns:
        ``{"n_motif", "n_random", "n_bound_pairs", "mean_delta_logit": {scoring: {"motif_bound", "random"}},
        "fraction_negative": {...}}``; scorings ``mfd_full``, ``mfd_<group>`` per subspace, ``plain_full``.
        ``motif_bound``: mean over (motif SNP, experiment binding its site) pairs; ``random``: over every
        (random SNP, experiment) pair.
    """
    from seqlab.evaluation.variant_effect import score_variants
    from seqlab.io.genome import Genome

    genome = Genome(genome_path)
    sites = pd.read_csv(sites_path, sep="\t")
    snps = demo_snps(sites, genome, chrom, n, seed)
    out: dict[str, Any] = {"chrom": chrom, "n_motif": int((snps["kind"] == "motif").sum()),
                           "n_random": int((snps["kind"] == "random").sum()), "mean_delta_logit": {},
                           "fraction_negative": {}}  # fmt: skip
    random = (snps["kind"] == "random").to_numpy()
    for name, run in runs.items():
        model = SequenceModel.from_pretrained(run)
        params = model.data_params
        bound = _bound_mask(snps, sites, params.task_metadata)
        out.setdefault("n_bound_pairs", int(bound.sum()))
        groups = list(model.head.feature_slices) if name == "mfd" else []
        for subspace in ["full", *groups]:
            scores = score_variants(
                model, genome, snps, layout="wide", progress=False,
                subspace=None if subspace == "full" else subspace,
            ).scores.set_index("id").loc[snps["id"]]  # fmt: skip
            delta = scores[[f"delta_logit.{task}" for task in params.tasks]].to_numpy()  # (V, T), input order
            values = {"motif_bound": delta[bound], "random": delta[random].reshape(-1)}
            key = f"{name}_{subspace}"
            out["mean_delta_logit"][key] = {k: float(v.mean()) if v.size else None for k, v in values.items()}
            out["fraction_negative"][key] = {k: float((v < 0).mean()) if v.size else None for k, v in values.items()}
    return out


def _train_search(
    out: Path, name: str, configs: dict[float, dict[str, Any]]
) -> tuple[float, dict[str, Any], dict[str, float]]:
    """Train ``name`` at each learning rate, keep the best validation AUROC's run as ``out/name``.

    The candidates train in ``out/lr_search/<name>-lr<lr>``; the chosen folder is moved to ``out/name``. A
    rerun of the demo replaces its earlier runs (as ``--overwrite`` does, with the same warning).

    Returns:
        (chosen learning rate, its run metrics, {learning rate: validation AUROC}).
    """
    runs: dict[float, dict[str, Any]] = {}
    for lr, raw in configs.items():
        folder = out / "lr_search" / f"{name}-lr{lr:g}"
        path = write_text(out / "lr_search" / f"{name}-lr{lr:g}.yaml", yaml.safe_dump(raw, sort_keys=False))
        runs[lr] = pipeline.train(load_config(path, DnaRunConfig), folder, overwrite=True).metrics
    val = {lr: float(m["val"]["auroc"]) for lr, m in runs.items()}
    chosen = max(val, key=lambda lr: (val[lr], -lr))
    if (out / name).exists():
        log.warning("%s: the demo's rerun replaces the earlier run's folder", out / name)
        shutil.rmtree(out / name)
    shutil.move(str(out / "lr_search" / f"{name}-lr{chosen:g}"), str(out / name))
    write_text(out / f"{name}.yaml", yaml.safe_dump(configs[chosen], sort_keys=False))
    return chosen, runs[chosen], val


def _summary(metrics: dict[str, Any], lr: float, val: dict[str, float]) -> dict[str, Any]:
    """One model's entry of the demo's metrics.json: test metrics, epochs, learning rate search, health."""
    return {
        "test": {key: metrics["test"][key] for key in ("auroc", "aupr", "per_task")},
        "epochs": metrics["epochs"],
        "learning_rate": lr,
        "lr_search": {f"{k:g}": v for k, v in val.items()},
        "live_fraction": metrics["disentanglement"]["live_fraction"],
        "mean_logit_r": metrics["collapse"]["mean_logit_r"],
    }


def run_mfd_demo(
    out_dir: str | Path = "runs/demo-mfd",
    seed: int = 0,
    max_epochs: int = 12,
    spec: CompendiumSpec | None = None,
    penalty: str = DEFAULT_PENALTY,
    weight: float = DEFAULT_WEIGHT,
    allow_small_splits: bool = False,
    learning_rates: tuple[float, ...] = LEARNING_RATES,
) -> dict[str, Any]:
    """Simulate, write configs, train MFD and the fair plain head through the pipeline, probe; write ``metrics.json``.

    Args:
        out_dir: the demo folder: ``data/`` (compendium), ``mfd.yaml``, ``plain.yaml``,
            ``mfd_no_penalty.yaml``, the runs ``mfd/``, ``plain/``, ``mfd_no_penalty/``, the unchosen
            learning-rate candidates in ``lr_search/``, and ``metrics.json``.
        seed: seeds the simulation, negatives and training.
        max_epochs: training epochs of every model (patience = max_epochs, best validation checkpoint).
        spec: compendium sizes (default: ``CompendiumSpec()``).
        penalty: ``mfd.penalty``.
        weight: ``mfd.weight``.
        allow_small_splits: ``data.split.allow_small_splits`` (compendia smaller than the default have
            fewer than 10 positives of some experiments per split).
        learning_rates: the grid searched for MFD and for the plain head alike (validation AUROC); the
            ablation uses MFD's choice.

    Returns:
        ``{"mfd", "plain", "mfd_no_penalty"}`` (each ``test``, ``epochs``, ``learning_rate``,
        ``lr_search``, ``live_fraction``, ``mean_logit_r``), ``imputation``, ``disentanglement``
        (``association``, ``lands_in``, ``null``, ``live_fraction``, ``lab_probe``,
        ``artefact_attribution``), ``collapse`` (``mean_logit_r`` of MFD, ``per_model``),
        ``variant_effects``, ``warnings``, ``runs``, ``wall_time_s``.
    """
    started = time.perf_counter()
    out = Path(out_dir).absolute()  # written into configs that resolve relative paths against their own folder
    spec = spec or CompendiumSpec()
    paths = simulate_compendium(out / "data", seed=seed, spec=spec)
    chroms = list(spec.chrom_sizes)
    grid = {
        lr: demo_configs(paths, seed, max_epochs, chroms, penalty, weight, allow_small_splits, lr)
        for lr in learning_rates
    }
    lr_mfd, mfd, val_mfd = _train_search(out, "mfd", {lr: c["mfd"] for lr, c in grid.items()})
    lr_plain, plain, val_plain = _train_search(out, "plain", {lr: c["plain"] for lr, c in grid.items()})
    ablation_config = write_text(out / "mfd_no_penalty.yaml", yaml.safe_dump(grid[lr_mfd]["mfd_no_penalty"]))
    ablation_run = pipeline.train(load_config(ablation_config, DnaRunConfig), out / "mfd_no_penalty", overwrite=True)
    ablation = ablation_run.metrics

    disentanglement = {key: mfd["disentanglement"][key] for key in ("association", "lands_in", "null")}
    disentanglement["live_fraction"] = mfd["disentanglement"]["live_fraction"]
    model, params, features, windows = _test_windows(out / "mfd", paths["artifacts"])
    disentanglement["lab_probe"] = lab_probe(features, windows["artefact"].to_numpy(), model.head.feature_slices, seed)
    attribution = artefact_attribution(model.head, params, features, windows)
    shares = [v["technical_share"] for v in attribution.values() if np.isfinite(v["technical_share"])]
    disentanglement["artefact_attribution"] = {
        "per_experiment": attribution,
        "mean_technical_share": float(np.mean(shares)) if shares else None,
    }
    variant_effects = motif_variant_effects(
        {"mfd": out / "mfd", "plain": out / "plain"}, paths["genome"], paths["sites"], chroms[-1], seed=seed
    )
    metrics = {
        "mfd": _summary(mfd, lr_mfd, val_mfd) | {"penalty": mfd["penalty"], "weight": weight},
        "plain": _summary(plain, lr_plain, val_plain),
        "mfd_no_penalty": _summary(ablation, lr_mfd, {lr_mfd: float(ablation["val"]["auroc"])})
        | {"imputed": {k: ablation["imputation"]["imputed"][k] for k in ("auroc", "aupr")}},
        "imputation": mfd.get("imputation"),
        "disentanglement": disentanglement,
        "collapse": {
            "mean_logit_r": mfd["collapse"]["mean_logit_r"],
            "per_model": {name: m["collapse"]["mean_logit_r"] for name, m in
                          (("mfd", mfd), ("plain", plain), ("mfd_no_penalty", ablation))},
        },
        "variant_effects": variant_effects,
        "warnings": {name: m["warnings"] for name, m in (("mfd", mfd), ("plain", plain), ("mfd_no_penalty", ablation))},
        "runs": {"mfd": str(out / "mfd"), "plain": str(out / "plain"), "mfd_no_penalty": str(out / "mfd_no_penalty"),
                 "introspection": str(out / "mfd" / "introspection.tsv"),
                 "heatmap": str(out / "mfd" / "introspection.png")},
    }  # fmt: skip
    metrics["wall_time_s"] = round(time.perf_counter() - started, 1)
    write_json(out / "metrics.json", metrics)
    return metrics
