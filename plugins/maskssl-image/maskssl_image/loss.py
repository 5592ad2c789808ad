"""MAE's reconstruction loss: per-patch mean squared error over the hidden patches."""

from __future__ import annotations

from torch import Tensor

from maskssl_image.ops.patches import normalize_patches


def masked_patch_mse(prediction: Tensor, targets: Tensor, mask: Tensor, norm_pix_loss: bool) -> Tensor:
    """prediction and targets [B, L, T] (T = p*p*C pixels of a patch), mask [B, L] bool (True = hidden) -> 0-dim.

    The per-patch mean squared error averaged over hidden patches; with ``norm_pix_loss`` each target patch
    is normalised by its own mean and std first (MAE's option).
    """
    target = targets.float()  # [B, L, T]
    if norm_pix_loss:
        target = normalize_patches(target)
    per_patch = (prediction.float() - target).square().mean(dim=-1)  # [B, L]
    hidden = mask.float()
    return (per_patch * hidden).sum() / hidden.sum()
