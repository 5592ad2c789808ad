"""MAE's fine-tuning head: global average pool of the patch states + LayerNorm (fc_norm), or [CLS]; a linear layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from maskssl import Encoded, Tokens


@dataclass
class ImageHeadConfig:
    """The ``finetune.head`` section of images.

    Attributes:
        pool: mean (MAE's ``--global_pool``: mean of the patch states, then fc_norm) or cls (the [CLS] state).
        dropout: before the linear layer (MAE: 0).
    """

    pool: Literal["mean", "cls"] = "mean"
    dropout: float = 0.0


class ImageClassifierHead(nn.Module):
    """encoded.latent [B, 1 + L, D] ([CLS] first) -> logits [B, C].

    MAE's global pool drops the encoder's final norm and normalises the mean of the pre-norm states; here the
    encoder's final norm stays (the pretrained weights include it) and fc_norm normalises the mean of its output.
    The linear layer starts at truncated-normal weights of std 2e-5 and zero bias, as MAE's.
    """

    def __init__(self, embed_dim: int, num_classes: int, options: ImageHeadConfig) -> None:
        super().__init__()
        self.pool = options.pool
        self.fc_norm = nn.LayerNorm(embed_dim, eps=1e-6) if options.pool == "mean" else nn.Identity()
        self.dropout = nn.Dropout(options.dropout)
        self.linear = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.linear.weight, std=2e-5)
        nn.init.zeros_(self.linear.bias)

    def forward(self, encoded: Encoded, tokens: Tokens) -> Tensor:
        states = encoded.latent  # [B, 1+L, D]
        pooled = states[:, 1:].mean(dim=1) if self.pool == "mean" else states[:, 0]  # [B, D]
        return self.linear(self.dropout(self.fc_norm(pooled)))  # [B, C]
