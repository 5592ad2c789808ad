"""Drop hidden tokens and put visible ones back, keeping the tokens' order.

Masks are bool [B, L] with True = hidden, and every row hides the same number of tokens (the
``maskssl.Masker`` contract), so the visible tokens of a batch form a dense [B, L_vis, ...] tensor.
"""

from __future__ import annotations

from torch import Tensor


def select_visible(x: Tensor, mask: Tensor) -> Tensor:
    """x [B, L, *F], mask [B, L] -> the visible tokens [B, L_vis, *F] in their original order.

    Raises ValueError when rows of ``mask`` hide different numbers of tokens.
    """
    visible = (~mask).sum(dim=1)  # [B]
    fewest, most = int(visible.min()), int(visible.max())
    if fewest != most:
        raise ValueError(
            f"every sample must hide the same number of tokens, but visible counts range from {fewest} to {most}"
        )
    return x[~mask].reshape(x.shape[0], most, *x.shape[2:])


def scatter_visible(visible: Tensor, mask: Tensor, fill: Tensor) -> Tensor:
    """Inverse of ``select_visible``: visible [B, L_vis, D] back to [B, L, D] with ``fill`` [D] at hidden tokens."""
    batch, num_tokens = mask.shape
    full = fill.to(visible.dtype).expand(batch, num_tokens, visible.shape[-1])  # [B, L, D]
    return full.masked_scatter(~mask.unsqueeze(-1), visible)
