"""k nearest neighbours by squared Euclidean distance, with memory bounded by chunking.

The pure-torch path finds the neighbours without gradients from ||q||^2 + ||p||^2 - 2 q.p over chunks of
queries (at most ``max_pairs`` query-point pairs at once), then recomputes the k distances exactly as
sum((q - p)^2) from the gathered points, which is differentiable with respect to both inputs (as
pytorch3d's ``knn_points``) and sorted ascending.
"""

from __future__ import annotations

import torch
from torch import Tensor

from maskssl_pointcloud.ops.backend import Backend, pytorch3d_ops, use_pytorch3d
from maskssl_pointcloud.ops.indexing import gather_points

MAX_PAIRS = 1 << 24
"""Query-point pairs whose distances are held at once (64 MB in float32)."""


def knn(
    queries: Tensor, points: Tensor, k: int, *, backend: Backend = "auto", max_pairs: int = MAX_PAIRS
) -> tuple[Tensor, Tensor]:
    """The k nearest points of each query.

    Args:
        queries: [B, M, D]; points: [B, N, D] with N >= k.
        k: neighbours per query.
        max_pairs: memory bound of the pure-torch path (distances held at once, over the whole batch).

    Returns:
        (squared distances [B, M, k], ascending; indices int64 [B, M, k] into ``points``).
    """
    if queries.ndim != 3 or points.ndim != 3 or queries.shape[::2] != points.shape[::2]:  # (B, D) must agree
        raise ValueError(
            f"queries [B, M, D] and points [B, N, D] expected, got {tuple(queries.shape)}, {tuple(points.shape)}"
        )
    if not 1 <= k <= points.shape[1]:
        raise ValueError(f"k={k} neighbours requested from {points.shape[1]} points; need 1 <= k <= N")
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    if use_pytorch3d(backend):
        found = pytorch3d_ops.knn_points(queries, points, K=k, return_sorted=True)
        return found.dists, found.idx
    index = _knn_index(queries, points, k, max_pairs)  # [B, M, k]
    distance = (gather_points(points, index) - queries.unsqueeze(2)).square().sum(dim=-1)  # [B, M, k], exact
    distance, order = distance.sort(dim=-1)
    return distance, index.gather(-1, order)


@torch.no_grad()
def _knn_index(queries: Tensor, points: Tensor, k: int, max_pairs: int) -> Tensor:
    """Indices [B, M, k] of the k smallest ||q - p||^2, expanded as a matmul (float32 or wider), over query chunks."""
    batch, num_queries, _ = queries.shape
    dtype = torch.promote_types(torch.promote_types(queries.dtype, points.dtype), torch.float32)
    q_all, p = queries.to(dtype), points.to(dtype)
    rows = max(1, max_pairs // (batch * points.shape[1]))
    chunks = []
    with torch.autocast(queries.device.type, enabled=False):  # a bf16 matmul would pick wrong neighbours
        p_norm = p.square().sum(dim=-1).unsqueeze(1)  # [B, 1, N]
        for start in range(0, num_queries, rows):
            q = q_all[:, start : start + rows]  # [B, c, D]
            distance = q.square().sum(dim=-1, keepdim=True) + p_norm - 2.0 * q @ p.transpose(1, 2)  # [B, c, N]
            if k == 1:  # Chamfer's case: a min is several times cheaper than topk
                chunks.append(distance.min(dim=-1, keepdim=True).indices)
            else:
                chunks.append(distance.topk(k, dim=-1, largest=False, sorted=False).indices)
    return torch.cat(chunks, dim=1)
