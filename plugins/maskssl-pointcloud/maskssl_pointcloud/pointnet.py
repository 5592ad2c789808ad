"""Point-MAE's mini-PointNet: one embedding per group of points."""

from __future__ import annotations

import torch.nn.functional as F
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
        """groups [B, G, k, 3] -> [B, G, out_dim].

        Computed as the same sums regrouped, with fewer multiply-adds (r = the first ReLU's output [w],
        f = W2 r + b2 the point feature [2w], g = max over the group of f, [W_g | W_f] = second[0]'s weight):

            second[0]([g ‖ f]) = W_g g + W_f f + b3 = (W_f W2) r + (W_g g + W_f b2 + b3)

        so the per-point product is [4w, w] (instead of [4w, 4w] on a concatenation), and f is only used
        for g. The biases b2 and b4 are added after their max over the points (max(a + b) = max(a) + b, also
        in floating point: rounding is monotonic). Only float rounding differs from the layer-by-layer formula.
        """
        batch, num_groups, group_size, _ = groups.shape
        point = self.first[3]  # Linear(w, 2w): W2, b2
        fuse, norm, relu, last = self.second  # fuse: Linear(4w, 4w) = [W_g | W_f], b3
        r = self.first[:3](groups.reshape(-1, 3)).view(-1, group_size, point.in_features)  # [BG, k, w]
        pooled = F.linear(r, point.weight).max(dim=1).values + point.bias  # g [BG, 2w]
        w_pooled, w_point = fuse.weight.split(point.out_features, dim=1)  # W_g, W_f: [4w, 2w] each
        x = F.linear(r, w_point @ point.weight)  # [BG, k, 4w]; not a view, so the in-place add stays cheap
        x += F.linear(pooled, w_pooled, fuse.bias + w_point @ point.bias).unsqueeze(1)  # once per group
        x = F.linear(relu(norm(x.view(-1, fuse.out_features))), last.weight)  # [BGk, out]
        return x.view(batch, num_groups, group_size, -1).max(dim=2).values + last.bias  # [B, G, out]
