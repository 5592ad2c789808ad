"""U-MAE's uniformity term (Zhang, Wang & Wang, "How Mask Matters", NeurIPS 2022).

L_unif = mean over all pairs (i, j) of the global batch of (z_i . z_j)^2, with z the L2-normalised
pooled encoder feature of the masked view. As in the public code the diagonal is included (each
entry is 1, adding 1/N), there is no temperature, and features are not detached.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor

from maskssl.interfaces import Regularizer, ViewOutput
from maskssl.utils.distributed import gather_with_grad


def uniformity_loss(features: Tensor, include_diagonal: bool = True) -> Tensor:
    """Mean squared cosine similarity of the rows of ``features`` [N, D]; a scalar in [0, 1].

    Orthonormal rows give 1/N (only the diagonal counts), identical rows give 1. With
    ``include_diagonal=False`` only pairs of different rows count (the paper's formula).
    """
    n = features.shape[0]
    if not include_diagonal and n < 2:
        raise ValueError("uniformity over pairs of different samples needs at least 2 samples in the batch")
    with torch.autocast(features.device.type, enabled=False):  # full precision even inside a bf16 forward
        z = F.normalize(features.to(torch.promote_types(features.dtype, torch.float32)), dim=-1)  # [N, D]
        sim_sq = (z @ z.T).square()  # [N, N]
    if include_diagonal:
        return sim_sq.mean()
    return (sim_sq.sum() - sim_sq.diagonal().sum()) / (n * (n - 1))


class UniformityRegularizer(Regularizer):
    """Uniformity of each view's pooled feature over the global batch, averaged over views.

    Args:
        include_diagonal: count each sample with itself (public U-MAE code, default) or not (paper).
    """

    def __init__(self, include_diagonal: bool = True) -> None:
        super().__init__()
        self.include_diagonal = include_diagonal

    def forward(self, views: list[ViewOutput]) -> Tensor:
        losses = [uniformity_loss(gather_with_grad(v.encoded.pooled), self.include_diagonal) for v in views]
        return cast(Tensor, sum(losses)) / len(losses)  # a sum of tensors (typeshed: int | Tensor)
