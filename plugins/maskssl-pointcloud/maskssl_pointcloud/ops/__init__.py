"""Geometric ops on batched point clouds: farthest point sampling, kNN, Chamfer distance, grouping.

pytorch3d's kernels are used when it is importable (``HAS_PYTORCH3D``); otherwise pure-torch versions
that run on any device and bound their memory by chunking. Every op takes ``backend="auto" | "torch" |
"pytorch3d"`` to force one.
"""

from maskssl_pointcloud.ops.backend import HAS_PYTORCH3D, Backend
from maskssl_pointcloud.ops.chamfer import chamfer_distance, nearest_sq_distance
from maskssl_pointcloud.ops.fps import farthest_point_sample
from maskssl_pointcloud.ops.grouping import group_points
from maskssl_pointcloud.ops.indexing import gather_points
from maskssl_pointcloud.ops.knn import knn

__all__ = [
    "HAS_PYTORCH3D",
    "Backend",
    "chamfer_distance",
    "farthest_point_sample",
    "gather_points",
    "group_points",
    "knn",
    "nearest_sq_distance",
]
