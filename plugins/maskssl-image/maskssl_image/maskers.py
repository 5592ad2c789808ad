"""SimMIM-style block masking on a 2-D token grid, with MAE's exact hidden count."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from maskssl import Masker, Tokens
from maskssl.errors import ConfigError


class BlockMasker(Masker):
    """Hides square blocks of ``block_size`` x ``block_size`` tokens, exactly ``num_hidden(L)`` per sample.

    The blocks of the grid (cropped at the right and bottom edges when the grid does not divide)
    are put in a random order and hidden whole, highest rank first; the one block that straddles
    the count is hidden partly, at random tokens. Needs ``tokens.grid == (h, w)`` with h * w = L.

    Args:
        ratio: fraction of tokens to hide, in (0, 1).
        block_size: side of a block in tokens (1 gives MAE's random masking distribution).
    """

    def __init__(self, ratio: float = 0.75, block_size: int = 2) -> None:
        super().__init__(ratio)
        if block_size < 1:
            raise ConfigError(f"masker.block_size={block_size} must be at least 1 (1 is MAE's random masking)")
        self.block_size = block_size

    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        """Return a bool mask [B, L] on ``tokens.device``; True = hidden."""
        grid = tokens.grid
        if grid is None or len(grid) != 2 or grid[0] * grid[1] != tokens.num_tokens:
            raise ValueError(
                f"BlockMasker needs tokens on a 2-D grid (Tokens.grid = (h, w) with h * w = {tokens.num_tokens} "
                f"tokens), got grid={grid}; use masker.name=random for this modality"
            )
        h, w = grid
        s = self.block_size
        batch, device = tokens.batch_size, tokens.device
        coarse = torch.rand(batch, math.ceil(h / s) * math.ceil(w / s), generator=generator, device=device)
        rank = coarse.argsort(dim=1).argsort(dim=1).view(batch, math.ceil(h / s), math.ceil(w / s))  # block order
        rank = rank.repeat_interleave(s, dim=1).repeat_interleave(s, dim=2)[:, :h, :w].reshape(batch, h * w)
        jitter = torch.rand(batch, h * w, generator=generator, device=device)  # [B, L], orders tokens in a block
        scores = rank + 0.5 * jitter  # [B, L]; the 0.5 keeps blocks apart after float rounding
        hidden = scores.topk(self.num_hidden(h * w), dim=1).indices  # [B, num_hidden]
        mask = torch.zeros(batch, h * w, dtype=torch.bool, device=device)
        return mask.scatter(1, hidden, True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio}, block_size={self.block_size})"
