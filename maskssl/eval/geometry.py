"""U-MAE's feature-geometry diagnostics: alignment of two masked views, uniformity across inputs.

U-MAE (Zhang et al. 2022) shows a small MAE loss implies alignment of positive pairs (two independently
masked views of one input), while uniformity (low squared similarity between different inputs) guards
against dimensional collapse. Rows with zero norm count as similarity 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def alignment(features_a: Tensor, features_b: Tensor) -> float:
    """Mean cosine similarity of row i of features_a [N, D] with row i of features_b [N, D], in [-1, 1].

    The rows are the features of two independently masked views of the same N inputs.
    """
    if features_a.ndim != 2 or features_a.shape != features_b.shape or features_a.shape[0] == 0:
        raise ValueError(
            "alignment needs two non-empty [N, D] of one shape, "
            f"got {tuple(features_a.shape)} and {tuple(features_b.shape)}"
        )
    a = F.normalize(features_a.double(), dim=1)
    b = F.normalize(features_b.to(features_a.device).double(), dim=1)
    return float((a * b).sum(dim=1).mean())


@torch.no_grad()
def uniformity(features: Tensor, *, chunk_size: int = 1024) -> float:
    """Mean squared cosine similarity over pairs (i, j), i != j, of the rows of features [N, D]; in [0, 1].

    0 for orthogonal rows, 1 for identical rows. Unlike the training regularizer
    ``maskssl.regularizers.uniformity.uniformity_loss`` (public U-MAE code: diagonal included, adding
    1/N), the diagonal is left out, as the paper's formula. Needs N >= 2; rows are processed in chunks
    so memory stays O(chunk_size × N).
    """
    if features.ndim != 2:
        raise ValueError(f"features must be [N, D], got shape {tuple(features.shape)}")
    n = features.shape[0]
    if n < 2:
        raise ValueError(f"uniformity over pairs of different inputs needs at least 2 rows, got {n}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    z = F.normalize(features.double(), dim=1)  # [N, D]
    total = torch.zeros((), dtype=torch.float64, device=z.device)
    for start in range(0, n, chunk_size):
        block = z[start : start + chunk_size]  # [c, D]
        total += (block @ z.T).square().sum() - (block * block).sum(dim=1).square().sum()
    return float(total / (n * (n - 1)))
