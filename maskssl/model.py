"""The composite model: V masked views -> one shared encoder -> one decoder per view -> objective.

    loss = w_rec * sum_v reconstruction(view_v) + sum_r lambda_r * regularizer_r(all views)

With one view and no regularizer this is MAE; add ``uniformity`` for U-MAE; two views and a co-mask
term give Point-CMAE-style double masking. Nothing here knows the modality.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from maskssl.interfaces import Decoded, Decoder, Encoder, Masker, Regularizer, Tokens, ViewOutput
from maskssl.maskers import sample_views

ReconstructionLoss = Callable[[Decoded, Tensor, Tokens], Tensor]


@dataclass
class StepOutput:
    """What one forward pass produced: total loss, its named terms (unweighted), and the views."""

    loss: Tensor
    terms: dict[str, Tensor]
    views: list[ViewOutput]


class MaskedAutoencoder(nn.Module):
    """Encoder shared by all views, one decoder per view, weighted regularizers.

    Args:
        encoder: encodes the visible part of a view.
        decoders: one per view (separate weights); their count is the number of views V.
        masker: draws each view's mask.
        reconstruction: the modality's loss of one view, ``(decoded, mask [B, L], tokens) -> scalar``.
        regularizers: name -> (weight, regularizer); each sees all V views.
        reconstruction_weight: factor on the summed reconstruction losses.
        online_probe: optional ``(features [B, D], labels [B]) -> (loss, accuracy)`` module trained on
            the first view's pooled features (it must detach them); its loss joins the total and it
            is logged as ``probe_loss`` / ``probe_accuracy`` when the batch has labels.
    """

    def __init__(
        self,
        encoder: Encoder,
        decoders: Sequence[Decoder],
        masker: Masker,
        reconstruction: ReconstructionLoss,
        regularizers: Mapping[str, tuple[float, Regularizer]] | None = None,
        reconstruction_weight: float = 1.0,
        online_probe: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not decoders:
            raise ValueError("a MaskedAutoencoder needs at least one decoder (one per view)")
        self.encoder = encoder
        self.decoders = nn.ModuleList(decoders)
        self.masker = masker
        self.reconstruction = reconstruction
        regularizers = dict(regularizers or {})
        self.regularizers = nn.ModuleDict({name: reg for name, (_, reg) in regularizers.items()})
        self.regularizer_weights = {name: float(weight) for name, (weight, _) in regularizers.items()}
        self.reconstruction_weight = reconstruction_weight
        self.online_probe = online_probe

    @property
    def num_views(self) -> int:
        return len(self.decoders)

    def forward(self, tokens: Tokens, generator: torch.Generator | None = None) -> StepOutput:
        """Mask ``tokens`` V times, encode and decode each view, and compute the objective."""
        masks = sample_views(self.masker, tokens, self.num_views, generator)  # [V, B, L]
        views = []
        for mask, decoder in zip(masks, self.decoders):
            encoded = self.encoder(tokens, mask)
            views.append(ViewOutput(mask=mask, encoded=encoded, decoded=decoder(encoded, mask, tokens)))
        # sum() of tensors is a Tensor (views is never empty); typeshed types it int | Tensor for its start value 0
        reconstruction = cast(Tensor, sum(self.reconstruction(v.decoded, v.mask, tokens) for v in views))
        terms: dict[str, Tensor] = {"reconstruction": reconstruction}
        loss = self.reconstruction_weight * reconstruction
        for name, regularizer in self.regularizers.items():
            terms[name] = regularizer(views)
            loss = loss + self.regularizer_weights[name] * terms[name]
        if self.online_probe is not None and tokens.labels is not None:
            terms["probe_loss"], terms["probe_accuracy"] = self.online_probe(views[0].encoded.pooled, tokens.labels)
            loss = loss + terms["probe_loss"]
        return StepOutput(loss=loss, terms=terms, views=views)
