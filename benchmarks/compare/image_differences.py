"""Where image_step.py's two train steps differ: maskssl's image code against facebookresearch/mae's.

``profile``: the harness's per-step profile of each, then mae against maskssl: the phases of the step, the
ops whose self time differs most (with a noise-floor line: the shared timm kernels), the self time in
matmul and attention kernels against the rest, the ops only one of them runs.
``parts``: the pieces where the two code bases differ, timed alone and interleaved, forward + backward:
masking + visible-token gather, the encoder and the decoder with their transformer blocks removed, patchify +
loss, and one encoder / decoder block as a control (identical timm code: their difference is the measurement
noise)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import harness
import torch
from maskssl_side import loop_tokens
from torch import Tensor, nn


def profile(steps: dict[str, Callable], count: int, rows: int) -> None:
    """``count`` profiled steps of each (one session per step, interleaved): the harness's tables and mae vs maskssl."""
    ops = harness.Profile(steps, count, per_step=True)
    ops.print_top(rows)
    a, b = "mae", "maskssl"
    print("\n=== phases (inclusive CPU ms per step, record_function labels) ===")
    print(f"{'phase':<18} {'mae':>9} {'maskssl':>9} {'diff':>8}")
    for key in ("step.forward", "step.backward", "step.optimizer", "step.zero_grad"):
        phase_a, phase_b = ops.ms(a, key, 1), ops.ms(b, key, 1)
        print(f"{key:<18} {phase_a:>9.1f} {phase_b:>9.1f} {phase_b - phase_a:>+8.1f}")

    keys = set(ops.ops(a)) | set(ops.ops(b))
    total_a, total_b = sum(ops.ms(a, k) for k in keys), sum(ops.ms(b, k) for k in keys)
    print("\n=== ops with the largest self-CPU difference (ms per step; calls per step) ===")
    harness.print_table(
        [("op", 52, ""), ("mae ms", 8, ".2f"), ("maskssl ms", 10, ".2f"), ("diff ms", 8, "+.2f"),
         ("mae calls", 9, ".0f"), ("maskssl calls", 13, ".0f")],
        [*([k[:52], ops.ms(a, k), ops.ms(b, k), ops.ms(b, k) - ops.ms(a, k), ops.calls(a, k), ops.calls(b, k)]
           for k in sorted(keys, key=lambda k: -abs(ops.ms(b, k) - ops.ms(a, k)))[:rows]),
         ["self CPU total (all ops)", f"{total_a:.1f}", f"{total_b:.1f}", f"{total_b - total_a:+.1f}"]])
    shared = [k for k in keys if k.startswith(("aten::mm", "aten::addmm", "aten::_scaled_dot_product", "aten::gelu"))]
    sa, sb = sum(ops.ms(a, k) for k in shared), sum(ops.ms(b, k) for k in shared)
    print(f"noise floor: mm/addmm/SDPA/GELU run the same timm code at the same shapes in both and take "
          f"{sa:.0f} vs {sb:.0f} ms ({100 * (sb - sa) / sa:+.1f}%); differences of that size are load, not code")
    ops.print_matmul_share((a, b))
    for x, y in ((b, a), (a, b)):
        print(f"ops only {x} runs: {', '.join(sorted(set(ops.ops(x)) - set(ops.ops(y)))) or '-'}")


@contextlib.contextmanager
def without_blocks(*owners_and_names):
    """Temporarily replace the named transformer-block lists by empty ones (the blocks are the same timm code)."""
    saved = [(owner, name, getattr(owner, name)) for owner, name in owners_and_names]
    try:
        for owner, name, _ in saved:
            setattr(owner, name, nn.ModuleList())
        yield
    finally:
        for owner, name, blocks in saved:
            setattr(owner, name, blocks)


def parts(modality, ours, theirs, mask_ratio: float, images: Tensor, labels: Tensor, repeats: int) -> None:
    """Forward + backward of each piece where the two code bases differ, interleaved, median ms.

    The transformer blocks are timm's ``Block`` in both (one block of each is timed as a control:
    identical code, so its difference is the measurement noise).
    """
    from maskssl.interfaces import Decoded, Encoded
    from maskssl.layers.visible import gather_visible, scatter_visible
    from maskssl.maskers import sample_views

    batch_size = len(images)
    tokens = modality.tokenize((images, labels), torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    L, D = tokens.num_tokens, ours.encoder.embed_dim
    dec = ours.decoders[0]
    n_vis = L - ours.masker.num_hidden(L)
    x_full = torch.randn(batch_size, L, D, requires_grad=True)
    latent = torch.randn(batch_size, 1 + n_vis, D, requires_grad=True)
    enc_in = torch.randn(batch_size, 1 + n_vis, D, requires_grad=True)
    dec_in = torch.randn(batch_size, 1 + L, dec.embed.out_features, requires_grad=True)
    pred = torch.randn(batch_size, L, tokens.targets.shape[-1], requires_grad=True)
    keyed = loop_tokens(modality, (images, labels), 0)
    mask = sample_views(ours.masker, keyed, 1, generator)[0]

    def backward(t):
        t.sum().backward()

    def mae_decoder_rest():
        with without_blocks((theirs, "decoder_blocks")):
            _, ids_restore = theirs.random_masking(x_full.detach(), mask_ratio)[1:]
            backward(theirs.forward_decoder(latent, ids_restore))

    def ours_decoder_rest():
        with without_blocks((dec, "blocks")):
            backward(dec(Encoded(latent=latent, pooled=latent[:, 0]), mask, tokens).prediction)

    def mae_encoder_rest():
        with without_blocks((theirs, "blocks")):
            backward(theirs.forward_encoder(images, mask_ratio)[0])

    def ours_encoder_rest():
        with without_blocks((ours.encoder, "blocks")):
            t = loop_tokens(modality, (images, labels), 0)
            m = sample_views(ours.masker, t, 1, generator)[0]
            backward(ours.encoder(t, m).latent)

    def mae_model_rest():
        with without_blocks((theirs, "blocks"), (theirs, "decoder_blocks")):
            theirs(images, mask_ratio=mask_ratio)[0].backward()

    def ours_model_rest():
        with without_blocks((ours.encoder, "blocks"), (dec, "blocks")):
            ours(loop_tokens(modality, (images, labels), 0), generator).loss.backward()

    mae_mask_float = mask.float()
    pieces = {
        "mask + gather visible": (
            lambda: backward(theirs.random_masking(x_full, mask_ratio)[0]),
            lambda: backward(gather_visible(x_full, sample_views(ours.masker, keyed, 1, generator)[0])),
        ),
        "put back visible + mask tokens": (
            None,  # mae's lines are inside forward_decoder; see "decoder without blocks"
            lambda: backward(scatter_visible(latent[:, 1:], mask, dec.mask_token.view(-1))),
        ),
        "encoder without blocks": (mae_encoder_rest, ours_encoder_rest),
        "decoder without blocks": (mae_decoder_rest, ours_decoder_rest),
        "patchify + loss": (
            lambda: theirs.forward_loss(images, pred, mae_mask_float).backward(),
            lambda: ours.reconstruction(
                Decoded(prediction=pred, hidden=pred), mask, modality.tokenize((images, labels), torch.device("cpu"))
            ).backward(),
        ),
        "whole step without blocks": (mae_model_rest, ours_model_rest),
        "control: 1 encoder block": (
            lambda: backward(theirs.blocks[0](enc_in)), lambda: backward(ours.encoder.blocks[0](enc_in))
        ),
        "control: 1 decoder block": (
            lambda: backward(theirs.decoder_blocks[0](dec_in)), lambda: backward(dec.blocks[0](dec_in))
        ),
    }

    def row(name: str, mae: Callable | None, maskssl: Callable) -> list[object]:
        fns = {"maskssl": maskssl} if mae is None else {"mae": mae, "maskssl": maskssl}
        harness.warm_up(fns, 1)
        timings = harness.time_steps(fns, repeats if "control" not in name else max(3, repeats // 4))
        ms = {key: 1e3 * timings.median(key) for key in fns}
        if mae is None:
            return [name, "-", ms["maskssl"], ""]
        return [name, ms["mae"], ms["maskssl"], ms["maskssl"] - ms["mae"]]

    print(f"\n=== pieces where the code differs: forward+backward, median ms of {repeats} interleaved runs ===")
    harness.print_table([("piece", 34, ""), ("mae ms", 8, ".2f"), ("maskssl ms", 10, ".2f"), ("diff ms", 8, "+.2f")],
                        (row(name, *fns) for name, fns in pieces.items()))
    for model in (ours, theirs):
        model.zero_grad(set_to_none=True)
