"""The signal modality's reconstruction loss: mean squared error per window over the hidden windows."""

from __future__ import annotations

from torch import Tensor


def masked_window_mse(prediction: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """prediction and targets [B, L, p], mask [B, L] bool (True = hidden) -> 0-dim: the per-window mean squared
    error averaged over the hidden windows."""
    per_token = (prediction.float() - targets.float()).square().mean(dim=-1)  # [B, L]
    hidden = mask.float()
    return (per_token * hidden).sum() / hidden.sum()
