"""UCSC chain reader: parsing, '-' strand query coordinates, and one-line errors on bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from seqlab.io.chain import ChainFormatError, read_chain

# chr1 (1000 bp) -> qA (900 bp, + strand): blocks t[100,150)->q[10,60), t[160,200)->q[65,105)
# chr1 -> qB (500 bp, - strand): block t[400,450) -> q[20,70) on the reverse strand
# chr2 (300 bp) -> qA: t[0,10) -> q[800,810)
TOY = """\
chain 100 chr1 1000 + 100 200 qA 900 + 10 105 1
50 10 5
40

chain 50 chr1 1000 + 400 450 qB 500 - 20 70 2
50

# a comment
chain 10 chr2 300 + 0 10 qA 900 + 800 810 3
10
"""


def write(path: Path, text: str, compress: bool = False) -> Path:
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_chain_blocks_and_headers(tmp_path: Path, compress: bool) -> None:
    chain = read_chain(write(tmp_path / ("toy.chain.gz" if compress else "toy.chain"), TOY, compress))
    assert len(chain.chains) == 3
    assert chain.chains["id"].tolist() == [1, 2, 3]
    assert chain.chains["line"].tolist() == [1, 5, 9]
    assert chain.chains["q_strand"].tolist() == ["+", "-", "+"]
    assert chain.target_sizes == {"chr1": 1000, "chr2": 300}
    assert chain.query_sizes == {"qA": 900, "qB": 500}
    blocks = chain.blocks["chr1"]
    assert blocks.t_start.tolist() == [100, 160, 400]
    assert blocks.t_end.tolist() == [150, 200, 450]
    assert blocks.q_start.tolist() == [10, 65, 20]
    assert blocks.chain.tolist() == [0, 0, 1]
    assert blocks.max_end.tolist() == [150, 200, 450]
    assert chain.blocks["chr2"].q_start.tolist() == [800]


def test_blocks_sorted_across_chains(tmp_path: Path) -> None:
    text = "chain 1 c 100 + 50 60 q 100 + 0 10 1\n10\n\nchain 1 c 100 + 0 40 q 100 + 50 90 2\n40\n"
    blocks = read_chain(write(tmp_path / "x.chain", text)).blocks["c"]
    assert blocks.t_start.tolist() == [0, 50]
    assert blocks.chain.tolist() == [1, 0]
    assert blocks.max_end.dtype == np.int64


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("chain 1 c 100 + 0 10 q 100 + 0 10\n10\n", None, None),  # 12 fields (no id) is accepted
        ("chain 1 c 100 + 0 10 q 100 + 0\n10\n", 1, "13"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n10 2\n", 2, "fields"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n-5\n", 2, "size -5"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\nten\n", 2, "not an integer"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n5 -1 0\n6\n", 2, "gaps >= 0"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n5 1 1\n", 0, "truncated"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n5 0 0\nchain 1 c 100 + 0 10 q 100 + 0 10 2\n10\n", 3, "before"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n20\n", 2, "runs past"),
        ("chain 1 c 100 + 90 120 q 100 + 0 30 1\n30\n", 1, "tSize"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n8\n", 2, "ends at"),
        ("chain 1 c 100 - 0 10 q 100 + 0 10 1\n10\n", 1, "tStrand"),
        ("chain 1 c 100 + 0 10 q 100 * 0 10 1\n10\n", 1, "qStrand"),
        ("10 0 0\n", 1, "outside a chain"),
        ("\n# nothing\n", 0, "no 'chain'"),
        ("chain 1 c 100 + 0 10 q 100 + 0 10 1\n10\n\nchain 1 c 200 + 0 10 q 100 + 20 30 2\n10\n", 0, "different"),
    ],
)
def test_bad_chain_files_name_file_and_line(tmp_path: Path, text: str, line: int | None, fragment: str | None) -> None:
    path = write(tmp_path / "bad.chain", text)
    if fragment is None:
        assert len(read_chain(path).chains) == 1
        return
    with pytest.raises(ChainFormatError) as info:
        read_chain(path)
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message
    assert message.startswith(f"{path}:{line}:" if line else f"{path}:")
    assert isinstance(info.value, ValueError)


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    full = write(tmp_path / "toy.chain.gz", TOY * 50, compress=True).read_bytes()
    cut = tmp_path / "cut.chain.gz"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(ChainFormatError, match=str(cut)):
        read_chain(cut)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="chain file not found"):
        read_chain(tmp_path / "absent.chain")
