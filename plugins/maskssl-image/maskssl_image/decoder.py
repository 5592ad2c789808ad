"""MAE's decoder: mask tokens at hidden patches, own fixed positions, transformer, per-patch prediction."""

from __future__ import annotations

from functools import partial

import torch
from timm.models.vision_transformer import Block
from torch import Tensor, nn

from maskssl import Decoded, Decoder, Encoded, Tokens
from maskssl.errors import ConfigError
from maskssl.layers.init import init_transformer_weights
from maskssl.layers.visible import scatter_visible
from maskssl.utils.typecheck import require_non_negative, require_positive
from maskssl_image.ops.positions import sincos_pos_embed_with_cls


class MAEDecoder(Decoder):
    """Predicts every patch's target from a [CLS]-first encoder output of the visible patches.

    Args:
        grid_size: the patch grid (h, w), L = h * w; injected by the modality.
        encoder_dim: the encoder's width; injected by the modality.
        token_dim: values to predict per patch, p*p*C; injected by the modality.
        embed_dim: decoder width Dd (divisible by 4 and by ``num_heads``).
        depth: number of transformer blocks (0 is allowed: norm and head only).
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over Dd.

    ``forward(encoded, mask, tokens)`` expects ``encoded.latent`` [B, 1 + L_vis, D_enc] with [CLS]
    first and the visible patches of ``mask`` in ascending order (what ``ViTEncoder`` returns).
    The [CLS] state passes through the blocks, as in MAE, and is dropped before the head.
    """

    def __init__(
        self,
        grid_size: tuple[int, int],
        encoder_dim: int,
        token_dim: int,
        embed_dim: int = 128,
        depth: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        require_positive(embed_dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio)
        require_non_negative(depth=depth)
        if embed_dim % 4:
            raise ConfigError(f"embed_dim={embed_dim} must be divisible by 4 for the 2-D sin-cos position embedding")
        if embed_dim % num_heads:
            raise ConfigError(f"embed_dim={embed_dim} must be divisible by num_heads={num_heads}")
        self.embed = nn.Linear(encoder_dim, embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer(
            "pos_embed", sincos_pos_embed_with_cls(tuple(grid_size), embed_dim), persistent=False
        )  # [1, 1+L, Dd], fixed
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=norm_layer) for _ in range(depth)
        )
        self.norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, token_dim)
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(init_transformer_weights)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """mask [B, L] bool (True = hidden), the one the encoder saw. Returns prediction [B, L, T]."""
        x = self.embed(encoded.latent)  # [B, 1+L_vis, Dd]
        num_visible = mask.shape[1] - int(mask[0].sum())
        if x.shape[1] - 1 != num_visible:
            raise ValueError(
                f"the encoder output has {x.shape[1] - 1} patch tokens after [CLS], but the mask leaves {num_visible} "
                f"visible; MAEDecoder needs a [CLS]-first encoder output of the visible patches"
            )
        patches = scatter_visible(x[:, 1:], mask, self.mask_token.view(-1))  # [B, L, Dd]
        x = torch.cat([x[:, :1], patches], dim=1) + self.pos_embed  # [B, 1+L, Dd]
        for block in self.blocks:
            x = block(x)
        hidden = self.norm(x)[:, 1:]  # [B, L, Dd], [CLS] dropped
        return Decoded(prediction=self.head(hidden), hidden=hidden)
