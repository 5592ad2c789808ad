"""A tiny modality for engine tests that needs no plugin: each sample is L tokens of T numbers.

Tokens are noisy copies of a per-class prototype, so hidden tokens are predictable from visible
ones and the loss can fall. Register it with ``--import tests/toy.py`` or by importing this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from maskssl import Decoded, Decoder, Encoded, Encoder, Modality, Tokens, create, register_modality
from maskssl.finetune.linear_head import PooledLinearHead
from maskssl.registry import register_decoder, register_encoder


@dataclass
class ToyData:
    samples: int = 64
    tokens: int = 8
    dim: int = 4
    seed: int = 0


@dataclass
class ToyModel:
    pass


@register_encoder("toy_mlp")
class ToyEncoder(Encoder):
    """Embeds visible tokens [B, L, T] -> [B, L_vis, D]; pooled is their mean [B, D]."""

    def __init__(self, token_dim: int, num_tokens: int, embed_dim: int = 16) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.embed = nn.Linear(token_dim, embed_dim)
        self.pos = nn.Parameter(torch.randn(num_tokens, embed_dim) * 0.02)

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        x = self.embed(tokens.targets) + self.pos  # [B, L, D]
        if mask is not None:
            x = x[~mask].reshape(x.shape[0], -1, x.shape[-1])  # [B, L_vis, D]
        return Encoded(latent=x, pooled=x.mean(dim=1))


@register_decoder("toy_mlp")
class ToyDecoder(Decoder):
    """Predicts every token from the pooled visible feature plus a per-position embedding."""

    def __init__(self, token_dim: int, num_tokens: int, encoder_dim: int, hidden_dim: int = 16) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.randn(num_tokens, hidden_dim) * 0.02)
        self.proj = nn.Linear(encoder_dim, hidden_dim)
        self.head = nn.Linear(hidden_dim, token_dim)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        hidden = torch.tanh(self.proj(encoded.pooled)[:, None, :] + self.pos)  # [B, L, H]
        return Decoded(prediction=self.head(hidden), hidden=hidden)


@register_modality("toy")
class ToyModality(Modality):
    """Synthetic token sequences; loss is MSE on hidden tokens."""

    name = "toy"
    data_config = ToyData
    model_config = ToyModel
    default_recipe = {
        "encoder": {"name": "toy_mlp"},
        "decoder": {"name": "toy_mlp"},
        "masker": {"name": "random", "ratio": 0.5},
        "train": {"epochs": 2, "batch_size": 8, "lr": 1e-2, "log_every": 1},
    }

    def build_dataset(self, split: str) -> TensorDataset:
        g = torch.Generator().manual_seed(self.data.seed)
        prototypes = torch.randn(4, self.data.tokens, self.data.dim, generator=g)
        labels = torch.randint(0, 4, (self.data.samples,), generator=g)
        x = prototypes[labels] + 0.1 * torch.randn(self.data.samples, self.data.tokens, self.data.dim, generator=g)
        return TensorDataset(x, labels)

    def tokenize(self, batch: list[Tensor], device: torch.device) -> Tokens:
        x, labels = batch
        return Tokens(inputs=x.to(device), targets=x.to(device), labels=labels.to(device))

    def build_encoder(self, section: dict) -> Encoder:
        return create("encoder", section, token_dim=self.data.dim, num_tokens=self.data.tokens)

    def build_decoder(self, section: dict, encoder: Encoder) -> Decoder:
        return create(
            "decoder", section, token_dim=self.data.dim, num_tokens=self.data.tokens, encoder_dim=encoder.embed_dim
        )

    def build_head(self, encoder: Encoder, num_classes: int, options: object) -> nn.Module:
        return PooledLinearHead(encoder.embed_dim, num_classes)

    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        error = (decoded.prediction - tokens.targets).square().mean(dim=-1)  # [B, L]
        return (error * mask).sum() / mask.sum()
