"""Conformance of decoders: ``Decoded`` shapes per token, gradients to the decoder and through to the encoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from maskssl.interfaces import Decoded, Decoder, Encoder, Masker, Tokens
from maskssl.testing.encoder import DETERMINISM_FIX, TokensSource, check_encoded, default_masker, tokens_on
from maskssl.testing.errors import describe, fail, run
from maskssl.testing.runtime import DeviceLike, generator, global_seed, placed, resolve_devices
from maskssl.testing.tensors import expect_close, expect_gradients, expect_tensor


def check_decoded(decoded: object, tokens: Tokens, component: str) -> Decoded:
    """``decoded`` is a Decoded with prediction [B, L, T] (the shape of ``tokens.targets``) and hidden
    [B, L, Dd], float, finite, on the tokens' device."""
    if not isinstance(decoded, Decoded):
        raise fail(component, "returns Decoded", f"forward returned a {type(decoded).__name__}",
                   "return maskssl.Decoded(prediction=[B, L, T], hidden=[B, L, Dd])")
    batch, length, width = tokens.targets.shape
    expect_tensor(decoded.prediction, component, "Decoded shapes", "Decoded.prediction",
                  [("B", batch), ("L", length), ("T", width)], "float", tokens.device,
                  "predict every token position in token order: prediction has the shape of tokens.targets")
    expect_tensor(decoded.hidden, component, "Decoded shapes", "Decoded.hidden",
                  [("B", batch), ("L", length), ("Dd", None)], "float", tokens.device,
                  "return the decoder's per-token states before the prediction head as hidden [B, L, Dd]")
    return decoded


def check_decoder(
    decoder: Decoder,
    encoder: Encoder,
    tokens: TokensSource,
    *,
    masker: Masker | None = None,
    devices: Sequence[DeviceLike] | None = None,
    seed: int = 0,
    name: str | None = None,
) -> None:
    """Check a decoder behind its encoder on one batch; raises ConformanceError on the first violation.

    Args:
        decoder: built for ``encoder`` as its modality builds it (``Modality.build_decoder``).
        encoder: the encoder whose ``Encoded`` the decoder reads (checked with ``check_encoded`` too).
        tokens: a batch, targets [B, L, T]: Tokens, or ``device -> Tokens``.
        masker: draws the masks [B, L] (default: random masking at ratio 0.5).
        devices: default ``available_devices()`` (CUDA only when available; otherwise skipped silently).
        name: the registered name, for messages.

    Checked on every device, in train mode with the global RNG seeded: ``decoder(encoded, mask, tokens)``
    gives prediction [B, L, T] and hidden [B, L, Dd] (``check_decoded``); the same seed gives the same
    prediction; a second mask works; a loss on prediction and hidden reaches every trainable parameter
    of the decoder and at least one of the encoder (Encoded is not detached). Eval mode: deterministic.
    """
    component = describe("decoder", decoder, name)
    if not isinstance(decoder, Decoder):
        raise fail(component, "is a Decoder", f"got a {type(decoder).__name__}", "subclass maskssl.Decoder")
    masker = masker or default_masker()
    for device in resolve_devices(devices):
        batch = tokens_on(tokens, device)
        with placed(encoder, device, training=True), placed(decoder, device, training=True):

            def forward(mask: Tensor) -> Decoded:
                with global_seed(seed, device):
                    source = describe("encoder", encoder)
                    encoded = run(source, "forward", f"forward(tokens, mask) on {device}", lambda: encoder(batch, mask))
                    encoded = check_encoded(encoded, encoder.embed_dim, batch, source)
                    out = run(component, "forward", f"decoder(encoded, mask, tokens) on {device}",
                              lambda: decoder(encoded, mask, batch))
                return check_decoded(out, batch, component)

            mask = masker(batch, generator(seed, device))
            first = forward(mask)
            expect_close(first.prediction, forward(mask).prediction, component, "same seed, same output",
                         "Decoded.prediction", DETERMINISM_FIX)
            forward(masker(batch, generator(seed + 1, device)))
            (first.prediction.float().square().mean() + first.hidden.float().square().mean()).backward()
            expect_gradients(decoder, component, "a loss on Decoded.prediction and Decoded.hidden")
            if any(p.requires_grad for p in encoder.parameters()) and all(
                p.grad is None for p in encoder.parameters()
            ):
                raise fail(component, "gradient to the encoder", "no encoder parameter got a gradient through it",
                           "do not detach Encoded.latent (or compute from it under torch.no_grad)")
            decoder.eval()
            encoder.eval()
            with torch.no_grad():
                expect_close(forward(mask).prediction, forward(mask).prediction, component,
                             "deterministic in eval mode", "Decoded.prediction", DETERMINISM_FIX)


__all__ = ["check_decoded", "check_decoder"]
