"""Conformance of regularizers: a finite scalar over V views, differentiable, seeded, per device."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from maskssl import registry
from maskssl.interfaces import Decoded, Encoded, Regularizer, ViewOutput
from maskssl.maskers import RandomMasker, random_mask
from maskssl.testing.encoder import DETERMINISM_FIX
from maskssl.testing.errors import describe, fail, run
from maskssl.testing.runtime import DeviceLike, global_seed, placed, resolve_devices
from maskssl.testing.tensors import expect_close, expect_gradients, expect_tensor

ViewsFactory = Callable[[torch.device], list[ViewOutput]]
"""``device -> views``: the V views of one batch a regularizer is checked on."""


def make_views(
    num_views: int = 2,
    batch_size: int = 8,
    num_tokens: int = 16,
    dim: int = 8,
    device: DeviceLike = "cpu",
    seed: int = 0,
) -> list[ViewOutput]:
    """V synthetic views of one batch, every tensor a leaf that requires grad.

    Per view: mask [B, L] (random, ratio 0.5), latent [B, 1 + L/2, D], pooled [B, D],
    prediction [B, L, 3], hidden [B, L, D]; values standard normal from ``seed``.
    """
    device = torch.device(device)
    seeded = torch.Generator().manual_seed(seed)
    hidden = RandomMasker(0.5).num_hidden(num_tokens)
    views = []
    for _ in range(num_views):
        mask = random_mask(batch_size, num_tokens, hidden, seeded, torch.device("cpu")).to(device)

        def leaf(*shape: int) -> Tensor:
            return torch.randn(*shape, generator=seeded).to(device).requires_grad_()

        encoded = Encoded(latent=leaf(batch_size, 1 + num_tokens - hidden, dim), pooled=leaf(batch_size, dim))
        decoded = Decoded(prediction=leaf(batch_size, num_tokens, 3), hidden=leaf(batch_size, num_tokens, dim))
        views.append(ViewOutput(mask=mask, encoded=encoded, decoded=decoded))
    return views


def _leaves(views: list[ViewOutput]) -> list[Tensor]:
    return [t for v in views for t in (v.encoded.latent, v.encoded.pooled, v.decoded.prediction, v.decoded.hidden)]


def _build(regularizer: Regularizer | str | Mapping[str, Any]) -> tuple[Regularizer, str | None]:
    if isinstance(regularizer, (str, Mapping)):
        section = {"name": regularizer} if isinstance(regularizer, str) else dict(regularizer)
        name = str(section.get("name"))
        try:
            return registry.create("regularizer", section), name
        except Exception as exc:
            factory = registry.get("regularizer", name)
            raise fail(describe("regularizer", factory, name), "builds from the registry", f"create({section}) "
                       "raised", "give every constructor option a default", exc) from exc
    return regularizer, None


def check_regularizer(
    regularizer: Regularizer | str | Mapping[str, Any],
    *,
    views: ViewsFactory | None = None,
    num_views: int = 2,
    devices: Sequence[DeviceLike] | None = None,
    seed: int = 0,
) -> None:
    """Check a regularizer on the views of one batch; raises ConformanceError on the first violation.

    Args:
        regularizer: an instance, a registered name or a section ``{"name": ..., **options}``
            (built with ``registry.create``; ``weight`` is the model's business, not the regularizer's).
        views: ``device -> list[ViewOutput]``; default ``make_views(num_views, ...)``: synthetic views
            (mask [8, 16], latent [8, 9, 8], pooled [8, 8], prediction [8, 16, 3], hidden [8, 16, 8]).
        devices: default ``available_devices()`` (CUDA only when available; otherwise skipped silently).

    Checked on every device: the output is a finite float scalar (0-dim tensor); the same views and
    seed give the same value; it is differentiable and its gradient reaches at least one of the views'
    tensors, non-zero and finite; the views are not modified; its own parameters (if any) get gradients.
    """
    built, name = _build(regularizer)
    component = describe("regularizer", built, name)
    if not isinstance(built, Regularizer):
        raise fail(component, "is a Regularizer", f"got a {type(built).__name__}", "subclass maskssl.Regularizer")
    for device in resolve_devices(devices):
        batch_views = views(device) if views is not None else make_views(num_views, device=device, seed=seed)
        leaves = _leaves(batch_views)
        before = [t.detach().clone() for t in leaves]
        with placed(built, device, training=True):

            def forward() -> Tensor:
                with global_seed(seed, device):
                    value = run(component, "forward", f"regularizer(views) with {len(batch_views)} views on {device}",
                                lambda: built(batch_views))
                return expect_tensor(value, component, "scalar output", "the output", [], "float", device,
                                     "return a 0-dim float tensor, e.g. reduce with .mean()")

            value = forward()
            expect_close(value, forward(), component, "same seed, same output", "the output", DETERMINISM_FIX)
            if not value.requires_grad:
                raise fail(component, "differentiable", "the output does not require grad",
                           "compute it from the views' tensors without detaching them or using torch.no_grad")
            value.backward()
            grads = [t.grad for t in leaves if t.grad is not None]
            if not grads or all(not bool(g.any()) for g in grads):
                raise fail(component, "gradient to the views", "no gradient (or only zeros) reached the views' "
                           "latent, pooled, prediction or hidden", "compute the term from the views' outputs")
            if not all(bool(torch.isfinite(g).all()) for g in grads):
                raise fail(component, "finite gradients", "NaN or inf gradients reached the views",
                           "guard norms and divisions against zero (F.normalize, clamp_min(eps))")
            if any(not torch.equal(t.detach(), b) for t, b in zip(leaves, before)):
                raise fail(component, "pure", "it changed the views' tensors in place", "never write into the views")
            expect_gradients(built, component, "its output")


__all__ = ["ViewsFactory", "check_regularizer", "make_views"]
