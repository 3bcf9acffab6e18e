"""Exact resume helpers: an epoch's order depends on the seed and the epoch only, and can start mid-epoch."""

import random

import numpy as np
import torch

from seqlab.training.resume import (
    PositionedDataset,
    PositionSeededCollate,
    ResumableSampler,
    _rng_states,
    _set_rng_states,
)


def test_sampler_order_is_a_function_of_seed_and_epoch_and_resumes_mid_epoch():
    sampler = ResumableSampler(10, seed=3)
    first = [i for i, _, _ in sampler]
    sampler.set_epoch(1)
    second = [i for i, _, _ in sampler]
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    again = ResumableSampler(10, seed=3)
    again.resume(1, 4)  # epoch 1, 4 examples already trained
    assert [key for key in again] == [(i, 1, p) for p, i in enumerate(second)][4:]
    assert [i for i, _, _ in again] == second  # the skip applies once
    again.resume(1, 10)  # a finished epoch: the next one starts
    assert next(iter(again))[1] == 2


def test_batches_are_masked_by_their_position_not_by_when_they_are_read():
    def collate(items):
        return torch.rand(len(items), generator=collate.generator)

    data = PositionedDataset(list("abcdef"))
    seeded = PositionSeededCollate(collate, seed=0)
    batch = [data[(0, 2, 4)], data[(1, 2, 5)]]
    first = seeded(batch)
    torch.rand(5)  # other draws in between change nothing
    assert torch.equal(seeded(batch), first)
    assert not torch.equal(seeded([data[(0, 3, 4)], data[(1, 3, 5)]]), first)  # another epoch


def test_random_states_round_trip_through_plain_values():
    states = _rng_states()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    _set_rng_states(states)
    assert torch.equal(torch.rand(3), expected[0]) and np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]
    assert all(isinstance(v, (torch.Tensor, int, float, str, list)) for v in states["numpy"])


def test_the_early_stopping_decision_travels_in_checkpoints():
    """A stage that early stopping had ended stays ended on --resume (Lightning resets trainer.should_stop)."""
    from types import SimpleNamespace

    from seqlab.training.resume import ResumeState

    current = SimpleNamespace(completed=3)
    loop = SimpleNamespace(epoch_loop=SimpleNamespace(batch_progress=SimpleNamespace(current=current)))
    for stopped in (True, False):
        checkpoint: dict = {}
        ResumeState().on_save_checkpoint(
            SimpleNamespace(should_stop=stopped, current_epoch=4, fit_loop=loop), None, checkpoint
        )
        resumed = SimpleNamespace(should_stop=False, world_size=1)
        ResumeState().on_load_checkpoint(resumed, None, checkpoint)
        assert resumed.should_stop is stopped
