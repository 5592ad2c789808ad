"""Point-CMAE (double masking) on the point-cloud plugin's procedural shapes, assembled by hand from maskssl's parts.

    python examples/methods/point_cmae.py                    # 20 steps (about 25 s of CPU time)
    python examples/methods/point_cmae.py --comask 0         # Point-MAE's objective, still with two views

Point-MAE (Pang et al., "Masked Autoencoders for Point Cloud Self-supervised Learning", ECCV 2022) turns a
cloud into G tokens: G centres by farthest point sampling, each with its k nearest points taken relative to
the centre. It hides a random 60% of the groups, embeds the visible ones with a mini-PointNet, encodes them
with a transformer (centre positions added at every block), and a decoder with mask tokens at the hidden
groups predicts their k points; the loss is the Chamfer-L2 distance on hidden groups. Point-CMAE (Ren et al.,
"Bringing Masked Autoencoders Explicit Contrastive Properties for Point Cloud Self-Supervised Learning", ACCV
2024) masks each cloud twice, independently: both views go through the one encoder, each through its own
decoder, and for the groups hidden in both views the two decoders' states are pulled together (1 - cosine
similarity, the ``comask`` term), on top of both views' reconstruction losses.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from maskssl.maskers import RandomMasker, hidden_in_all
from maskssl.model import MaskedAutoencoder
from maskssl.regularizers.comask import CoMaskRegularizer
from maskssl_pointcloud import (
    PointCloudModality,
    PointDataConfig,
    PointMAEDecoder,
    PointModelConfig,
    PointTransformerEncoder,
)


def forever(loader: DataLoader) -> Iterator[Any]:
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="training steps (batches)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--comask", type=float, default=1.0, help="weight of the co-mask contrast (the paper's 1)")
    args = parser.parse_args()
    torch.manual_seed(0)

    # The plugin's data and tokenizer: generated shapes of 512 points; G = 32 groups of k = 16 points
    data = PointDataConfig(dataset="procedural", num_points=512, procedural_size=256)  # augment: scale_translate
    modality = PointCloudModality(data, PointModelConfig(num_groups=32, group_size=16, loss="chamfer_l2"))
    dataset = modality.build_dataset("train")  # 256 samples (xyz float32 [512, 3], shape label)
    loader = DataLoader(dataset, args.batch_size, shuffle=True, drop_last=True, collate_fn=modality.collate)

    # One encoder, two decoders (one per view, own weights), a random masker, the co-mask term
    encoder = PointTransformerEncoder(embed_dim=64, depth=2, num_heads=4, pointnet_width=32)
    decoders = [
        PointMAEDecoder(encoder_dim=encoder.embed_dim, token_dim=modality.token_dim, embed_dim=64, depth=1, num_heads=4)
        for _ in range(2)  # token_dim = k * 3 = 48 coordinates per group
    ]
    model = MaskedAutoencoder(
        encoder=encoder,
        decoders=decoders,  # two decoders: two masked views of every cloud
        masker=RandomMasker(ratio=0.6),  # hides 20 of 32 groups, drawn independently per view
        reconstruction=modality.reconstruction_loss,  # Chamfer-L2 over the hidden groups, summed over views
        regularizers={"comask": (args.comask, CoMaskRegularizer(pairing="index"))},
        reconstruction_weight=1000.0,  # Point-CMAE's scale: Chamfer-L2 x 1000
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

    losses: list[float] = []
    model.train()
    for step, batch in zip(range(1, args.steps + 1), forever(loader)):
        tokens = modality.tokenize(batch, torch.device("cpu"))  # FPS + kNN grouping (+ scale_translate)
        # tokens.inputs    [B, G=32, k=16, 3]: each group's points relative to its centre
        # tokens.positions [B, 32, 3]: the group centres
        # tokens.targets   [B, 32, 48]: the same points flattened, what the decoders predict
        out = model(tokens)  # two masks -> shared encoder -> one decoder each -> 1000 x Chamfer + comask
        first, second = out.views
        # first.mask                [B, 32] bool, True = hidden: 20 hidden, 12 visible (second.mask: its own draw)
        # first.encoded.latent      [B, 1+12, 64]: [CLS] first, then the 12 visible groups in token order
        # first.decoded.prediction  [B, 32, 48]: k points of every group; the Chamfer loss reads the hidden ones
        # first.decoded.hidden      [B, 32, 64]: decoder states, compared with second's on the co-masked groups
        comasked = hidden_in_all(torch.stack([first.mask, second.mask]))  # [B, 32] bool: hidden in both views
        assert first.encoded.latent.shape[1:] == (13, 64) and first.decoded.prediction.shape == tokens.targets.shape
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
        terms = "  ".join(f"{name} {value.item():.4f}" for name, value in out.terms.items())
        print(f"step {step:3d}  loss {losses[-1]:.4f}  ({terms}; {comasked.sum(1).float().mean():.1f} co-masked)")

    print(f"Point-CMAE: first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}")
    if len(losses) > 1 and not losses[-1] < losses[0]:
        raise SystemExit("the loss did not go down")


if __name__ == "__main__":
    main()
