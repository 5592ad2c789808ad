"""The fine-tuned model: the pretrained encoder (nothing hidden) followed by the modality's head."""

from __future__ import annotations

from torch import Tensor, nn

from maskssl.interfaces import Encoder, Tokens


class Classifier(nn.Module):
    """``forward(tokens) -> logits [N, C]``: ``head(encoder(tokens, None), tokens)``, one row per label of
    ``tokens.labels`` [N] (the samples of a batch, or the labelled nodes of a graph)."""

    def __init__(self, encoder: Encoder, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, tokens: Tokens) -> Tensor:
        return self.head(self.encoder(tokens, None), tokens)
