"""A checkerboard masker: one colour of the token layout is hidden first, with MAE's exact count."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from maskssl import Masker, Tokens
from maskssl.errors import ConfigError


def checkerboard(layout: tuple[int, ...], cell: int, device: torch.device) -> Tensor:
    """Colour 0 or 1 of every token of an N-D ``layout`` (row-major), cells of ``cell`` tokens per side: [L]."""
    axes = [torch.arange(size, device=device) for size in layout]
    coords = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(layout))  # [L, N]
    return (coords // cell).sum(dim=1) % 2


class CheckerboardMasker(Masker):
    """Hides the tokens of one checkerboard colour first, then random others: exactly ``num_hidden(L)`` per row.

    The colour hidden first is drawn per sample; within a colour the order is random. At ratio 0.5 on
    an even layout this hides exactly one colour: every hidden token has visible neighbours. Works on
    any ``Tokens.grid`` (1-D signals, 2-D patch grids, 3-D voxels); without a grid the tokens are a line.

    Args:
        ratio: fraction of tokens to hide, in (0, 1).
        cell: side of a checkerboard cell, in tokens.
    """

    def __init__(self, ratio: float = 0.5, cell: int = 1) -> None:
        super().__init__(ratio)
        if cell < 1:
            raise ConfigError(f"masker.cell={cell} must be at least 1")
        self.cell = cell

    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        """Return a bool mask [B, L] on ``tokens.device``; True = hidden."""
        batch, length, device = tokens.batch_size, tokens.num_tokens, tokens.device
        layout = tuple(tokens.grid) if tokens.grid is not None else (length,)
        if math.prod(layout) != length:
            raise ValueError(f"Tokens.grid={tokens.grid} does not lay out the {length} tokens; fix the modality")
        colour = checkerboard(layout, self.cell, device)  # [L]
        first = torch.randint(0, 2, (batch, 1), generator=generator, device=device)  # [B, 1]
        noise = torch.rand(batch, length, generator=generator, device=device)  # [B, L]
        scores = (colour == first).float() + 0.5 * noise  # the first colour outranks every other token
        hidden = scores.topk(self.num_hidden(length), dim=1).indices  # [B, num_hidden]
        return torch.zeros(batch, length, dtype=torch.bool, device=device).scatter(1, hidden, True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio}, cell={self.cell})"
