"""Whole batches from a :class:`~seqlab.data.store.WindowStore`: batched reads, per-batch encoding, exact resume.

* :class:`StoreSampler` yields the items of one split in a seeded per-epoch order; it knows its epoch
  (Lightning calls ``set_epoch``) and how many items it has handed out, and saves both
  (``state_dict``), so a resumed run continues where the interrupted one stopped.
* :class:`StoreDataset` reads a whole batch with one gather from the memory-mapped genome bases
  (``__getitems__``; shift and reverse-complement augmentation move and flip the gathered windows),
  and one-hot encodes with a lookup table (:func:`encode_codes`), or leaves the uint8 codes for the
  accelerator to encode after the transfer (``DnaDataModule.on_after_batch_transfer``).

Augmentation is a pure function of ``(seed, epoch, row)`` (a counter-based hash, no generator
state), so it does not depend on batch composition, worker processes or where a run was resumed.
Items are handed to the dataset as tokens ``epoch * n + i``, which carries the epoch into worker
processes (persistent ones included).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from seqlab.data.encoding import _CODE as _ENCODE_TABLE
from seqlab.data.encoding import n_channels
from seqlab.data.sparse import dense_rows
from seqlab.data.store import WindowStore
from seqlab.data.targets import ProfileStore

__all__ = [
    "StoreDataset",
    "StoreSampler",
    "augment_draws",
    "collate_batch",
    "encode_codes",
    "flip_profiles",
    "window_batches",
]

# ASCII byte -> 0..3 for ACGT (any case), 4 for anything else: the table encoding.encode uses.
_CODE = _ENCODE_TABLE.astype(np.uint8)
_BASES = np.arange(4, dtype=np.uint8)  # one-hot channel c is base c
_PAIRS = np.array([5 * (c // 4) + c % 4 for c in range(16)], dtype=np.uint8)  # channel 4a+b is pair 5a+b
_TORCH: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


def _torch_tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    key = str(device)
    if key not in _TORCH:
        _TORCH[key] = tuple(torch.from_numpy(a).to(device) for a in (_CODE, _BASES, _PAIRS))  # type: ignore[assignment]
    return _TORCH[key]


def encode_codes(codes: torch.Tensor, encoding: str = "onehot") -> torch.Tensor:
    """Encode a batch of ASCII base codes by table lookup and comparison, on the codes' device.

    Args:
        codes: uint8 (B, L) ASCII bytes (case ignored; anything but ACGT is N).
        encoding: 'onehot' (C=4, N = zeros) or 'dinucleotide' (C=16; pairs with N and the last
            position are zeros), as :func:`seqlab.data.encoding.encode`.

    Returns:
        float32 (B, C, L), equal to ``encode`` of every sequence. On the CPU the work is done in
        numpy (faster there than torch's gather); on an accelerator in torch.
    """
    channels = n_channels(encoding)
    if codes.device.type == "cpu":
        return _encode_numpy(codes, encoding, channels)
    return _encode_torch(codes, encoding, channels)


def _encode_numpy(codes: torch.Tensor, encoding: str, channels: int) -> torch.Tensor:
    batch, length = codes.shape
    base = np.take(_CODE, codes.numpy())
    out = np.zeros((batch, channels, length), dtype=np.float32)
    if encoding == "onehot":
        np.equal(base[:, None, :], _BASES[None, :, None], out=out, casting="unsafe")
    elif length > 1:
        pairs = base[:, :-1] * np.uint8(5) + base[:, 1:]
        np.equal(pairs[:, None, :], _PAIRS[None, :, None], out=out[:, :, :-1], casting="unsafe")
    return torch.from_numpy(out)


def _encode_torch(codes: torch.Tensor, encoding: str, channels: int) -> torch.Tensor:
    batch, length = codes.shape
    lookup, bases, pair_codes = _torch_tables(codes.device)
    base = lookup[codes.long()]
    if encoding == "onehot":
        return (base.unsqueeze(1) == bases.view(1, 4, 1)).to(torch.float32)
    out = torch.zeros((batch, channels, length), dtype=torch.float32, device=codes.device)
    if length > 1:
        pairs = base[:, :-1] * 5 + base[:, 1:]
        out[:, :, :-1] = (pairs.unsqueeze(1) == pair_codes.view(1, 16, 1)).to(torch.float32)
    return out


def _splitmix64(values: np.ndarray) -> np.ndarray:
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def augment_draws(
    seed: int, epoch: np.ndarray | int, rows: np.ndarray, max_shift: int, reverse_complement: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Shift and flip of every (epoch, row): a counter-based hash, the same in any process or order.

    Returns:
        ``(shifts, flips)``: int64 (B,) uniform in [-max_shift, max_shift] and bool (B,) (True with
        probability 1/2 when ``reverse_complement``, else all False).
    """
    rows = np.asarray(rows, dtype=np.int64)
    epochs = np.broadcast_to(np.asarray(epoch, dtype=np.int64), rows.shape)
    with np.errstate(over="ignore"):
        counter = (
            _splitmix64(np.full(rows.shape, seed, dtype=np.int64).astype(np.uint64))
            ^ (epochs.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03))
        ) + rows.astype(np.uint64)
    bits = _splitmix64(counter)
    shifts = (bits % np.uint64(2 * max_shift + 1)).astype(np.int64) - max_shift
    flips = ((bits >> np.uint64(63)) == 1) if reverse_complement else np.zeros(rows.shape, dtype=bool)
    return shifts, flips


def flip_profiles(profiles: np.ndarray, flips: np.ndarray | None) -> np.ndarray:
    """Profiles float32 (B, T, L) with the rows ``flips`` (bool (B,), reverse-complemented windows) reversed along L."""
    if flips is not None and flips.any():
        profiles[flips] = profiles[flips, :, ::-1]
    return np.ascontiguousarray(profiles)


def collate_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Collate of a DataLoader over :class:`StoreDataset`: the batch is already whole."""
    return batch


class StoreSampler(Sampler[int]):
    """Items ``0..n-1`` of a split, shuffled per epoch (seeded) or in order, as tokens ``epoch * n + i``.

    ``set_epoch(e)`` (Lightning calls it before every training epoch) chooses the order
    ``default_rng([seed, e]).permutation(n)``. ``state_dict()`` = ``{"epoch", "position"}`` (items
    handed out in that epoch; with DataLoader worker processes this includes the prefetched batches);
    after ``load_state_dict`` the next iteration of the same epoch skips the items already handed
    out. Lightning saves ``last.ckpt`` at the end of an epoch, where the position is complete.

    With ``reseed_torch`` the global torch generator is seeded with a function of (seed, epoch, rank) when
    the first item of an epoch is drawn (after the DataLoader has taken its own seed, before the
    first training step), so dropout and other torch randomness of an epoch do not depend on what
    ran before it: an epoch computes the same whether the run was resumed or not.
    """

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True, reseed_torch: bool = False) -> None:
        self.n = int(n)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.reseed_torch = reseed_torch
        self.epoch = 0
        self.position = 0
        self._skip = 0

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        """Select the order of ``epoch``; a restored position only applies to the epoch it was saved in."""
        if int(epoch) != self.epoch:
            self._skip = 0
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """int64 (n,) item order of ``epoch``."""
        if not self.shuffle:
            return np.arange(self.n, dtype=np.int64)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.n).astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        tokens = self.order(self.epoch)[self._skip :] + self.epoch * self.n
        self.position = self._skip
        self._skip = 0
        if self.reseed_torch:
            distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
            rank = torch.distributed.get_rank() if distributed else 0
            mixed = _splitmix64(np.array([self.seed, self.epoch, rank], dtype=np.uint64))
            torch.manual_seed(int((mixed[0] ^ (mixed[1] >> np.uint64(1)) ^ (mixed[2] >> np.uint64(2))) >> np.uint64(1)))
        for token in tokens.tolist():
            self.position += 1
            yield token

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "position", "seed"}`` of the current (or last) iteration."""
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a saved state: the next iteration of its epoch skips ``position`` items."""
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._skip = self.position if self.position < self.n else 0
        if self.position >= self.n:  # the saved epoch was complete: go on with the next one
            self.epoch += 1


class StoreDataset(Dataset[dict[str, torch.Tensor]]):
    """One split of a table, read from its window store a whole batch at a time.

    Args:
        store: the table's :class:`WindowStore` (row ``r`` = example ``r``).
        rows: int64 (n,) table rows of the split (``table.split_indices(split)``).
        labels: float32 (N, T) over all table rows: a numpy array, a memory map (``np.load(...,
            mmap_mode="r")``) or a scipy sparse matrix (CSR), read a batch of rows at a time.
        weights: float32 (N, T), likewise, or :class:`~seqlab.data.sparse.SparseWeights`.
        encoding: 'onehot' or 'dinucleotide'.
        max_shift: shift augmentation in bp (at most ``store.flank``); 0 for none.
        reverse_complement: reverse-complement half of the examples (augmentation).
        seed: seed of the augmentation hash.
        encode: one-hot encode in the loader (``x``); False leaves ``codes`` uint8 (B, L) for the
            accelerator (``encode_codes`` after the transfer).
        profiles: base-resolution targets (:class:`~seqlab.data.targets.ProfileStore` over all table rows),
            read from the memory map a batch of rows at a time, or None.
        controls: the control profiles likewise, or None.

    Batches (``__getitems__(tokens)``): ``x`` float32 (B, C, L) (or ``codes`` uint8 (B, L)),
    ``y`` float32 (B, T), ``weight`` float32 (B, T), ``index`` int64 (B,) table rows; with profiles also
    ``profile`` (and ``control``) float32 (B, T, L_out). A reverse-complemented window gets its profiles
    reversed along L_out and nothing else changed (tracks are single-stranded: no task is swapped). Shift
    augmentation is refused with profiles (the store holds the target span only).
    """

    def __init__(
        self,
        store: WindowStore,
        rows: np.ndarray,
        labels: np.ndarray,
        weights: np.ndarray,
        encoding: str = "onehot",
        *,
        max_shift: int = 0,
        reverse_complement: bool = False,
        seed: int = 0,
        encode: bool = True,
        profiles: ProfileStore | None = None,
        controls: ProfileStore | None = None,
    ) -> None:
        if profiles is not None and max_shift:
            raise ValueError("data.augment.max_shift must be 0 with profile targets: the store holds the target span")
        if max_shift > store.flank:
            raise ValueError(f"shift augmentation of {max_shift} bp needs a store with flank >= {max_shift}")
        n_channels(encoding)
        self.store = store
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = labels
        self.weights = weights
        self.encoding = encoding
        self.max_shift = int(max_shift)
        self.reverse_complement = bool(reverse_complement)
        self.seed = int(seed)
        self.encode = encode
        self.profiles, self.controls = profiles, controls

    def __len__(self) -> int:
        return int(self.rows.size)

    @property
    def augmenting(self) -> bool:
        """Whether batches are augmented (shift or reverse complement)."""
        return self.max_shift > 0 or self.reverse_complement

    def read(self, tokens: list[int] | np.ndarray) -> dict[str, Any]:
        """The batch of ``tokens`` (``epoch * n + item``) as numpy arrays: codes, y, weight, index."""
        tokens = np.asarray(tokens, dtype=np.int64)
        n = max(len(self), 1)
        items, epochs = tokens % n, tokens // n
        rows = self.rows[items]
        order = np.argsort(rows, kind="stable")  # ascending reads are kinder to the page cache
        sorted_rows = rows[order]
        shifts = flips = None
        if self.augmenting:
            shifts, flips = augment_draws(self.seed, epochs, rows, self.max_shift, self.reverse_complement)
        inverse = np.argsort(order)
        if shifts is not None:
            shifts, flips = shifts[order], flips[order]
        codes = self.store.windows(sorted_rows, shifts, flips)[inverse]
        batch = {
            "codes": codes,
            "y": dense_rows(self.labels, sorted_rows)[inverse],
            "weight": dense_rows(self.weights, sorted_rows)[inverse],
            "index": rows,
        }
        for key, profiles in (("profile", self.profiles), ("control", self.controls)):
            if profiles is not None:
                batch[key] = flip_profiles(profiles[sorted_rows][inverse], None if flips is None else flips[inverse])
        return batch

    def __getitems__(self, tokens: list[int]) -> dict[str, torch.Tensor]:
        batch = self.read(tokens)
        out = {key: torch.from_numpy(value) for key, value in batch.items()}
        if self.encode:
            out["x"] = encode_codes(out.pop("codes"), self.encoding)
        return out

    def __getitem__(self, token: int) -> dict[str, torch.Tensor]:
        batch = self.__getitems__([int(token)])
        return {key: value[0] for key, value in batch.items()}


def window_batches(
    table: Any, window_length: int, encoding: str = "onehot", batch_size: int = 256
) -> Iterator[torch.Tensor]:
    """Every example of ``table``, in row order, as encoded batches x float32 (B, C, L) on its strand.

    The windows are read once into an in-memory :class:`WindowStore` (genome blocks, no per-window
    fetch), so the batches equal ``WindowDataset``'s items without augmentation.

    Raises:
        ValueError: an example that is not ``window_length`` bp (as :meth:`WindowStore.open_or_build`).
    """
    store = WindowStore.in_memory(table, window_length)
    for first in range(0, len(store), batch_size):
        rows = np.arange(first, min(first + batch_size, len(store)), dtype=np.int64)
        yield encode_codes(torch.from_numpy(store.windows(rows)), encoding)
