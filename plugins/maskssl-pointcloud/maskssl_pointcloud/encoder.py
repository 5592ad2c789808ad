"""Point-MAE's encoder: mini-PointNet group tokens, centre MLP positions added at every block, [CLS] first."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from maskssl import Encoded, Encoder, Tokens
from maskssl.layers.init import init_transformer_weights
from maskssl.layers.visible import gather_visible
from maskssl.utils.typecheck import require_non_negative, require_positive, require_probability
from maskssl_pointcloud.pointnet import MiniPointNet
from maskssl_pointcloud.transformer import PositionalBlocks, position_mlp


class PointTransformerEncoder(Encoder):
    """Encodes the visible groups of a masked view.

    Reads ``tokens.inputs`` (groups [B, L, k, 3], relative to their centres) and ``tokens.positions``
    (centres [B, L, 3]). Only visible groups are embedded (Point-MAE embeds all and then drops the
    hidden ones: the same result up to BatchNorm's batch statistics, at 1 - ratio of the cost).
    A learned [CLS] token with a learned position comes first, as Point-CMAE's pretraining encoder and
    Point-MAE's fine-tuning model.

    Args:
        embed_dim: token width D (Point-MAE: 384).
        depth: transformer blocks (12); num_heads: attention heads (6); mlp_ratio: MLP width over D (4).
        drop_path_rate: stochastic depth of the last block (0.1).
        pointnet_width: first hidden width w of the mini-PointNet (128; its widths are w, 2w, 4w).

    Returns ``Encoded(latent [B, 1 + L_vis, D] with [CLS] first and visible groups in token order,
    pooled [B, D] = the max over the visible groups' states)``. The pooled feature (what U-MAE's uniformity
    and the eval's alignment read) is the max, not [CLS]: the decoders never see [CLS], so the
    reconstruction does not train its final state. Evaluation features are both (``PointCloudModality.features``).
    """

    block_pattern = r"^blocks\.blocks\.(\d+)\."

    def __init__(
        self,
        embed_dim: int = 384,
        depth: int = 12,
        num_heads: int = 6,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.1,
        pointnet_width: int = 128,
    ) -> None:
        super().__init__()
        require_positive(embed_dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, pointnet_width=pointnet_width)
        require_non_negative(depth=depth)
        require_probability(drop_path_rate=drop_path_rate)
        self.embed_dim = embed_dim
        self.group_embed = MiniPointNet(embed_dim, pointnet_width)
        self.pos_embed = position_mlp(embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.cls_pos = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = PositionalBlocks(embed_dim, depth, num_heads, mlp_ratio, drop_path_rate)
        self.norm = nn.LayerNorm(embed_dim)
        self.apply(partial(init_transformer_weights, trunc_normal_std=0.02))  # Point-MAE's encoder
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.cls_pos, std=0.02)

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens.inputs [B, L, k, 3], tokens.positions [B, L, 3]; mask [B, L] bool (True = hidden) or None."""
        groups, centres = tokens.inputs, tokens.positions
        if mask is not None:
            groups, centres = gather_visible(groups, mask), gather_visible(centres, mask)
        x = self.group_embed(groups)  # [B, L_vis, D]
        pos = self.pos_embed(centres)  # [B, L_vis, D]
        batch = x.shape[0]
        x = torch.cat([self.cls_token.expand(batch, -1, -1), x], dim=1)  # [B, 1+L_vis, D]
        pos = torch.cat([self.cls_pos.expand(batch, -1, -1), pos], dim=1)
        x = self.norm(self.blocks(x, pos))
        return Encoded(latent=x, pooled=x[:, 1:].max(dim=1).values)
