"""The graph fine-tuning head: a linear layer on ``Encoded.pooled`` (graph readouts, or labelled nodes' states)."""

from __future__ import annotations

from dataclasses import dataclass

from maskssl import Encoded, Tokens
from torch import Tensor, nn


@dataclass
class GraphHeadConfig:
    """The ``finetune.head`` section of graphs.

    Attributes:
        dropout: on the pooled feature before the linear layer.
    """

    dropout: float = 0.0


class GraphClassifierHead(nn.Module):
    """encoded.pooled [S, D] -> logits [S, C]: S graphs (``model.pooling`` readout) or S labelled nodes."""

    def __init__(self, embed_dim: int, num_classes: int, options: GraphHeadConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(options.dropout)
        self.linear = nn.Linear(embed_dim, num_classes)

    def forward(self, encoded: Encoded, tokens: Tokens) -> Tensor:
        return self.linear(self.dropout(encoded.pooled))
