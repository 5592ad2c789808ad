"""An MLP-Mixer decoder for signal windows: a mask token at every hidden position, then token- and channel-mixing.

Mixing along the tokens with a linear map over the L positions learns interpolation between
neighbouring windows in a few dozen steps, where a transformer decoder of this size needs hundreds.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from maskssl import Decoded, Decoder, Encoded, Tokens
from maskssl.errors import ConfigError
from maskssl.utils.typecheck import require_positive


class MixerBlock(nn.Module):
    """x [B, L, C] -> x + MLP over the L positions (per channel) -> + MLP over the C channels (per position)."""

    def __init__(self, num_tokens: int, width: int, expansion: int) -> None:
        super().__init__()
        self.token_norm = nn.LayerNorm(width)
        self.token_mlp = nn.Sequential(
            nn.Linear(num_tokens, expansion * num_tokens), nn.GELU(), nn.Linear(expansion * num_tokens, num_tokens)
        )
        self.channel_norm = nn.LayerNorm(width)
        self.channel_mlp = nn.Sequential(
            nn.Linear(width, expansion * width), nn.GELU(), nn.Linear(expansion * width, width)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.token_mlp(self.token_norm(x).transpose(1, 2)).transpose(1, 2)  # [B, L, C]
        return x + self.channel_mlp(self.channel_norm(x))


class SignalDecoder(Decoder):
    """latent [B, 1 + L_vis, D] -> project to Dd -> visible windows back at their positions, a mask token at
    the hidden ones -> Mixer blocks -> norm -> linear head.

    ``forward`` returns prediction [B, L, p] for every window, in order, and hidden [B, L, Dd], the
    states before the head. The encoder's [CLS] state (latent[:, 0]) is not used.

    Args:
        token_dim: p, samples per window; injected by the modality.
        num_tokens: L; injected.
        encoder_dim: D, the encoder's width; injected.
        embed_dim: Dd.
        depth: Mixer blocks.
        expansion: hidden width of the blocks' MLPs, as a multiple of L and of Dd.
    """

    def __init__(
        self, token_dim: int, num_tokens: int, encoder_dim: int, embed_dim: int = 32, depth: int = 2, expansion: int = 2
    ) -> None:
        super().__init__()
        require_positive(embed_dim=embed_dim)
        if depth < 1 or expansion < 1:
            raise ConfigError(f"depth={depth} and expansion={expansion} must be at least 1")
        self.proj = nn.Linear(encoder_dim, embed_dim)
        self.mask_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.blocks = nn.Sequential(*(MixerBlock(num_tokens, embed_dim, expansion) for _ in range(depth)))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, token_dim)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """encoded.latent [B, 1 + L_vis, D] ([CLS] first); mask [B, L] bool, True = hidden."""
        x = self.proj(encoded.latent[:, 1:])  # [B, L_vis, Dd]
        batch, length = mask.shape
        visible = x.new_zeros(batch, length, x.shape[-1])
        visible[~mask] = x.reshape(-1, x.shape[-1])  # back to their positions, in order
        full = torch.where(mask[..., None], self.mask_token.expand(batch, length, -1), visible)  # [B, L, Dd]
        hidden = self.norm(self.blocks(full))  # [B, L, Dd]
        return Decoded(prediction=self.head(hidden), hidden=hidden)
