from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.config import DataConfig, DeepBindConfig, TrainConfig
from seqlab.config.hardware import HardwareConfig
from seqlab.config.schemes import NoisyStudentConfig, SslConfig, StageConfig
from seqlab.data.build import ExampleTable
from seqlab.data.homologs import LiftOptions, lift_examples
from seqlab.data.table import example_ids
from seqlab.demo.evolve import Branch, evolve_species
from seqlab.demo.simulate import FactorSpec
from seqlab.models.inference import predict_table
from seqlab.training.noisy_student import relabel_homologs, run_noisy_student, teacher_pseudo_labels
from seqlab.training.ssl import NoisyModule, run_ssl, stage_table

TASKS = pd.DataFrame({"task": ["A", "B"]})


def _table(rows: list[tuple[str, str, int, int, str, str]], labels: list[list[float]], **extra) -> ExampleTable:
    frame = pd.DataFrame(rows, columns=["genome", "chrom", "start", "end", "strand", "split"]).assign(source="x")
    for key, value in extra.items():
        frame[key] = value
    return ExampleTable(frame, np.array(labels), np.ones((len(rows), 2)), TASKS.copy())


def test_teacher_pseudo_labels_exact() -> None:
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([[1.0, 1.0], [0.5, 0.0]])
    p = np.array([[0.8, 0.3], [0.4, 0.9]])
    labels, weights = teacher_pseudo_labels(y, w, p, "soft")
    np.testing.assert_allclose(labels, p, rtol=1e-6)
    assert weights.tolist() == w.tolist()
    labels, weights = teacher_pseudo_labels(y, w, p, "weighted")
    assert labels.tolist() == y.tolist()
    # w * (p if y = 1 else 1 - p)
    np.testing.assert_allclose(weights, [[0.8, 0.7], [0.3, 0.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="soft"):
        teacher_pseudo_labels(y, w, p, "hard")  # type: ignore[arg-type]


def test_stage_table_and_concat() -> None:
    human = _table([("h", "c1", 0, 10, "+", "train"), ("h", "c2", 0, 10, "+", "test")], [[1, 0], [0, 1]])
    homologs = _table([("m", "c1", 5, 15, "-", "train"), ("m", "c1", 50, 60, "+", "val")], [[1, 0], [0, 0]],
                      origin=["h:c1:0-10", "h:c9:0-10"])  # fmt: skip
    table = stage_table([(homologs, "train", "train"), (human, "train", "train"), (human, "test", "test")])
    assert table.frame[["genome", "split", "origin"]].values.tolist() == [
        ["m", "train", "h:c1:0-10"], ["h", "train", ""], ["h", "test", ""]]  # fmt: skip
    assert table.labels.tolist() == [[1, 0], [1, 0], [0, 1]]
    sparse = stage_table([(homologs.to_sparse(), "train", "train"), (human.to_sparse(), "test", "test")])
    assert sparse.sparse and sparse.to_dense().labels.tolist() == [[1, 0], [0, 1]]


@pytest.fixture(scope="module")
def lifted(tmp_path_factory: pytest.TempPathFactory):
    tree = (Branch("ape", substitution_rate=0.02, indel_rate=0.002, inversions=1, transpositions=1),)
    factors = (FactorSpec("REST", "MA0138", sites=20, decoys=4, noise_peaks=2),)
    evolved = evolve_species(tmp_path_factory.mktemp("ev"), seed=2, chrom_sizes={"chr1": 60_000, "chr2": 40_000},
                             factors=factors, tree=tree)  # fmt: skip
    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(1_000, 38_000, 60))
    chroms = np.where(np.arange(60) % 2 == 0, "chr1", "chr2")
    frame = pd.DataFrame({"genome": "human", "chrom": chroms, "start": starts, "end": starts + 200, "strand": "+",
                          "split": np.where(np.arange(60) % 3 == 0, "test", "train"), "source": "peaks"})  # fmt: skip
    human = ExampleTable(frame, (np.arange(60) % 2)[:, None].astype(float), np.ones((60, 1)),
                         pd.DataFrame({"task": ["REST"]}), genomes={"human": evolved.human["genome"]})  # fmt: skip
    genomes = {"ape": {"fasta": evolved.genomes["ape"], "chain": evolved.chains["ape"]}}
    table = lift_examples(human, genomes, LiftOptions(min_match=0.5))
    return evolved, human, table, table.report["lift"]["genomes"]


def test_lift_examples_on_simulated_species_matches_the_truth(lifted) -> None:
    """The homologs of the user's code path (data.homologs) sit where the simulator put the human bases."""
    evolved, human, table, counts = lifted
    ape = counts["ape"]
    assert ape["windows"] == 60
    assert ape["kept"] == len(table) == 60 - sum(ape["failed"].values()) - sum(ape["guard_removed"].values()) > 30
    origin = dict(zip(example_ids(human.frame), range(60), strict=True))
    rows = np.array([origin[o] for o in table.frame["origin"]])
    assert (table.frame["split"].to_numpy() == human.frame["split"].to_numpy()[rows]).all()
    assert (table.labels == human.labels[rows]).all()
    # the homolog's centre base is the lifted human centre (reverse-complemented on '-' chains)
    for i in range(len(table)):
        row = table.frame.iloc[i]
        centre = human.frame["start"].iat[rows[i]] + 100
        truth = evolved.origin["ape"][human.frame["chrom"].iat[rows[i]]]
        minus = row["strand"] == "-"
        assert minus == bool(truth.minus[centre])
        assert row["end"] - row["start"] == 200
        assert (row["start"] + 100 if not minus else row["start"] + 99) == truth.pos[centre]


def _tiny_human(tmp_path: Path) -> tuple[ExampleTable, ExampleTable, DataConfig]:
    rng = np.random.default_rng(0)
    motif = "GGAGCTGTCCATGGTGCTGA"
    sequences, labels, splits = [], [], []
    for i in range(96):
        seq = "".join(rng.choice(list("ACGT"), 60))
        positive = i % 2 == 0
        if positive:
            seq = seq[:20] + motif + seq[40:]
        sequences.append(seq)
        labels.append([float(positive)])
        splits.append(("train", "train", "val", "test", "train", "train", "test", "val")[i % 8])
    starts = np.arange(96) * 100
    frame = pd.DataFrame({"genome": "human", "chrom": "c", "start": starts, "end": starts + 60,
                          "strand": "+", "split": splits, "source": "x"})  # fmt: skip
    human = ExampleTable(frame, np.array(labels), np.ones((96, 1)), pd.DataFrame({"task": ["T"]}), sequences=sequences)
    homologs = human.subset(np.flatnonzero(human.frame["split"] != "test"))
    homologs.frame["genome"] = "other"
    homologs.frame["origin"] = example_ids(human.frame)[np.flatnonzero(human.frame["split"] != "test")]
    data = DataConfig(sources=[{"kind": "sequences", "sets": [{"fasta": tmp_path / "unused.fa", "labels": {"T": 1}}]}],
                      window_length=60, batch_size=32)  # fmt: skip
    return human, homologs, data


def _ctx(root: Path, human: ExampleTable, data: DataConfig, scheme: str = "ssl", *, trunk=None, resume: bool = False,
         **sections):
    """A RunContext of a run folder ``root`` (the pipeline's evaluation on the CPU)."""
    from seqlab.config import DnaRunConfig, ModelConfig
    from seqlab.models.data_params import DataParams
    from seqlab.pipeline import _evaluator
    from seqlab.runs import RunPaths
    from seqlab.training.schemes import RunContext

    trunk = trunk or DeepBindConfig(filters=8, kernel_size=12, hidden=8)
    config = DnaRunConfig(data=data, model=ModelConfig(trunk=trunk),
                          train=TrainConfig(scheme=scheme, progress_bar=False),
                          hardware=HardwareConfig(accelerator="cpu", precision="32-true"), **sections)  # fmt: skip
    params = DataParams(tasks=human.task_names, window_length=data.window_length, encoding=data.encoding,
                        genome_name=data.genome_name, task_metadata=human.tasks.to_dict("records"))  # fmt: skip
    return RunContext(config=config, run=RunPaths(root).make(), table=human, data_params=params, seed=0,
                      evaluate=_evaluator("cpu"), resume=resume)  # fmt: skip


def test_ssl_and_noisy_student_write_every_stage(tmp_path: Path) -> None:
    human, homologs, data = _tiny_human(tmp_path)
    one = StageConfig(max_epochs=1, learning_rate=0.01, patience=1)
    ctx = _ctx(tmp_path / "ssl", human, data, ssl=SslConfig(head="reinit", pretrain=one, finetune=one))
    ssl, teacher = run_ssl(ctx, human, homologs, ctx.run)
    assert list(ssl["stages"]) == ["pretrain", "finetune"]
    assert ssl["stages"]["pretrain"]["n_train"] == 48 and ssl["stages"]["finetune"]["n_train"] == 48
    assert ssl["stages"]["pretrain"]["steps"] == 2 and ssl["steps"] == 4  # 48 windows in batches of 32, 1 epoch
    # every stage is tested on the same 24 human test windows
    assert {
        s["test"]["per_task"]["T"]["n_pos"] + s["test"]["per_task"]["T"]["n_neg"] for s in ssl["stages"].values()
    } == {24}
    assert json.loads((tmp_path / "ssl" / "metrics.json").read_text())["test"] == ssl["test"]
    assert (tmp_path / "ssl" / "pretrain" / "checkpoints" / "best.ckpt").is_file()

    assert ssl["best_checkpoint"] == "finetune/checkpoints/best.ckpt"  # relative to the run folder
    assert (tmp_path / "ssl" / "pretrain" / "model" / "config.json").is_file()  # a model/ folder per stage

    noisy = NoisyStudentConfig(rounds=2, student=one, finetune=one, noise_sigma=0.2)
    ctx = _ctx(tmp_path / "ns", human, data, "noisy_student", noisy_student=noisy)
    result, _ = run_noisy_student(ctx, human, homologs, ctx.run, teacher.best_checkpoint)
    assert list(result["stages"]) == ["round_1/student", "round_1/finetune", "round_2/student", "round_2/finetune"]
    assert result["rounds"][1]["teacher"] == "round_1/finetune/checkpoints/best.ckpt"
    assert result["stages"]["round_1/student"]["n_train"] == 96  # 48 relabelled homologs + 48 human
    assert (tmp_path / "ns" / "round_2" / "metrics.json").is_file()
    assert result["steps"] == 2 * (3 + 2)  # per round: 96 student windows (3 batches of 32) + 48 human (2)


def test_a_stage_of_short_epochs_validates_by_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seqlab.training import fit as fit_module
    from seqlab.training.ssl import train_stage

    human, _, data = _tiny_human(tmp_path)
    seen: dict = {}
    build = fit_module.build_trainer

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return build(*args, **kwargs)

    monkeypatch.setattr(fit_module, "build_trainer", spy)
    stage = StageConfig(max_epochs=8, learning_rate=0.01, patience=1)
    ctx = _ctx(tmp_path / "run", human, data)
    result = train_stage(ctx, ctx.run.stage("stage"), human, stage)
    # 48 windows in batches of 32: 2 steps per epoch, so validation every 10 steps, not every epoch
    assert seen["val_check_interval"] == 10 and seen["check_val_every_n_epoch"] is None and seen["patience"] == 1
    assert result.metrics["steps"] == 16  # one validation (step 10) cannot exhaust a patience of 1


def test_noisy_module_adds_noise_only_in_training() -> None:
    params = {"tasks": ["T"], "window_length": 30, "encoding": "onehot", "genome_name": "g", "task_metadata": []}
    module = NoisyModule(DeepBindConfig(filters=4, kernel_size=5, hidden=0), params, noise_sigma=0.5)
    assert module.hparams["noise_sigma"] == 0.5
    seen = []
    module.model.forward = lambda x: seen.append(x.clone()) or torch.zeros(len(x), 1)  # type: ignore[method-assign]
    module.log_train_loss = lambda *a, **k: None  # type: ignore[method-assign]
    x = torch.zeros(2, 4, 30)
    module.training_step({"x": x, "y": torch.zeros(2, 1), "weight": torch.ones(2, 1)}, 0)
    assert seen[0].std() > 0.3  # noised
    table = ExampleTable(pd.DataFrame({"genome": "g", "chrom": "c", "start": [0], "end": [30], "strand": "+",
                                       "split": "test", "source": "x"}), np.zeros((1, 1)), np.ones((1, 1)),
                         pd.DataFrame({"task": ["T"]}), sequences=["A" * 30])  # fmt: skip
    predict_table(module.model, table)
    assert float(seen[-1].abs().sum()) == 30.0  # clean one-hot: 30 bases, once (DeepBind is strand-symmetric)


@pytest.mark.slow
def test_train_scheme_ssl_and_noisy_student_through_the_pipeline(tmp_path: Path) -> None:
    from seqlab import pipeline
    from seqlab.config import DnaRunConfig, validate_config

    tree = (Branch("ape", substitution_rate=0.02, indel_rate=0.001, inversions=1, transpositions=0),)
    factors = (FactorSpec("REST", "MA0138", sites=36, decoys=6, noise_peaks=2),)
    evolved = evolve_species(tmp_path / "sim", seed=4, chrom_sizes={f"chr{i}": 40_000 for i in range(1, 7)},
                             factors=factors, tree=tree)  # fmt: skip
    one = {"max_epochs": 1, "learning_rate": 0.01, "patience": 1}
    for scheme in ("supervised", "ssl", "noisy_student"):
        raw = {
            "seed": 0,
            "data": {
                "genomes": {"human": {"fasta": str(evolved.human["genome"])},
                            "ape": {"fasta": str(evolved.genomes["ape"]), "chain": str(evolved.chains["ape"])}},
                "tasks": str(evolved.human["tasks"]),
                "sources": [{"kind": "peaks", "negatives": {"ratio": 1.0}}, {"kind": "lifted", "min_match": 0.5}],
                "split": {"val_chroms": ["chr5"], "test_chroms": ["chr6"], "allow_small_splits": True},
                "batch_size": 32,
            },
            "model": {"trunk": {"arch": "deepbind", "filters": 8, "kernel_size": 12, "hidden": 8}},
            "train": {"scheme": scheme, "progress_bar": False},
            "hardware": {"accelerator": "cpu", "threads": 1},
            "ssl": {"pretrain": one, "finetune": one},
        }  # fmt: skip
        if scheme == "supervised":
            del raw["ssl"]
            raw["train"] |= one
        if scheme == "noisy_student":
            raw["noisy_student"] = {"rounds": 1, "student": one, "finetune": one}
        config = validate_config(raw, DnaRunConfig, "test", tmp_path)
        result = pipeline.train(config, tmp_path / scheme)
        human_test = (result.table.frame["origin"] == "") & (result.table.frame["split"] == "test")
        predictions = pd.read_csv(tmp_path / scheme / "predictions_test.tsv", sep="\t")
        # every scheme reports on the same windows: the human test windows (homologs of them are left out)
        assert len(predictions) == int(human_test.sum()) > 0 and set(predictions["genome"]) == {"human"}
        if scheme == "supervised":
            assert ((result.table.frame["origin"] != "") & (result.table.frame["split"] == "test")).any()
            continue
        stages = result.metrics["stages"]
        if scheme == "ssl":
            assert list(stages) == ["pretrain", "finetune"]
            homologs = result.table.frame["origin"] != ""
            # pre-training sees the homologs of the human training windows only
            assert stages["pretrain"]["n_train"] == int((homologs & (result.table.frame["split"] == "train")).sum()) > 0
        else:
            assert list(stages) == ["round_1/student", "round_1/finetune"]
            assert (tmp_path / scheme / "ssl" / "finetune" / "checkpoints" / "best.ckpt").is_file()  # the teacher
        assert result.metrics["scheme"] == scheme and result.metrics["test"] == stages[list(stages)[-1]]["test"]
        # like a supervised run: model/ (the final stage's best model) and the reports on the human windows
        from seqlab.models.sequence_model import SequenceModel

        SequenceModel.from_pretrained(tmp_path / scheme)
        # seqlab dna evaluate RUN scores the windows training reported: the human ones, homologs left out
        evaluated = pipeline.evaluate(tmp_path / scheme, tmp_path / f"eval-{scheme}").metrics
        frame = result.table.frame
        for split in ("val", "test"):
            assert evaluated["n_examples"][split] == int(((frame["origin"] == "") & (frame["split"] == split)).sum())
            homologs = frame[(frame["origin"] != "") & (frame["split"] == split)]
            assert evaluated["homologs_left_out"][split] == {"ape": len(homologs)} and len(homologs) > 0
            assert evaluated[split]["auroc"] == pytest.approx(result.metrics[split]["auroc"], abs=1e-6)
            assert evaluated[split]["aupr"] == pytest.approx(result.metrics[split]["aupr"], abs=1e-6)


def test_ssl_and_noisy_student_on_sparse_tables_match_dense(tmp_path: Path) -> None:
    """Tiling tables hold sparse labels/weights: the schemes give the same stages as on dense tables."""
    human, homologs, data = _tiny_human(tmp_path)
    one = StageConfig(max_epochs=1, learning_rate=0.01, patience=1)
    ssl = SslConfig(include_human=True, pretrain=one, finetune=one)
    ctx = _ctx(tmp_path / "dense", human, data, ssl=ssl)
    dense, _ = run_ssl(ctx, human, homologs, ctx.run)
    ctx = _ctx(tmp_path / "sparse", human.to_sparse(), data, ssl=ssl)
    sparse, teacher = run_ssl(ctx, human.to_sparse(), homologs.to_sparse(), ctx.run)
    assert human.to_sparse().sparse
    assert (
        sparse["stages"]["pretrain"]["n_train_positive"] == dense["stages"]["pretrain"]["n_train_positive"] == {"T": 48}
    )
    assert 0 <= dense["test"]["auroc"] <= 1
    assert sparse["test"]["auroc"] == pytest.approx(dense["test"]["auroc"], abs=1e-6)
    assert sparse["stages"]["pretrain"]["val"]["aupr"] == pytest.approx(dense["stages"]["pretrain"]["val"]["aupr"])
    noisy = NoisyStudentConfig(rounds=1, student=one, finetune=one, pseudo_labels="weighted")
    ctx = _ctx(tmp_path / "ns", human.to_sparse(), data, "noisy_student", noisy_student=noisy)
    result, _ = run_noisy_student(ctx, human.to_sparse(), homologs.to_sparse(), ctx.run, teacher.best_checkpoint)
    assert result["stages"]["round_1/student"]["n_train"] == 96
    # the teacher's probabilities come from predict_table; tasks are matched by name
    relabelled = relabel_homologs(homologs.to_sparse(), teacher.best_checkpoint, "soft")
    assert not relabelled.sparse and relabelled.labels.min() > 0 and relabelled.labels.max() < 1
    renamed = dataclasses.replace(homologs, tasks=pd.DataFrame({"task": ["U"]}))
    with pytest.raises(ValueError, match=r"does not predict task\(s\) \['U'\]"):
        relabel_homologs(renamed, teacher.best_checkpoint, "soft")


def test_supervised_run_warns_when_its_table_holds_homologs() -> None:
    from seqlab.training.supervised import derived_rows_warning

    human = _table([("h", "c1", 0, 10, "+", "train"), ("h", "c2", 0, 10, "+", "test")], [[1, 0], [0, 1]])
    assert derived_rows_warning(human) is None
    rows = [("m", "c1", 5, 15, "-", "train"), ("m", "c2", 5, 15, "+", "test"), ("m", "c2", 50, 60, "+", "test")]
    homologs = _table(rows, [[1, 0], [0, 0], [0, 1]], origin=["h:c1:0-10", "h:c2:0-10", "h:c2:0-10"])
    message = derived_rows_warning(ExampleTable.concat([human, homologs]))
    assert message is not None and "3 of 5 examples are homologs" in message
    assert "test metrics use the reference windows only" in message


class _Killed(Exception):
    pass


class _KillIn(L.Callback):
    """Kill the fit of one stage folder in its second epoch, after a batch (last.ckpt holds epoch 1)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if Path(trainer.default_root_dir).name == self.stage and trainer.current_epoch == 1 and batch_idx == 0:
            raise _Killed


@pytest.mark.parametrize(("scheme", "stage"), [("ssl", "finetune"), ("noisy_student", "student")])
def test_ssl_and_noisy_student_stages_resume_exactly_through_the_one_fit(tmp_path, monkeypatch, scheme, stage):
    """A stage killed mid-way and resumed ends as the uninterrupted run: ssl and noisy_student stages train through
    training.fit.fit (exact --resume: random states, sampler position; finished stages stay finished)."""
    import seqlab.training.fit as fit_module
    from seqlab.training.builtin import SCHEMES

    human, homologs, data = _tiny_human(tmp_path)
    table = ExampleTable.concat([human, homologs])
    assert table.derived.sum() == len(homologs)
    two = StageConfig(max_epochs=2, learning_rate=0.01, patience=2)
    sections = {"ssl": SslConfig(pretrain=two, finetune=two)}
    if scheme == "noisy_student":
        sections["noisy_student"] = NoisyStudentConfig(rounds=1, student=two, finetune=two, noise_sigma=0.2)
    build = fit_module.build_trainer

    def run(root: Path, resume: bool, kill: str | None) -> dict:
        def with_kill(*args, **kwargs):
            kwargs["extra_callbacks"] = [*kwargs.get("extra_callbacks", []), *([_KillIn(kill)] if kill else [])]
            return build(*args, **kwargs)

        monkeypatch.setattr(fit_module, "build_trainer", with_kill)
        ctx = _ctx(root, human, data, scheme, **sections)
        ctx.table, ctx.resume = table, resume
        return SCHEMES[scheme](ctx)

    whole = run(tmp_path / "whole", False, None)
    with pytest.raises(_Killed):
        run(tmp_path / "killed", False, stage)
    resumed = run(tmp_path / "killed", True, None)
    for name, result in whole["stages"].items():
        assert resumed["stages"][name]["epochs"] == result["epochs"] == 2
        assert resumed["stages"][name]["test"]["auroc"] == pytest.approx(result["test"]["auroc"], abs=1e-6)
        assert resumed["stages"][name]["val"]["auroc"] == pytest.approx(result["val"]["auroc"], abs=1e-6)
    final = whole["best_checkpoint"]
    first = torch.load(tmp_path / "whole" / final, weights_only=False)["state_dict"]
    second = torch.load(tmp_path / "killed" / final, weights_only=False)["state_dict"]
    for key, value in first.items():
        torch.testing.assert_close(second[key], value, rtol=0, atol=1e-6)


@pytest.mark.parametrize("trunk", ["transformer", "hf"])
def test_ssl_runs_with_transformer_trunks(tmp_path: Path, trunk: str) -> None:
    """Any trunk: the nucleotide transformer and a local Hugging Face encoder pre-train and fine-tune."""
    from seqlab.config.transformer import HFConfig, TransformerConfig
    from tests.models.test_transformer import _tiny_hf_folder

    human, homologs, data = _tiny_human(tmp_path)
    if trunk == "transformer":
        model = TransformerConfig(kmer=3, d_model=16, layers=1, heads=2, feedforward=32)
    else:
        model = HFConfig(path=_tiny_hf_folder(tmp_path / "encoder"))
    one = StageConfig(max_epochs=1, learning_rate=0.01, patience=1)
    ctx = _ctx(tmp_path / "ssl", human, data, trunk=model, ssl=SslConfig(head="reinit", pretrain=one, finetune=one))
    result, final = run_ssl(ctx, human, homologs, ctx.run)
    assert list(result["stages"]) == ["pretrain", "finetune"]
    assert result["stages"]["pretrain"]["n_train"] == 48 and 0 <= result["test"]["auroc"] <= 1
    # the fine-tuning stage started from the pre-trained trunk: its model folder reloads with that trunk
    from seqlab.models.sequence_model import SequenceModel

    reloaded = SequenceModel.from_pretrained(final.best_checkpoint)
    params = reloaded.data_params
    assert type(reloaded.trunk).__name__ == ("TransformerTrunk" if trunk == "transformer" else "HFTrunk")
    if trunk == "hf":  # a freshly built hf trunk trains like any module (from_pretrained gives eval mode)
        from seqlab.models.sequence_model import build_model

        assert build_model(model, params).trunk.encoder.training
    assert params.tasks == ["T"]
