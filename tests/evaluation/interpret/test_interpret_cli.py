"""``seqlab dna interpret`` end to end on a small model folder, its bad-input errors, subspaces and matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.evaluation.interpret.attributions import SubspaceLogits, saliency
from seqlab.evaluation.interpret.motifs import Pattern, jaspar_motifs, match_patterns, q_values
from seqlab.models.metadata import MetadataEncoder
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import SequenceModel

torch.set_num_threads(1)
RECORDS = [{"target": "A", "lab": "X"}, {"target": "B", "lab": "Y"}]


class BaseCounts(nn.Module):
    """Trunk whose features are the counts of A, C, G, T: (B, 4, L) -> (B, 4)."""

    out_features = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=-1)


def test_subspace_logits_explain_only_their_features() -> None:
    encoder = MetadataEncoder({"target": "categorical", "lab": "categorical"}).fit(RECORDS)
    groups = {"biological": ["target"], "technical": ["lab"]}
    torch.manual_seed(0)
    head = MetadataHead(4, encoder, RECORDS, groups, {"biological": 2, "technical": 2}, 0)
    model = SequenceModel(BaseCounts(), head, {"tasks": ["e1", "e2"], "window_length": 9, "encoding": "onehot"})
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (3, 9)), 4).permute(0, 2, 1).float()
    weights = model.head.group_weights(model.head.task_codes)
    for group, channels in (("biological", slice(0, 2)), ("technical", slice(2, 4))):
        module = SubspaceLogits(model, group)
        expected = x.sum(-1)[:, channels] @ weights[group].T
        assert torch.allclose(module(x), expected.detach(), atol=1e-6)
        hypothetical = saliency(module, x, target=1).hypothetical  # linear: the subspace's weights per base
        per_base = torch.zeros(4)
        per_base[channels] = weights[group][1].detach()
        assert torch.allclose(hypothetical, per_base[None, :, None].expand(3, 4, 9), atol=1e-6)


def test_cli_methods_are_the_api_methods() -> None:
    from seqlab.cli.interpret import Method
    from seqlab.evaluation.interpret.attributions import METHODS

    assert [m.value for m in Method] == list(METHODS)


def test_q_values_are_benjamini_hochberg() -> None:
    p = np.array([[0.01, 0.04, 0.03, 0.5]])
    assert np.allclose(
        q_values(p), [[0.04, 0.16 / 3, 0.16 / 3, 0.5]]
    )  # p * 4 / rank, then running minimum from the top


def test_a_jaspar_matrix_matches_its_own_id_on_both_strands() -> None:
    motifs = jaspar_motifs()
    assert motifs.release.startswith("JASPAR") and len(motifs.ids) > 500
    ctcf = motifs.ppms[[i.split(".")[0] for i in motifs.ids].index("MA0139")].T  # (W, 4)
    patterns = [Pattern("fwd", 100, ctcf, ctcf, ctcf), Pattern("rev", 50, ctcf[::-1, ::-1], ctcf, ctcf)]
    table = match_patterns(patterns, motifs)
    assert table["best_id"].str.startswith("MA0139").all()
    assert table["orientation"].tolist() == ["+", "-"]
    assert (table["best_q"] < 1e-6).all()


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory):
    from seqlab.models.sequence_model import build_model
    from seqlab.training.base import make_data_params

    tmp = tmp_path_factory.mktemp("interpret")
    params = make_data_params(["t1", "t2"], 24, "onehot", "toy")
    torch.manual_seed(0)
    model = build_model({"trunk": {"arch": "deepbind", "filters": 4, "kernel_size": 5, "hidden": 3}}, params)
    folder = model.save_pretrained(tmp / "model")
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), 24)) for _ in range(7)]
    (tmp / "w.fa").write_text("".join(f">w{i}\n{s}\n" for i, s in enumerate(sequences)))
    (tmp / "short.fa").write_text(">a\nACGT\n")
    return folder, model, sequences, tmp


@pytest.mark.parametrize("method", ["ism", "deepliftshap"])
def test_interpret_command_writes_attributions_index_and_report(model_folder, method: str) -> None:
    folder, model, sequences, tmp = model_folder
    out = tmp / f"out-{method}"
    args = ["dna", "interpret", str(folder), "--fasta", str(tmp / "w.fa"), "--out", str(out), "--task", "t2"]
    result = CliRunner().invoke(app, [*args, "--method", method, "--window", "10", "--no-motifs", "--top-windows", "2"])
    assert result.exit_code == 0, result.output
    arrays = np.load(out / "attributions.npz")
    assert arrays["attributions"].shape == arrays["hypothetical"].shape == arrays["one_hot"].shape == (7, 4, 10)
    assert np.array_equal(arrays["attributions"], arrays["hypothetical"] * arrays["one_hot"])
    index = pd.read_csv(out / "index.tsv", sep="\t")
    from seqlab.data.encoding import encode_batch

    with torch.no_grad():
        logits = model(encode_batch(sequences, "onehot"))[:, 1].numpy()
    assert index["name"].tolist() == [f"w{i}" for i in range(7)]
    assert np.allclose(index["logit"], logits, atol=1e-5)
    assert (out / "logos" / "window_1.png").is_file() and "window_0.png" in (out / "report.md").read_text()
    assert not (out / ".staging").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fasta", "short.fa", "--task", "t1"], "--fasta"),
        (["--fasta", "w.fa", "--task", "nope"], "--task 'nope'"),
        (["--fasta", "w.fa"], "--task: the model has 2 tasks"),
        (["--fasta", "w.fa", "--task", "t1", "--subspace", "biological"], "--subspace 'biological'"),
        (["--fasta", "w.fa", "--task", "t1", "--method", "shap"], "--method"),
        (["--fasta", "w.fa", "--task", "t1", "--window", "30"], "--window 30"),
        (["--task", "t1"], "exactly one of --fasta or --bed"),
    ],
)
def test_interpret_command_bad_input_is_one_line_naming_the_argument(model_folder, extra, message) -> None:
    folder, _, _, tmp = model_folder
    extra = [str(tmp / a) if a.endswith(".fa") else a for a in extra]
    result = CliRunner().invoke(app, ["dna", "interpret", str(folder), "--out", str(tmp / "bad"), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_interpret_command_refuses_a_folder_with_files(model_folder) -> None:
    folder, _, _, tmp = model_folder
    (tmp / "full").mkdir()
    (tmp / "full" / "keep.txt").write_text("mine")
    args = ["dna", "interpret", str(folder), "--fasta", str(tmp / "w.fa"), "--task", "t1", "--out", str(tmp / "full")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "exists and is not empty" in result.output
    result = CliRunner().invoke(app, [*args, "--overwrite"])  # not an interpretation folder: never replaced
    assert result.exit_code == 2 and "not an output of this command" in result.output
    assert (tmp / "full" / "keep.txt").read_text() == "mine"


def test_attributions_streamed_in_chunks_equal_one_pass(model_folder, tmp_path) -> None:
    from seqlab.evaluation.interpret.report import attribute_to_disk

    _, model, sequences, _ = model_folder
    outputs = []
    for chunk in (3, 100):
        (tmp_path / str(chunk)).mkdir()
        logits = attribute_to_disk(model, sequences, tmp_path / str(chunk), "saliency", target=0, chunk=chunk)
        outputs.append((logits, np.load(tmp_path / str(chunk) / "hypothetical.npy")))
    assert np.array_equal(outputs[0][0], outputs[1][0]) and np.allclose(outputs[0][1], outputs[1][1], atol=1e-6)
