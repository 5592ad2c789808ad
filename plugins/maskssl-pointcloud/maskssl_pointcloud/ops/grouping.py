"""Point-MAE's tokenizer geometry: FPS centres, their k nearest points, coordinates relative to the centre."""

from __future__ import annotations

import torch
from torch import Tensor

from maskssl_pointcloud.ops.backend import Backend
from maskssl_pointcloud.ops.fps import farthest_point_sample
from maskssl_pointcloud.ops.indexing import gather_points
from maskssl_pointcloud.ops.knn import knn


@torch.no_grad()
def group_points(
    points: Tensor, num_groups: int, group_size: int, *, backend: Backend = "auto"
) -> tuple[Tensor, Tensor]:
    """Split clouds points [B, N, 3] into G = ``num_groups`` local patches of k = ``group_size`` points.

    Returns:
        centres [B, G, 3]: farthest point samples of each cloud;
        groups [B, G, k, 3]: the k nearest points of each centre (nearest first, the centre itself
        included), minus that centre.
    """
    centres = gather_points(points, farthest_point_sample(points, num_groups, backend=backend))  # [B, G, 3]
    _, index = knn(centres, points, group_size, backend=backend)  # [B, G, k]
    return centres, gather_points(points, index) - centres.unsqueeze(2)
