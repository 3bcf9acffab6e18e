"""Labelled protein tasks for fine-tuning, all returned as one structure (:class:`LabelledTask`).

Every loader gives a table with one row per example: ``id_a, seq_a`` (and ``id_b, seq_b`` for pair
tasks), ``label`` (int class index into ``classes``) and ``split`` (train / val / test). Loaders
are seeded: the same arguments give the same table. ``max_examples`` subsamples the finished
table uniformly over rows (so split proportions are kept on average).

Tasks and their rules:

* **localization** (p-scldata): the package's ``train`` / ``eval`` / ``heldout`` splits become
  train / val / test; classes are the ``scl`` strings of the data (13 classes, 4 of them compound
  like ``Cytoplasm;Nucleus``). ``compound_labels``: ``keep`` (compound strings are classes of their
  own), ``drop`` (proteins with a compound label are removed) or ``other`` (they become ``Other``).
  ``min_class_count``: classes with fewer *training* examples become ``Other``.
* **shs27k** (binding prediction, binary): positives are the unordered protein pairs of the STRING
  actions file whose best score over all rows is ``>= score_threshold`` (0: every pair of the file).
  **Strict split**: proteins (those of positive pairs) are partitioned at random into train / val /
  test by ``val_fraction`` / ``test_fraction``; a pair belongs to the split holding both its
  proteins, and pairs whose proteins fall in different partitions are dropped (counted in
  ``notes["dropped_cross_split_pairs"]``). No test protein is ever in a training pair.
  Negatives are drawn within each split: both ends from the multiset of that split's positive-pair
  ends (so a protein is about as frequent among negatives as among positives and protein
  frequency is no shortcut), rejecting self pairs, any pair linked in the file at any score, and
  duplicates; ``negative_ratio`` negatives per positive.
* **tcr** (MIRA, binary): positives are the distinct (CDR3-beta, epitope group) records. A MIRA
  group is one pool of candidate peptides and which one a TCR binds is unknown, so each group is
  represented by **the first peptide listed** in its ``epitope`` column (first row of the group):
  a fixed representative, so the label stays a function of (CDR3, group). CDR3s are partitioned
  into train / val / test, so test CDR3s are never seen in training (epitopes are shared by all
  splits: this is an unseen-TCR split, not an unseen-epitope one). Negatives pair a CDR3 with the
  epitope of another group, within each split: CDR3 and group drawn independently from the split's
  positives (both frequencies match the positives'), rejecting any (CDR3, epitope) that is a known
  positive anywhere in the file, and duplicates.
* **table** (users' own data): a TSV with columns ``sequence``, ``label`` and optionally
  ``sequence_b`` (pair task), ``split`` (train / val / test), ``id``, ``id_b``. Without ``split``,
  rows are split at random, which does not control homology: for remote-homology-like tasks
  (e.g. fold classes) give a ``split`` column that holds whole superfamilies or folds out.

Counts with the defaults (seed 0, ``val_fraction = test_fraction = 0.1``, ratio 1) on the shared
data bundle:

* shs27k: 7,624 positive pairs over 1,690 proteins; 5,274 kept (train 5,145 / val 52 / test 77),
  2,350 cross-split pairs dropped; as many negatives per split: 10,548 examples.
* tcr: 24,892 records, 22,491 distinct positives over 22,342 CDR3s and 29 groups; positives
  train 17,995 / val 2,249 / test 2,247, and as many negatives per split: 44,982 examples.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from seqlab.extras import require
from seqlab.io.protein import clean_sequence, read_sequences, read_string_links, read_string_table
from seqlab.protein.config import FinetuneDataConfig
from seqlab.protein.corpus import PairCorpus

log = logging.getLogger(__name__)

__all__ = [
    "SPLITS",
    "LabelledTask",
    "corpus_protein_splits",
    "load_localization",
    "load_shs27k",
    "load_table",
    "load_task",
    "load_tcr",
]

SPLITS = ("train", "val", "test")
BINDING_CLASSES = ["non-binding", "binding"]
OTHER = "Other"


@dataclass
class LabelledTask:
    """A labelled data set: ``frame`` (one row per example) and the class names.

    ``frame`` columns: ``id_a, seq_a`` [``id_b, seq_b``], ``label`` (int, index into ``classes``),
    ``split`` (train / val / test). ``notes`` records the rules and counts of the loader.
    """

    name: str
    frame: pd.DataFrame
    classes: list[str]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def is_pair(self) -> bool:
        """Whether examples are sequence pairs (``seq_b`` present)."""
        return "seq_b" in self.frame.columns

    def split(self, name: str) -> pd.DataFrame:
        """The rows of one split (index reset)."""
        return self.frame[self.frame["split"] == name].reset_index(drop=True)

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples per split and class name: ``{"train": {"Nucleus": 3202, ...}, ...}``."""
        table = self.frame.groupby(["split", "label"]).size()
        return {
            split: {self.classes[label]: int(table.get((split, label), 0)) for label in range(len(self.classes))}
            for split in SPLITS
        }

    def summary(self) -> dict[str, Any]:
        """Name, classes, pair flag, counts per split and class, and the loader's notes (JSON-ready)."""
        return {
            "name": self.name,
            "classes": self.classes,
            "pair": self.is_pair,
            "counts": self.counts(),
            **self.notes,
        }


# --------------------------------------------------------------------------- helpers


def _partition(keys: np.ndarray, val_fraction: float, test_fraction: float, rng: np.random.Generator) -> pd.Series:
    """Assign every key (sorted first, so the result depends only on the key set and rng) to a split."""
    keys = np.sort(np.unique(keys))
    order = rng.permutation(keys.size)
    n_test = int(round(test_fraction * keys.size))
    n_val = int(round(val_fraction * keys.size))
    split = np.full(keys.size, "train", dtype=object)
    split[order[:n_test]] = "test"
    split[order[n_test : n_test + n_val]] = "val"
    return pd.Series(split, index=keys)


def _draw_negatives(
    left: np.ndarray,
    right: np.ndarray,
    forbidden: set[tuple[str, str]],
    n: int,
    rng: np.random.Generator,
    unordered: bool,
) -> list[tuple[str, str]]:
    """Draw up to ``n`` distinct pairs (left[i], right[j]) with i, j uniform, rejecting forbidden pairs.

    With ``unordered`` a pair is stored as (min, max) and self pairs are rejected. Returns fewer than
    ``n`` pairs only when 100 rounds of draws could not find enough (tiny splits).
    """
    chosen: dict[tuple[str, str], None] = {}
    if left.size == 0 or right.size == 0:
        return []
    for _ in range(100):
        missing = n - len(chosen)
        if missing <= 0:
            break
        size = 2 * missing + 16
        for a, b in zip(left[rng.integers(0, left.size, size)], right[rng.integers(0, right.size, size)], strict=True):
            if unordered:
                if a == b:
                    continue
                a, b = min(a, b), max(a, b)
            if (a, b) in forbidden or (a, b) in chosen:
                continue
            chosen[(a, b)] = None
            if len(chosen) == n:
                break
    return list(chosen)


def _merge_rare(labels: pd.Series, split: pd.Series, min_class_count: int) -> pd.Series:
    """Replace classes with fewer than ``min_class_count`` training examples by ``Other``."""
    if min_class_count <= 0:
        return labels
    train_counts = labels[split == "train"].value_counts()
    rare = [c for c in labels.unique() if train_counts.get(c, 0) < min_class_count]
    return labels.where(~labels.isin(rare), OTHER)


def _finish(
    name: str,
    frame: pd.DataFrame,
    classes: list[str],
    notes: dict[str, Any],
    max_examples: int | None,
    seed: int,
) -> LabelledTask:
    """Map ``label_name`` to indices, subsample, order the columns and build the task."""
    index = {c: i for i, c in enumerate(classes)}
    frame = frame.assign(label=frame.pop("label_name").map(index).astype(np.int64))
    if max_examples is not None and len(frame) > max_examples:
        frame = frame.sample(n=max_examples, random_state=seed)
        notes = {**notes, "subsampled_to": max_examples}
    columns = [c for c in ("id_a", "seq_a", "id_b", "seq_b", "label", "split") if c in frame.columns]
    return LabelledTask(name, frame[columns].reset_index(drop=True), classes, notes)


def _residues(path: Path, values: pd.Series, ids: pd.Series | None = None) -> list[str]:
    """The sequences of a table column, upper-cased and checked (:func:`clean_sequence`, non-standard
    letters mapped to X); a digit or symbol is an error naming the file, the line and the id.
    """
    out, mapped = [], 0
    names = ids.to_numpy() if ids is not None else [None] * len(values)
    for row, raw, name in zip(values.index, values.to_numpy(), names, strict=True):
        seq, count = clean_sequence(raw, source=str(path), line=int(row) + 2, seq_id=name or f"row{int(row) + 1}")
        out.append(seq)
        mapped += count
    if mapped:
        log.warning("%s: %d non-standard residues mapped to X", path, mapped)
    return out


# --------------------------------------------------------------------------- loaders


def load_localization(
    *,
    compound_labels: Literal["keep", "drop", "other"] = "keep",
    min_class_count: int = 0,
    max_examples: int | None = None,
    seed: int = 0,
) -> LabelledTask:
    """Subcellular localization from p-scldata (train / eval / heldout -> train / val / test).

    Rules for compound and rare classes: see the module docstring.
    """
    load = require("scldata.loader", "data.kind: localization").load

    parts = []
    for source, split in (("train", "train"), ("eval", "val"), ("heldout", "test")):
        data = load(source)
        ids = data.index.astype(str)
        # the same residue rule as every protein reader: letters outside the 20 + X (selenocysteine U...) -> X
        sequences = [
            clean_sequence(seq, source=f"p-scldata {source}", seq_id=seq_id)[0]
            for seq, seq_id in zip(data["seq"].astype(str), ids, strict=True)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "id_a": ids,
                    "seq_a": sequences,
                    "label_name": data["scl"].astype(str).to_numpy(),
                    "split": split,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    compound = frame["label_name"].str.contains(";", regex=False)
    if compound_labels == "drop":
        frame = frame[~compound].reset_index(drop=True)
    elif compound_labels == "other":
        frame.loc[compound, "label_name"] = OTHER
    frame["label_name"] = _merge_rare(frame["label_name"], frame["split"], min_class_count)
    notes = {"source": "p-scldata", "compound_labels": compound_labels, "min_class_count": min_class_count}
    return _finish("localization", frame, sorted(frame["label_name"].unique()), notes, max_examples, seed)


def load_shs27k(
    actions: str | Path,
    sequences: str | Path,
    *,
    score_threshold: int = 0,
    negative_ratio: float = 1.0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    max_examples: int | None = None,
    seed: int = 0,
    fixed_splits: Mapping[str, str] | None = None,
) -> LabelledTask:
    """SHS27k binding prediction as pair classification with a strict protein-level split.

    ``fixed_splits`` (protein id -> split, e.g. :func:`corpus_protein_splits` of a pre-training
    corpus) overrides the random partition for the proteins it names, so a protein a pre-training
    run trained on stays in training here, and its held-out proteins stay held out.

    ``actions`` is a STRING actions / links file (``read_string_links`` formats); ``sequences`` a
    sequence dictionary TSV or FASTA holding every protein of the positive pairs. Rules for
    positives, the strict split and negatives: see the module docstring.

    Raises:
        ValueError: proteins of positive pairs are missing from ``sequences`` (names both files).
    """
    rng = np.random.default_rng(seed)
    links = read_string_links(actions)
    first = links["protein1"].astype(str).to_numpy()
    second = links["protein2"].astype(str).to_numpy()
    pairs = pd.DataFrame(
        {"a": np.minimum(first, second), "b": np.maximum(first, second), "score": links["combined_score"]}
    )
    pairs = pairs[pairs["a"] != pairs["b"]]
    best = pairs.groupby(["a", "b"], sort=True)["score"].max().reset_index()
    linked = set(zip(best["a"], best["b"], strict=True))
    positives = best[best["score"] >= score_threshold].reset_index(drop=True)
    if positives.empty:
        raise ValueError(f"{actions}: no pair has a score >= {score_threshold}")
    seqs = read_sequences(sequences)
    proteins = np.unique(np.concatenate([positives["a"], positives["b"]]))
    absent = [p for p in proteins if p not in seqs]
    if absent:
        raise ValueError(f"{len(absent)} protein(s) of {actions} are missing from {sequences}, e.g. {absent[:3]}")
    part = _partition(proteins, val_fraction, test_fraction, rng)
    kept = part.index.intersection(list(fixed_splits or {}))
    if len(kept):
        part.loc[kept] = [fixed_splits[key] for key in kept]  # type: ignore[index]
    split_a = positives["a"].map(part)
    same = split_a == positives["b"].map(part)
    positives = positives[same].assign(split=split_a[same])
    rows = [positives.assign(label_name=BINDING_CLASSES[1])[["a", "b", "label_name", "split"]]]
    shortfall = 0
    for split in SPLITS:
        mine = positives[positives["split"] == split]
        n = int(round(negative_ratio * len(mine)))
        pool = np.concatenate([mine["a"].to_numpy(), mine["b"].to_numpy()])
        drawn = _draw_negatives(pool, pool, linked, n, rng, unordered=True)
        shortfall += n - len(drawn)
        rows.append(pd.DataFrame(drawn, columns=["a", "b"]).assign(label_name=BINDING_CLASSES[0], split=split))
    frame = pd.concat(rows, ignore_index=True).rename(columns={"a": "id_a", "b": "id_b"})
    frame["seq_a"] = frame["id_a"].map(seqs)
    frame["seq_b"] = frame["id_b"].map(seqs)
    notes = {
        "source": str(actions),
        "score_threshold": score_threshold,
        "split_rule": "strict: proteins partitioned; a pair's split holds both proteins",
        "proteins_with_fixed_split": int(len(kept)),
        "proteins": int(proteins.size),
        "positive_pairs": int(len(same)),
        "dropped_cross_split_pairs": int((~same).sum()),
        "negative_shortfall": shortfall,
    }
    return _finish("shs27k", frame, list(BINDING_CLASSES), notes, max_examples, seed)


def load_tcr(
    path: str | Path,
    *,
    negative_ratio: float = 1.0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    max_examples: int | None = None,
    seed: int = 0,
) -> LabelledTask:
    """TCR (CDR3-beta) / epitope binding from the MIRA TSV, split so that test CDR3s are unseen.

    Columns used: ``cdr3_b_aa``, ``epitope``, ``epitope_group``. Rules: see the module docstring.
    """
    rng = np.random.default_rng(seed)
    data = read_string_table(Path(path), ["cdr3_b_aa", "epitope", "epitope_group"])
    data = data[(data["cdr3_b_aa"].str.strip() != "") & (data["epitope"].str.strip() != "")]
    if data.empty:
        raise ValueError(f"{path}: no record with both a cdr3_b_aa and an epitope")
    data = data.assign(cdr3_b_aa=_residues(Path(path), data["cdr3_b_aa"]))
    for row, epitopes in zip(data.index, data["epitope"], strict=True):  # every peptide listed, row by row
        for peptide in epitopes.split(","):
            clean_sequence(peptide, source=str(path), line=int(row) + 2, seq_id=epitopes)
    representative = data.groupby("epitope_group", sort=True)["epitope"].first().str.split(",").str[0].str.strip()
    positives = data[["cdr3_b_aa", "epitope_group"]].drop_duplicates().reset_index(drop=True)
    positives["epitope_seq"] = positives["epitope_group"].map(representative)
    forbidden = set(zip(positives["cdr3_b_aa"], positives["epitope_seq"], strict=True))
    positives["split"] = positives["cdr3_b_aa"].map(
        _partition(positives["cdr3_b_aa"].to_numpy(), val_fraction, test_fraction, rng)
    )
    rows = [positives.assign(label_name=BINDING_CLASSES[1])]
    shortfall = 0
    for split in SPLITS:
        mine = positives[positives["split"] == split]
        n = int(round(negative_ratio * len(mine)))
        drawn = _draw_negatives(
            mine["cdr3_b_aa"].to_numpy(), mine["epitope_seq"].to_numpy(), forbidden, n, rng, unordered=False
        )
        shortfall += n - len(drawn)
        negatives = pd.DataFrame(drawn, columns=["cdr3_b_aa", "epitope_seq"])
        group_of = dict(zip(mine["epitope_seq"], mine["epitope_group"], strict=True))
        negatives["epitope_group"] = negatives["epitope_seq"].map(group_of)
        rows.append(negatives.assign(label_name=BINDING_CLASSES[0], split=split))
    frame = pd.concat(rows, ignore_index=True)
    frame = pd.DataFrame(
        {
            "id_a": frame["cdr3_b_aa"],
            "seq_a": frame["cdr3_b_aa"],
            "id_b": frame["epitope_group"],
            "seq_b": frame["epitope_seq"],
            "label_name": frame["label_name"],
            "split": frame["split"],
        }
    )
    notes = {
        "source": str(path),
        "epitope_rule": "first peptide listed in the group's epitope column",
        "split_rule": "CDR3s partitioned; test CDR3s unseen in training",
        "records": int(len(data)),
        "positive_pairs": int(len(positives)),
        "cdr3s": int(positives["cdr3_b_aa"].nunique()),
        "groups": int(representative.size),
        "negative_shortfall": shortfall,
    }
    return _finish("tcr", frame, list(BINDING_CLASSES), notes, max_examples, seed)


def load_table(
    path: str | Path,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    min_class_count: int = 0,
    max_examples: int | None = None,
    seed: int = 0,
) -> LabelledTask:
    """A user's labelled TSV: ``sequence[, sequence_b], label[, split][, id][, id_b]``.

    Sequences are upper-cased and stripped; classes are the sorted distinct labels.

    Raises:
        ValueError: a required column is missing, a sequence or label is empty, or a split value is
            not train / val / test; the message names the file, the column and the line.
    """
    path = Path(path)
    data = read_string_table(path, ["sequence", "label"])
    if data.empty:
        raise ValueError(f"{path}: the table has no rows")
    columns = ["sequence", "label"] + (["sequence_b"] if "sequence_b" in data.columns else [])
    for column in columns:
        empty = np.flatnonzero(data[column].str.strip() == "")
        if empty.size:
            raise ValueError(f"{path}: empty {column!r} on line {empty[0] + 2} ({empty.size} empty in all)")
    ids = data["id"] if "id" in data.columns else pd.Series([f"row{i + 1}" for i in range(len(data))])
    frame = pd.DataFrame(
        {
            "id_a": ids,
            "seq_a": _residues(path, data["sequence"], ids),
            "label_name": data["label"].str.strip(),
        }
    )
    if "sequence_b" in data.columns:
        frame["id_b"] = data["id_b"] if "id_b" in data.columns else [f"row{i + 1}b" for i in range(len(data))]
        frame["seq_b"] = _residues(path, data["sequence_b"], frame["id_b"])
    if "split" in data.columns:
        frame["split"] = data["split"].str.strip()
        bad = np.flatnonzero(~frame["split"].isin(SPLITS))
        if bad.size:
            value = frame["split"].iloc[bad[0]]
            raise ValueError(f"{path}: column 'split' has {value!r} on line {bad[0] + 2}; expected one of {SPLITS}")
    else:
        row_ids = np.arange(len(frame))
        rng = np.random.default_rng(seed)
        frame["split"] = _partition(row_ids, val_fraction, test_fraction, rng).loc[row_ids].to_numpy()
    frame["label_name"] = _merge_rare(frame["label_name"], frame["split"], min_class_count)
    notes = {"source": str(path), "split_rule": "split column" if "split" in data.columns else "random rows"}
    return _finish("table", frame, sorted(frame["label_name"].unique()), notes, max_examples, seed)


def corpus_protein_splits(path: str | Path) -> dict[str, str]:
    """Protein id -> split of a pair corpus folder (or its pairs.tsv.gz); 'train' wins for a protein in
    several splits (a non-strict corpus), so whatever pre-training trained on is never held out later.
    """
    corpus = PairCorpus.load(path)
    splits: dict[str, str] = {}
    for split in reversed(SPLITS):  # train last: it overrides
        splits.update(dict.fromkeys(corpus.proteins(split), split))
    return splits


def load_task(config: FinetuneDataConfig, seed: int = 0) -> LabelledTask:
    """Load the task a ``FinetuneDataConfig`` describes (dispatch on ``config.kind``)."""
    fractions = {"val_fraction": config.val_fraction, "test_fraction": config.test_fraction}
    common = {"max_examples": config.max_examples, "seed": seed}
    if config.kind == "localization":
        return load_localization(
            compound_labels=config.compound_labels, min_class_count=config.min_class_count, **common
        )
    assert config.path is not None  # checked by FinetuneDataConfig
    if config.kind == "shs27k":
        assert config.sequences is not None
        return load_shs27k(
            config.path,
            config.sequences,
            score_threshold=config.score_threshold,
            negative_ratio=config.negative_ratio,
            fixed_splits=corpus_protein_splits(config.protein_splits) if config.protein_splits else None,
            **fractions,
            **common,
        )
    if config.kind == "tcr":
        return load_tcr(config.path, negative_ratio=config.negative_ratio, **fractions, **common)
    return load_table(config.path, min_class_count=config.min_class_count, **fractions, **common)
