from pathlib import Path

import pytest

from seqlab.io.tasks import read_task_table


def _setup(tmp_path: Path, text: str) -> Path:
    (tmp_path / "peaks").mkdir()
    (tmp_path / "peaks" / "a.narrowPeak").write_text("chr1\t1\t5\t.\t0\t.\t1\t1\t1\t-1\n")
    (tmp_path / "peaks" / "b.bed.gz").write_bytes(b"")
    table = tmp_path / "tasks.tsv"
    table.write_text(text)
    return table


def test_valid_table_resolves_paths_and_formats(tmp_path):
    table = _setup(
        tmp_path, "task\tpeaks\ttarget\tbiosample\nCTCF\tpeaks/a.narrowPeak\tCTCF\tGM12878\nX\tpeaks/b.bed.gz\t\tK562\n"
    )
    frame = read_task_table(table)
    assert frame["task"].tolist() == ["CTCF", "X"]
    assert frame["peaks"].tolist() == [str((tmp_path / "peaks" / n).resolve()) for n in ("a.narrowPeak", "b.bed.gz")]
    assert frame["format"].tolist() == ["narrowPeak", "bed"]
    assert frame["target"].tolist() == ["CTCF", ""]
    assert frame["biosample"].tolist() == ["GM12878", "K562"]


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("name\tpeaks\nA\tpeaks/a.narrowPeak\n", ValueError, r"lacks column\(s\) \['task'\]"),
        (
            "task\tpeaks\nA\tpeaks/a.narrowPeak\nA\tpeaks/b.bed.gz\n",
            ValueError,
            r"tasks\.tsv:3: task name 'A' is repeated",
        ),
        ("task\tpeaks\nA\tpeaks/a.narrowPeak\n\tpeaks/b.bed.gz\n", ValueError, r"tasks\.tsv:3: empty task name"),
        (
            "task\tpeaks\nA\tpeaks/missing.bed\n",
            FileNotFoundError,
            r"tasks\.tsv:2: peak file not found: .*missing\.bed",
        ),
        ("task\tpeaks\tformat\nA\tpeaks/a.narrowPeak\tgff\n", ValueError, r"tasks\.tsv:2: format 'gff'"),
        ("task\tpeaks\n", ValueError, "no rows"),
    ],
)
def test_invalid_tables(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        read_task_table(_setup(tmp_path, text))


def test_missing_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="task table not found"):
        read_task_table(tmp_path / "none.tsv")


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("task\tpeaks\nA\tpeaks/a.narrowPeak\tCTCF\n", r"3 tab-separated fields, but the header has 2", 2),
        ("task\tpeaks\ttarget\nA\tpeaks/a.narrowPeak\n", r"2 tab-separated fields, but the header has 3", 2),
        ("", "the task table is empty", None),
        ("\n\n", "the task table is empty", None),
        ("task\tpeaks\ttask\nA\tb\tc\n", r"column\(s\) \['task'\] appear more than once", 1),
    ],
)
def test_rows_must_match_the_header(tmp_path, text, message, line):
    from seqlab.io.errors import InputError

    with pytest.raises(InputError, match=message) as info:
        read_task_table(_setup(tmp_path, text))
    assert info.value.line == line and info.value.file.endswith("tasks.tsv")
