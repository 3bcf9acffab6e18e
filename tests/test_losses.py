import math

import pytest
import torch

from seqlab.losses import per_task_bce, weighted_bce_with_logits

LOG2 = math.log(2.0)


def test_zero_logits_cost_log2_for_any_label():
    logits = torch.zeros(3, 2)
    y = torch.tensor([[0.0, 1.0], [1.0, 0.5], [0.25, 0.0]])
    assert weighted_bce_with_logits(logits, y).item() == pytest.approx(LOG2)


def test_hand_computed_weighted_mean():
    logits = torch.tensor([[2.0, -1.0]])
    y = torch.tensor([[1.0, 1.0]])
    weight = torch.tensor([[1.0, 3.0]])
    first, second = math.log1p(math.exp(-2.0)), math.log1p(math.exp(1.0))
    expected = (first + 3 * second) / 4
    assert weighted_bce_with_logits(logits, y, weight).item() == pytest.approx(expected, rel=1e-6)


def test_weight_zero_masks_an_entry():
    logits = torch.tensor([[10.0, 0.0]])
    y = torch.tensor([[0.0, 1.0]])  # the first entry alone would cost ~10
    weight = torch.tensor([[0.0, 1.0]])
    assert weighted_bce_with_logits(logits, y, weight).item() == pytest.approx(LOG2)


def test_pos_weight_scales_the_positive_term():
    logits = torch.zeros(1, 2)
    y = torch.tensor([[1.0, 0.0]])
    loss = weighted_bce_with_logits(logits, y, torch.ones(1, 2), pos_weight=3.0)
    assert loss.item() == pytest.approx((3 * LOG2 + LOG2) / 2)
    per_task = weighted_bce_with_logits(logits, y, pos_weight=torch.tensor([3.0, 5.0]))
    assert per_task.item() == pytest.approx((3 * LOG2 + LOG2) / 2)


def test_all_masked_batch_gives_zero_with_a_gradient():
    logits = torch.zeros(2, 2, requires_grad=True)
    loss = weighted_bce_with_logits(logits, torch.ones(2, 2), torch.zeros(2, 2))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros(2, 2))


def test_per_task_loss_of_probabilities_matches_the_logits_version():
    logits = torch.tensor([[1.5, -0.5], [-2.0, 0.3], [0.7, 2.2]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 1.0]])
    weight = torch.tensor([[1.0, 2.0], [1.0, 0.0], [3.0, 1.0]])
    per_task = per_task_bce(torch.sigmoid(logits), y, weight, pos_weight=2.0)
    for task in range(2):
        expected = weighted_bce_with_logits(
            logits[:, task : task + 1], y[:, task : task + 1], weight[:, task : task + 1], 2.0
        )
        assert per_task[task].item() == pytest.approx(expected.item(), rel=1e-5)


def test_per_task_loss_is_nan_for_a_fully_masked_task():
    per_task = per_task_bce(torch.full((2, 2), 0.5), torch.ones(2, 2), torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    assert per_task[0].item() == pytest.approx(LOG2)
    assert math.isnan(per_task[1].item())
