"""Point-MAE's decoder: mask tokens at hidden groups, own centre-MLP positions, points of every group."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from maskssl import Decoded, Decoder, Encoded, Tokens
from maskssl.layers.init import init_transformer_weights
from maskssl.layers.visible import scatter_visible
from maskssl.utils.typecheck import require_non_negative, require_positive, require_probability
from maskssl_pointcloud.transformer import PositionalBlocks, position_mlp


class PointMAEDecoder(Decoder):
    """Predicts the k points of every group from a [CLS]-first encoder output of the visible groups.

    The [CLS] state is dropped (Point-MAE's and Point-CMAE's decoders see visible and mask tokens only);
    a learned mask token stands at each hidden group, the decoder's own position MLP of every centre is
    added before each block, and a linear head gives k * 3 coordinates per group (relative to its centre).
    With two views each decoder has its own mask token, position MLP, blocks and head, as Point-CMAE.

    Args:
        encoder_dim: the encoder's width; injected by the modality (a linear map when it differs from embed_dim).
        token_dim: k * 3, injected by the modality.
        embed_dim: decoder width Dd (Point-MAE: 384); depth: blocks (4); num_heads: heads (6);
        mlp_ratio: MLP width over Dd (4); drop_path_rate: stochastic depth of the last block (0.1).

    Returns ``Decoded(prediction [B, L, k*3], hidden [B, L, Dd])``: every group in token order; the hidden
    states are the normalised features the head reads (what Point-CMAE's contrast compares).
    """

    def __init__(
        self,
        encoder_dim: int,
        token_dim: int,
        embed_dim: int = 384,
        depth: int = 4,
        num_heads: int = 6,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.1,
    ) -> None:
        super().__init__()
        require_positive(embed_dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio)
        require_non_negative(depth=depth)
        require_probability(drop_path_rate=drop_path_rate)
        self.embed = nn.Identity() if encoder_dim == embed_dim else nn.Linear(encoder_dim, embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(embed_dim))
        self.pos_embed = position_mlp(embed_dim)
        self.blocks = PositionalBlocks(embed_dim, depth, num_heads, mlp_ratio, drop_path_rate)
        self.norm = nn.LayerNorm(embed_dim)
        self.blocks.apply(init_transformer_weights)
        self.norm.apply(init_transformer_weights)
        self.head = nn.Linear(embed_dim, token_dim)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """mask [B, L] bool (True = hidden), the one the encoder saw; tokens.positions [B, L, 3]."""
        num_visible = mask.shape[1] - int(mask[0].sum())
        if encoded.latent.shape[1] - 1 != num_visible:
            raise ValueError(
                f"the encoder output has {encoded.latent.shape[1] - 1} tokens after [CLS], but the mask leaves "
                f"{num_visible} visible; PointMAEDecoder needs a [CLS]-first encoder output of the visible groups"
            )
        visible = self.embed(encoded.latent[:, 1:])  # [B, L_vis, Dd]
        x = scatter_visible(visible, mask, self.mask_token)  # [B, L, Dd]
        hidden = self.norm(self.blocks(x, self.pos_embed(tokens.positions)))  # [B, L, Dd]
        return Decoded(prediction=self.head(hidden), hidden=hidden)
