"""MAE and U-MAE on scikit-learn's digits, assembled by hand from maskssl's parts (no recipe, no CLI).

    python examples/methods/mae_umae.py                      # U-MAE, 20 steps (about 10 s of CPU time)
    python examples/methods/mae_umae.py --uniformity 0       # plain MAE
    python examples/methods/mae_umae.py --steps 200          # longer

MAE (He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022) cuts each image into p x p
patches, hides a random 75% of them, encodes only the visible patches with a ViT (plus a [CLS] token), and
lets a light transformer decoder, given a shared mask token at every hidden position, regress the pixels of
the hidden patches: the loss is the mean squared error over hidden patches only. U-MAE (Zhang, Wang & Wang,
"How Mask Matters: Towards Theoretical Understandings of Masked Autoencoders", NeurIPS 2022) adds lambda x
the uniformity term, the mean squared cosine similarity between the [CLS] features of the batch's images,
which spreads the features out and counters the dimensional collapse of MAE's representation.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from maskssl.maskers import RandomMasker
from maskssl.model import MaskedAutoencoder
from maskssl.regularizers.uniformity import UniformityRegularizer
from maskssl_image import ImageDataConfig, ImageModality, ImageModelConfig, MAEDecoder, ViTEncoder


def forever(loader: DataLoader) -> Iterator[Any]:
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="training steps (batches)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--uniformity", type=float, default=0.01, help="U-MAE's lambda; 0 trains plain MAE")
    args = parser.parse_args()
    torch.manual_seed(0)

    # The image plugin's data and tokenizer: digits are [1, 8, 8]; 2 x 2 patches make a 4 x 4 grid, L = 16 tokens
    modality = ImageModality(ImageDataConfig(dataset="digits"), ImageModelConfig(patch_size=2))
    channels, height, width = modality.image_shape  # (1, 8, 8)
    dataset = modality.build_dataset("train")  # 1437 samples (image float32 [1, 8, 8], label)
    loader = DataLoader(dataset, args.batch_size, shuffle=True, drop_last=True, collate_fn=modality.collate)

    # Encoder, decoder, masker, regularizer and the composite model, with the arguments the modality would inject
    encoder = ViTEncoder(
        img_size=(height, width), in_chans=channels, patch_size=modality.model.patch_size,  # (8, 8), 1, 2
        embed_dim=64, depth=2, num_heads=4,
    )
    decoder = MAEDecoder(
        grid_size=modality.grid, encoder_dim=encoder.embed_dim, token_dim=modality.token_dim,  # (4, 4), 64, 4
        embed_dim=32, depth=1, num_heads=4,
    )
    regularizers = {"uniformity": (args.uniformity, UniformityRegularizer())} if args.uniformity > 0 else {}
    model = MaskedAutoencoder(
        encoder=encoder,
        decoders=[decoder],  # one decoder: one masked view per image
        masker=RandomMasker(ratio=0.75),  # hides 12 of 16 patches per image
        reconstruction=modality.reconstruction_loss,  # MSE over the hidden patches
        regularizers=regularizers,  # name -> (weight, term): U-MAE's uniformity, or none for MAE
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)

    losses: list[float] = []
    model.train()
    for step, batch in zip(range(1, args.steps + 1), forever(loader)):
        tokens = modality.tokenize(batch, torch.device("cpu"))
        # tokens.inputs  [B, 1, 8, 8] normalised pixels, read by the encoder only
        # tokens.targets [B, L=16, T=4]: each patch's 2 x 2 pixels, row-major over the 4 x 4 grid
        out = model(tokens)  # mask -> encode the visible patches -> decode every patch -> loss + lambda x uniformity
        view = out.views[0]
        # view.mask                [B, 16] bool, True = hidden: 12 hidden, 4 visible in every row
        # view.encoded.latent      [B, 1+4, 64]: [CLS] first, then the 4 visible patches in patch order
        # view.encoded.pooled      [B, 64]: the [CLS] state, what the uniformity term reads
        # view.decoded.prediction  [B, 16, 4]: pixels of every patch; the loss reads the 12 hidden ones
        assert view.mask.shape == (args.batch_size, 16) and view.encoded.latent.shape[1:] == (5, 64)
        assert view.decoded.prediction.shape == tokens.targets.shape
        optimizer.zero_grad()
        out.loss.backward()  # scalar: reconstruction + lambda x uniformity
        optimizer.step()
        losses.append(out.loss.item())
        terms = "  ".join(f"{name} {value.item():.4f}" for name, value in out.terms.items())
        print(f"step {step:3d}  loss {losses[-1]:.4f}  ({terms})")

    method = "U-MAE" if args.uniformity > 0 else "MAE"
    print(f"{method}: first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}")
    if len(losses) > 1 and not losses[-1] < losses[0]:
        raise SystemExit("the loss did not go down")


if __name__ == "__main__":
    main()
