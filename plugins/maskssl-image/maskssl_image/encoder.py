"""MAE's ViT encoder: patch embedding, fixed 2-D sin-cos positions, [CLS], visible patches only."""

from __future__ import annotations

from functools import partial
from typing import Literal

import torch
from timm.layers import PatchEmbed
from timm.models.vision_transformer import Block
from torch import Tensor, nn

from maskssl import Encoded, Encoder, Tokens
from maskssl.errors import ConfigError
from maskssl.layers.init import init_transformer_weights
from maskssl.layers.visible import gather_visible
from maskssl.utils.typecheck import require_non_negative, require_positive, require_probability
from maskssl_image.ops.positions import sincos_pos_embed_with_cls


class ViTEncoder(Encoder):
    """A ViT that encodes only the visible patches of an image, as MAE's encoder.

    Args:
        img_size: image height and width (or one int for square images); injected by the modality.
        in_chans: image channels C; injected by the modality.
        patch_size: patch side p; injected by the modality (``model.patch_size``).
        embed_dim: token width D (divisible by 4 for the sin-cos positions, and by ``num_heads``).
        depth: number of transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over D.
        drop_path_rate: stochastic depth, rising linearly to this value over the blocks.
        pool: the per-image feature ``Encoded.pooled`` (what the regularizers, the online probe and
            evaluation read): "cls", the [CLS] state (MAE's linear probe, U-MAE's regularizer), or
            "mean", the mean of the visible patches' states (MAE's ``global_pool``).

    ``forward(tokens, mask)`` reads ``tokens.inputs`` (images [B, C, H, W]) and returns
    ``Encoded(latent=[B, 1 + L_vis, D], pooled=[B, D])``, where latent row 0 is [CLS] and rows 1..
    are the visible patches in ascending patch order.
    """

    def __init__(
        self,
        img_size: int | tuple[int, int],
        in_chans: int,
        patch_size: int,
        embed_dim: int = 192,
        depth: int = 12,
        num_heads: int = 3,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
        pool: Literal["cls", "mean"] = "cls",
    ) -> None:
        super().__init__()
        require_positive(embed_dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio)
        require_non_negative(depth=depth)
        require_probability(drop_path_rate=drop_path_rate)
        if pool not in ("cls", "mean"):
            raise ConfigError(f"pool='{pool}' must be 'cls' or 'mean'")
        height, width = (img_size, img_size) if isinstance(img_size, int) else img_size
        if height % patch_size or width % patch_size:
            raise ConfigError(f"image size {height}x{width} is not divisible by patch_size={patch_size}")
        if embed_dim % 4:
            raise ConfigError(f"embed_dim={embed_dim} must be divisible by 4 for the 2-D sin-cos position embedding")
        if embed_dim % num_heads:
            raise ConfigError(f"embed_dim={embed_dim} must be divisible by num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.pool = pool
        self.patch_embed = PatchEmbed((height, width), patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer(
            "pos_embed", sincos_pos_embed_with_cls(self.patch_embed.grid_size, embed_dim), persistent=False
        )  # [1, 1+L, D], fixed
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, drop_path=rate, norm_layer=norm_layer)
            for rate in torch.linspace(0, drop_path_rate, depth).tolist()
        )
        self.norm = norm_layer(embed_dim)
        self._init_weights()

    def _init_weights(self) -> None:
        weight = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))  # as a linear layer over a flattened patch
        nn.init.normal_(self.cls_token, std=0.02)
        self.apply(init_transformer_weights)

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens.inputs [B, C, H, W]; mask [B, L] bool (True = hidden) or None for all patches."""
        x = self.patch_embed(tokens.inputs)  # [B, L, D]
        x = x + self.pos_embed[:, 1:]
        if mask is not None:
            x = gather_visible(x, mask)  # [B, L_vis, D]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)  # [B, 1, D]
        x = torch.cat([cls, x], dim=1)  # [B, 1+L_vis, D]
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        pooled = x[:, 0] if self.pool == "cls" else x[:, 1:].mean(dim=1)  # [B, D]
        return Encoded(latent=x, pooled=pooled)
