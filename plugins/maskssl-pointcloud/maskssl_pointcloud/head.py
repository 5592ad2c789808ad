"""Point-MAE's fine-tuning head: [CLS] concatenated with the max over group states, into a 3-layer MLP."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from maskssl import Encoded, Tokens


@dataclass
class PointHeadConfig:
    """The ``finetune.head`` section of point clouds (Point-MAE's ``cls_head_finetune``).

    Attributes:
        hidden: width of the two hidden layers (256).
        dropout: after each hidden layer (0.5).
    """

    hidden: int = 256
    dropout: float = 0.5


class PointClassifierHead(nn.Module):
    """encoded.latent [B, 1 + G, D] ([CLS] first) -> [CLS] ‖ max over groups [B, 2D] -> logits [B, C].

    MLP: Linear(2D, h) -> BN -> ReLU -> Dropout -> Linear(h, h) -> BN -> ReLU -> Dropout -> Linear(h, C).
    """

    def __init__(self, embed_dim: int, num_classes: int, options: PointHeadConfig) -> None:
        super().__init__()
        hidden, dropout = options.hidden, options.dropout
        self.mlp = nn.Sequential(
            nn.Linear(2 * embed_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, encoded: Encoded, tokens: Tokens) -> Tensor:
        states = encoded.latent  # [B, 1+G, D]
        features = torch.cat([states[:, 0], states[:, 1:].max(dim=1).values], dim=-1)  # [B, 2D]
        return self.mlp(features)
