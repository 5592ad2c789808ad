"""Tests of the maskssl-image plugin: patches, masking, encoder/decoder, loss, datasets, wiring."""

from __future__ import annotations

import gzip
import os
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from maskssl_image import (
    BlockMasker,
    ImageDataConfig,
    ImageModality,
    ImageModelConfig,
    MAEDecoder,
    ViTEncoder,
    build_image_dataset,
    normalize_patches,
    patchify,
    read_idx,
    unpatchify,
)
from maskssl_image.visible import gather_visible, scatter_visible

from maskssl import Decoded, Encoded, MaskedAutoencoder, Tokens, registry
from maskssl.build import build_modality, build_model, load_config
from maskssl.errors import ConfigError, DataError
from maskssl.maskers import RandomMasker

REPO = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
MNIST_RAW = SHARED_DATA / "images" / "MNIST" / "raw"


def require_mnist() -> None:
    """Skip when the shared MNIST files are absent, unless MASKSSL_REQUIRE_DATA=1 demands them."""
    if (MNIST_RAW / "t10k-images-idx3-ubyte.gz").is_file():
        return
    message = f"shared MNIST not found at {MNIST_RAW} (set MASKSSL_SHARED_DATA to the shared/data folder)"
    if os.environ.get("MASKSSL_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


def tokens_for(images: torch.Tensor, patch_size: int) -> Tokens:
    _, _, h, w = images.shape
    return Tokens(inputs=images, targets=patchify(images, patch_size), grid=(h // patch_size, w // patch_size))


def random_mask(batch: int, num_tokens: int, ratio: float = 0.75, seed: int = 0) -> torch.Tensor:
    tokens = Tokens(inputs=None, targets=torch.zeros(batch, num_tokens, 1))
    return RandomMasker(ratio)(tokens, torch.Generator().manual_seed(seed))


def adjacent_hidden_pairs(mask: torch.Tensor, grid: tuple[int, int]) -> float:
    """Mean count per sample of horizontally or vertically adjacent token pairs that are both hidden."""
    m = mask.view(-1, *grid)
    return float(((m[:, 1:] & m[:, :-1]).sum() + (m[:, :, 1:] & m[:, :, :-1]).sum()) / m.shape[0])


# -- patches -------------------------------------------------------------------------------------


def test_patchify_content_and_round_trip() -> None:
    images = torch.randn(2, 3, 8, 12)
    patches = patchify(images, 4)
    assert patches.shape == (2, 6, 4 * 4 * 3)
    # token 4 is row 1, column 1 of the 2x3 grid; each patch is flattened as (row, column, channel)
    expected = images[:, :, 4:8, 4:8].permute(0, 2, 3, 1).reshape(2, -1)
    assert torch.equal(patches[:, 4], expected)
    assert torch.equal(unpatchify(patches, 4, (2, 3)), images)


def test_normalize_patches_gives_zero_mean_unit_variance_per_patch() -> None:
    patches = torch.rand(3, 5, 12) * 7 + 2
    normed = normalize_patches(patches)
    assert torch.allclose(normed.mean(-1), torch.zeros(3, 5), atol=1e-5)
    assert torch.allclose(normed.var(-1), torch.ones(3, 5), atol=1e-3)


# -- block masker --------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.75, 0.9])
@pytest.mark.parametrize("grid", [(4, 4), (7, 7), (5, 8), (16, 16)])
@pytest.mark.parametrize("block_size", [1, 2, 3])
def test_block_masker_hides_exact_count(ratio: float, grid: tuple[int, int], block_size: int) -> None:
    masker = BlockMasker(ratio, block_size)
    num_tokens = grid[0] * grid[1]
    tokens = Tokens(inputs=None, targets=torch.zeros(6, num_tokens, 1), grid=grid)
    mask = masker(tokens, torch.Generator().manual_seed(1))
    assert mask.dtype == torch.bool and mask.shape == (6, num_tokens)
    assert (mask.sum(1) == masker.num_hidden(num_tokens)).all()


def test_block_masker_is_seeded() -> None:
    masker = BlockMasker(0.6, 2)
    tokens = Tokens(inputs=None, targets=torch.zeros(4, 64, 1), grid=(8, 8))
    first = masker(tokens, torch.Generator().manual_seed(3))
    assert torch.equal(first, masker(tokens, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, masker(tokens, torch.Generator().manual_seed(4)))


def test_block_masker_hides_whole_aligned_blocks() -> None:
    # 8x8 grid, 2x2 blocks, ratio 0.5: 32 hidden tokens are exactly 8 whole blocks
    tokens = Tokens(inputs=None, targets=torch.zeros(16, 64, 1), grid=(8, 8))
    mask = BlockMasker(0.5, 2)(tokens, torch.Generator().manual_seed(0))
    blocks = mask.view(16, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(16, 16, 4)  # [B, blocks, tokens per block]
    assert (blocks.all(-1) | ~blocks.any(-1)).all()


def test_block_masker_is_blockier_than_random() -> None:
    grid, batch = (16, 16), 64
    tokens = Tokens(inputs=None, targets=torch.zeros(batch, 256, 1), grid=grid)
    block = BlockMasker(0.5, 4)(tokens, torch.Generator().manual_seed(0))
    uniform = RandomMasker(0.5)(tokens, torch.Generator().manual_seed(0))
    # random masking: about 480 adjacent pairs * 0.25 = 120 both hidden; 4x4 blocks: far more
    assert adjacent_hidden_pairs(block, grid) > 1.5 * adjacent_hidden_pairs(uniform, grid)


def test_block_masker_needs_a_grid() -> None:
    tokens = Tokens(inputs=None, targets=torch.zeros(2, 16, 1))
    with pytest.raises(ValueError, match="2-D grid"):
        BlockMasker()(tokens)


def test_block_masker_options_checked_by_registry() -> None:
    assert isinstance(registry.create("masker", {"name": "block", "ratio": 0.6, "block_size": 3}), BlockMasker)
    with pytest.raises(ConfigError, match="block_size"):
        registry.create("masker", {"name": "block", "block": 3})


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


# -- datasets ------------------------------------------------------------------------------------


def test_digits_dataset() -> None:
    train, test = build_image_dataset("digits", "train"), build_image_dataset("digits", "test")
    assert (len(train), len(test)) == (1437, 360)  # test: every 5th of the 1797 images
    image, label = train[0]
    assert image.dtype == torch.float32 and image.shape == (1, 8, 8)
    assert isinstance(label, int) and label == 1 and test[0][1] == 0
    assert not torch.equal(train[0][0], test[0][0])
    pixels = torch.stack([d[i][0] for d in (train, test) for i in range(len(d))])
    assert abs(pixels.mean().item()) < 0.01 and abs(pixels.std().item() - 1) < 0.01
    assert len(build_image_dataset("digits", "test", limit=10)) == 10


def test_mnist_from_shared_data() -> None:
    require_mnist()
    for root in (SHARED_DATA / "images", MNIST_RAW):
        modality = ImageModality(ImageDataConfig(dataset="mnist", root=str(root)), ImageModelConfig(patch_size=4))
        # no train-* files: "train" is t10k's first 8000 images, "test" its last 2000
        dataset = modality.build_dataset("train")
        assert len(dataset) == 8000
        assert [dataset[i][1] for i in range(5)] == [7, 2, 1, 0, 4]  # the canonical first test labels
        image, _ = dataset[0]
        assert image.shape == (1, 28, 28) and image.dtype == torch.float32
        assert len(modality.build_dataset("test")) == 2000


def test_missing_mnist_root_says_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.*MNIST/raw"):
        build_image_dataset("mnist", "test", root=tmp_path / "nowhere")
    with pytest.raises(DataError, match="data.root is not set"):
        build_image_dataset("mnist", "test", root=None)


def write_idx(path: Path, dims: tuple[int, ...], data: bytes, magic: bytes | None = None) -> None:
    header = (magic or bytes([0, 0, 8, len(dims)])) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(gzip.compress(header + data))


def test_idx_reader_round_trip_and_malformed_files(tmp_path: Path) -> None:
    good = tmp_path / "good.gz"
    write_idx(good, (2, 3, 4), bytes(range(24)))
    assert read_idx(good, 3).tolist() == np.arange(24).reshape(2, 3, 4).tolist()
    truncated = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(truncated, (10, 28, 28), bytes(100))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        read_idx(truncated, 3)
    bad_magic = tmp_path / "bad-magic"
    write_idx(bad_magic, (2, 3, 4), bytes(24), magic=b"\x00\x00\x0d\x03")
    with pytest.raises(DataError, match="bad-magic.*magic number"):
        read_idx(bad_magic, 3)
    cut_gzip = tmp_path / "cut.gz"
    cut_gzip.write_bytes(good.read_bytes()[:-12])
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(cut_gzip, 3)


def test_truncated_mnist_file_in_a_root_gives_data_error(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", (3, 28, 28), bytes(28 * 28 * 2))
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", (3,), bytes(3), magic=b"\x00\x00\x08\x01")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        build_image_dataset("mnist", "test", root=tmp_path)


def test_cifar10_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 9]}
        (folder / name).write_bytes(pickle.dumps(batch))
    train = build_image_dataset("cifar10", "train", root=tmp_path)
    assert len(train) == 10 and train[0][0].shape == (3, 32, 32) and train[1][1] == 9
    assert len(build_image_dataset("cifar10", "test", root=folder)) == 2
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="test_batch"):
        build_image_dataset("cifar10", "test", root=tmp_path)
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        build_image_dataset("cifar10", "train", root=tmp_path / "missing")


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 1, 16, 16), (2, 1, 8)])
def test_tokenize_names_images_of_the_wrong_size_or_channels(shape: tuple[int, ...]) -> None:
    modality = ImageModality(ImageDataConfig(dataset="digits"), ImageModelConfig(patch_size=2))
    with pytest.raises(DataError, match=rf"shape {re.escape(str(shape))}.*\[B, 1, 8, 8\]"):
        modality.tokenize((torch.zeros(shape), torch.zeros(2, dtype=torch.long)), torch.device("cpu"))


# -- plugin wiring and recipes -------------------------------------------------------------------


def test_entry_points_are_registered() -> None:
    assert "image" in registry.list_names("modality")
    assert "vit" in registry.list_names("encoder")
    assert "mae" in registry.list_names("decoder")
    assert "block" in registry.list_names("masker")
    assert registry.get("modality", "image") is ImageModality


@pytest.mark.parametrize("recipe", sorted(p.name for p in (REPO / "configs" / "image").glob("*.yaml")))
def test_recipes_build(recipe: str) -> None:
    config = load_config(config_path=REPO / "configs" / "image" / recipe)
    modality = build_modality(config)
    model = build_model(modality, config)
    assert config.modality == "image" and model.num_views == 1
    uniformity = config.regularizers["uniformity"]["weight"]
    assert uniformity == (0.01 if "umae" in recipe else 0.0)


def test_default_recipe_builds() -> None:
    config = load_config(modality="image")
    model = build_model(build_modality(config), config)
    assert config.data == {} and model.encoder.embed_dim == 128
