"""The image model: visible tokens, ViT encoder, MAE decoder, tokenization and the masked-patch loss."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from maskssl import Decoded, Encoded, MaskedAutoencoder, Tokens, registry
from maskssl.errors import ConfigError, DataError
from maskssl.layers.visible import gather_visible, scatter_visible
from maskssl.maskers import RandomMasker
from maskssl_image import (
    ImageDataConfig,
    ImageModality,
    ImageModelConfig,
    MAEDecoder,
    ViTEncoder,
    normalize_patches,
    patchify,
    unpatchify,
)


def tokens_for(images: torch.Tensor, patch_size: int) -> Tokens:
    _, _, h, w = images.shape
    return Tokens(inputs=images, targets=patchify(images, patch_size), grid=(h // patch_size, w // patch_size))


def random_mask(batch: int, num_tokens: int, ratio: float = 0.75, seed: int = 0) -> torch.Tensor:
    tokens = Tokens(inputs=None, targets=torch.zeros(batch, num_tokens, 1))
    return RandomMasker(ratio)(tokens, torch.Generator().manual_seed(seed))


# -- visible tokens, encoder, decoder ------------------------------------------------------------


def test_gather_and_scatter_visible_keep_order() -> None:
    x = torch.arange(2 * 6, dtype=torch.float32).view(2, 6, 1)
    mask = torch.tensor([[True, False, True, False, False, True], [False, True, True, True, False, False]])
    visible = gather_visible(x, mask)
    assert visible.squeeze(-1).tolist() == [[1.0, 3.0, 4.0], [6.0, 10.0, 11.0]]
    restored = scatter_visible(visible, mask, torch.tensor([-1.0]))
    assert torch.equal(restored, torch.where(mask.unsqueeze(-1), torch.tensor(-1.0), x))


def test_gather_visible_rejects_unequal_counts() -> None:
    mask = torch.tensor([[True, False, False], [True, True, False]])
    with pytest.raises(ValueError, match="same number"):
        gather_visible(torch.zeros(2, 3, 4), mask)


def small_encoder(**options: object) -> ViTEncoder:
    return ViTEncoder(img_size=8, in_chans=1, patch_size=2, embed_dim=32, depth=2, num_heads=4, **options).eval()


def test_encoder_shapes_with_and_without_mask() -> None:
    encoder = small_encoder()
    tokens = tokens_for(torch.randn(3, 1, 8, 8), 2)
    full = encoder(tokens)
    assert full.latent.shape == (3, 1 + 16, 32) and full.pooled.shape == (3, 32)
    assert torch.equal(full.pooled, full.latent[:, 0])
    masked = encoder(tokens, random_mask(3, 16))
    assert masked.latent.shape == (3, 1 + 4, 32)
    assert encoder.embed_dim == 32


def test_encoder_mean_pool_averages_the_visible_patch_states() -> None:
    encoder = small_encoder(pool="mean")
    tokens = tokens_for(torch.randn(3, 1, 8, 8), 2)
    mask = random_mask(3, 16)
    encoded = encoder(tokens, mask)
    assert torch.allclose(encoded.pooled, encoded.latent[:, 1:].mean(dim=1))
    assert not torch.allclose(encoded.pooled, encoded.latent[:, 0])
    with pytest.raises(ValueError, match="pool='max'"):
        small_encoder(pool="max")


def test_encoder_positions_are_fixed_sincos_with_zero_cls() -> None:
    encoder = small_encoder()
    assert "pos_embed" not in dict(encoder.named_parameters())
    assert encoder.pos_embed.shape == (1, 17, 32)
    assert torch.equal(encoder.pos_embed[0, 0], torch.zeros(32))
    assert len({tuple(row.tolist()) for row in encoder.pos_embed[0, 1:]}) == 16  # every patch position differs


def test_encoder_adds_positions_before_masking() -> None:
    encoder = ViTEncoder(img_size=8, in_chans=1, patch_size=2, embed_dim=32, depth=0, num_heads=4)
    images = torch.randn(1, 1, 2, 2).repeat(1, 1, 4, 4)  # 16 identical patches
    mask = torch.ones(1, 16, dtype=torch.bool)
    mask[0, [0, 5, 10, 15]] = False
    latent = encoder(tokens_for(images, 2), mask).latent  # [1, 1+4, D]
    expected = encoder.norm(encoder.patch_embed(images)[:, [0, 5, 10, 15]] + encoder.pos_embed[:, [1, 6, 11, 16]])
    assert torch.allclose(latent[:, 1:], expected, atol=1e-6)
    assert not torch.allclose(latent[0, 1], latent[0, 2])


def test_encoder_sees_only_visible_patches() -> None:
    encoder = small_encoder()
    images = torch.randn(2, 1, 8, 8)
    mask = random_mask(2, 16)
    hidden_pixels = unpatchify(mask.unsqueeze(-1).expand(-1, -1, 4).float(), 2, (4, 4)).bool()  # [B, 1, 8, 8]
    changed_hidden = torch.where(hidden_pixels, torch.randn_like(images), images)
    changed_visible = torch.where(hidden_pixels, images, torch.randn_like(images))
    reference = encoder(tokens_for(images, 2), mask).latent
    assert torch.allclose(encoder(tokens_for(changed_hidden, 2), mask).latent, reference)
    assert not torch.allclose(encoder(tokens_for(changed_visible, 2), mask).latent, reference)


def test_encoder_rejects_indivisible_image() -> None:
    with pytest.raises(ValueError, match="divisible"):
        ViTEncoder(img_size=10, in_chans=1, patch_size=4, embed_dim=32, num_heads=4)


def test_decoder_restores_token_order() -> None:
    decoder = MAEDecoder(grid_size=(4, 4), encoder_dim=32, token_dim=4, embed_dim=16, depth=0, num_heads=4).eval()
    mask = random_mask(2, 16, seed=5)
    latent = torch.randn(2, 1 + 4, 32)
    seen: list[torch.Tensor] = []
    decoder.norm.register_forward_hook(lambda module, inputs, output: seen.extend([inputs[0], output]))
    out = decoder(Encoded(latent=latent, pooled=latent[:, 0]), mask, tokens_for(torch.zeros(2, 1, 8, 8), 2))
    assert out.prediction.shape == (2, 16, 4) and out.hidden.shape == (2, 16, 16)
    assert torch.equal(out.hidden, seen[1][:, 1:])  # [CLS] dropped after the final norm
    assert torch.allclose(out.prediction, decoder.head(out.hidden))
    placed = seen[0] - decoder.pos_embed  # [B, 1+L, Dd] before positions were added
    embedded = decoder.embed(latent)  # [B, 1+4, Dd]
    assert torch.allclose(placed[:, 0], embedded[:, 0], atol=1e-6)  # [CLS] first
    for b in range(2):
        visible = (~mask[b]).nonzero().squeeze(1)
        assert torch.allclose(placed[b, 1 + visible], embedded[b, 1:], atol=1e-6)
        hidden = mask[b].nonzero().squeeze(1)
        assert torch.allclose(placed[b, 1 + hidden], decoder.mask_token.view(1, -1).expand(len(hidden), -1), atol=1e-6)


def test_decoder_rejects_latent_that_does_not_match_mask() -> None:
    decoder = MAEDecoder(grid_size=(4, 4), encoder_dim=32, token_dim=4, embed_dim=16, depth=1, num_heads=4)
    latent = torch.randn(2, 1 + 16, 32)  # all patches, but the mask hides 12
    with pytest.raises(ValueError, match="visible"):
        decoder(Encoded(latent, latent[:, 0]), random_mask(2, 16), tokens_for(torch.zeros(2, 1, 8, 8), 2))


# -- modality and loss ---------------------------------------------------------------------------


def digits_modality(**model: object) -> ImageModality:
    return ImageModality(ImageDataConfig(dataset="digits", limit=64), ImageModelConfig(**model))


def test_tokenize_patches_images() -> None:
    modality = digits_modality()
    images, labels = torch.randn(4, 1, 8, 8), torch.arange(4)
    tokens = modality.tokenize((images, labels), torch.device("cpu"))
    assert tokens.grid == (4, 4)
    assert torch.equal(tokens.targets, patchify(images, 2))
    assert torch.equal(tokens.labels, labels) and tokens.inputs is not None


def test_reconstruction_loss_reads_hidden_patches_only() -> None:
    modality = digits_modality()
    tokens = modality.tokenize((torch.randn(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)), torch.device("cpu"))
    mask = random_mask(2, 16)
    prediction = torch.randn(2, 16, 4)
    loss = modality.reconstruction_loss(Decoded(prediction, torch.zeros(2, 16, 1)), mask, tokens)
    expected = (prediction - tokens.targets).square().mean(-1)[mask].mean()
    assert torch.allclose(loss, expected)
    at_visible = torch.where(mask.unsqueeze(-1), prediction, prediction + 5.0)
    assert torch.allclose(modality.reconstruction_loss(Decoded(at_visible, prediction), mask, tokens), loss)
    at_hidden = torch.where(mask.unsqueeze(-1), prediction + 5.0, prediction)
    assert not torch.allclose(modality.reconstruction_loss(Decoded(at_hidden, prediction), mask, tokens), loss)


def test_norm_pix_loss_targets_normalised_patches() -> None:
    images = torch.rand(2, 1, 8, 8) * 3 + 1
    mask = random_mask(2, 16)
    normalised = Decoded(normalize_patches(patchify(images, 2)), torch.zeros(2, 16, 1))
    with_norm = digits_modality(norm_pix_loss=True)
    tokens = with_norm.tokenize((images, torch.zeros(2, dtype=torch.long)), torch.device("cpu"))
    assert with_norm.reconstruction_loss(normalised, mask, tokens) < 1e-10
    assert digits_modality(norm_pix_loss=False).reconstruction_loss(normalised, mask, tokens) > 0.1


def test_modality_rejects_patch_size_not_dividing_image() -> None:
    with pytest.raises(ConfigError, match="patch_size=3"):
        ImageModality(ImageDataConfig(dataset="digits"), ImageModelConfig(patch_size=3))


def test_imagefolder_needs_image_size() -> None:
    with pytest.raises(ConfigError, match="image_size"):
        ImageModality(ImageDataConfig(dataset="imagefolder", root="x"), ImageModelConfig())


def test_modality_injects_sizes_and_rejects_configuring_them() -> None:
    modality = digits_modality()
    encoder = modality.build_encoder({"name": "vit", "embed_dim": 32, "depth": 1, "num_heads": 4})
    decoder = modality.build_decoder({"name": "mae", "embed_dim": 16, "depth": 1, "num_heads": 4}, encoder)
    assert encoder.patch_embed.grid_size == (4, 4) and decoder.head.out_features == 4
    with pytest.raises(ConfigError, match="patch_size"):
        modality.build_encoder({"name": "vit", "patch_size": 4})


def test_masked_autoencoder_forward_backward() -> None:
    modality = digits_modality()
    encoder = modality.build_encoder({"name": "vit", "embed_dim": 32, "depth": 2, "num_heads": 4})
    decoders = [modality.build_decoder({"name": "mae", "embed_dim": 16, "depth": 1, "num_heads": 4}, encoder)]
    masker = registry.create("masker", {"name": "block", "ratio": 0.75, "block_size": 2})
    uniformity = registry.create("regularizer", {"name": "uniformity"})
    regularizers = {"uniformity": (0.01, uniformity)}
    model = MaskedAutoencoder(encoder, decoders, masker, modality.reconstruction_loss, regularizers)
    loader = torch.utils.data.DataLoader(modality.build_dataset("train"), batch_size=16, collate_fn=modality.collate)
    tokens = modality.tokenize(next(iter(loader)), torch.device("cpu"))
    out = model(tokens, torch.Generator().manual_seed(0))
    assert torch.isfinite(out.loss) and set(out.terms) == {"reconstruction", "uniformity"}
    out.loss.backward()
    assert encoder.patch_embed.proj.weight.grad is not None and encoder.patch_embed.proj.weight.grad.abs().sum() > 0
    assert encoder.cls_token.grad is not None and decoders[0].mask_token.grad is not None


@pytest.mark.slow
def test_loss_falls_on_digits() -> None:
    torch.manual_seed(0)
    modality = digits_modality()
    encoder = modality.build_encoder({"name": "vit", "embed_dim": 32, "depth": 2, "num_heads": 4})
    decoders = [modality.build_decoder({"name": "mae", "embed_dim": 32, "depth": 1, "num_heads": 4}, encoder)]
    model = MaskedAutoencoder(encoder, decoders, RandomMasker(0.75), modality.reconstruction_loss)
    images, labels = next(iter(torch.utils.data.DataLoader(modality.build_dataset("train"), batch_size=64)))
    tokens = modality.tokenize((images, labels), torch.device("cpu"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(60):
        loss = model(tokens, generator).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:5])


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 1, 16, 16), (2, 1, 8)])
def test_tokenize_names_images_of_the_wrong_size_or_channels(shape: tuple[int, ...]) -> None:
    modality = ImageModality(ImageDataConfig(dataset="digits"), ImageModelConfig(patch_size=2))
    with pytest.raises(DataError, match=rf"shape {re.escape(str(shape))}.*\[B, 1, 8, 8\]"):
        modality.tokenize((torch.zeros(shape), torch.zeros(2, dtype=torch.long)), torch.device("cpu"))
