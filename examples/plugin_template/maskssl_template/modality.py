"""The signal modality: 1-D signals cut into windows of p samples, reconstructed with MSE on hidden windows."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl import Decoded, Decoder, Encoder, Modality, Tokens, registry
from maskssl.errors import ConfigError
from maskssl.finetune.linear_head import PooledLinearHead, PooledLinearHeadConfig
from maskssl_template.config import SignalData, SignalModel
from maskssl_template.data import FREQUENCIES, make_signals
from maskssl_template.loss import masked_window_mse


class SignalModality(Modality):
    """Signals [B, length] as L = length / p windows: ``Tokens.inputs`` and ``targets`` are [B, L, p]."""

    name: ClassVar[str] = "signal"
    data_config: ClassVar[type] = SignalData
    model_config: ClassVar[type] = SignalModel
    default_recipe: ClassVar[dict[str, Any] | str] = "signal"  # recipes/signal.yaml: named, written once
    # fine-tuning (maskssl finetune RUN): the head's options and this modality's default fine-tuning recipe
    head_config: ClassVar[type] = PooledLinearHeadConfig
    default_finetune_recipe: ClassVar[dict[str, Any] | str] = "finetune/signal"  # recipes/finetune/signal.yaml

    def __init__(self, data: SignalData, model: SignalModel) -> None:
        super().__init__(data, model)
        p = model.patch_size
        if p < 1 or data.length % p:
            raise ConfigError(f"model.patch_size={p} must divide data.length={data.length}")
        if not 1 <= data.classes <= len(FREQUENCIES):
            raise ConfigError(f"data.classes={data.classes} must be between 1 and {len(FREQUENCIES)}")
        self.num_tokens = data.length // p

    def build_dataset(self, split: str) -> Dataset:
        """(signal float32 [length], label int64) samples; "train" and "test" are drawn with different seeds."""
        data = self.data
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        size, seed = (data.samples, data.seed) if split == "train" else (data.test_samples, data.seed + 1)
        return make_signals(size, data.length, data.classes, data.noise, seed)

    def tokenize(self, batch: Any, device: torch.device) -> Tokens:
        """batch (signals [B, length], labels [B]) -> Tokens of L windows [B, L, p] on ``device``."""
        signals, labels = batch
        windows = signals.to(device).unfold(1, self.model.patch_size, self.model.patch_size)  # [B, L, p]
        return Tokens(inputs=windows, targets=windows, grid=(self.num_tokens,), labels=labels.to(device))

    def build_encoder(self, section: dict[str, Any]) -> Encoder:
        """The ``encoder`` section with token_dim (p) and num_tokens (L) injected."""
        return registry.create("encoder", section, token_dim=self.model.patch_size, num_tokens=self.num_tokens)

    def build_decoder(self, section: dict[str, Any], encoder: Encoder) -> Decoder:
        """The ``decoder`` section with token_dim, num_tokens and encoder_dim injected."""
        return registry.create(
            "decoder", section, token_dim=self.model.patch_size, num_tokens=self.num_tokens,
            encoder_dim=encoder.embed_dim,
        )

    def build_head(self, encoder: Encoder, num_classes: int, options: PooledLinearHeadConfig) -> nn.Module:
        """The fine-tuning head: the core's linear layer on the pooled feature ([CLS]); write your own
        nn.Module ``head(encoded, tokens) -> logits [B, C]`` when the pooled feature is not enough."""
        return PooledLinearHead(encoder.embed_dim, num_classes, options)

    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        """Mean squared error per window, averaged over the hidden windows (mask [B, L], True = hidden)."""
        return masked_window_mse(decoded.prediction, tokens.targets, mask)
