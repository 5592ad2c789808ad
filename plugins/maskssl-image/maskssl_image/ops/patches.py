"""Images <-> flattened patches, and MAE's per-patch target normalisation (norm_pix_loss).

A patch is flattened in (row, column, channel) order, as in MAE's ``patchify``; patches are listed
row-major over the (H/p, W/p) grid, the same order as ``timm.layers.PatchEmbed`` tokens.
"""

from __future__ import annotations

from einops import rearrange
from torch import Tensor


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """images [B, C, H, W] -> patches [B, L, p*p*C] with L = (H/p) * (W/p)."""
    return rearrange(images, "b c (h p) (w q) -> b (h w) (p q c)", p=patch_size, q=patch_size)


def unpatchify(patches: Tensor, patch_size: int, grid: tuple[int, int]) -> Tensor:
    """patches [B, L, p*p*C] on a grid (h, w) with L = h * w -> images [B, C, h*p, w*p]."""
    h, w = grid
    return rearrange(patches, "b (h w) (p q c) -> b c (h p) (w q)", h=h, w=w, p=patch_size, q=patch_size)


def normalize_patches(patches: Tensor, eps: float = 1e-6) -> Tensor:
    """MAE's norm_pix_loss target: each patch [..., T] minus its mean, over sqrt(unbiased var + eps)."""
    mean = patches.mean(dim=-1, keepdim=True)  # [..., 1]
    var = patches.var(dim=-1, keepdim=True)  # [..., 1]
    return (patches - mean) / (var + eps).sqrt()
