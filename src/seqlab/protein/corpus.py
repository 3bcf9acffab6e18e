"""Protein pair corpora from STRING links: binding pairs, unlinked non-binding pairs, strict splits.

Construction (:func:`build_pair_corpus`, seeded, deterministic):

1. Rows linking a protein to itself are dropped; proteins without a sequence are dropped with their
   links (``missing_sequences="drop"``, counted) or stop the build (``"error"``).
2. Rows become unordered pairs; a pair's score is its highest score over rows and modes.
3. Binding pairs: score >= ``score_threshold``. The protein pool: the proteins of binding pairs.
4. Splits. Strict (default): the *proteins* of the pool are shuffled and cut into test, validation
   and training sets (``test_fraction``, ``val_fraction`` of proteins); a binding pair goes to the
   split of its two proteins, and a pair whose proteins fall in different splits is dropped
   (counted). No protein of a validation or test pair is then in the training (pre-training) split.
   Non-strict: binding pairs are shuffled and cut by the same fractions (of pairs).
5. Non-binding pairs: ``round(negative_ratio * binding)`` random pairs per split, drawn from the
   proteins of that split's binding pairs (strict) or from the whole pool (non-strict; then cut by
   the fractions), never self pairs, never duplicated, and linked at no score in the file. Where a
   (small) split has fewer unlinked pairs than that, all of them are taken and the shortfall is
   reported (``non_binding_shortfall``, with a warning).
6. Each pair's order is randomised (A/B swapped with probability 1/2) and rows are shuffled.

The records keep the binding label and score for evaluation and fine-tuning; pre-training
(``seqlab.protein.pretrain``) reads only the sequences. The length limit in tokens is applied
after tokenization, at pre-training time (``corpus.max_tokens``, ``corpus.length_policy``; counted).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.atomic import atomic_open, write_json
from seqlab.io.errors import InputError
from seqlab.io.protein import ALPHABET, read_sequences, read_string_links, read_string_table
from seqlab.outputs import new_folder
from seqlab.protein.config import CorpusConfig

__all__ = ["COLUMNS", "PAIRS_FILE", "SPLITS", "PairCorpus", "build_pair_corpus", "corpus_from_config"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Split names, in the order rows are stored."""
COLUMNS: tuple[str, ...] = ("id_a", "id_b", "seq_a", "seq_b", "binding", "score", "split")
"""Columns of ``PairCorpus.frame``."""
log = logging.getLogger(__name__)

PAIRS_FILE = "pairs.tsv.gz"
"""File name of the pair table inside a corpus folder."""
SUMMARY_FILE = "summary.json"
# Up to this many candidate pairs in a protein set, non-binding pairs are drawn exactly from the
# enumerated unlinked pairs; above it, by rejection sampling.
_ENUMERATE_LIMIT = 4_000_000


@dataclass
class PairCorpus:
    """A protein pair corpus: one row per unordered pair, in random A/B order.

    Attributes:
        frame: columns ``id_a, id_b, seq_a, seq_b`` (str), ``binding`` (int64, 1 binding, 0 not),
            ``score`` (int64, the pair's highest STRING score, 0 for non-binding pairs),
            ``split`` (``train``/``val``/``test``).
        report: counts of the construction (rows read, pairs dropped and why, proteins per split).
    """

    frame: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"pair corpus lacks column(s) {', '.join(missing)}")
        unknown = set(self.frame["split"]) - set(SPLITS)
        if unknown:
            raise ValueError(f"pair corpus has unknown split(s) {sorted(unknown)}; expected {SPLITS}")
        types = {c: ("int64" if c in ("binding", "score") else str) for c in COLUMNS}
        self.frame = self.frame[list(COLUMNS)].astype(types).reset_index(drop=True)

    def pairs(self, split: str) -> pd.DataFrame:
        """The rows of one split (index reset)."""
        return self.frame[self.frame["split"] == split].reset_index(drop=True)

    def proteins(self, split: str | None = None) -> dict[str, str]:
        """``{id: sequence}`` of the proteins in the pairs of ``split`` (all splits when None)."""
        rows = self.frame if split is None else self.frame[self.frame["split"] == split]
        ids = pd.concat([rows["id_a"], rows["id_b"]], ignore_index=True)
        seqs = pd.concat([rows["seq_a"], rows["seq_b"]], ignore_index=True)
        return dict(zip(ids, seqs, strict=True))

    def singles(self) -> pd.DataFrame:
        """Single-sequence corpus of the same proteins: columns ``id, sequence, split``.

        One row per protein and split it occurs in (proteins sorted by id within a split).
        """
        parts = []
        for split in SPLITS:
            proteins = self.proteins(split)
            ids = sorted(proteins)
            parts.append(pd.DataFrame({"id": ids, "sequence": [proteins[i] for i in ids], "split": split}))
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> dict[str, Any]:
        """Counts: pairs per split and label, proteins per split, val/test proteins also in training."""
        pairs: dict[str, dict[str, int]] = {}
        for split in (*SPLITS, "all"):
            rows = self.frame if split == "all" else self.frame[self.frame["split"] == split]
            binding = int(rows["binding"].sum())
            pairs[split] = {"binding": binding, "non_binding": len(rows) - binding, "total": len(rows)}
        proteins = {split: set(self.proteins(split)) for split in SPLITS}
        return {
            "pairs": pairs,
            "proteins": {**{s: len(p) for s, p in proteins.items()}, "all": len(set().union(*proteins.values()))},
            "val_test_proteins_in_train": len((proteins["val"] | proteins["test"]) & proteins["train"]),
            "build": self.report,
        }

    def save(self, out_dir: str | Path, overwrite: bool = False) -> Path:
        """Write ``pairs.tsv.gz`` (the frame) and ``summary.json`` into ``out_dir``; return ``out_dir``.

        The folder appears complete or not at all (:func:`seqlab.outputs.new_folder`); a non-empty
        ``out_dir`` is refused (:class:`~seqlab.outputs.OutputExistsError`) unless ``overwrite``, and
        even then only a corpus folder (holding ``pairs.tsv.gz``) is replaced.
        """
        out_dir = Path(out_dir)
        with new_folder(out_dir, overwrite, PAIRS_FILE) as folder:
            with atomic_open(folder / PAIRS_FILE, "wb") as handle:
                self.frame.to_csv(handle, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
            write_json(folder / SUMMARY_FILE, self.summary())
        return out_dir

    @classmethod
    def load(cls, path: str | Path) -> PairCorpus:
        """Read a corpus folder written by :meth:`save` (or its ``pairs.tsv.gz`` directly).

        Raises:
            FileNotFoundError: no ``pairs.tsv.gz`` at ``path``.
        """
        path = Path(path)
        table = path / PAIRS_FILE if path.is_dir() else path
        if not table.is_file():
            raise FileNotFoundError(f"no pair corpus at {path} (expected {table})")
        summary = table.parent / SUMMARY_FILE
        try:
            report = json.loads(summary.read_text()).get("build", {}) if summary.is_file() else {}
        except (ValueError, AttributeError) as err:
            raise InputError(f"not a corpus summary (JSON object): {err}", file=summary) from None
        return cls(_read_pairs(table), report)


_SEQUENCE = "^[" + ALPHABET + "]+$"


def _read_pairs(table: Path) -> pd.DataFrame:
    """The rows of a ``pairs.tsv.gz``, checked; every problem is an :class:`InputError` naming the file
    (and the line): columns, fields per row, labels, scores, splits, ids and residues.
    """
    frame = read_string_table(table, COLUMNS, what="pair table")
    frame = frame[list(COLUMNS)]
    checks = [
        ("empty protein id", (frame["id_a"] == "") | (frame["id_b"] == "")),
        ("binding is not 0 or 1", ~frame["binding"].isin(["0", "1"])),
        ("score is not an integer in 0-1000", ~frame["score"].str.fullmatch(r"\d{1,4}").fillna(False)),
        (f"split is not one of {', '.join(SPLITS)}", ~frame["split"].isin(SPLITS)),
    ]
    for column in ("seq_a", "seq_b"):
        bad = ~frame[column].str.fullmatch(_SEQUENCE).fillna(False)
        checks.append((f"{column} holds a character outside {ALPHABET}", bad))
    for reason, bad in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            ids = f" (pair {frame['id_a'].iat[row]} / {frame['id_b'].iat[row]})" if reason.startswith("seq") else ""
            raise InputError(f"{reason}{ids}", file=table, line=row + 2)
    frame = frame.astype({"binding": "int64", "score": "int64"})
    if (frame["score"] > 1000).any():
        row = int(np.flatnonzero((frame["score"] > 1000).to_numpy())[0])
        raise InputError("score is not an integer in 0-1000", file=table, line=row + 2)
    return frame


def _sample_unlinked(
    members: np.ndarray,
    n_wanted: int,
    linked: np.ndarray,
    n_proteins: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw up to ``n_wanted`` distinct unlinked pairs among ``members`` (sorted global protein indices).

    Pairs are keys ``i * n_proteins + j`` with ``i < j``; ``linked`` holds the sorted keys of every
    linked pair. Returns an int64 array of ``min(n_wanted, unlinked pairs available)`` keys in
    random order.
    """
    m = len(members)
    possible = m * (m - 1) // 2
    inside = np.isin(linked // n_proteins, members) & np.isin(linked % n_proteins, members)
    n_needed = min(n_wanted, possible - int(inside.sum()))
    if n_needed == 0:
        return np.zeros(0, dtype=np.int64)
    if possible <= _ENUMERATE_LIMIT:
        iu, ju = np.triu_indices(m, 1)
        keys = members[iu].astype(np.int64) * n_proteins + members[ju]
        candidates = keys[~np.isin(keys, linked)]
        return candidates[rng.choice(len(candidates), size=n_needed, replace=False)]
    chosen: dict[int, None] = {}
    while len(chosen) < n_needed:
        draws = 2 * (n_needed - len(chosen)) + 64
        u, v = rng.integers(0, m, draws), rng.integers(0, m, draws)
        keys = members[np.minimum(u, v)].astype(np.int64) * n_proteins + members[np.maximum(u, v)]
        keys = keys[(u != v) & ~np.isin(keys, linked)]
        for key in keys.tolist():
            chosen.setdefault(key, None)
            if len(chosen) == n_needed:
                break
    return np.fromiter(chosen, dtype=np.int64, count=n_needed)


def _cut(n: int, fractions: Mapping[str, float]) -> np.ndarray:
    """Split labels for ``n`` shuffled items: the first ``round(f_test n)`` test, then val, rest train."""
    n_test = round(fractions["test"] * n)
    n_val = round(fractions["val"] * n)
    labels = np.full(n, "train", dtype=object)
    labels[:n_test] = "test"
    labels[n_test : n_test + n_val] = "val"
    return labels


def _check_splits_filled(
    binding: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], fractions: Mapping[str, float], report: dict
) -> None:
    """A split asked for (fraction > 0) that holds no binding pair is an error naming the counts."""
    counts = {split: len(binding[split][2]) for split in SPLITS}
    empty = [split for split in ("val", "test") if fractions[split] > 0 and counts[split] == 0]
    if empty:
        dropped = report.get("binding_pairs_dropped_cross_split", 0)
        raise ValueError(
            f"the corpus would have {counts['train']} training, {counts['val']} validation and {counts['test']} "
            f"test binding pairs ({report['binding_pairs']} binding pairs of {report['binding_proteins']} proteins, "
            f"{dropped} dropped across splits): no {' and no '.join(empty)} pairs; use more links, or set "
            + " and ".join(f"{split}_fraction 0" for split in empty)
        )


def build_pair_corpus(
    links: pd.DataFrame,
    sequences: Mapping[str, str],
    config: CorpusConfig | None = None,
    seed: int = 0,
) -> PairCorpus:
    """Build a pair corpus from STRING rows and sequences (see the module docstring for the rules).

    Args:
        links: ``protein1, protein2, combined_score`` rows (as from ``read_string_links``).
        sequences: ``{id: sequence}`` for (at least) the proteins of the links.
        config: threshold, ratio, split mode and fractions, missing-sequence policy (the file
            fields ``links``/``sequences`` are not used here).
        seed: seeds every random choice; the same inputs and seed give the same corpus.

    Raises:
        ValueError: proteins without sequences under ``missing_sequences="error"``, no binding pair,
            or no validation (test) binding pair while ``val_fraction`` (``test_fraction``) is above 0.
    """
    config = config or CorpusConfig()
    rng = np.random.default_rng(seed)
    fractions = {"val": config.val_fraction, "test": config.test_fraction}
    p1 = links["protein1"].astype(str).to_numpy(dtype=object)
    p2 = links["protein2"].astype(str).to_numpy(dtype=object)
    report: dict[str, Any] = {
        "seed": seed,
        "score_threshold": config.score_threshold,
        "negative_ratio": config.negative_ratio,
        "strict_split": config.strict_split,
        "links_rows": len(links),
        "self_links_dropped": int((p1 == p2).sum()),
    }
    keep = p1 != p2
    first = np.where(p1 < p2, p1, p2)[keep]
    second = np.where(p1 < p2, p2, p1)[keep]
    pairs = (
        pd.DataFrame({"a": first, "b": second, "score": links["combined_score"].to_numpy()[keep]})
        .groupby(["a", "b"], sort=True)["score"].max().reset_index()
    )
    in_links = sorted(set(pairs["a"]) | set(pairs["b"]))
    missing = [p for p in in_links if p not in sequences]
    report["proteins_in_links"] = len(in_links)
    report["proteins_without_sequence"] = len(missing)
    if missing and config.missing_sequences == "error":
        raise ValueError(
            f"{len(missing)} protein(s) of the links have no sequence (e.g. {', '.join(missing[:3])}); "
            "add them or set corpus.missing_sequences=drop"
        )
    lacking = pairs["a"].isin(missing) | pairs["b"].isin(missing)
    report["linked_pairs_dropped_without_sequence"] = int(lacking.sum())
    pairs = pairs[~lacking].reset_index(drop=True)
    report["linked_pairs"] = len(pairs)

    proteins = sorted(set(pairs["a"]) | set(pairs["b"]))
    index = {p: i for i, p in enumerate(proteins)}
    n_proteins = len(proteins)
    ia = pairs["a"].map(index).to_numpy(dtype=np.int64)
    ib = pairs["b"].map(index).to_numpy(dtype=np.int64)
    linked = np.sort(ia * n_proteins + ib)

    positive = (pairs["score"] >= config.score_threshold).to_numpy()
    pos_a, pos_b, pos_score = ia[positive], ib[positive], pairs["score"].to_numpy()[positive]
    report["binding_pairs"] = int(positive.sum())
    if not positive.any():
        raise ValueError(f"no pair scores at least {config.score_threshold}; lower corpus.score_threshold")
    pool = np.unique(np.concatenate([pos_a, pos_b]))
    report["binding_proteins"] = len(pool)

    # (split -> (a indices, b indices, scores)) of binding pairs, and the non-binding keys.
    binding: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    non_binding: dict[str, np.ndarray] = {}
    shortfall: dict[str, int] = {}
    if config.strict_split:
        protein_split = np.full(n_proteins, "", dtype=object)
        protein_split[rng.permutation(pool)] = _cut(len(pool), fractions)
        report["proteins_assigned"] = {s: int((protein_split == s).sum()) for s in SPLITS}
        split_a, split_b = protein_split[pos_a], protein_split[pos_b]
        same = split_a == split_b
        report["binding_pairs_dropped_cross_split"] = int((~same).sum())
        for split in SPLITS:
            sel = same & (split_a == split)
            binding[split] = (pos_a[sel], pos_b[sel], pos_score[sel])
            members = np.unique(np.concatenate([pos_a[sel], pos_b[sel]]))
            need = round(config.negative_ratio * int(sel.sum()))
            non_binding[split] = _sample_unlinked(members, need, linked, n_proteins, rng)
            shortfall[split] = need - len(non_binding[split])
    else:
        order = rng.permutation(len(pos_a))
        labels = _cut(len(order), fractions)
        need = round(config.negative_ratio * len(pos_a))
        negatives = _sample_unlinked(pool, need, linked, n_proteins, rng)
        shortfall = {"all": need - len(negatives)}
        neg_labels = _cut(len(negatives), fractions)
        for split in SPLITS:
            sel = order[labels == split]
            binding[split] = (pos_a[sel], pos_b[sel], pos_score[sel])
            non_binding[split] = negatives[neg_labels == split]

    _check_splits_filled(binding, fractions, report)
    report["non_binding_shortfall"] = shortfall
    if any(shortfall.values()):
        log.warning("too few unlinked pairs for negative_ratio=%s; non-binding pairs missing: %s",
                    config.negative_ratio, shortfall)
    names = np.array(proteins, dtype=object)
    parts = []
    for split in SPLITS:
        a, b, score = binding[split]
        neg = non_binding[split]
        a = np.concatenate([a, neg // n_proteins])
        b = np.concatenate([b, neg % n_proteins])
        label = np.concatenate([np.ones(len(score), np.int64), np.zeros(len(neg), np.int64)])
        score = np.concatenate([score, np.zeros(len(neg), np.int64)])
        swap = rng.random(len(a)) < 0.5
        a, b = np.where(swap, b, a), np.where(swap, a, b)
        order = rng.permutation(len(a))
        ids_a, ids_b = names[a[order]], names[b[order]]
        parts.append(pd.DataFrame({
            "id_a": ids_a,
            "id_b": ids_b,
            "seq_a": [sequences[i] for i in ids_a],
            "seq_b": [sequences[i] for i in ids_b],
            "binding": label[order],
            "score": score[order],
            "split": split,
        }))
    return PairCorpus(pd.concat(parts, ignore_index=True), report)


def corpus_from_config(config: CorpusConfig, seed: int = 0) -> PairCorpus:
    """Read ``config.links`` and ``config.sequences`` and build the corpus (:func:`build_pair_corpus`).

    Raises:
        ValueError: ``links`` or ``sequences`` is not set, or the files are invalid.
        FileNotFoundError: a file is missing.
    """
    if config.links is None or config.sequences is None:
        raise ValueError("corpus.links and corpus.sequences are needed to build a pair corpus")
    links = read_string_links(config.links)
    sequences = read_sequences(config.sequences, unknown=config.unknown_residues)
    try:
        corpus = build_pair_corpus(links, sequences, config, seed=seed)
    except ValueError as err:  # too few pairs, missing sequences: name the links file
        raise InputError(str(err), file=config.links) from None
    corpus.report = {"links": str(config.links), "sequences": str(config.sequences), **corpus.report}
    return corpus
