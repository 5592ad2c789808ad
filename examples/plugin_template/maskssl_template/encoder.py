"""A small MAE-style transformer encoder for signal windows: it sees the visible tokens only."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from maskssl import Encoded, Encoder, Tokens
from maskssl.errors import ConfigError
from maskssl.utils.typecheck import require_positive, require_probability


def sincos_positions(num_positions: int, width: int) -> Tensor:
    """MAE's fixed 1-D sine-cosine position embedding: [num_positions, width] (width even)."""
    omega = 1.0 / 10000 ** (torch.arange(width // 2, dtype=torch.float64) / (width / 2))  # [width / 2]
    angles = torch.arange(num_positions, dtype=torch.float64)[:, None] * omega  # [num_positions, width / 2]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def blocks(width: int, depth: int, num_heads: int, mlp_ratio: float, dropout: float) -> nn.TransformerEncoder:
    """``depth`` pre-norm transformer blocks of ``width`` channels, batch first."""
    layer = nn.TransformerEncoderLayer(
        width, num_heads, int(width * mlp_ratio), dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class SignalEncoder(Encoder):
    """Windows [B, L, p] -> linear embedding + fixed sin-cos positions -> visible tokens only -> [CLS] + blocks -> norm.

    ``forward`` returns latent [B, 1 + L_vis, D] ([CLS] first, then the visible tokens in order;
    L_vis = L when ``mask`` is None) and pooled [B, D], the [CLS] state.

    Args:
        token_dim: p, samples per window; injected by the modality.
        num_tokens: L, windows per signal; injected.
        embed_dim: D.
        depth: transformer blocks.
        num_heads: attention heads (must divide D).
        mlp_ratio: hidden width of each block's MLP, as a multiple of D.
        dropout: dropout inside the blocks.
    """

    def __init__(
        self,
        token_dim: int,
        num_tokens: int,
        embed_dim: int = 32,
        depth: int = 2,
        num_heads: int = 2,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        require_positive(embed_dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio)  # bad options: ConfigError
        if depth < 1:
            raise ConfigError(f"depth={depth} must be at least 1 (torch's TransformerEncoder needs a layer)")
        require_probability(dropout=dropout)
        if embed_dim % num_heads or embed_dim % 2:
            raise ConfigError(f"embed_dim={embed_dim} must be even and divisible by num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.embed = nn.Linear(token_dim, embed_dim)
        self.register_buffer("pos", sincos_positions(num_tokens, embed_dim)[None], persistent=False)  # [1, L, D]
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.blocks = blocks(embed_dim, depth, num_heads, mlp_ratio, dropout)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens.inputs: windows [B, L, p]; mask: [B, L] bool (True = hidden) or None."""
        x = self.embed(tokens.inputs) + self.pos  # [B, L, D]
        if mask is not None:
            x = x[~mask].view(x.shape[0], -1, x.shape[-1])  # [B, L_vis, D]: every row hides as many tokens
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)  # [B, 1 + L_vis, D]
        x = self.norm(self.blocks(x))
        return Encoded(latent=x, pooled=x[:, 0])
