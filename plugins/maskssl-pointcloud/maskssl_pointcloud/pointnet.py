"""Point-MAE's mini-PointNet: one embedding per group of points."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn


class MiniPointNet(nn.Module):
    """groups [B, G, k, 3] -> tokens [B, G, out_dim].

    Per point: Linear(3, w), BN, ReLU, Linear(w, 2w); max over the group's points; that global feature
    concatenated to every point's feature (4w); Linear(4w, 4w), BN, ReLU, Linear(4w, out_dim); max over
    the points. Point-MAE's ``Encoder`` with width w = 128 (its 1x1 convolutions are these linear layers).
    """

    def __init__(self, out_dim: int, width: int = 128) -> None:
        super().__init__()
        self.first = nn.Sequential(
            nn.Linear(3, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Linear(width, 2 * width)
        )
        self.second = nn.Sequential(
            nn.Linear(4 * width, 4 * width), nn.BatchNorm1d(4 * width), nn.ReLU(inplace=True),
            nn.Linear(4 * width, out_dim),
        )

    def forward(self, groups: Tensor) -> Tensor:
        batch, num_groups, group_size, _ = groups.shape
        x = self.first(rearrange(groups, "b g k c -> (b g k) c"))  # [BGk, 2w]
        x = rearrange(x, "(n k) c -> n k c", k=group_size)  # [BG, k, 2w]
        pooled = x.max(dim=1, keepdim=True).values  # [BG, 1, 2w]
        x = torch.cat([pooled.expand_as(x), x], dim=-1)  # [BG, k, 4w]
        x = self.second(rearrange(x, "n k c -> (n k) c"))  # [BGk, out]
        x = rearrange(x, "(b g k) c -> b g k c", b=batch, g=num_groups)
        return x.max(dim=2).values  # [B, G, out]
