"""The signal modality's fine-tuning head: a linear layer on the encoder's pooled feature."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from maskssl import Encoded, Tokens


@dataclass
class SignalHeadConfig:
    """The ``finetune.head`` section. Attributes: dropout before the linear layer."""

    dropout: float = 0.0


class SignalClassifierHead(nn.Module):
    """encoded.pooled [B, D] -> logits [B, C] (``maskssl finetune`` trains it with the encoder)."""

    def __init__(self, embed_dim: int, num_classes: int, options: SignalHeadConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(options.dropout)
        self.linear = nn.Linear(embed_dim, num_classes)

    def forward(self, encoded: Encoded, tokens: Tokens) -> Tensor:
        return self.linear(self.dropout(encoded.pooled))
