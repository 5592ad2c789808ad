"""Core maskers: MAE-exact random masking, and independent masked views of one batch."""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from maskssl.interfaces import Masker, Tokens
from maskssl.utils.keyed_random import derive, keyed_uniform


def random_mask(
    batch_size: int,
    num_tokens: int,
    num_hidden: int,
    generator: torch.Generator | None,
    device: torch.device,
    keys: Tensor | None = None,
) -> Tensor:
    """MAE's per-sample random masking as a bool mask [B, L] with exactly ``num_hidden`` True per row.

    As in MAE: argsort uniform noise; the first ``L - num_hidden`` indices stay visible. The noise comes
    from ``keys`` [B] (one per sample, see ``maskssl.utils.keyed_random``) when given, else from ``generator``.
    """
    if keys is not None:
        noise = keyed_uniform(keys, num_tokens)  # [B, L]
    else:
        noise = torch.rand(batch_size, num_tokens, generator=generator, device=device)  # [B, L]
    ids_shuffle = torch.argsort(noise, dim=1)  # ascending: small noise is kept
    mask = torch.ones(batch_size, num_tokens, dtype=torch.bool, device=device)  # True = hidden
    keep = ids_shuffle[:, : num_tokens - num_hidden]  # [B, L_visible]
    return mask.scatter(1, keep, False)


class RandomMasker(Masker):
    """Uniform random masking (MAE): every sample hides exactly ``L - int(L * (1 - ratio))`` tokens.

    Draws from ``tokens.sample_keys`` when the loop sets them, so a run masks alike on 1 or N processes.
    """

    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        return random_mask(
            tokens.batch_size, tokens.num_tokens, self.num_hidden(tokens.num_tokens), generator, tokens.device,
            keys=tokens.sample_keys,
        )


def sample_views(masker: Masker, tokens: Tokens, num_views: int, generator: torch.Generator | None) -> Tensor:
    """``num_views`` independent masks of the same batch, stacked as bool [V, B, L].

    Views draw one after another from ``generator`` (and from keys derived per view when the tokens
    carry ``sample_keys``), so they are independent yet reproducible. Works with any masker (random,
    block, a user's own); nothing here is modality-specific.
    """
    if tokens.sample_keys is None:
        return torch.stack([masker(tokens, generator) for _ in range(num_views)])
    views = [dataclasses.replace(tokens, sample_keys=derive(tokens.sample_keys, view)) for view in range(num_views)]
    return torch.stack([masker(view, generator) for view in views])


def hidden_in_all(masks: Tensor) -> Tensor:
    """Tokens hidden in every view: bool [B, L] from masks [V, B, L] (Point-CMAE's co-masked set)."""
    return masks.all(dim=0)
