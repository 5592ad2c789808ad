"""Conformance of maskers: bool [B, L] masks, MAE's exact hidden count, seeded, on every device."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from maskssl import registry
from maskssl.interfaces import Masker, Tokens
from maskssl.maskers import sample_views
from maskssl.testing.errors import ConformanceError, describe, fail
from maskssl.testing.runtime import DeviceLike, generator, resolve_devices
from maskssl.testing.tensors import expect_tensor

TokensFactory = Callable[[int, int, torch.device], Tokens]
"""``(batch_size B, num_tokens L, device) -> Tokens`` with targets [B, L, T]."""

SEEDED_FIX = (
    "draw every random number from the `generator` argument on the tokens' device, e.g. "
    "torch.rand(B, L, generator=generator, device=tokens.device); never from the global RNG, numpy or random"
)
COUNT_FIX = (
    "hide exactly self.num_hidden(tokens.num_tokens) tokens in every row, e.g. score the tokens and "
    "scatter True at scores.topk(self.num_hidden(L), dim=1).indices"
)


def grid_shape(num_tokens: int) -> tuple[int, int]:
    """The most square (h, w) with h * w = L and h <= w, e.g. 12 -> (3, 4), 7 -> (1, 7)."""
    h = math.isqrt(num_tokens)
    while num_tokens % h:
        h -= 1
    return h, num_tokens // h


def make_tokens(batch_size: int, num_tokens: int, device: DeviceLike = "cpu", token_dim: int = 3) -> Tokens:
    """Synthetic Tokens for maskers: targets [B, L, T] (seeded normal noise), positions [B, L, 2] (grid
    coordinates), grid = ``grid_shape(L)``, labels [B]; ``inputs`` is the targets."""
    h, w = grid_shape(num_tokens)
    seeded = torch.Generator().manual_seed(batch_size * 1000 + num_tokens)
    targets = torch.randn(batch_size, num_tokens, token_dim, generator=seeded).to(device)
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    positions = torch.stack([rows, cols], dim=-1).reshape(1, num_tokens, 2).float().expand(batch_size, -1, -1)
    return Tokens(
        inputs=targets, targets=targets, positions=positions.to(device), grid=(h, w),
        labels=torch.zeros(batch_size, dtype=torch.long, device=device),
    )


def _call(masker: Masker, tokens: Tokens, gen: torch.Generator | None, component: str) -> Tensor:
    try:
        return masker(tokens, gen)
    except Exception as exc:  # third-party code: report any failure with the input that caused it
        raise fail(
            component, "runs on Tokens",
            f"masking tokens [B={tokens.batch_size}, L={tokens.num_tokens}] with grid={tokens.grid} on "
            f"{tokens.device} raised", "accept any Tokens of the modalities it is meant for; when it needs "
            "Tokens.grid or positions, raise a ValueError that says so", exc,
        ) from exc


def check_mask(masker: Masker, tokens: Tokens, component: str, seed: int = 0, random: bool = True) -> Tensor:
    """Every property of one masker on one batch ``tokens`` (targets [B, L, T]); returns the mask [B, L].

    Checked: a bool mask [B, L] on ``tokens.device``; exactly ``masker.num_hidden(L)`` True per row;
    the same mask again from a generator with the same seed; (``random``) not the same mask for
    five different seeds when a choice exists (0 < hidden < L); ``generator=None`` works; the tokens
    are not modified; ``sample_views`` of two views gives [2, B, L] with the same counts.
    """
    if not isinstance(masker, Masker):
        raise fail(component, "is a Masker", f"got a {type(masker).__name__}", "subclass maskssl.Masker")
    batch, length, device = tokens.batch_size, tokens.num_tokens, tokens.device
    before = tokens.targets.clone()
    mask = _call(masker, tokens, generator(seed, device), component)
    expect_tensor(
        mask, component, "bool mask [B, L]", "the mask", [("B", batch), ("L", length)], "bool", device,
        "return a torch.bool tensor [tokens.batch_size, tokens.num_tokens] on tokens.device, True = hidden",
    )
    ratio = getattr(masker, "ratio", None)
    if not isinstance(ratio, float) or not 0.0 < ratio < 1.0:
        raise fail(component, "has a ratio", f"masker.ratio is {ratio!r}", "call super().__init__(ratio) in __init__")
    expected = masker.num_hidden(length)
    if expected != length - int(length * (1.0 - ratio)):
        raise fail(
            component, "MAE's hidden count", f"num_hidden({length}) = {expected} at ratio {ratio}, MAE hides "
            f"{length - int(length * (1.0 - ratio))}", "do not override Masker.num_hidden",
        )
    counts = mask.sum(dim=1).tolist()
    if counts != [expected] * batch:
        raise fail(
            component, "exact hidden count",
            f"rows of a [{batch}, {length}] mask hide {counts} tokens, expected {expected} in every row "
            f"(num_hidden({length}) = L - int(L * (1 - ratio)) at ratio {ratio})", COUNT_FIX,
        )
    if not torch.equal(mask, _call(masker, tokens, generator(seed, device), component)):
        raise fail(component, "same seed, same mask", "two calls with generators seeded alike gave different "
                   "masks", SEEDED_FIX)
    if random and 0 < expected < length:
        others = [_call(masker, tokens, generator(seed + k, device), component) for k in range(1, 5)]
        if all(torch.equal(mask, other) for other in others):
            raise fail(
                component, "different seed, different mask",
                f"generators seeded {seed} to {seed + 4} all gave the same mask",
                f"{SEEDED_FIX}; for a masker that is deterministic by design pass random=False to the check",
            )
    unseeded = _call(masker, tokens, None, component)
    if unseeded.shape != mask.shape or unseeded.sum(dim=1).tolist() != [expected] * batch:
        raise fail(component, "works without a generator", "generator=None gave a mask of another shape or "
                   "count", "with generator=None draw from torch's global RNG (pass generator=None on to torch)")
    if not torch.equal(tokens.targets, before):
        raise fail(component, "pure", "masking changed tokens.targets in place", "never write into the Tokens")
    views = sample_views(masker, tokens, 2, generator(seed, device))
    if views.shape != (2, batch, length) or not bool((views.sum(dim=2) == expected).all()):
        raise fail(component, "independent views", f"sample_views gave {list(views.shape)} with counts "
                   f"{views.sum(dim=2).tolist()}", COUNT_FIX)
    return mask


def _build(masker: Masker | str | Mapping[str, Any], ratios: Sequence[float]) -> list[tuple[Masker, str | None]]:
    """Instances to check: the given one, or one per ratio built by ``registry.create``."""
    if isinstance(masker, (str, Mapping)):
        section = {"name": masker} if isinstance(masker, str) else dict(masker)
        name = str(section.get("name"))
        factory = registry.get("masker", name)
        accepted = registry.options_of(factory)
        takes_ratio = "ratio" not in section and ("ratio" in accepted or "**" in accepted)
        sections = [{**section, "ratio": r} for r in ratios] if takes_ratio else [section]
        built: list[tuple[Masker, str | None]] = []
        for options in sections:
            try:
                built.append((registry.create("masker", options), name))
            except Exception as exc:
                raise fail(
                    describe("masker", factory, name), "builds from the registry", f"create({options}) raised",
                    "give every constructor option a default and accept ratio in (0, 1) as a keyword", exc,
                ) from exc
        return built
    return [(masker, None)]


def check_masker(
    masker: Masker | str | Mapping[str, Any],
    *,
    ratios: Sequence[float] = (0.1, 0.5, 0.75, 0.9),
    shapes: Sequence[tuple[int, int]] = ((3, 16), (2, 64), (4, 12), (2, 7)),
    tokens: TokensFactory = make_tokens,
    random: bool = True,
    devices: Sequence[DeviceLike] | None = None,
    seed: int = 0,
) -> None:
    """Check a masker against the ``Masker`` contract; raises ConformanceError on the first violation.

    Args:
        masker: an instance (checked as it is), a registered name, or a config section
            ``{"name": ..., **options}``; a name or section is built with ``registry.create`` once per
            ratio of ``ratios`` (unless the section sets ``ratio``).
        shapes: (B, L) batches to mask; ``tokens(B, L, device)`` makes each (default ``make_tokens``:
            targets [B, L, 3] on a (h, w) grid with h * w = L, as image patches).
        random: False for a masker that is deterministic by design (skips "different seed, different mask").
        devices: default ``available_devices()``: the CPU, and CUDA only when it is available (without
            CUDA that part is skipped, silently).
        seed: first generator seed.

    Each (masker, device, shape) goes through ``check_mask``.
    """
    for built, name in _build(masker, ratios):
        component = f"{describe('masker', built, name)} built as {built!r}"
        for device in resolve_devices(devices):
            for batch, length in shapes:
                try:
                    batch_tokens = tokens(batch, length, device)
                except Exception as exc:
                    raise fail(component, "test tokens", f"the tokens factory failed for B={batch}, L={length}",
                               "pass shapes= or tokens= that suit this masker", exc) from exc
                check_mask(built, batch_tokens, component, seed, random)


__all__ = ["ConformanceError", "TokensFactory", "check_mask", "check_masker", "grid_shape", "make_tokens"]
