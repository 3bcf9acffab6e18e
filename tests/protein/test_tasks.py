import numpy as np
import pandas as pd
import pytest

from seqlab.io.errors import InputError
from seqlab.protein.config import FinetuneDataConfig
from seqlab.protein.tasks import load_localization, load_shs27k, load_table, load_task, load_tcr

AMINO = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def _random_seq(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(AMINO, n))


@pytest.fixture
def mira(tmp_path):
    """120 CDR3s over 3 groups; 10 CDR3s bind two groups; group g1 lists two candidate peptides."""
    rng = np.random.default_rng(1)
    cdr3s = [f"CASS{_random_seq(rng, 8)}F" for _ in range(120)]
    groups = {"g1": "KLMNPQRST,AAAAAAAAA", "g2": "DDDDDDDDD", "g3": "EEEEEEEEE"}
    rows = [(c, groups[g], g) for c, g in zip(cdr3s, rng.choice(list(groups), 120), strict=True)]
    rows += [(c, groups["g2" if g == "g1" else "g1"], "g2" if g == "g1" else "g1") for c, _, g in rows[:10]]
    rows += rows[:5]  # the same record in two subjects
    path = tmp_path / "mira.tsv"
    pd.DataFrame(rows, columns=["cdr3_b_aa", "epitope", "epitope_group"]).assign(subject="s").to_csv(
        path, sep="\t", index=False
    )
    return path


def test_tcr_split_and_negatives(mira):
    task = load_tcr(mira, val_fraction=0.2, test_fraction=0.2, seed=3)
    frame = task.frame
    assert task.is_pair and task.classes == ["non-binding", "binding"]
    assert task.notes["records"] == 135 and task.notes["positive_pairs"] == 130 and task.notes["cdr3s"] == 120
    # first peptide of the group's list represents it
    assert set(frame.loc[frame.id_b == "g1", "seq_b"]) == {"KLMNPQRST"}
    train_cdr3 = set(frame.loc[frame.split == "train", "seq_a"])
    for split in ("val", "test"):
        assert not train_cdr3 & set(frame.loc[frame.split == split, "seq_a"])
    positives = set(zip(frame.loc[frame.label == 1, "seq_a"], frame.loc[frame.label == 1, "seq_b"], strict=True))
    negatives = list(zip(frame.loc[frame.label == 0, "seq_a"], frame.loc[frame.label == 0, "seq_b"], strict=True))
    assert not positives & set(negatives) and len(set(negatives)) == len(negatives)
    counts = task.counts()
    assert sum(c["binding"] for c in counts.values()) == 130
    assert all(c["binding"] == c["non-binding"] for c in counts.values())
    pd.testing.assert_frame_equal(frame, load_tcr(mira, val_fraction=0.2, test_fraction=0.2, seed=3).frame)


def test_tcr_missing_column_names_file(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("cdr3\tepitope\nCASSF\tAAA\n")
    with pytest.raises(ValueError, match=r"bad\.tsv: missing column\(s\) \['cdr3_b_aa', 'epitope_group'\]"):
        load_tcr(path)


@pytest.fixture
def string_files(tmp_path):
    """60 proteins, 200 random links with scores 150-999 (STRING links format) and their sequences."""
    rng = np.random.default_rng(2)
    ids = [f"9606.P{i:03d}" for i in range(60)]
    links = set()
    while len(links) < 200:
        a, b = rng.choice(60, 2, replace=False)
        links.add((ids[a], ids[b]))
    table = pd.DataFrame(sorted(links), columns=["protein1", "protein2"])
    table["combined_score"] = rng.integers(150, 1000, len(table))
    both = pd.concat([table, table.rename(columns={"protein1": "protein2", "protein2": "protein1"})])
    links_path, seq_path = tmp_path / "links.txt", tmp_path / "seqs.tsv"
    both[["protein1", "protein2", "combined_score"]].to_csv(links_path, sep=" ", index=False)
    seq_path.write_text("".join(f"{i}\t{_random_seq(rng, 30)}\n" for i in ids))
    return links_path, seq_path, table


def test_shs27k_strict_split(string_files):
    links_path, seq_path, table = string_files
    task = load_shs27k(links_path, seq_path, score_threshold=400, val_fraction=0.25, test_fraction=0.25, seed=0)
    frame = task.frame
    train = frame[frame.split == "train"]
    train_proteins = set(train.id_a) | set(train.id_b)
    for split in ("val", "test"):
        part = frame[frame.split == split]
        assert len(part) > 0
        assert not train_proteins & (set(part.id_a) | set(part.id_b))
    # positives: every kept pair scores >= 400; negatives: never linked at any score, no self pairs
    rows = zip(table.protein1, table.protein2, table.combined_score, strict=True)
    key = {(min(a, b), max(a, b)): score for a, b, score in rows}
    pos, neg = frame[frame.label == 1], frame[frame.label == 0]
    assert all(key[tuple(sorted(p))] >= 400 for p in zip(pos.id_a, pos.id_b, strict=True))
    assert not any(tuple(sorted(p)) in key for p in zip(neg.id_a, neg.id_b, strict=True))
    assert (neg.id_a != neg.id_b).all()
    notes = task.notes
    assert notes["positive_pairs"] == sum(s >= 400 for s in key.values())
    assert notes["positive_pairs"] == len(pos) + notes["dropped_cross_split_pairs"]
    assert len(neg) + notes["negative_shortfall"] == len(pos)
    assert frame.seq_a.str.len().eq(30).all()


def test_shs27k_missing_sequences_is_an_error(string_files, tmp_path):
    links_path, _, _ = string_files
    short = tmp_path / "short.tsv"
    short.write_text("9606.P000\tACDE\n")
    with pytest.raises(ValueError, match=r"missing from .*short\.tsv"):
        load_shs27k(links_path, short)


def test_table_with_and_without_split(tmp_path):
    path = tmp_path / "fold.tsv"
    rows = ["sequence\tsequence_b\tlabel\tsplit"]
    rows += [f"acd{'W' * i}K\tEEE\t{'a.1' if i % 2 else 'b.2'}\t{('train', 'val', 'test')[i % 3]}" for i in range(30)]
    path.write_text("\n".join(rows).replace("acdW", "ACDW") + "\n")
    task = load_table(path)
    assert task.is_pair and task.classes == ["a.1", "b.2"]
    assert task.frame.seq_a[0] == "ACDK" and task.frame.seq_a[2] == "ACDWWK" and task.frame.id_a[0] == "row1"
    assert task.counts()["val"] == {"a.1": 5, "b.2": 5}

    plain = tmp_path / "plain.tsv"
    plain.write_text("sequence\tlabel\n" + "".join(f"MK{'A' * i}\t{i % 3}\n" for i in range(50)))
    task = load_task(FinetuneDataConfig(kind="table", path=plain, val_fraction=0.2, test_fraction=0.2, max_examples=40))
    assert not task.is_pair and task.classes == ["0", "1", "2"]
    assert len(task.frame) == 40 and task.notes["subsampled_to"] == 40
    assert set(task.frame.split) == {"train", "val", "test"}


def test_table_errors_name_file_column_and_line(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("sequence\tlabel\tsplit\nMK\ta\ttrain\nMK\ta\tvalid\n")
    with pytest.raises(ValueError, match=r"t\.tsv: column 'split' has 'valid' on line 3"):
        load_table(path)
    path.write_text("sequence\tlabel\nMK\ta\n\tb\n")
    with pytest.raises(ValueError, match=r"t\.tsv: empty 'sequence' on line 3"):
        load_table(path)
    path.write_text("seq\tlabel\nMK\ta\n")
    with pytest.raises(ValueError, match=r"t\.tsv: missing column\(s\) \['sequence'\]"):
        load_table(path)
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        load_table(tmp_path / "nope.tsv")


def test_localization_from_p_scldata():
    task = load_localization()
    assert len(task.frame) == 15183 + 1260 + 2631 and len(task.classes) == 13
    assert task.counts()["val"]["Nucleus"] == 329 and task.counts()["test"]["Peroxisome"] == 12
    single = load_localization(compound_labels="drop", min_class_count=150, max_examples=300, seed=1)
    assert single.classes == ["Cytoplasm", "Membrane", "Mitochondrion", "Nucleus", "Other", "Plastid", "Secreted"]
    assert len(single.frame) == 300 and not single.frame.seq_a.str.contains(";").any()
    merged = load_localization(compound_labels="other")
    assert merged.counts()["train"]["Other"] == 228 + 162 + 190 + 1796
    # residues outside the 20 + X (p-scldata holds selenoproteins: U) are mapped to X, as every reader does
    assert task.frame["seq_a"].str.fullmatch("[ACDEFGHIKLMNPQRSTVWYX]+").all()


def test_config_requires_files():
    with pytest.raises(ValueError, match="needs data.path"):
        FinetuneDataConfig(kind="tcr")
    with pytest.raises(ValueError, match="needs data.sequences"):
        FinetuneDataConfig(kind="shs27k", path="a.txt")


@pytest.mark.realdata
def test_mira_documented_counts(shared_data):
    task = load_tcr(shared_data / "protein/tcr_mira/mira_covid19_tcrb_epitopes.tsv.gz")
    notes = task.notes
    assert (notes["records"], notes["positive_pairs"], notes["cdr3s"], notes["groups"]) == (24892, 22491, 22342, 29)
    counts = task.counts()
    assert [counts[s]["binding"] for s in ("train", "val", "test")] == [17995, 2249, 2247]
    assert [counts[s]["non-binding"] for s in ("train", "val", "test")] == [17995, 2249, 2247]
    train = set(task.frame.loc[task.frame.split == "train", "seq_a"])
    assert not train & set(task.frame.loc[task.frame.split == "test", "seq_a"])


@pytest.mark.realdata
def test_shs27k_documented_counts(shared_data):
    folder = shared_data / "protein/shs27k"
    task = load_shs27k(
        folder / "protein.actions.SHS27k.STRING.txt.gz", folder / "protein.SHS27k.sequences.dictionary.tsv.gz"
    )
    notes = task.notes
    assert (notes["proteins"], notes["positive_pairs"], notes["dropped_cross_split_pairs"]) == (1690, 7624, 2350)
    counts = task.counts()
    assert [counts[s]["binding"] for s in ("train", "val", "test")] == [5145, 52, 77]
    assert [counts[s]["non-binding"] for s in ("train", "val", "test")] == [5145, 52, 77]
    frame = task.frame
    train = frame[frame.split == "train"]
    test = frame[frame.split == "test"]
    assert not (set(train.id_a) | set(train.id_b)) & (set(test.id_a) | set(test.id_b))


def test_shs27k_keeps_the_pretraining_corpus_split(string_files, tmp_path):
    from seqlab.io.protein import read_sequences, read_string_links
    from seqlab.protein.config import CorpusConfig
    from seqlab.protein.corpus import build_pair_corpus
    from seqlab.protein.tasks import corpus_protein_splits

    links_path, seq_path, _ = string_files
    config = CorpusConfig(score_threshold=700, val_fraction=0.3, test_fraction=0.3)
    corpus = build_pair_corpus(read_string_links(links_path), read_sequences(seq_path), config, seed=1)
    corpus.save(tmp_path / "corpus")
    fixed = corpus_protein_splits(tmp_path / "corpus")
    pretrained_on = set(corpus.proteins("train"))
    assert pretrained_on and {fixed[p] for p in pretrained_on} == {"train"}
    task = load_shs27k(links_path, seq_path, val_fraction=0.3, test_fraction=0.3, seed=5, fixed_splits=fixed)
    held_out = task.frame[task.frame["split"] != "train"]
    assert not (set(held_out["id_a"]) | set(held_out["id_b"])) & pretrained_on
    in_task = set(task.frame["id_a"]) | set(task.frame["id_b"])
    assert task.notes["proteins_with_fixed_split"] >= len(set(fixed) & in_task) > 0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("id\tsequence\tlabel\nP1\tMKV\ta\nP2\tMK3V\tb\n", r"s.tsv, line 3, id 'P2': character that is not a resi"),
        ("sequence\tlabel\nMKV\ta\nMK#V\tb\n", r"s.tsv, line 3, id 'row2': character that is not a residue '#'"),
        ("sequence\tsequence_b\tlabel\nMKV\tMS-T\ta\n", r"s.tsv, line 2, id 'row1b': character that is not a resi"),
    ],
)
def test_table_sequences_with_digits_or_symbols_name_file_line_and_id(tmp_path, text, where):
    path = tmp_path / "s.tsv"
    path.write_text(text)
    with pytest.raises(InputError, match=where) as info:
        load_table(path)
    assert info.value.file == str(path)


def test_tcr_sequences_with_digits_or_symbols_name_file_line_and_id(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("cdr3_b_aa\tepitope\tepitope_group\nCASS\tGILGFVFTL\tg1\nCAS5\tGILGFVFTL\tg1\n")
    with pytest.raises(InputError, match=r"t.tsv, line 3, id 'row2': character that is not a residue '5'"):
        load_tcr(path)
    path.write_text("cdr3_b_aa\tepitope\tepitope_group\nCASS\tGILGFVFTL,NLV*PMV\tg1\n")
    with pytest.raises(InputError, match=r"t.tsv, line 2, id 'GILGFVFTL,NLV\*PMV': character that is not a resi"):
        load_tcr(path)
