"""maskssl.maskers: MAE-exact random masking, independent views, co-masked tokens; every registered masker."""

from __future__ import annotations

import math

import pytest
import torch

from maskssl import registry
from maskssl.errors import ConfigError
from maskssl.interfaces import Masker, Tokens
from maskssl.maskers import RandomMasker, hidden_in_all, random_mask, sample_views


def make_tokens(batch: int, num_tokens: int, device: str | torch.device = "cpu") -> Tokens:
    """Tokens [B, L, 3]; a square grid when L is a perfect square (grid-based plugin maskers need one)."""
    side = math.isqrt(num_tokens)
    grid = (side, side) if side * side == num_tokens else None
    return Tokens(inputs=None, targets=torch.zeros(batch, num_tokens, 3, device=device), grid=grid)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# (B, L, ratio, hidden per sample), the counts worked out by hand from MAE's L - int(L * (1 - ratio)).
COUNTS = [
    (1, 1, 0.5, 1),  # int(0.5) = 0 kept
    (3, 10, 0.3, 3),
    (3, 10, 0.7, 7),  # 10 * 0.30000000000000004 -> 3 kept
    (2, 16, 0.75, 12),
    (2, 64, 0.6, 39),  # int(25.6) = 25 kept (MAE's count, not int(0.6 * 64) = 38)
    (4, 196, 0.75, 147),  # ViT-B/16 on 224 px
    (5, 7, 0.01, 1),  # smallest ratio still hides one token
    (5, 7, 0.99, 7),  # int(0.07) = 0 kept: everything hidden
    (2, 50, 0.9, 46),  # float rounding: 50 * 0.09999999999999998 -> 4 kept, exactly as MAE's int()
    (2, 1000, 0.999, 999),
]


@pytest.mark.parametrize(("batch", "length", "ratio", "hidden"), COUNTS)
def test_random_masker_hides_exact_count_per_sample(batch: int, length: int, ratio: float, hidden: int) -> None:
    masker = RandomMasker(ratio)
    assert masker.num_hidden(length) == hidden == length - int(length * (1 - ratio))
    mask = masker(make_tokens(batch, length), seeded(0))
    assert mask.shape == (batch, length)
    assert mask.dtype == torch.bool
    assert mask.sum(dim=1).tolist() == [hidden] * batch


def test_random_mask_differs_between_samples_of_a_batch() -> None:
    mask = RandomMasker(0.75)(make_tokens(8, 64), seeded(0))
    assert len({tuple(row.tolist()) for row in mask}) == 8  # per-sample masking, not one mask for the batch


def test_random_mask_is_roughly_uniform_over_positions() -> None:
    mask = RandomMasker(0.75)(make_tokens(4000, 16), seeded(1))
    per_position = mask.float().mean(dim=0)  # [L], each ~ 0.75
    assert torch.allclose(per_position, torch.full_like(per_position, 0.75), atol=0.03)


def test_random_mask_function_keeps_first_indices_of_argsorted_noise() -> None:
    """The documented MAE construction: the L - num_hidden smallest noise values stay visible."""
    noise = torch.rand(3, 10, generator=seeded(5))
    keep = noise.argsort(dim=1)[:, :4]
    expected = torch.ones(3, 10, dtype=torch.bool).scatter(1, keep, False)
    assert torch.equal(random_mask(3, 10, 6, seeded(5), torch.device("cpu")), expected)


def test_same_seed_same_mask_different_seed_different_mask() -> None:
    masker, tokens = RandomMasker(0.75), make_tokens(4, 64)
    first = masker(tokens, seeded(123))
    assert torch.equal(first, masker(tokens, seeded(123)))
    assert not torch.equal(first, masker(tokens, seeded(124)))


def test_generator_state_advances_between_calls() -> None:
    masker, tokens, gen = RandomMasker(0.5), make_tokens(4, 64), seeded(7)
    assert not torch.equal(masker(tokens, gen), masker(tokens, gen))


def test_sample_views_shape_and_reproducibility() -> None:
    masker, tokens = RandomMasker(0.75), make_tokens(5, 16)
    views = sample_views(masker, tokens, 3, seeded(0))
    assert views.shape == (3, 5, 16) and views.dtype == torch.bool
    assert torch.equal(views, sample_views(masker, tokens, 3, seeded(0)))
    assert (views.sum(dim=2) == 12).all()
    # views are drawn one after another from the same generator
    gen = seeded(0)
    assert torch.equal(views, torch.stack([masker(tokens, gen) for _ in range(3)]))


def test_two_views_are_independent_and_overlap_about_ratio_squared() -> None:
    ratio, length = 0.75, 64
    views = sample_views(RandomMasker(ratio), make_tokens(1000, length), 2, seeded(0))
    assert not torch.equal(views[0], views[1])
    same_rows = (views[0] == views[1]).all(dim=1)
    assert same_rows.float().mean() < 0.01
    overlap = (views[0] & views[1]).float().sum(dim=1) / length  # [B]; E = (48/64)^2 for independent views
    assert overlap.mean().item() == pytest.approx(ratio**2, abs=0.01)
    # identical views would overlap at ratio, disjoint-as-possible ones at 2 * ratio - 1
    assert abs(overlap.mean().item() - ratio) > 0.1


def test_hidden_in_all_is_the_intersection() -> None:
    views = sample_views(RandomMasker(0.6), make_tokens(6, 25), 3, seeded(2))
    both = hidden_in_all(views)
    assert both.shape == (6, 25) and both.dtype == torch.bool
    assert torch.equal(both, views[0] & views[1] & views[2])
    assert torch.equal(hidden_in_all(views[:1]), views[0])
    manual = torch.tensor([[all(bool(views[v, b, i]) for v in range(3)) for i in range(25)] for b in range(6)])
    assert torch.equal(both, manual)


def test_hidden_in_all_small_example() -> None:
    views = torch.tensor([[[1, 1, 0, 0]], [[1, 0, 1, 0]]], dtype=torch.bool)  # [V=2, B=1, L=4]
    assert hidden_in_all(views).tolist() == [[True, False, False, False]]


def test_mask_device_follows_tokens() -> None:
    tokens = make_tokens(2, 16, device="meta")  # a non-CPU device that needs no hardware
    mask = RandomMasker(0.5)(tokens)
    assert mask.device == tokens.device and mask.dtype == torch.bool and mask.shape == (2, 16)
    assert sample_views(RandomMasker(0.5), tokens, 2, None).device == tokens.device


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.25, 1.5])
def test_ratio_outside_open_interval_raises(ratio: float) -> None:
    with pytest.raises(ValueError, match="ratio"):
        RandomMasker(ratio)
    with pytest.raises(ConfigError, match="ratio"):  # through the registry: a user-facing config error
        registry.create("masker", {"name": "random", "ratio": ratio})


def test_repr_names_ratio() -> None:
    assert "0.6" in repr(RandomMasker(0.6))


# ---- generic invariants of every registered masker (core and installed plugins) -------------------------

MASKER_NAMES = registry.list_names("masker")


def test_core_random_masker_is_registered() -> None:
    assert "random" in MASKER_NAMES
    assert isinstance(registry.create("masker", {"name": "random", "ratio": 0.5}), RandomMasker)


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.75, 0.9])
@pytest.mark.parametrize("name", MASKER_NAMES)
def test_registered_masker_invariants(name: str, ratio: float) -> None:
    masker = registry.create("masker", {"name": name, "ratio": ratio})
    assert isinstance(masker, Masker)
    for batch, length in [(3, 16), (2, 64)]:
        tokens = make_tokens(batch, length)
        mask = masker(tokens, seeded(11))
        assert mask.shape == (batch, length) and mask.dtype == torch.bool and mask.device == tokens.device
        expected = length - int(length * (1 - ratio))
        assert mask.sum(dim=1).tolist() == [expected] * batch, f"{name} must hide exactly {expected} of {length}"
        assert torch.equal(mask, masker(tokens, seeded(11))), f"{name} is not reproducible from a seeded generator"
        views = sample_views(masker, tokens, 2, seeded(3))
        assert views.shape == (2, batch, length) and (views.sum(dim=2) == expected).all()


def test_keyed_masks_depend_on_the_sample_key_alone_and_views_differ() -> None:
    from maskssl.utils.keyed_random import batch_keys, keyed_uniform

    cpu = torch.device("cpu")
    whole = batch_keys(seed=3, step=7, micro=0, rank=0, world_size=1, batch_size=8, device=cpu)
    halves = [batch_keys(seed=3, step=7, micro=0, rank=r, world_size=2, batch_size=4, device=cpu) for r in (0, 1)]
    assert torch.equal(whole[0::2], halves[0]) and torch.equal(whole[1::2], halves[1])
    assert len(set(whole.tolist())) == 8
    assert not torch.equal(whole, batch_keys(3, 8, 0, 0, 1, 8, cpu))  # another step, other keys
    noise = keyed_uniform(whole, 1000)
    assert noise.shape == (8, 1000) and 0 <= noise.min() and noise.max() < 1 and abs(noise.mean() - 0.5) < 0.02
    tokens = make_tokens(8, 16)
    tokens.sample_keys = whole
    masks = sample_views(RandomMasker(0.75), tokens, 2, None)  # [2, 8, 16]
    assert (masks.sum(dim=2) == 12).all() and not torch.equal(masks[0], masks[1])
    tokens_half = make_tokens(4, 16)
    tokens_half.sample_keys = halves[1]
    assert torch.equal(sample_views(RandomMasker(0.75), tokens_half, 2, None), masks[:, 1::2])
