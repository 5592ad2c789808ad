"""Register your own masker in a few lines and train with it by name, from Python or from the CLI.

The masker below hides the tokens of a centred square plus random ones up to MAE's exact count:
a "centre first" masking of the image's patch grid. Any masker must return a bool mask [B, L]
(True = hidden) with the same number of hidden tokens in every row.

From Python (about 10 s on a 2-core CPU):
    python examples/01_custom_masker.py --out runs/centre_masker

From the CLI, importing this file so the name is known:
    maskssl train --modality image --import examples/01_custom_masker.py masker.name=centre train.epochs=2
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor

import maskssl
from maskssl import Masker, Tokens, register_masker


@register_masker("centre")
class CentreMasker(Masker):
    """Hides the centre of the token grid first, then random other tokens, exactly num_hidden(L) per row."""

    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        height, width = tokens.grid
        rows = torch.arange(height, device=tokens.device).view(-1, 1).expand(height, width)
        cols = torch.arange(width, device=tokens.device).view(1, -1).expand(height, width)
        distance = torch.maximum((2 * rows - height + 1).abs(), (2 * cols - width + 1).abs()).flatten()  # [L]
        noise = torch.rand(tokens.batch_size, tokens.num_tokens, generator=generator, device=tokens.device)
        score = noise - distance  # [B, L]: nearer the centre first, random among equals
        hidden = score.topk(self.num_hidden(tokens.num_tokens), dim=1).indices
        return torch.zeros_like(score, dtype=torch.bool).scatter(1, hidden, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/centre_masker")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    config = maskssl.load_config("image", overrides=["masker.name=centre", f"train.epochs={args.epochs}"])
    result = maskssl.train(config, args.out, overwrite=True)
    print(f"trained with masker '{config.masker['name']}': {result.step} steps, final loss {result.loss:.4f}")


if __name__ == "__main__":
    main()
