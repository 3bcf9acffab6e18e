"""Sequence encodings: one-hot (N as all zeros), reverse complement, dinucleotide one-hot.

All encoders are vectorised over numpy byte arrays: no per-base Python loops.
Channel order is A, C, G, T. Lowercase (soft-masked) bases encode like uppercase.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "ALPHABET",
    "dinucleotide_one_hot",
    "encode",
    "encode_batch",
    "n_channels",
    "one_hot",
    "reverse_complement",
    "reverse_complement_sequence",
]

ALPHABET = "ACGT"

# Byte -> channel index (0..3), 4 for anything else (N, IUPAC codes): encoded as all zeros.
_CODE = np.full(256, 4, dtype=np.int8)
for _i, _base in enumerate(ALPHABET):
    _CODE[ord(_base)] = _i
    _CODE[ord(_base.lower())] = _i

_COMPLEMENT = bytes.maketrans(b"ACGTNacgtnRYKMrykmSWswBDHVbdhv", b"TGCANtgcanYRMKyrmkSWswVHDBvhdb")


def _codes(sequence: str | bytes) -> np.ndarray:
    raw = sequence.encode("ascii") if isinstance(sequence, str) else sequence
    return _CODE[np.frombuffer(raw, dtype=np.uint8)]


def one_hot(sequence: str | bytes) -> np.ndarray:
    """One-hot encode a DNA sequence.

    Returns:
        float32 array of shape (4, L); A, C, G, T channels; N or any other symbol is all zeros.
    """
    codes = _codes(sequence)
    out = np.zeros((5, codes.size), dtype=np.float32)
    out[codes, np.arange(codes.size)] = 1.0
    return out[:4]


def dinucleotide_one_hot(sequence: str | bytes) -> np.ndarray:
    """Dinucleotide one-hot: channel ``4*i + j`` is set at position p when bases p, p+1 are (i, j).

    Returns:
        float32 array of shape (16, L); the last position, and any pair containing N, is all zeros.
    """
    codes = _codes(sequence).astype(np.int16)
    length = codes.size
    out = np.zeros((16, length), dtype=np.float32)
    if length < 2:
        return out
    first, second = codes[:-1], codes[1:]
    valid = (first < 4) & (second < 4)
    positions = np.nonzero(valid)[0]
    out[(first[valid] * 4 + second[valid]), positions] = 1.0
    return out


def n_channels(encoding: str) -> int:
    """Number of input channels of an encoding name ('onehot': 4, 'dinucleotide': 16)."""
    channels = {"onehot": 4, "dinucleotide": 16}
    if encoding not in channels:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {sorted(channels)}")
    return channels[encoding]


def encode(sequence: str | bytes, encoding: str = "onehot") -> np.ndarray:
    """Encode one sequence by name: float32 array (C, L), C = ``n_channels(encoding)``."""
    if encoding == "onehot":
        return one_hot(sequence)
    if encoding == "dinucleotide":
        return dinucleotide_one_hot(sequence)
    raise ValueError(f"unknown encoding {encoding!r}; expected 'onehot' or 'dinucleotide'")


def encode_batch(sequences: list[str], encoding: str = "onehot") -> torch.Tensor:
    """Encode equal-length sequences into a float32 tensor of shape (N, C, L)."""
    lengths = {len(s) for s in sequences}
    if len(lengths) > 1:
        raise ValueError(f"sequences must share one length to batch; got lengths {sorted(lengths)[:5]}")
    if not sequences:
        raise ValueError("no sequences to encode")
    return torch.from_numpy(np.stack([encode(s, encoding) for s in sequences]))


def reverse_complement_sequence(sequence: str) -> str:
    """Reverse complement of a DNA string (case and IUPAC codes preserved)."""
    return sequence.translate(_COMPLEMENT)[::-1]


def reverse_complement(x: torch.Tensor, encoding: str = "onehot") -> torch.Tensor:
    """Reverse complement of encoded sequences.

    Args:
        x: float tensor (..., C, L) of one-hot (C=4, ACGT order) or dinucleotide (C=16) encodings.
        encoding: 'onehot' or 'dinucleotide'.

    Returns:
        Tensor of the same shape and dtype. For one-hot, complementing reverses the channel order
        (A<->T, C<->G). For dinucleotides, pair (i, j) at p becomes (3-j, 3-i) at L-2-p, and the last
        position stays zero.
    """
    if encoding == "onehot":
        return x.flip(-1).flip(-2)
    if encoding == "dinucleotide":
        # channel 4*i+j -> 4*(3-j)+(3-i); position p -> L-2-p (last column is always zero).
        index = torch.tensor([4 * (3 - (c % 4)) + (3 - c // 4) for c in range(16)], device=x.device)
        swapped = x.index_select(-2, index)
        out = torch.zeros_like(x)
        out[..., :-1] = swapped[..., :-1].flip(-1)
        return out
    raise ValueError(f"unknown encoding {encoding!r}; expected 'onehot' or 'dinucleotide'")
