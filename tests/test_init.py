"""MAE's and Point-MAE's transformer initialisation (maskssl.layers.init)."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from maskssl.layers.init import init_transformer_weights


def fresh_block() -> nn.Sequential:
    block = nn.Sequential(nn.Linear(256, 512), nn.LayerNorm(512), nn.Linear(512, 256), nn.Conv1d(2, 2, 1))
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.fill_(3.0)
    return block


def test_xavier_uniform_linears_zero_biases_unit_layernorms_other_modules_untouched() -> None:
    torch.manual_seed(0)
    block = fresh_block().apply(init_transformer_weights)
    bound = math.sqrt(6 / (256 + 512))
    weight = block[0].weight
    assert weight.abs().max() <= bound and weight.std() > 0.9 * bound / math.sqrt(3)
    assert (block[0].bias == 0).all() and (block[2].bias == 0).all()
    assert (block[1].weight == 1).all() and (block[1].bias == 0).all()
    assert (block[3].weight == 3).all()  # not a Linear or LayerNorm: left alone


def test_truncated_normal_linears_for_point_mae_encoders() -> None:
    torch.manual_seed(0)
    block = fresh_block().apply(partial(init_transformer_weights, trunc_normal_std=0.02))
    weight = block[0].weight
    assert abs(weight.std().item() - 0.02) < 0.001 and abs(weight.mean().item()) < 0.001
    assert (block[0].bias == 0).all() and (block[1].weight == 1).all()
