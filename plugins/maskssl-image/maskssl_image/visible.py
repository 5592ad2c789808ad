"""Drop hidden tokens and put visible ones back, keeping the original (ascending) token order.

Masks are bool [B, L] with True = hidden, and every row hides the same number of tokens (the
``maskssl.Masker`` contract), so the visible tokens of a batch form a dense [B, L_vis, D] tensor.
"""

from __future__ import annotations

import torch
from torch import Tensor


def visible_indices(mask: Tensor, num_visible: int) -> Tensor:
    """[B, L_vis] indices of the visible tokens of each row, ascending (a stable sort puts False first)."""
    return torch.argsort(mask.int(), dim=1, stable=True)[:, :num_visible]


def gather_visible(x: Tensor, mask: Tensor) -> Tensor:
    """x [B, L, D], mask [B, L] -> the visible tokens [B, L_vis, D] in their original order.

    Raises ValueError when rows of ``mask`` hide different numbers of tokens.
    """
    counts = (~mask).sum(dim=1)  # [B]
    fewest, most = torch.stack(torch.aminmax(counts)).tolist()
    if fewest != most:
        raise ValueError(
            f"every sample must hide the same number of tokens, but visible counts range from {fewest} to {most}"
        )
    ids = visible_indices(mask, most)  # [B, L_vis]
    return torch.gather(x, 1, ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def scatter_visible(visible: Tensor, mask: Tensor, fill: Tensor) -> Tensor:
    """Inverse of ``gather_visible``: visible [B, L_vis, D] back to [B, L, D], ``fill`` [D] at hidden tokens."""
    batch, num_tokens = mask.shape
    dim = visible.shape[-1]
    ids = visible_indices(mask, visible.shape[1])  # [B, L_vis]
    full = fill.to(visible.dtype).expand(batch, num_tokens, dim)  # [B, L, D]
    return full.scatter(1, ids.unsqueeze(-1).expand(-1, -1, dim), visible)
