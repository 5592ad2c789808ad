"""Farthest point sampling: greedily pick the point farthest from those already picked.

Starts at point 0 of every cloud, as pytorch3d's ``sample_farthest_points`` (random_start_point=False)
and the pointnet2 CUDA kernel Point-MAE uses. Each pick is the point whose squared distance to the
picked set is largest (the first such index on ties).
"""

from __future__ import annotations

import torch
from torch import Tensor

from maskssl_pointcloud.ops.backend import Backend, pytorch3d_ops, use_pytorch3d


@torch.no_grad()
def farthest_point_sample(points: Tensor, num_samples: int, *, backend: Backend = "auto") -> Tensor:
    """Indices int64 [B, K] of K = ``num_samples`` farthest points of each cloud of points [B, N, D].

    Pure torch: K steps, each O(B * N) time and memory (no chunking needed), on the points' device.
    Distances are computed in at least float32.
    """
    if points.ndim != 3:
        raise ValueError(f"points must be [B, N, D], got shape {tuple(points.shape)}")
    batch, num_points, _ = points.shape
    if not 1 <= num_samples <= num_points:
        raise ValueError(f"cannot sample {num_samples} of {num_points} points; need 1 <= K <= N")
    if use_pytorch3d(backend):
        return pytorch3d_ops.sample_farthest_points(points, K=num_samples)[1]
    # [D, B, N]: each coordinate a contiguous [B, N] plane, so the sum over coordinates is a few whole-plane
    # adds (several times faster on CPU than a sum over a last axis of size 3; the same additions in order)
    x = points.to(torch.promote_types(points.dtype, torch.float32)).permute(2, 0, 1).contiguous()
    rows = torch.arange(batch, device=x.device)
    picked = torch.empty(batch, num_samples, dtype=torch.long, device=x.device)
    nearest = torch.full((batch, num_points), float("inf"), dtype=x.dtype, device=x.device)  # [B, N]
    current = torch.zeros(batch, dtype=torch.long, device=x.device)  # [B]
    for i in range(num_samples):
        picked[:, i] = current
        distance = (x - x[:, rows, current].unsqueeze(-1)).square_().sum(dim=0)  # [B, N]
        torch.minimum(nearest, distance, out=nearest)
        current = nearest.argmax(dim=1)
    return picked
