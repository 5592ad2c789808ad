"""Frozen features of a dataset: clean (nothing hidden) and of independently masked views."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from maskssl.errors import DataError
from maskssl.interfaces import Encoder, Masker, Modality, Tokens


def iterate_tokens(modality: Modality, dataset: Dataset, batch_size: int, device: torch.device) -> Iterator[Tokens]:
    """The dataset in order, as Tokens on ``device`` (the last batch may be smaller)."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=modality.collate)
    for batch in loader:
        yield modality.tokenize(batch, device)


@torch.no_grad()
def extract_features(
    modality: Modality, encoder: Encoder, dataset: Dataset, device: torch.device, batch_size: int = 256
) -> tuple[Tensor, Tensor | None]:
    """Features [N, D] from ``modality.features`` (nothing hidden) and labels [N] (None without labels)."""
    features, labels = [], []
    for tokens in iterate_tokens(modality, dataset, batch_size, device):
        features.append(modality.features(encoder, tokens).float().cpu())
        if tokens.labels is not None:
            labels.append(tokens.labels.cpu())
    if not features:
        raise DataError("the dataset is empty: no features to evaluate")
    return torch.cat(features), (torch.cat(labels) if labels else None)


@torch.no_grad()
def masked_view_features(
    modality: Modality,
    encoder: Encoder,
    masker: Masker,
    dataset: Dataset,
    device: torch.device,
    seed: int = 0,
    batch_size: int = 256,
) -> tuple[Tensor, Tensor]:
    """Pooled encoder features [N, D] of two independently masked views of every sample."""
    generator = torch.Generator(device=device).manual_seed(seed)
    view_a, view_b = [], []
    for tokens in iterate_tokens(modality, dataset, batch_size, device):
        view_a.append(encoder(tokens, masker(tokens, generator)).pooled.float().cpu())
        view_b.append(encoder(tokens, masker(tokens, generator)).pooled.float().cpu())
    return torch.cat(view_a), torch.cat(view_b)
