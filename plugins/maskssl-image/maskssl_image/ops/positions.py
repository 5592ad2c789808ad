"""Fixed 2-D sin-cos position embeddings with a zero row for [CLS].

The values of MAE's ``get_2d_sincos_pos_embed``, built by timm, whose channel order differs: [sin h, sin w,
cos h, cos w] here, [sin w, cos w, sin h, cos h] in MAE. Equivalent for training; weights carried between
the two code bases need that channel permutation (``benchmarks/compare/image_step.py`` applies it).
"""

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
