"""The mfd scheme's pieces without training: config, task metadata checks, held-out experiments, imputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.config import ConfigError, DnaRunConfig, MetadataHeadConfig, ModelConfig, validate_config
from seqlab.data.table import ExampleTable
from seqlab.models.data_params import DataParams
from seqlab.models.impute import complete_records, impute_model
from seqlab.models.metadata import MetadataError
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.sequence_model import build_model
from seqlab.training.builtin import SCHEMES
from seqlab.training.mfd_scheme import check_task_metadata, holdout_mask, parse_metadata, split_holdout

TASKS = pd.DataFrame(
    {
        "task": ["a", "b", "c", "d"],
        "peaks": ["a.bed", "b.bed", "c.bed", "d.bed"],
        "target": ["CTCF", "CTCF", "SPI1", "SPI1"],
        "biosample": ["K562", "GM12878, K562", "K562", "HepG2"],
        "lab": ["L1", "L2", "L1", "L2"],
        "date": ["2012-01-01", "2014", "2016-05", "2018"],
    }
)
HEAD = {
    "kind": "metadata",
    "columns": {"target": "categorical", "biosample": "categorical", "lab": "categorical", "date": "date"},
    "groups": {"biological": ["target", "biosample"], "technical": ["lab", "date"]},
    "hidden": 0,
}


def test_config_registers_the_metadata_head_and_the_mfd_section(tmp_path):
    raw = {
        "data": {"sources": [{"kind": "sequences", "sets": [{"fasta": "x.fa", "labels": {"a": 1}}]}]},
        "model": {"trunk": {"arch": "deepbind"}, "head": HEAD},
        "train": {"scheme": "mfd"},
        "mfd": {"penalty": "shuffle", "adversary_steps": 2, "holdout": [{"target": "CTCF", "date": 2012}]},
    }
    config = validate_config(raw, DnaRunConfig, "run.yaml", tmp_path)
    assert isinstance(config.model.head, MetadataHeadConfig) and config.model.head.hidden == 0
    assert config.mfd.holdout == [{"target": "CTCF", "date": "2012"}] and config.mfd.adversary_steps == 2
    assert "mfd" in SCHEMES
    with pytest.raises(ConfigError, match="mfd.penalty"):
        validate_config(raw | {"mfd": {"penalty": "hsic"}}, DnaRunConfig, "run.yaml", tmp_path)
    with pytest.raises(ConfigError, match="mfd.holdout"):
        validate_config(raw | {"mfd": {"holdout": [{}]}}, DnaRunConfig, "run.yaml", tmp_path)
    with pytest.raises(ConfigError, match="column 'organ' is not in model.head.columns"):
        bad = HEAD | {"groups": {"biological": ["organ"]}}
        validate_config(raw | {"model": {"head": bad}}, DnaRunConfig, "run.yaml", tmp_path)


def test_task_metadata_errors_name_the_line_task_and_column():
    head = MetadataHeadConfig(**HEAD)
    check_task_metadata(TASKS, head, "tasks.tsv")
    with pytest.raises(MetadataError, match=r"tasks.tsv: model.head.columns names column\(s\) \['lab'\]"):
        check_task_metadata(TASKS.drop(columns=["lab"]), head, "tasks.tsv")
    broken = TASKS.assign(date=["2012", "2014", "May 2016", "2018"])
    with pytest.raises(MetadataError, match=r"tasks.tsv: line 4 \(task 'c'\), column 'date': date 'May 2016'"):
        check_task_metadata(broken, head, "tasks.tsv")
    numeric = MetadataHeadConfig(**HEAD | {"columns": {**HEAD["columns"], "lab": "numeric"}})
    with pytest.raises(MetadataError, match=r"line 2 \(task 'a'\), column 'lab': 'L1' is not a number"):
        check_task_metadata(TASKS, numeric, "tasks.tsv")


def test_holdout_mask_matches_every_key_and_multi_valued_cells():
    assert holdout_mask(TASKS, [{"target": "CTCF", "biosample": "K562"}]).tolist() == [True, True, False, False]
    assert holdout_mask(TASKS, [{"target": "SPI1", "lab": "L2"}, {"task": "a"}]).tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match=r"mfd.holdout\[0\]: column 'organ' is not in the task table"):
        holdout_mask(TASKS, [{"organ": "liver"}])
    with pytest.raises(ValueError, match=r"mfd.holdout\[0\] \{'target': 'REST'\} matches no experiment"):
        holdout_mask(TASKS, [{"target": "REST"}])
    with pytest.raises(ValueError, match="every experiment"):
        holdout_mask(TASKS, [{"lab": "L1"}, {"lab": "L2"}])


def test_split_holdout_drops_train_windows_of_held_out_peaks_only():
    frame = pd.DataFrame(
        {
            "genome": "g",
            "chrom": "chr1",
            "start": np.arange(6) * 100,
            "end": np.arange(6) * 100 + 50,
            "strand": "+",
            "split": ["train", "train", "val", "test", "train", "train"],
            "source": ["peak", "peak", "peak", "peak", "negative", "peak"],
        }
    )
    # columns a, b seen; c held out. Row 0: only c -> dropped; row 1: a and c -> kept; row 2 (val): only c ->
    # dropped; row 3 (test): only c -> kept; row 4: a negative -> kept; row 5: only a -> kept.
    labels = np.array([[0, 0, 1], [1, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 0], [1, 0, 0]], dtype=np.float32)
    table = ExampleTable(frame, labels, np.ones_like(labels), TASKS.iloc[:3].reset_index(drop=True))
    seen, held, dropped = split_holdout(table, np.array([False, False, True]))
    assert dropped == 2 and seen.task_names == ["a", "b"] and held.task_names == ["c"]
    assert seen.frame["start"].tolist() == [100, 300, 400, 500]
    np.testing.assert_array_equal(seen.labels, labels[[1, 3, 4, 5]][:, :2])
    assert len(held) == 6
    # The same split from sparse storage (a genome-tiling compendium): same rows, still sparse.
    seen_sparse, held_sparse, dropped_sparse = split_holdout(table.to_sparse(), np.array([False, False, True]))
    assert dropped_sparse == 2 and seen_sparse.sparse and held_sparse.sparse
    assert seen_sparse.frame["start"].tolist() == [100, 300, 400, 500]
    np.testing.assert_array_equal(seen_sparse.to_dense().labels, labels[[1, 3, 4, 5]][:, :2])


def test_parse_metadata_keeps_multi_valued_cells():
    assert parse_metadata(["target=CTCF,biosample=GM12878,K562,lab=L1", "task=x,target=SPI1"]) == [
        {"target": "CTCF", "biosample": "GM12878,K562", "lab": "L1"},
        {"task": "x", "target": "SPI1"},
    ]
    with pytest.raises(ValueError, match="is not COLUMN=VALUE"):
        parse_metadata(["CTCF"])
    with pytest.raises(ValueError, match="given twice"):
        parse_metadata(["target=CTCF,target=SPI1"])


def test_impute_model_reproduces_training_columns_and_names_new_ones():
    torch.manual_seed(0)
    params = DataParams(
        tasks=list(TASKS["task"]), window_length=40, encoding="onehot", task_metadata=TASKS.to_dict("records")
    )
    model = build_model(ModelConfig.model_validate({"trunk": {"arch": "deepbind", "kernel_size": 8}, "head": HEAD}),
                        params).eval()  # fmt: skip
    assert isinstance(model.head, MetadataHead)
    new = {"target": "SPI1", "biosample": "GM12878", "lab": "L1", "date": "2014"}
    imputed = impute_model(model, [TASKS.iloc[2].to_dict(), new])
    assert imputed.tasks == ["c", "SPI1_GM12878_L1_2014"] and imputed.data_params.task_metadata[1]["lab"] == "L1"
    assert imputed.vocabularies == model.vocabularies and "SPI1" in model.vocabularies["target"]
    x = torch.rand(3, 4, 40)
    torch.testing.assert_close(imputed(x)[:, 0], model(x)[:, 2])
    with pytest.raises(MetadataError, match=r"row 0, column 'lab': value 'L9' was never seen in training"):
        impute_model(model, [new | {"lab": "L9"}])
    with pytest.raises(MetadataError, match=r"row 0: no metadata column 'date'"):
        impute_model(model, [{k: v for k, v in new.items() if k != "date"}])


def test_columns_a_given_column_determines_are_completed_from_the_training_experiments():
    known = [{"target": "CTCF", "biosample": "K562", "expr": "1.5", "lab": "L1"},
             {"target": "SPI1", "biosample": "K562", "expr": "1.5", "lab": "L2"},
             {"target": "SPI1", "biosample": "HepG2", "expr": "-2", "lab": "L1"}]  # fmt: skip
    columns = ["target", "biosample", "expr", "lab"]
    # expr is a function of biosample (and of nothing else given); lab is a function of no column
    (row,) = complete_records([{"target": "CTCF", "biosample": "HepG2"}], known, columns)
    assert row == {"target": "CTCF", "biosample": "HepG2", "expr": "-2"}
    assert complete_records([{"biosample": "Unseen"}], known, columns) == [{"biosample": "Unseen"}]
    assert complete_records([{"biosample": "K562", "expr": "7"}], known, columns)[0]["expr"] == "7"  # given wins
    head = {**HEAD, "columns": {**HEAD["columns"], "expr": "numeric"},
            "groups": {"biological": ["target", "biosample", "expr"], "technical": ["lab", "date"]}}  # fmt: skip
    tasks = TASKS.assign(expr=["1.5", "1.5", "1.5", "-2"])
    params = DataParams(tasks=list(tasks["task"]), window_length=40, encoding="onehot",
                        task_metadata=tasks.to_dict("records"))  # fmt: skip
    torch.manual_seed(0)
    model = build_model(ModelConfig.model_validate({"trunk": {"arch": "deepbind", "kernel_size": 8}, "head": head}),
                        params).eval()  # fmt: skip
    given = {"target": "SPI1", "biosample": "HepG2", "lab": "L2", "date": "2018"}  # = task d without expr
    imputed = impute_model(model, [given])
    assert imputed.tasks == ["SPI1_HepG2_L2_2018"] and imputed.data_params.task_metadata[0]["expr"] == "-2"
    x = torch.rand(3, 4, 40)
    torch.testing.assert_close(imputed(x)[:, 0], model(x)[:, 3])


def test_split_holdout_drops_held_out_only_windows_of_sequence_sets_and_homologs():
    # A compendium of FASTA sets (kind: sequences) labels each experiment alone: the held-out experiment's
    # positive and negative train/val windows carry weight only for it. A lifted homolog of a peak window
    # positive only for the held-out experiment exists only because of it too. Neither may reach training
    # (the MFD penalty and the batches see every row, weighted or not); test rows stay.
    frame = pd.DataFrame(
        {
            "genome": ["g", "g", "g", "g", "g", "h"],
            "chrom": "chr1",
            "start": np.arange(6) * 100,
            "end": np.arange(6) * 100 + 50,
            "strand": "+",
            "split": ["train", "val", "train", "test", "train", "train"],
            "source": ["fasta", "fasta", "fasta", "fasta", "fasta", "lifted"],
            "origin": ["", "", "", "", "", "g:chr1:900-950"],
        }
    )
    labels = np.array([[0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 1]], dtype=np.float32)
    weights = np.array([[0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 0], [1, 1, 1]], dtype=np.float32)
    table = ExampleTable(frame, labels, weights, TASKS.iloc[:3].reset_index(drop=True))
    seen, _, dropped = split_holdout(table, np.array([False, False, True]))
    assert seen.frame["start"].tolist() == [200, 300, 400]
    assert dropped == 3


def test_resume_of_an_mfd_run_killed_before_its_seen_stage_starts_that_stage_afresh(tmp_path, monkeypatch):
    # mfd.holdout_reference trains a second model in stage seen/; a run killed during the main stage has no
    # seen/checkpoints/last.ckpt, and --resume must start that stage rather than fail ("no checkpoint")
    from types import SimpleNamespace

    import seqlab.training.mfd_scheme as mfd_module
    from seqlab.runs import RunPaths
    from seqlab.training.mfd_scheme import fit_mfd

    seen = []

    class _Stop(Exception):
        pass

    class _Trainer:
        def fit(self, module, datamodule=None, ckpt_path=None):
            seen.append(ckpt_path)
            raise _Stop

    import seqlab.training.fit as fit_module

    monkeypatch.setattr(fit_module, "build_trainer", lambda *args, **kwargs: _Trainer())
    monkeypatch.setattr(fit_module, "DnaDataModule", lambda *args, **kwargs: None)
    monkeypatch.setattr(mfd_module, "_module", lambda ctx, params: SimpleNamespace(model=torch.nn.Linear(1, 1)))
    config = SimpleNamespace(
        train=SimpleNamespace(monitor="val_auroc", max_epochs=1, patience=1, patience_unit="validations",
                              val_check_interval=None, gradient_clip=None, limit_train_batches=None,
                              progress_bar=False),
        hardware=SimpleNamespace(workers=0, accelerator="cpu", devices=1, num_nodes=1, strategy="auto",
                                 precision="32-true"),
        data=SimpleNamespace(store=SimpleNamespace(dir=None), batch_size=8),
        model=SimpleNamespace(trunk=SimpleNamespace(arch="deepbind"), head=SimpleNamespace(kind="metadata"),
                        objective=SimpleNamespace(kind="binary")),
    )  # fmt: skip
    run = RunPaths(tmp_path / "run").make()
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    run.last_checkpoint.write_bytes(b"x")
    ctx = SimpleNamespace(config=config, resume=True, seed=0, run=run)
    for stage in (run, run.stage("seen")):
        with pytest.raises(_Stop):
            fit_mfd(ctx, stage, SimpleNamespace(split_indices=lambda split: np.arange(8)), None)
    assert seen == [run.last_checkpoint, None]


def test_a_held_out_value_no_seen_experiment_has_is_refused_with_the_seen_vocabulary():
    head = MetadataHeadConfig(**HEAD)
    held_spi1 = np.array([False, False, True, True])  # SPI1 only in held-out rows
    with pytest.raises(MetadataError, match=r"line 4 \(task 'c'\), column 'target': value 'SPI1' was never seen"):
        check_task_metadata(TASKS, head, "tasks.tsv", held_spi1)
    try:
        check_task_metadata(TASKS, head, "tasks.tsv", held_spi1)
    except MetadataError as err:
        assert "held out by mfd.holdout" in str(err)
    same_year = TASKS.assign(date=["2012", "2014", "2018", "2018"])
    check_task_metadata(same_year, head, "tasks.tsv", np.array([False, False, True, False]))  # SPI1 seen in d


def test_run_mfd_refuses_an_unseen_held_out_value_before_any_training(monkeypatch):
    """Holding out {target: SPI1} (every SPI1 experiment) must fail before training, not after it."""
    from types import SimpleNamespace

    import seqlab.training.mfd_scheme as mfd_module
    from seqlab.config import MfdConfig

    trained = []
    monkeypatch.setattr(mfd_module, "fit_mfd", lambda *args, **kwargs: trained.append(1))
    config = SimpleNamespace(
        model=SimpleNamespace(head=MetadataHeadConfig(**HEAD)),
        mfd=MfdConfig(holdout=[{"target": "SPI1"}]),
        data=SimpleNamespace(tasks="tasks.tsv"),
    )
    ctx = SimpleNamespace(config=config, table=SimpleNamespace(tasks=TASKS, n_tasks=4))
    with pytest.raises(MetadataError, match="value 'SPI1' was never seen in training"):
        mfd_module.run_mfd(ctx)
    assert trained == []
