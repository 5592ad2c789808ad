"""The simplest fine-tuning head: dropout and a linear layer on the encoder's pooled feature.

A modality whose ``Encoded.pooled`` already is one feature per labelled sample (graph readouts, a split's
node states, a signal's [CLS]) needs no head of its own:

    head_config = PooledLinearHeadConfig
    def build_head(self, encoder, num_classes, options):
        return PooledLinearHead(encoder.embed_dim, num_classes, options)
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from maskssl.interfaces import Encoded, Tokens


@dataclass
class PooledLinearHeadConfig:
    """The ``finetune.head`` section of ``PooledLinearHead``. Attributes: dropout before the linear layer."""

    dropout: float = 0.0


class PooledLinearHead(nn.Module):
    """encoded.pooled [N, D] -> logits [N, C]."""

    def __init__(self, embed_dim: int, num_classes: int, options: PooledLinearHeadConfig | None = None) -> None:
        super().__init__()
        self.dropout = nn.Dropout((options or PooledLinearHeadConfig()).dropout)
        self.linear = nn.Linear(embed_dim, num_classes)

    def forward(self, encoded: Encoded, tokens: Tokens) -> Tensor:
        return self.linear(self.dropout(encoded.pooled))
