"""The optimizer choice: AdamW (decoupled decay, MAE) or Adam (L2 decay in the gradient, GraphMAE)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from maskssl.config.load import load_config
from maskssl.engine.optim import build_optimizer, param_groups
from maskssl.errors import ConfigError


def one_step(kind: str, weight_decay: float) -> torch.Tensor:
    """The weight of Linear(1, 1) after one step whose loss gradient is 0: only the decay moves it."""
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    optimizer = build_optimizer(param_groups(layer, weight_decay), 0.1, (0.9, 0.999), torch.device("cpu"), kind)
    (0.0 * layer(torch.ones(1, 1))).sum().backward()
    optimizer.step()
    return layer.weight.detach().clone()


def test_adamw_decay_is_decoupled_and_adam_decay_goes_through_the_moments() -> None:
    # AdamW: w <- w - lr * wd * w = 1 - 0.1 * 0.01; Adam: the gradient is wd * w, normalised to a step of ~lr
    assert one_step("adamw", 0.01).item() == pytest.approx(1.0 - 0.1 * 0.01)
    assert one_step("adam", 0.01).item() == pytest.approx(1.0 - 0.1, rel=1e-3)
    groups = param_groups(nn.Linear(2, 2), 0.01)
    assert isinstance(build_optimizer(groups, 0.1, (0.9, 0.999), torch.device("cpu"), "adam"), torch.optim.Adam)


def test_optimizer_is_a_checked_config_key() -> None:
    assert load_config("image").train.optimizer == "adamw"
    assert load_config("image", overrides=["train.optimizer=adam"]).train.optimizer == "adam"
    with pytest.raises(ConfigError, match="train.optimizer"):
        load_config("image", overrides=["train.optimizer=sgd"])
