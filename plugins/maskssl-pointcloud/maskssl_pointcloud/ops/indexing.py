"""Gather points by index along the point dimension."""

from __future__ import annotations

from torch import Tensor


def gather_points(points: Tensor, index: Tensor) -> Tensor:
    """points [B, N, D], index int64 [B, *S] with values in [0, N) -> points[b, index[b, ...]] as [B, *S, D]."""
    batch, _, dim = points.shape
    flat = index.reshape(batch, -1, 1).expand(-1, -1, dim)  # [B, prod(S), D]
    return points.gather(1, flat).reshape(*index.shape, dim)
