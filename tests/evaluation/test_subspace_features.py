"""Subspace features (embed), subspace variant effects and the linear probe, on constructed models/features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqlab.evaluation.embed import embed_fasta, embed_windows, resolve_subspace, write_embedding
from seqlab.evaluation.probe import gc_content, linear_probe, regress_out
from seqlab.evaluation.variant_effect import score_variants
from seqlab.models.heads import MultiTaskLinearHead
from seqlab.models.metadata import MetadataEncoder
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import SequenceModel

torch.set_num_threads(1)
PARAMS = {"tasks": ["e1", "e2"], "window_length": 8, "encoding": "onehot"}
RECORDS = [{"target": "A", "lab": "X"}, {"target": "B", "lab": "Y"}]


class BaseCounts(nn.Module):
    """Trunk whose features are the counts of A, C, G, T in the window: (B, 4, L) -> (B, 4)."""

    out_features = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=-1)


def _mfd_model() -> SequenceModel:
    """Metadata head with biological = (A, C) counts, technical = (G, T) counts, linear weight nets."""
    encoder = MetadataEncoder({"target": "categorical", "lab": "categorical"}).fit(RECORDS)
    head = MetadataHead(
        4, encoder, RECORDS, {"biological": ["target"], "technical": ["lab"]}, {"biological": 2, "technical": 2}, 0
    )
    torch.manual_seed(0)
    return SequenceModel(BaseCounts(), head, PARAMS)


class Genome:
    def __init__(self, seq: str) -> None:
        self.seq = seq

    @property
    def chrom_sizes(self) -> dict[str, int]:
        return {"chr1": len(self.seq)}

    def resolve(self, chrom: str) -> str:
        if chrom != "chr1":
            raise KeyError(chrom)
        return chrom

    def fetch(self, chrom: str, start: int, end: int, pad: bool = False) -> str:
        return "".join(self.seq[i] if 0 <= i < len(self.seq) else "N" for i in range(start, end))


def test_embed_windows_gives_strand_averaged_counts_per_subspace(tmp_path):
    model = _mfd_model()
    features = embed_windows(model, ["AAAACCCG", "GGGGTTTT"])
    # forward counts (A, C, G, T) and the reverse complement's (T, G, C, A) averaged
    expected = np.array([[2, 2, 2, 2], [2, 2, 2, 2]], dtype=np.float32)
    np.testing.assert_array_equal(features["full"], expected)
    features = embed_windows(model, ["AAAAAAAC"])
    np.testing.assert_array_equal(features["full"], [[3.5, 0.5, 0.5, 3.5]])
    np.testing.assert_array_equal(features["biological"], [[3.5, 0.5]])
    np.testing.assert_array_equal(features["technical"], [[0.5, 3.5]])
    fasta = tmp_path / "w.fa"
    fasta.write_text(">chr1:10-20\nTTAAAAAAACTT\n>x\nAAAAAAAC\n")
    embedding = embed_fasta(model, fasta)
    assert embedding.index["chrom"].tolist()[0] == "chr1" and embedding.slices["technical"] == (2, 4)
    np.testing.assert_array_equal(embedding.features["biological"], [[3.5, 0.5], [3.5, 0.5]])  # centre-cropped
    paths = write_embedding(embedding, tmp_path / "emb")
    np.testing.assert_array_equal(np.load(paths["technical"]), embedding.features["technical"])
    assert pd.read_csv(paths["index"], sep="\t")["name"].tolist() == ["chr1:10-20", "x"]
    with pytest.raises(ValueError, match="not the model's 8 bp"):
        embed_windows(model, ["ACGT"])


def test_embed_regions_centres_windows_and_flags_padding():
    from seqlab.evaluation.embed import embed_regions

    genome = Genome("CCCCAAAACCCC")
    regions = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [4, 0], "end": [8, 2]})
    embedding = embed_regions(_mfd_model(), genome, regions)
    assert embedding.index["window_start"].tolist() == [2, -3] and embedding.index["padded"].tolist() == [False, True]
    # window CCAAAACC: counts A 4, C 4 on both strands' average -> (A, C, G, T) = (2, 2, 2, 2)
    np.testing.assert_array_equal(embedding.features["full"][0], [2, 2, 2, 2])
    with pytest.raises(ValueError, match="chrX"):
        embed_regions(_mfd_model(), genome, pd.DataFrame({"chrom": ["chrX"], "start": [0], "end": [4]}))


def test_linear_head_model_has_only_full_features():
    model = SequenceModel(BaseCounts(), MultiTaskLinearHead(4, 2), PARAMS)
    assert list(embed_windows(model, ["ACGTACGT"])) == ["full"]
    with pytest.raises(ValueError, match="no metadata head"):
        resolve_subspace(model, "bio")


def test_bio_subspace_variant_effect_is_exact():
    model = _mfd_model()
    head = model.head
    genome = Genome("CCCCAAAACCCC")
    variants = pd.DataFrame({"chrom": ["chr1"], "pos0": [5], "ref": ["A"], "alt": ["G"]})  # window CCAA[A>G]ACC
    with torch.no_grad():
        w = head.group_weights(head.task_codes)
        w_full = torch.cat([w["biological"], w["technical"]], dim=1).numpy().astype(np.float64)  # (E, 4): A C G T
    full = score_variants(model, genome, variants, progress=False).scores
    bio = score_variants(model, genome, variants, progress=False, subspace="bio").scores
    tech = score_variants(model, genome, variants, progress=False, subspace="technical").scores
    a, c, g, t = w_full.T
    # forward strand: A -1, G +1; reverse strand (complement): T -1, C +1; averaged over strands
    np.testing.assert_allclose(full["delta_logit"], (g - a + c - t) / 2, atol=1e-5)
    np.testing.assert_allclose(bio["delta_logit"], (c - a) / 2, atol=1e-5)  # technical features held at ref
    np.testing.assert_allclose(tech["delta_logit"], (g - t) / 2, atol=1e-5)
    np.testing.assert_allclose(bio["ref_logit"], full["ref_logit"], atol=1e-6)
    np.testing.assert_allclose(bio["delta_logit"] + tech["delta_logit"], full["delta_logit"], atol=1e-5)
    # shifted windows all contain the SNV: the same effect, averaged over 3 shifts x 2 strands
    shifted = score_variants(model, genome, variants, progress=False, subspace="bio", shifts=1).scores
    np.testing.assert_allclose(shifted["delta_logit"], (c - a) / 2, atol=1e-5)
    with pytest.raises(ValueError, match="subspace 'lab'"):
        score_variants(model, genome, variants, progress=False, subspace="lab")


def test_probe_on_constructed_features_gives_the_known_auroc():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    separable = (y * 2.0 - 1.0)[:, None] + 0.01 * rng.normal(size=(200, 1))
    noise = rng.normal(size=(200, 3))
    result = linear_probe({"bio": separable, "tech": noise}, y, folds=4).set_index("feature_set")
    assert result.loc["bio", "auroc"] == 1.0 and result.loc["bio", "auroc_sd"] == 0.0
    assert abs(result.loc["tech", "auroc"] - 0.5) < 0.15 and result.loc["bio", "scheme"] == "cv4"
    chroms = np.where(np.arange(200) % 4 == 0, "chr8", "chr1")
    split = linear_probe({"bio": separable}, y, chroms=chroms, test_chroms=["chr8"])
    assert split["auroc"].iat[0] == 1.0 and split["n_test"].iat[0] == 50 and split["scheme"].iat[0] == "chrom:chr8"
    # a feature that is an affine function of GC carries nothing once GC is regressed out
    gc = rng.uniform(0.3, 0.7, size=200) + 0.2 * y
    gc_feature = np.column_stack([3 * gc + 1, -gc])
    assert linear_probe({"gcfeat": gc_feature}, y, folds=4)["auroc"].iat[0] > 0.8
    regressed = linear_probe({"gcfeat": gc_feature, "bio": separable}, y, folds=4, gc=gc).set_index("feature_set")
    assert regressed.loc["gcfeat", "auroc"] == 0.5 and regressed.loc["gcfeat", "gc_regressed"]
    assert regressed.loc["bio", "auroc"] > 0.9  # GC and the label overlap, so part of the signal goes too


def test_gc_content_and_regress_out():
    np.testing.assert_allclose(gc_content(["GGCC", "AATT", "GANN", "NNNN"]), [1.0, 0.0, 0.5, 0.5])
    x = np.column_stack([2 * np.arange(5.0) + 1, np.ones(5)])
    np.testing.assert_allclose(regress_out(x, np.arange(5.0)), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="0 or 1"):
        linear_probe(np.zeros((3, 1)), np.array([0, 1, 2]))


def test_embed_and_probe_commands_on_a_model_folder(tmp_path):
    from typer.testing import CliRunner

    from seqlab.cli.main import app
    from seqlab.models.sequence_model import build_model
    from seqlab.training.base import make_data_params

    params = make_data_params(["t"], 24, "onehot", "toy")
    torch.manual_seed(0)
    model = build_model({"trunk": {"arch": "deepbind", "filters": 4, "kernel_size": 5, "hidden": 3}}, params)
    folder = model.save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    for name, gc in (("pos", 0.8), ("neg", 0.2)):
        records = [
            "".join(rng.choice(list("ACGT"), 24, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])) for _ in range(20)
        ]
        text = "".join(f">chr{1 + i % 2}:{i * 100}-{i * 100 + 24}\n{s}\n" for i, s in enumerate(records))
        (tmp_path / f"{name}.fa").write_text(text)
    runner = CliRunner()
    result = runner.invoke(
        app, ["dna", "embed", str(folder), "--fasta", str(tmp_path / "pos.fa"), "--out", str(tmp_path / "emb")]
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "emb" / "features.full.npy").shape == (20, model.trunk.out_features)
    args = [
        "dna",
        "probe",
        str(folder),
        "--positives",
        str(tmp_path / "pos.fa"),
        "--negatives",
        str(tmp_path / "neg.fa"),
    ]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "probe.tsv"), "--regress-gc", "--test-chroms", "chr2"])
    assert result.exit_code == 0, result.output
    probe = pd.read_csv(tmp_path / "probe.tsv", sep="\t")
    assert probe["feature_set"].tolist() == ["full", "full", "gc"] and probe["n_test"].iat[0] == 20
    assert probe["auroc"].iat[2] == 1.0  # GC content alone separates the 80 %-GC positives from the 20 %-GC negatives
