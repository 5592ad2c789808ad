"""AdamW with MAE's weight-decay split: no decay on biases and norm weights (1-D tensors)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups, as MAE's pretraining: decayed tensors (ndim >= 2, tokens included) and 1-D ones."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(
    groups: Iterable[dict], lr: float, betas: tuple[float, float], device: torch.device
) -> torch.optim.AdamW:
    """AdamW, fused on CUDA."""
    return torch.optim.AdamW(list(groups), lr=lr, betas=betas, fused=device.type == "cuda")
