from __future__ import annotations

import pytest
import torch

from dmr_jrg_hf.training.schedules import step_decay_schedule


def _learning_rates(steps_per_epoch: int, epochs: int) -> list[float]:
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-4)
    schedule = step_decay_schedule(optimizer, steps_per_epoch, decay_factor=0.8, decay_epochs=20)
    rates = []
    for _ in range(steps_per_epoch * epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates[::steps_per_epoch]  # one value per epoch


def test_paper_schedule_decays_by_0_8_every_20_epochs():
    rates = _learning_rates(steps_per_epoch=3, epochs=61)
    assert rates[0] == pytest.approx(1e-4) and rates[19] == pytest.approx(1e-4)
    assert rates[20] == pytest.approx(0.8e-4), "the schedule never fired at epoch 20"
    assert rates[40] == pytest.approx(0.64e-4)
    assert rates[60] == pytest.approx(0.512e-4)


def test_rejects_empty_epochs():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        step_decay_schedule(optimizer, 0, 0.8, 20)
