from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.data.encoding import encode_batch
from seqlab.evaluation.predict import predict_fasta, predict_regions, write_predictions
from seqlab.io.genome import Genome
from tests.evaluation.toy import CHR1, WEIGHTS, sigmoid, toy_model

CHR2 = "TTTTTAAAAACCCCCGGGGG"


def expected(window: str) -> list[float]:
    """Both-strand probabilities: the reverse complement has as many A as the window has T."""
    n_a, n_t = window.upper().count("A"), window.upper().count("T")
    return [(sigmoid(w * n_a + b) + sigmoid(w * n_t + b)) / 2 for w, b in WEIGHTS]


@pytest.fixture
def genome(tmp_path: Path) -> Genome:
    fasta = tmp_path / "toy.fa"
    fasta.write_text(f">chr1\n{CHR1[:25]}\n{CHR1[25:]}\n>chr2\n{CHR2}\n")
    return Genome(fasta, "toy")


def test_strand_logits_are_exact() -> None:
    x = encode_batch(["AAATTCGNNA", "CCCCCCCCCC"])
    logits = toy_model().strand_logits(x)
    assert logits.shape == (2, 2, 2)
    # window 1: 4 A, 2 T; window 2: none
    assert logits.tolist() == [[[1.0, 1.0], [0.0, 1.5]], [[-1.0, 2.0], [-1.0, 2.0]]]


def test_predict_regions_centres_pads_and_flags(genome: Genome) -> None:
    model = toy_model().train()
    regions = pd.DataFrame({"chrom": ["chr1", "1", "chr2"], "start": [10, 0, 15], "end": [20, 4, 20]})
    out = predict_regions(model, genome, regions, batch_size=2, progress=False)
    assert model.training
    assert list(out.columns) == [
        *["name", "chrom", "start", "end", "window_start", "window_end", "padded", "n_fraction"],
        *["up", "down", "logit.up", "logit.down"],
    ]
    assert out["n_fraction"].tolist() == [0.0, 0.3, 0.2]
    assert out["name"].tolist() == ["chr1:10-20", "1:0-4", "chr2:15-20"]
    assert out["chrom"].tolist() == ["chr1", "1", "chr2"]
    assert out[["window_start", "window_end"]].values.tolist() == [[10, 20], [-3, 7], [12, 22]]
    assert out["padded"].tolist() == [False, True, True]
    windows = [CHR1[10:20], "NNN" + CHR1[:7], CHR2[12:] + "NN"]
    np.testing.assert_allclose(out[["up", "down"]].to_numpy(), [expected(w) for w in windows], rtol=1e-6)
    once = predict_regions(model, genome, regions.assign(name=["a", "b", "c"]), progress=False)
    assert once["name"].tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(once[["up", "down"]].to_numpy(), out[["up", "down"]].to_numpy())


def test_predict_regions_rejects_bad_input(genome: Genome) -> None:
    model = toy_model()
    with pytest.raises(ValueError, match=r"chromosomes the genome does not have: \['chrZ'\]"):
        predict_regions(model, genome, pd.DataFrame({"chrom": ["chrZ"], "start": [1], "end": [5]}))
    with pytest.raises(ValueError, match="end <= start"):
        predict_regions(model, genome, pd.DataFrame({"chrom": ["chr1"], "start": [5], "end": [5]}))
    with pytest.raises(ValueError, match="lacks columns"):
        predict_regions(model, genome, pd.DataFrame({"chrom": ["chr1"], "start": [5]}))
    with pytest.raises(ValueError, match="clash"):
        predict_regions(toy_model(["chrom", "x"]), genome, pd.DataFrame({"chrom": [], "start": [], "end": []}))
    empty = predict_regions(model, genome, pd.DataFrame({"chrom": [], "start": [], "end": []}))
    assert empty.empty and list(empty.columns)[-4:] == ["up", "down", "logit.up", "logit.down"]


def test_predict_fasta_crops_longer_records_and_pads_shorter(tmp_path: Path, caplog) -> None:
    fasta = tmp_path / "set.fa"
    fasta.write_text(">chr1:10-20\nGATTACAGAT\n>long\nCCAAAAAGGGTTT\n")
    out = predict_fasta(toy_model(), fasta, batch_size=1, progress=False)
    assert list(out.columns) == [
        *["name", "chrom", "start", "end", "length", "cropped", "padded", "n_fraction"],
        *["up", "down", "logit.up", "logit.down"],
    ]
    assert out["name"].tolist() == ["chr1:10-20", "long"]
    assert out["chrom"].iloc[0] == "chr1" and pd.isna(out["chrom"].iloc[1])
    assert out["start"].tolist()[0] == 10 and pd.isna(out["start"].iloc[1])
    assert out["length"].tolist() == [10, 13]
    assert out["cropped"].tolist() == [False, True]
    # 13 bp -> the window starts 13 // 2 - 10 // 2 = 1 bp in
    np.testing.assert_allclose(
        out[["up", "down"]].to_numpy(), [expected("GATTACAGAT"), expected("CAAAAAGGGT")], rtol=1e-6
    )
    # the same rule as SequenceModel.predict: a shorter record is padded with N around its centre
    fasta.write_text(">ok\nGATTACAGAT\n>tiny\nACGT\n>long\nCCAAAAAGGGTTT\n")
    out = predict_fasta(toy_model(), fasta, progress=False)
    assert out["padded"].tolist() == [False, True, False] and out["cropped"].tolist() == [False, False, True]
    assert out["n_fraction"].tolist() == [0.0, 0.6, 0.0]
    np.testing.assert_allclose(out.loc[1, ["up", "down"]].to_numpy(float), expected("NNNACGTNNN"), rtol=1e-6)
    assert "1 of 3 sequences are longer than the 10 bp window" in caplog.text
    assert "1 of 3 sequences are shorter than the 10 bp window: padded with N" in caplog.text


def test_write_predictions_is_a_tsv(tmp_path: Path, genome: Genome) -> None:
    regions = pd.DataFrame({"chrom": ["chr1"], "start": [10], "end": [20], "name": ["peak1"]})
    out = predict_regions(toy_model(), genome, regions, progress=False)
    path = write_predictions(out, tmp_path / "sub" / "pred.tsv")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == [
        "name",
        "chrom",
        "start",
        "end",
        "window_start",
        "window_end",
        "padded",
        "n_fraction",
        "up",
        "down",
        "logit.up",
        "logit.down",
    ]
    assert lines[1].split("\t")[:7] == ["peak1", "chr1", "10", "20", "10", "20", "False"]
    back = pd.read_csv(path, sep="\t")
    # full precision: the written text reads back to the same float64 values
    np.testing.assert_array_equal(
        back[["up", "down", "logit.up"]].to_numpy(), out[["up", "down", "logit.up"]].to_numpy()
    )
    assert [p.name for p in path.parent.iterdir()] == ["pred.tsv"]


def test_windows_follow_narrowpeak_summits_as_training_does(genome):
    # interval 0-40 with its summit 8 bp in: the 'summit' window is centred there, as in training
    regions = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [0, 0], "end": [40, 40], "summit": [8, -1]})
    summit = predict_regions(toy_model(), genome, regions, progress=False)
    assert summit["window_start"].tolist() == [8 - 5, 20 - 5]  # no summit (-1): the centre
    centre = predict_regions(toy_model(), genome, regions, progress=False, center="center")
    assert centre["window_start"].tolist() == [15, 15]
    assert summit.loc[0, "up"] == pytest.approx(expected(CHR1[3:13])[0], abs=1e-6)


# ---------------------------------------------------------------- issue 9 items 9 and 14


def test_all_n_windows_need_a_flag(tmp_path: Path) -> None:
    fasta = tmp_path / "n.fa"
    fasta.write_text(">ok\nGATTACAGAT\n>gap\nNNNNNNNNNN\n")
    with pytest.raises(ValueError, match=r"n.fa: 1 window\(s\) are all N, first 'gap'.*--allow-all-n"):
        predict_fasta(toy_model(), fasta, progress=False)
    out = predict_fasta(toy_model(), fasta, progress=False, allow_all_n=True)
    assert out["n_fraction"].tolist() == [0.0, 1.0]


def test_variant_style_names_fall_back_to_ids(tmp_path: Path) -> None:
    fasta = tmp_path / "v.fa"
    fasta.write_text(">chr1:12289969:G>A|chr1:12289904-12290104\nGATTACAGAT\n>chr1:0-5\nGATTACAGAT\n")
    out = predict_fasta(toy_model(), fasta, progress=False)
    assert out["name"].tolist() == ["chr1:12289969:G>A|chr1:12289904-12290104", "chr1:0-5"]
    assert out["chrom"].isna().all() and out["start"].isna().all()  # the second spans 5 bp, not 10


def test_probabilities_near_one_stay_distinct_at_full_precision(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["a", "b"], "up": [1 / (1 + np.exp(-17.0)), 1 / (1 + np.exp(-17.5))]})
    back = pd.read_csv(write_predictions(frame, tmp_path / "p.tsv"), sep="\t")
    assert back["up"].iloc[0] != back["up"].iloc[1]
    np.testing.assert_array_equal(back["up"].to_numpy(), frame["up"].to_numpy())


def test_write_predictions_refuses_an_existing_file_unless_overwrite(tmp_path: Path, genome: Genome) -> None:
    from seqlab.outputs import OutputExistsError

    regions = pd.DataFrame({"chrom": ["chr1"], "start": [10], "end": [20], "name": ["peak1"]})
    out = predict_regions(toy_model(), genome, regions, progress=False)
    path = tmp_path / "out" / "pred.tsv"
    path.parent.mkdir()
    path.write_text("earlier\n")
    with pytest.raises(OutputExistsError, match=r"pred.tsv: exists; use --overwrite"):
        write_predictions(out, path)
    assert path.read_text() == "earlier\n"
    write_predictions(out, path, overwrite=True)
    assert path.read_text().startswith("name\t") and [p.name for p in path.parent.iterdir()] == ["pred.tsv"]
