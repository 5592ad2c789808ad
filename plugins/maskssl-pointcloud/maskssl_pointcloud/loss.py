"""Point-MAE's reconstruction loss: the Chamfer distance between predicted and true points of each hidden group."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from maskssl_pointcloud.ops import Backend, chamfer_distance


def hidden_group_chamfer(
    prediction: Tensor, targets: Tensor, mask: Tensor, group_size: int,
    loss: Literal["chamfer_l1", "chamfer_l2"], backend: Backend,
) -> Tensor:
    """prediction and targets [B, L, k*3] (k = ``group_size`` points of a group, centred), mask [B, L] bool
    (True = hidden) -> 0-dim: the Chamfer distance (L2: squared, Point-MAE's default; L1: Euclidean) of each
    hidden group's predicted and true k points, averaged over the hidden groups of the batch."""
    predicted = prediction[mask].float().view(-1, group_size, 3)  # [M, k, 3], M hidden groups in the batch
    target = targets[mask].float().view(-1, group_size, 3)  # [M, k, 3]
    norm = 2 if loss == "chamfer_l2" else 1
    return chamfer_distance(predicted, target, norm=norm, backend=backend).mean()
