"""Point-CMAE's co-mask contrast (Ren et al., "Bringing Masked Autoencoders Explicit Contrastive Properties
for Point Cloud Self-Supervised Learning", ACCV 2024), for any modality.

Two views of one input are masked independently; each goes through the shared encoder and its own
decoder. For the tokens hidden in both views, both decoders reconstructed the same unseen content from
different visible context, so their decoder states are pulled together:

    L = mean over co-masked tokens (b, i) of  1 - cos(h1[b, i], h2[b, i])          pairing="index" (paper)
    L = mean over co-masked (b, i) and all j of  1 - cos(h1[b, i], h2[b, j])       pairing="all" (released code)

h_v = ``ViewOutput.decoded.hidden`` [B, L, Dd] of view v. No negatives, no temperature, nothing detached.
With V > 2 views the term is averaged over all pairs of views, each pair with its own co-masked set. The
term is per sample (it needs no other sample of the batch), so under DDP each process averages over its
own co-masked tokens and no gather is needed.
"""

from __future__ import annotations

from itertools import combinations
from typing import Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from maskssl.errors import ConfigError
from maskssl.interfaces import Regularizer, ViewOutput
from maskssl.maskers import hidden_in_all

Pairing = Literal["index", "all"]


def comask_loss(hidden_a: Tensor, hidden_b: Tensor, comask: Tensor, pairing: Pairing = "index") -> Tensor:
    """1 - cosine similarity of two views' token states over the co-masked tokens; a scalar in [0, 2].

    Args:
        hidden_a, hidden_b: [B, L, D] token states of the two views, tokens in the same order.
        comask: bool [B, L], True where the token is hidden in both views.
        pairing: "index" compares token i with token i; "all" compares each co-masked token of view a
            with every token of view b (Point-CMAE's released code).

    Returns 0 (still connected to the graph) when no token is co-masked. Computed in float32 or wider,
    even inside an autocast region.
    """
    if hidden_a.shape != hidden_b.shape or hidden_a.ndim != 3 or comask.shape != hidden_a.shape[:2]:
        raise ValueError(
            f"expected hidden states [B, L, D] of one shape and a mask [B, L], got {tuple(hidden_a.shape)}, "
            f"{tuple(hidden_b.shape)} and {tuple(comask.shape)}"
        )
    with torch.autocast(hidden_a.device.type, enabled=False):
        dtype = torch.promote_types(hidden_a.dtype, torch.float32)
        a = F.normalize(hidden_a.to(dtype), dim=-1)  # [B, L, D]
        b = F.normalize(hidden_b.to(dtype), dim=-1)
        weight = comask.to(dtype)  # [B, L]
        if pairing == "index":
            distance = 1.0 - (a * b).sum(dim=-1)  # [B, L]
        elif pairing == "all":
            distance = (1.0 - a @ b.transpose(1, 2)).mean(dim=-1)  # [B, L]: token i of a against every token of b
        else:
            raise ValueError(f"pairing must be 'index' or 'all', got {pairing!r}")
        return (distance * weight).sum() / weight.sum().clamp_min(1.0)


class CoMaskRegularizer(Regularizer):
    """Point-CMAE's contrast between the decoders of two (or more) views on their co-masked tokens.

    Needs ``views >= 2`` (one decoder per view); use with e.g. ``views=2 regularizers.comask.weight=1``.

    Args:
        pairing: "index" (the paper, default) or "all" (the released code); see ``comask_loss``.
    """

    def __init__(self, pairing: Pairing = "index") -> None:
        super().__init__()
        if pairing not in ("index", "all"):
            raise ConfigError(f"pairing must be 'index' or 'all', got {pairing!r}")
        self.pairing = pairing

    def forward(self, views: list[ViewOutput]) -> Tensor:
        if len(views) < 2:
            raise ValueError(
                f"the comask regularizer compares views but the model has {len(views)}; set views=2 "
                f"(or remove it with regularizers.comask=null)"
            )
        losses = [
            comask_loss(
                a.decoded.hidden, b.decoded.hidden, hidden_in_all(torch.stack([a.mask, b.mask])), self.pairing
            )
            for a, b in combinations(views, 2)
        ]
        return cast(Tensor, sum(losses)) / len(losses)  # a sum of tensors (typeshed: int | Tensor)
