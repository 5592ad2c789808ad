"""GraphMAE's scaled cosine error."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def scaled_cosine_error(prediction: Tensor, target: Tensor, alpha: float = 2.0) -> Tensor:
    """Mean over rows of (1 - cos(prediction_i, target_i)) ** alpha, for prediction and target [M, F].

    alpha >= 1 down-weights rows that are already close (GraphMAE's SCE); alpha = 1 is the cosine error.
    Identical rows give 0, orthogonal rows 1 for any alpha. Computed in float32 at least; 1 - cos is
    clamped at 0 so that rounding never raises a negative number to a fractional power.
    """
    if prediction.shape != target.shape or prediction.ndim != 2:
        raise ValueError(
            f"prediction and target must both be [M, F], got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    p = F.normalize(prediction.float(), dim=-1)
    t = F.normalize(target.float(), dim=-1)
    return (1.0 - (p * t).sum(dim=-1)).clamp_min(0.0).pow(alpha).mean()
