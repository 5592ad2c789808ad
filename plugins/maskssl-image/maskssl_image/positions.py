"""Fixed 2-D sin-cos position embeddings with a zero row for [CLS] (MAE's ``get_2d_sincos_pos_embed``)."""

from __future__ import annotations

import torch
from timm.layers import build_sincos2d_pos_embed
from torch import Tensor


def sincos_pos_embed_with_cls(grid: tuple[int, int], dim: int) -> Tensor:
    """[1, 1 + h*w, dim]: row 0 (the [CLS] position) is zero, rows 1.. follow the row-major (h, w) grid.

    ``dim`` must be divisible by 4 (a quarter each for sin/cos of the row and column coordinates).
    """
    grid_embed = build_sincos2d_pos_embed(list(grid), dim=dim)  # [L, D]
    return torch.cat([torch.zeros(1, dim), grid_embed]).unsqueeze(0)  # [1, 1+L, D]
