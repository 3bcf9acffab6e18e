import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.encoding import (
    dinucleotide_one_hot,
    encode,
    encode_batch,
    n_channels,
    one_hot,
    reverse_complement,
    reverse_complement_sequence,
)

dna = st.text(alphabet="ACGTNacgtn", min_size=1, max_size=60)


def test_one_hot_exact():
    expected = np.array(
        [
            [1, 0, 0, 0, 0, 1],
            [0, 1, 0, 0, 0, 0],
            [0, 0, 1, 0, 0, 0],
            [0, 0, 0, 1, 0, 0],
        ],
        dtype=np.float32,
    )
    out = one_hot("aCgTNa")
    assert out.dtype == np.float32 and out.shape == (4, 6)
    np.testing.assert_array_equal(out, expected)


def test_dinucleotide_exact():
    out = dinucleotide_one_hot("ACNGT")
    assert out.shape == (16, 5)
    expected = np.zeros((16, 5), dtype=np.float32)
    expected[0 * 4 + 1, 0] = 1  # AC at 0
    expected[2 * 4 + 3, 3] = 1  # GT at 3 (CN and NG are zeros)
    np.testing.assert_array_equal(out, expected)
    assert dinucleotide_one_hot("A").sum() == 0


def test_channels_and_errors():
    assert n_channels("onehot") == 4 and n_channels("dinucleotide") == 16
    with pytest.raises(ValueError, match="unknown encoding"):
        n_channels("kmer")
    with pytest.raises(ValueError, match="share one length"):
        encode_batch(["ACG", "AC"])
    assert encode_batch(["ACG", "TTT"], "dinucleotide").shape == (2, 16, 3)


def test_reverse_complement_sequence_exact():
    assert reverse_complement_sequence("AACGTNacgR") == "YcgtNACGTT"


@settings(max_examples=60, deadline=None)
@given(seq=dna, encoding=st.sampled_from(["onehot", "dinucleotide"]))
def test_encoded_reverse_complement_matches_sequence_reverse_complement(seq, encoding):
    x = torch.from_numpy(encode(seq, encoding))
    rc = torch.from_numpy(encode(reverse_complement_sequence(seq), encoding))
    assert torch.equal(reverse_complement(x, encoding), rc)
    assert torch.equal(reverse_complement(reverse_complement(x, encoding), encoding), x)


@given(seq=dna)
def test_sequence_reverse_complement_is_an_involution(seq):
    assert reverse_complement_sequence(reverse_complement_sequence(seq)) == seq
