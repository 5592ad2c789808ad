"""Chamfer distances between point sets, as Point-MAE's ``ChamferDistanceL2`` / ``ChamferDistanceL1``.

For x [P points] and y [Q points], with d(a, S) the squared Euclidean distance from a to its nearest
point of S:

    L2:  mean_i d(x_i, y) + mean_j d(y_j, x)                         (pytorch3d chamfer_distance, norm=2)
    L1:  (mean_i sqrt d(x_i, y) + mean_j sqrt d(y_j, x)) / 2         (Euclidean, not squared)

pytorch3d's ``chamfer_distance(norm=1)`` is a different quantity (the L1 norm of coordinate
differences), so the L1 variant uses pytorch3d's ``knn_points`` there. Both are differentiable with
respect to both sets; memory is bounded by ``knn``'s chunking.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from maskssl_pointcloud.ops.backend import Backend, pytorch3d_loss, use_pytorch3d
from maskssl_pointcloud.ops.knn import MAX_PAIRS, knn


def nearest_sq_distance(
    x: Tensor, y: Tensor, *, backend: Backend = "auto", max_pairs: int = MAX_PAIRS
) -> Tensor:
    """Squared distance [B, P] from each point of x [B, P, D] to its nearest point of y [B, Q, D]."""
    return knn(x, y, 1, backend=backend, max_pairs=max_pairs)[0][..., 0]


def chamfer_distance(
    x: Tensor,
    y: Tensor,
    *,
    norm: Literal[1, 2] = 2,
    backend: Backend = "auto",
    max_pairs: int = MAX_PAIRS,
) -> Tensor:
    """Chamfer distance [B] between the sets x [B, P, D] and y [B, Q, D]; ``norm`` 2 or 1 (module docstring)."""
    if norm == 2 and use_pytorch3d(backend):
        return pytorch3d_loss.chamfer_distance(x, y, batch_reduction=None, point_reduction="mean", norm=2)[0]
    d_xy = nearest_sq_distance(x, y, backend=backend, max_pairs=max_pairs)  # [B, P]
    d_yx = nearest_sq_distance(y, x, backend=backend, max_pairs=max_pairs)  # [B, Q]
    if norm == 2:
        return d_xy.mean(dim=1) + d_yx.mean(dim=1)
    if norm == 1:
        return (_euclidean(d_xy).mean(dim=1) + _euclidean(d_yx).mean(dim=1)) / 2
    raise ValueError(f"norm must be 1 or 2, got {norm!r}")


def _euclidean(squared: Tensor) -> Tensor:
    """sqrt of squared distances, 0 with a zero (not NaN) gradient where a distance is exactly 0."""
    positive = squared > 0
    return torch.where(positive, torch.where(positive, squared, 1.0).sqrt(), 0.0)
