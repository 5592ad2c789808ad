"""Class-balanced, seeded label fractions (the 1% / 10% label settings of semi-supervised fine-tuning)."""

from __future__ import annotations

import torch
from torch import Tensor


def balanced_subset(labels: Tensor, fraction: float, seed: int) -> Tensor:
    """Indices [M] (ascending) of ``fraction`` of the samples of every class of labels [N].

    Each class keeps round(fraction x its count) samples, at least one, drawn by a permutation seeded by
    ``seed``: the same labels, fraction and seed give the same subset, and a larger fraction of the same
    seed contains a smaller one.
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(labels.numel(), generator=generator)
    kept = []
    for label in labels.unique():
        members = order[labels[order] == label]  # this class's samples, in the seeded order
        kept.append(members[: max(1, round(fraction * members.numel()))])
    return torch.cat(kept).sort().values
