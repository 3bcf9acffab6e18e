"""Outputs never silently replaced (issue 17, item 7): refusal, overwrite, sets, folders and racing writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from seqlab.outputs import OutputExistsError, new_files, new_folder


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_new_files_publish_a_set_and_refuse_it_the_second_time(tmp_path):
    targets = [tmp_path / "a.counts.tsv", tmp_path / "a.tsv"]
    with new_files(targets, overwrite=False) as staged:
        for path, text in zip(staged, ("counts\n", "scores\n"), strict=True):
            path.write_text(text)
        assert not any(target.exists() for target in targets)  # nothing visible before the block ends
    assert [t.read_text() for t in targets] == ["counts\n", "scores\n"] and _names(tmp_path) == [
        "a.counts.tsv",
        "a.tsv",
    ]
    with pytest.raises(OutputExistsError, match=r"a.counts.tsv: exists; use --overwrite"):
        with new_files(targets, overwrite=False):
            pytest.fail("refused before the block runs")
    with new_files(targets, overwrite=True) as staged:
        for path in staged:
            path.write_text("new\n")
    assert [t.read_text() for t in targets] == ["new\n", "new\n"] and _names(tmp_path) == ["a.counts.tsv", "a.tsv"]


def test_an_error_while_writing_leaves_nothing(tmp_path):
    (tmp_path / "p.tsv").write_text("earlier\n")
    with pytest.raises(RuntimeError):
        with new_files([tmp_path / "p.tsv"], overwrite=True) as (staged,):
            staged.write_text("half")
            raise RuntimeError("killed")
    assert _names(tmp_path) == ["p.tsv"] and (tmp_path / "p.tsv").read_text() == "earlier\n"


def test_the_slower_of_two_racing_writers_is_refused_and_the_set_is_not_mixed(tmp_path):
    targets = [tmp_path / "e.counts.tsv", tmp_path / "e.tsv"]
    with pytest.raises(OutputExistsError, match=r"e.counts.tsv: appeared while this command ran"):
        with new_files(targets, overwrite=False) as slow:  # both writers pass the check before either publishes
            with new_files(targets, overwrite=False) as fast:
                for path in fast:
                    path.write_text("fast\n")
            for path in slow:
                path.write_text("slow\n")
    assert [t.read_text() for t in targets] == ["fast\n", "fast\n"] and _names(tmp_path) == ["e.counts.tsv", "e.tsv"]


def _publish(path: str, text: str, barrier, results) -> None:
    try:
        with new_files([Path(path)], overwrite=False) as (staged,):
            staged.write_text(text)
            barrier.wait()  # both processes have passed the existence check
        results.put(("ok", text))
    except OutputExistsError as err:
        results.put(("refused", str(err)))


def test_two_processes_writing_one_new_file_one_wins_one_is_refused(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    target = tmp_path / "preds.tsv"
    workers = [context.Process(target=_publish, args=(str(target), t, barrier, results)) for t in ("A\n", "B\n")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert [kind for kind, _ in outcomes] == ["ok", "refused"], outcomes
    assert target.read_text() == outcomes[0][1] and "appeared while this command ran" in outcomes[1][1]
    assert _names(tmp_path) == ["preds.tsv"]


def test_new_folder_refuses_a_folder_it_did_not_write_even_with_overwrite(tmp_path):
    out = tmp_path / "eval"
    with new_folder(out, overwrite=False, marker="metrics.json") as folder:
        (folder / "metrics.json").write_text("{}")
    assert _names(out) == ["metrics.json"] and _names(tmp_path) == ["eval"]
    with pytest.raises(OutputExistsError, match=r"eval: exists and is not empty; use --overwrite"):
        with new_folder(out, overwrite=False, marker="metrics.json"):
            pass
    with new_folder(out, overwrite=True, marker="metrics.json") as folder:
        (folder / "metrics.json").write_text('{"again": 1}')
    assert (out / "metrics.json").read_text() == '{"again": 1}' and _names(tmp_path) == ["eval"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    with pytest.raises(
        OutputExistsError, match=r"mine: exists and is not an output of this command \(no metrics.json\)"
    ):
        with new_folder(mine, overwrite=True, marker="metrics.json"):
            pass
    assert _names(mine) == ["thesis.tex"]
    (tmp_path / "empty").mkdir()
    with new_folder(tmp_path / "empty", overwrite=False, marker="metrics.json") as folder:
        (folder / "metrics.json").write_text("{}")
    assert _names(tmp_path / "empty") == ["metrics.json"]


def test_a_second_writer_of_a_folder_is_refused(tmp_path):
    out = tmp_path / "corpus"
    with pytest.raises(OutputExistsError, match=r"corpus: appeared while this command ran"):
        with new_folder(out, overwrite=False, marker="pairs.tsv.gz") as slow:
            (slow / "pairs.tsv.gz").write_text("slow")
            with new_folder(out, overwrite=False, marker="pairs.tsv.gz") as fast:
                (fast / "pairs.tsv.gz").write_text("fast")
    assert (out / "pairs.tsv.gz").read_text() == "fast" and _names(tmp_path) == ["corpus"]
