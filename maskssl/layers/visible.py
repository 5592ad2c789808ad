"""Drop hidden tokens and put visible ones back, keeping the tokens' original (ascending) order.

Masks are bool [B, L] with True = hidden, and every row hides the same number of tokens (the
``maskssl.Masker`` contract), so the visible tokens of a batch form a dense [B, L_vis, ...] tensor.
Encoders gather the visible tokens; decoders scatter them back among mask tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor


def visible_count(mask: Tensor) -> int:
    """L_vis, the number of visible tokens of every row of ``mask`` [B, L].

    Raises ValueError when rows hide different numbers of tokens.
    """
    counts = (~mask).sum(dim=1)  # [B]
    fewest, most = torch.stack(torch.aminmax(counts)).tolist()
    if fewest != most:
        raise ValueError(
            f"every sample must hide the same number of tokens, but visible counts range from {fewest} to {most}"
        )
    return int(most)


def visible_indices(mask: Tensor, num_visible: int) -> Tensor:
    """[B, L_vis] indices of the visible tokens of each row, ascending (a stable sort puts False first)."""
    return torch.argsort(mask.int(), dim=1, stable=True)[:, :num_visible]


def gather_visible(x: Tensor, mask: Tensor) -> Tensor:
    """x [B, L, *F], mask [B, L] -> the visible tokens [B, L_vis, *F] in their original order."""
    ids = visible_indices(mask, visible_count(mask))  # [B, L_vis]
    flat = x.reshape(*x.shape[:2], -1)  # [B, L, prod(F)]
    picked = torch.gather(flat, 1, ids.unsqueeze(-1).expand(-1, -1, flat.shape[-1]))  # [B, L_vis, prod(F)]
    return picked.reshape(x.shape[0], ids.shape[1], *x.shape[2:])


def scatter_visible(visible: Tensor, mask: Tensor, fill: Tensor) -> Tensor:
    """Inverse of ``gather_visible``: visible [B, L_vis, D] back to [B, L, D], ``fill`` [D] at hidden tokens."""
    batch, num_tokens = mask.shape
    dim = visible.shape[-1]
    ids = visible_indices(mask, visible.shape[1])  # [B, L_vis]
    full = fill.to(visible.dtype).expand(batch, num_tokens, dim)  # [B, L, D]
    return full.scatter(1, ids.unsqueeze(-1).expand(-1, -1, dim), visible)
