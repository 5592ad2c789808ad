"""Point-MAE's transformer: timm blocks with the position embedding added before every block."""

from __future__ import annotations

import torch
from timm.models.vision_transformer import Block
from torch import Tensor, nn

from maskssl.errors import ConfigError

POSITION_HIDDEN = 128
"""Hidden width of the centre-coordinate MLP (Point-MAE: Linear(3, 128), GELU, Linear(128, D))."""


def position_mlp(dim: int) -> nn.Sequential:
    """Point-MAE's position embedding: centres [..., 3] -> [..., dim]."""
    return nn.Sequential(nn.Linear(3, POSITION_HIDDEN), nn.GELU(), nn.Linear(POSITION_HIDDEN, dim))


class PositionalBlocks(nn.Module):
    """``depth`` pre-norm transformer blocks (timm ``Block``, no qkv bias as Point-MAE); x <- block(x + pos).

    Args:
        dim: token width; num_heads: attention heads (must divide dim); mlp_ratio: MLP width over dim.
        drop_path_rate: stochastic depth of the last block, rising linearly from 0 at the first.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float = 4.0, drop_path_rate: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"embed_dim={dim} must be divisible by num_heads={num_heads}")
        self.blocks = nn.ModuleList(
            Block(dim, num_heads, mlp_ratio, qkv_bias=False, drop_path=rate)
            for rate in torch.linspace(0, drop_path_rate, depth).tolist()
        )

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        """x [B, S, D], pos [B, S, D] -> [B, S, D]."""
        for block in self.blocks:
            x = block(x + pos)
        return x
