"""Conformance of encoders: ``Encoded`` shapes, differentiable, seeded, with and without a mask, per device."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from maskssl.interfaces import Encoded, Encoder, Masker, Tokens
from maskssl.maskers import RandomMasker
from maskssl.testing.errors import describe, fail, run
from maskssl.testing.runtime import DeviceLike, generator, global_seed, placed, resolve_devices, to_device
from maskssl.testing.tensors import expect_close, expect_gradients, expect_tensor

TokensSource = Tokens | Callable[[torch.device], Tokens]
"""One batch: Tokens (moved with ``to_device``), or ``device -> Tokens`` (e.g. a modality's tokenize)."""

DETERMINISM_FIX = (
    "draw dropout and noise from torch's global RNG (the training loop seeds it every step), never from "
    "numpy or random, and keep no state that changes from one forward to the next"
)


def tokens_on(source: TokensSource, device: torch.device) -> Tokens:
    """The batch ``source`` on ``device``."""
    return source(device) if callable(source) else to_device(source, device)


def default_masker() -> Masker:
    """The masker checks use when none is given: MAE's random masking at ratio 0.5."""
    return RandomMasker(0.5)


def check_encoded(encoded: object, embed_dim: int, tokens: Tokens, component: str) -> Encoded:
    """``encoded`` is an Encoded with latent [B, Q, D] and pooled [N, D] (N = labels' length when the
    batch has labels), D = ``embed_dim``, float, finite, on the tokens' device."""
    if not isinstance(encoded, Encoded):
        raise fail(component, "returns Encoded", f"forward returned a {type(encoded).__name__}",
                   "return maskssl.Encoded(latent=[B, Q, D], pooled=[N, D])")
    fix = f"return latent [B, Q, D] and pooled [N, D] with D = encoder.embed_dim = {embed_dim}"
    expect_tensor(encoded.latent, component, "Encoded shapes", "Encoded.latent",
                  [("B", tokens.batch_size), ("S", None), ("D", embed_dim)], "float", tokens.device, fix)
    rows = tokens.labels.shape[0] if isinstance(tokens.labels, Tensor) else None
    expect_tensor(encoded.pooled, component, "Encoded shapes", "Encoded.pooled",
                  [("S", rows), ("D", embed_dim)], "float", tokens.device,
                  fix + "; pooled has one row per sample that Tokens.labels [N] describes")
    return encoded


def _trainable(module: torch.nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def check_encoder(
    encoder: Encoder,
    tokens: TokensSource,
    *,
    masker: Masker | None = None,
    devices: Sequence[DeviceLike] | None = None,
    seed: int = 0,
    name: str | None = None,
) -> None:
    """Check an encoder on one batch of its modality; raises ConformanceError on the first violation.

    Args:
        encoder: the module, built as its modality builds it (``Modality.build_encoder`` or ``build_case``).
        tokens: a batch, targets [B, L, T]: Tokens, or ``device -> Tokens``.
        masker: draws the masks [B, L] (default: random masking at ratio 0.5).
        devices: default ``available_devices()`` (CUDA only when available; otherwise skipped silently).
        name: the registered name, for messages.

    Checked on every device, in train mode with the global RNG seeded: ``forward(tokens, mask)`` gives
    latent [B, Q, D] and pooled [N, D] with D = ``embed_dim`` (``check_encoded``); the same seed gives
    the same output; a second mask works too; pooled is differentiable and a loss on latent and pooled
    reaches every trainable parameter with a finite gradient. In eval mode: ``forward(tokens, None)``
    (nothing hidden, feature extraction) gives the same shapes, twice the same.
    """
    component = describe("encoder", encoder, name)
    if not isinstance(encoder, Encoder):
        raise fail(component, "is an Encoder", f"got a {type(encoder).__name__}", "subclass maskssl.Encoder")
    embed_dim = getattr(encoder, "embed_dim", None)
    if not isinstance(embed_dim, int) or embed_dim < 1:
        raise fail(component, "has embed_dim", f"encoder.embed_dim is {embed_dim!r}",
                   "set self.embed_dim = D (the width of latent and pooled) in __init__")
    masker = masker or default_masker()
    for device in resolve_devices(devices):
        batch = tokens_on(tokens, device)
        mask = masker(batch, generator(seed, device))
        with placed(encoder, device, training=True):

            def forward(m: Tensor | None) -> Encoded:
                with global_seed(seed, device):
                    out = run(component, "forward", f"forward(tokens, mask) on {device}", lambda: encoder(batch, m))
                return check_encoded(out, embed_dim, batch, component)

            first = forward(mask)
            again = forward(mask)
            for what in ("latent", "pooled"):
                expect_close(getattr(first, what), getattr(again, what), component, "same seed, same output",
                             f"Encoded.{what}", DETERMINISM_FIX)
            forward(masker(batch, generator(seed + 1, device)))
            if _trainable(encoder):
                if not first.pooled.requires_grad:
                    raise fail(component, "differentiable pooled", "Encoded.pooled does not require grad",
                               "compute pooled from the encoder's states without detaching (regularizers train it)")
                (first.latent.float().square().mean() + first.pooled.float().square().mean()).backward()
                expect_gradients(encoder, component, "a loss on Encoded.latent and Encoded.pooled")
            encoder.eval()
            with torch.no_grad():
                plain = forward(None)
                expect_close(plain.latent, forward(None).latent, component, "deterministic in eval mode",
                             "Encoded.latent with mask=None", DETERMINISM_FIX)


__all__ = ["TokensSource", "check_encoded", "check_encoder", "default_masker", "tokens_on"]
