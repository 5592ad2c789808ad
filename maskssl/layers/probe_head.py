"""U-MAE's online linear probe, trained on detached features alongside pretraining, and MAE's probe head.

The offline linear probe of ``maskssl eval`` (``maskssl.eval.probe``) trains the same head on frozen
features; it lives here, in the core, because the online probe is part of a pretraining model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def probe_head(feature_dim: int, num_classes: int, generator: torch.Generator | None = None) -> nn.Sequential:
    """MAE's probe: BatchNorm1d(D, affine=False, eps=1e-6) then Linear(D, C), weight trunc-normal 0.01, bias 0."""
    linear = nn.Linear(feature_dim, num_classes)
    nn.init.trunc_normal_(linear.weight, std=0.01, generator=generator)
    nn.init.zeros_(linear.bias)
    return nn.Sequential(nn.BatchNorm1d(feature_dim, affine=False, eps=1e-6), linear)


class OnlineProbe(nn.Module):
    """U-MAE's online linear probe: trained on detached encoder features alongside pretraining.

    The head of :func:`probe_head` (BatchNorm1d without affine, then Linear); the features are
    detached inside ``forward`` so its loss never reaches the encoder.
    """

    def __init__(self, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.head = probe_head(feature_dim, num_classes)

    def forward(self, features: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """features: [B, D]; labels: [B]. Returns (cross-entropy scalar, accuracy in percent, a float tensor)."""
        logits = self.head(features.detach().float())  # [B, C]
        loss = F.cross_entropy(logits, labels.long())
        accuracy = (logits.detach().argmax(dim=1) == labels).float().mean() * 100.0
        return loss, accuracy
