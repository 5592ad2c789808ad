"""Image patches and the block masker."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskssl import Tokens, registry
from maskssl.errors import ConfigError
from maskssl.maskers import RandomMasker
from maskssl_image import BlockMasker, normalize_patches, patchify, unpatchify


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


def test_a_negative_block_size_is_a_config_error_naming_the_option(tmp_path: Path) -> None:
    from maskssl.cli import main

    assert main(["train", "--modality", "image", "masker.name=block", "masker.block_size=-3", "train.max_steps=1",
                 "--out", str(tmp_path / "r")]) == 2
    with pytest.raises(ConfigError, match=r"masker.block_size=-3 must be at least 1"):
        BlockMasker(block_size=-3)
