"""AdamW (or Adam) with MAE's weight-decay split: no decay on biases and norm weights (1-D tensors).

AdamW decays the weights directly (decoupled, MAE's pretraining); Adam adds ``weight_decay * w`` to the
gradient before its moment estimates (L2, as ``torch.optim.Adam`` and GraphMAE's pretraining), which
regularises far more strongly at the same value.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups, as MAE's pretraining: decayed tensors (ndim >= 2, tokens included) and 1-D ones."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(
    groups: Iterable[dict], lr: float, betas: tuple[float, float], device: torch.device, kind: str = "adamw"
) -> torch.optim.Optimizer:
    """AdamW (``kind="adamw"``) or Adam with L2 weight decay (``kind="adam"``), fused on CUDA and CPU
    (one kernel over all tensors instead of a loop over them)."""
    optimizers = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}
    if kind not in optimizers:
        raise ValueError(f"unknown optimizer '{kind}'; choose one of {', '.join(optimizers)}")
    return optimizers[kind](list(groups), lr=lr, betas=betas, fused=device.type in ("cuda", "cpu"))
