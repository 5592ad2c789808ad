"""Side-by-side: maskssl's image pretraining train step vs. the published facebookresearch/mae code.

    python benchmarks/compare/image_step.py --mae /path/to/mae --steps 10 --warmup 2 --batch-size 128 --threads 2
    python benchmarks/compare/image_step.py --mae /path/to/mae --profile      # + torch.profiler op tables

``--mae`` is a checkout of https://github.com/facebookresearch/mae (default: env MAE_REPO). Without
one the script prints what to pass and exits 0 (skip). mae's code is only imported from that path
(added to ``sys.path`` here); nothing of it lives in this repository.

What is built, at identical shapes (all read from ``configs/image/cifar10_vit_tiny_umae.yaml`` through
maskssl's own config resolution, then handed to both implementations):

    images            [B, 3, 32, 32] fp32 random normal (synthetic; no dataset), CPU
    patch size        2 -> 16 x 16 = 256 tokens of 2*2*3 = 12 values
    encoder           ViT-Tiny: embed_dim 192, depth 12, num_heads 3, mlp_ratio 4.0, qkv_bias, [CLS] token,
                      fixed 2-D sin-cos positions (same values, but maskssl's timm-built table orders the
                      channels [sin h, sin w, cos h, cos w], mae's [sin w, cos w, sin h, cos h]: a fixed
                      channel permutation, no effect on cost; the check below copies mae's),
                      LayerNorm eps 1e-6 (maskssl's; mae's own model factories use
                      partial(nn.LayerNorm, eps=1e-6) too, so it is passed to mae)
    decoder           embed_dim 192, depth 4, num_heads 3, mlp_ratio 4.0 (mae has one mlp_ratio for both)
    mask              random (per-sample argsort of uniform noise), ratio 0.75 -> 64 visible tokens
    loss              per-patch pixel MSE averaged over the hidden patches, norm_pix_loss false
    regularizer       the recipe's uniformity term is REMOVED (override ``regularizers.uniformity=null``),
                      so maskssl computes plain MAE; no online probe, 1 view, reconstruction_weight 1
    optimizer         AdamW, betas (0.9, 0.95), weight decay 0.05 on >=2-D tensors, 0 on 1-D ones, same lr.
                      maskssl: ``maskssl.engine.optim.build_optimizer(param_groups(...))`` as its training
                      loop builds it; mae: ``torch.optim.AdamW(param_groups, betas=(0.9, 0.95))`` as
                      main_pretrain.py, with the groups of timm's ``param_groups_weight_decay`` (the
                      function mae's ``optim_factory.add_weight_decay`` was renamed to). maskssl's
                      asks for torch's fused AdamW kernel (also on CPU), mae's is torch's default.
    precision         fp32 (no autocast), ``torch.set_num_threads(--threads)``

One timed step = (maskssl: ``modality.tokenize`` [+ the per-sample mask keys of
``maskssl.utils.keyed_random.batch_keys`` when this maskssl has them, as its loop's ``PretrainTask.prepare``
sets them] -> ``model(tokens, generator)``, mae:
``model(imgs, mask_ratio)``) -> loss.backward() -> optimizer.step() -> optimizer.zero_grad(set_to_none=True).
maskssl's tokenize (patchify of the targets) is inside the step because mae patchifies inside its
loss. The training loop's bookkeeping (lr schedule, seeding, finite check, logging) is outside both.
After ``--warmup`` steps of each, the two are run interleaved step by step (A, B, A, B, ...) in this
one process, so drift in the machine's load hits both alike; the table shows the median.

After the times, each step's matrix-product FLOPs (``torch.utils.flop_counter``: linear layers, patch
convolution and attention, forward and backward) over its median time give its achieved GFLOP/s, printed
as a share of the fp32 matmul rate ``F.linear`` reaches in the same run at the step's MLP shapes: a
step near that rate can only get faster by doing less work or by faster matmuls, not by trimming
the code around them. ``--compile`` adds a third implementation, maskssl's model under
``torch.compile`` (``train.compile=true``; same parameters and optimizer), interleaved with the other
two, after a compiling forward + backward whose time is printed with the eager and compiled losses of
one eval-mode forward (``compiled.compile_with_check``, shared with point_step.py).

``--profile`` runs torch.profiler (CPU activities) over ``--profile-steps`` steps of each (one profiler
session per step, alternating which implementation goes first), prints each one's top ``--rows`` ops by
self CPU time, the forward / backward / optimizer / zero_grad phases, the ops whose self time differs
most (with a noise-floor line: the shared timm kernels), each one's self time in matmul and attention
kernels against the rest, and then (also ``--parts`` alone) the pieces
where the two code bases differ, timed alone and interleaved: masking + visible-token gather, the
encoder and the decoder with their transformer blocks removed, patchify + loss, and one encoder /
decoder block as a control (identical timm code: their difference is the measurement noise).

Before timing, an equivalence check copies mae's weights (and its position embeddings) into the
maskssl model, draws the same noise for the mask, and compares the losses and a gradient: the two
must compute the same function (mae keeps visible tokens in shuffled order, maskssl in ascending
order; attention is permutation-equivariant, so only float rounding differs). ``--no-check`` skips it.

Run-time patches of the old mae code for current timm 1.0 / numpy 2 (nothing is edited on disk):
  * ``np.float`` (removed in numpy 1.24) is set to ``float`` before ``util.pos_embed`` is used.
  * ``models_mae.Block`` is replaced by a subclass of timm's ``Block`` that drops the ``qk_scale``
    keyword (timm >= 0.9 rejects it; mae always passes None, i.e. the default head_dim**-0.5 scale).
  * ``timm.optim.optim_factory.add_weight_decay`` no longer exists: timm's
    ``param_groups_weight_decay`` (same split) builds mae's groups here instead of importing main_pretrain.
Both implementations therefore run the *same* timm ``Block`` / ``Attention`` (fused SDPA unless
TIMM_FUSED_ATTN=0) and timm ``PatchEmbed``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable

import torch
from compiled import compile_with_check
from machine import machine
from torch import nn

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "configs/image/cifar10_vit_tiny_umae.yaml"
OVERRIDES = ["regularizers.uniformity=null", "train.precision=fp32", "train.device=cpu"]
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::_scaled_dot_product_flash_attention_for_cpu",
              "aten::_scaled_dot_product_flash_attention_for_cpu_backward")
"""Profiler keys whose self time is matrix products (linear layers, attention)."""


# -- mae, imported from its checkout with run-time patches -------------------------------------------
def import_mae(path: Path):
    """mae's ``models_mae`` module from the checkout at ``path``, patched for timm 1.0 and numpy 2."""
    import numpy as np

    if "float" not in np.__dict__:
        np.float = float  # type: ignore[attr-defined]  # util/pos_embed.py: np.arange(..., dtype=np.float)
    sys.path.insert(0, str(path))
    import models_mae  # noqa: E402  (from the checkout)
    from timm.models.vision_transformer import Block

    class BlockWithoutQkScale(Block):
        """timm's Block; mae passes ``qk_scale=None`` which timm 1.0 no longer accepts."""

        def __init__(self, *args, qk_scale=None, **kwargs):
            if qk_scale is not None:
                raise ValueError("mae passed a non-default qk_scale; timm's Block cannot honour it")
            super().__init__(*args, **kwargs)

    models_mae.Block = BlockWithoutQkScale
    return models_mae


# -- building both models ---------------------------------------------------------------------------
def build_pair(mae_path: Path, batch_size: int):
    """(maskssl modality, maskssl model, mae model, mask ratio, settings dict), same shapes, fp32, CPU."""
    from maskssl.build import build_modality, build_model
    from maskssl.config.load import load_config

    config = load_config("image", RECIPE, [*OVERRIDES, f"train.batch_size={batch_size}"])
    assert not config.regularizers, config.regularizers
    assert config.views == 1 and config.online_probe_classes is None and config.reconstruction_weight == 1.0
    assert config.masker["name"] == "random", config.masker
    modality = build_modality(config)
    enc, dec = dict(config.encoder), dict(config.decoder)
    assert enc.pop("name") == "vit" and dec.pop("name") == "mae"
    enc_mlp, dec_mlp = float(enc.get("mlp_ratio", 4.0)), float(dec.get("mlp_ratio", 4.0))
    assert enc_mlp == dec_mlp, "mae has one mlp_ratio for encoder and decoder"
    assert float(enc.get("drop_path_rate", 0.0)) == 0.0 and enc.get("pool", "cls") == "cls"
    channels, height, width = modality.image_shape
    assert height == width
    settings = dict(
        img_size=height, patch_size=modality.model.patch_size, in_chans=channels,
        embed_dim=enc["embed_dim"], depth=enc["depth"], num_heads=enc["num_heads"],
        decoder_embed_dim=dec["embed_dim"], decoder_depth=dec["depth"], decoder_num_heads=dec["num_heads"],
        mlp_ratio=enc_mlp, norm_pix_loss=modality.model.norm_pix_loss,
    )
    torch.manual_seed(0)
    ours = build_model(modality, config)
    models_mae = import_mae(mae_path)
    torch.manual_seed(0)
    theirs = models_mae.MaskedAutoencoderViT(**settings, norm_layer=partial(nn.LayerNorm, eps=1e-6))
    # same width/depth/heads/mlp/LayerNorm eps everywhere?
    assert _shapes(ours) == _shapes(theirs), "parameter shapes differ"
    return config, modality, ours, theirs, float(config.masker["ratio"]), settings


def _shapes(model: nn.Module) -> list[tuple[int, ...]]:
    """Sorted trainable parameter shapes plus LayerNorm eps values: equal for equal architectures."""
    shapes = sorted(tuple(p.shape) for p in model.parameters() if p.requires_grad)
    eps = sorted(m.eps for m in model.modules() if isinstance(m, nn.LayerNorm))
    return shapes + [tuple(eps)]


def mae_to_maskssl(theirs: nn.Module, ours: nn.Module) -> None:
    """Copy mae's weights and fixed position embeddings into the maskssl model (for the equivalence check)."""
    rename = [
        ("decoder_embed.", "decoders.0.embed."), ("mask_token", "decoders.0.mask_token"),
        ("decoder_pos_embed", "decoders.0.pos_embed"), ("decoder_blocks.", "decoders.0.blocks."),
        ("decoder_norm.", "decoders.0.norm."), ("decoder_pred.", "decoders.0.head."),
    ]
    target = {**dict(ours.named_parameters()), **dict(ours.named_buffers())}
    copied = set()
    for name, value in {**dict(theirs.named_parameters()), **dict(theirs.named_buffers())}.items():
        for old, new in rename:
            if name.startswith(old):
                name = new + name[len(old):]
                break
        else:
            name = "encoder." + name
        with torch.no_grad():
            target[name].copy_(value.detach().reshape(target[name].shape))
        copied.add(name)
    missing = set(target) - copied
    assert not missing, f"maskssl tensors without an mae counterpart: {sorted(missing)}"


def equivalence_check(modality, ours, theirs, mask_ratio: float, batch_size: int) -> str:
    """Same weights, same mask noise, same images: losses and the patch-embedding gradient of both."""
    import copy

    ours_c, theirs_c = copy.deepcopy(ours), copy.deepcopy(theirs)
    pos_same = torch.allclose(ours.encoder.pos_embed, theirs.pos_embed, atol=1e-6)
    mae_to_maskssl(theirs_c, ours_c)
    images = torch.randn(batch_size, *modality.image_shape, generator=torch.Generator().manual_seed(1))
    labels = torch.zeros(batch_size, dtype=torch.long)
    torch.manual_seed(123)  # mae's random_masking draws torch.rand(N, L) from the global generator
    loss_theirs, _, mask_theirs = theirs_c(images, mask_ratio=mask_ratio)
    generator = torch.Generator().manual_seed(123)  # maskssl's random_mask draws torch.rand(B, L, generator=...)
    out = ours_c(modality.tokenize((images, labels), torch.device("cpu")), generator)
    same_mask = torch.equal(mask_theirs.bool(), out.views[0].mask)
    loss_theirs.backward()
    out.loss.backward()
    g_theirs = theirs_c.patch_embed.proj.weight.grad
    g_ours = ours_c.encoder.patch_embed.proj.weight.grad
    grad_rel = ((g_theirs - g_ours).norm() / g_theirs.norm()).item()
    loss_diff = abs(loss_theirs.item() - out.loss.item())
    ok = same_mask and loss_diff < 1e-5 * max(1.0, abs(loss_theirs.item())) and grad_rel < 1e-4
    return (
        f"equivalence check ({'OK' if ok else 'MISMATCH'}): same mask {same_mask}; loss mae {loss_theirs.item():.7f} "
        f"maskssl {out.loss.item():.7f} |diff| {loss_diff:.1e}; patch-embed grad rel. diff {grad_rel:.1e} "
        f"(position embeddings identical before copying: {pos_same})"
    )


# -- the two train steps -----------------------------------------------------------------------------
def loop_prepare(modality, images: torch.Tensor, labels: torch.Tensor, step: int):
    """What maskssl's training loop hands the model: ``modality.tokenize`` plus, when this maskssl has
    ``maskssl.utils.keyed_random``, the samples' keys (``batch_keys`` as ``loop._accumulate`` computes them,
    seed 0, one process), so that the masker draws its noise the way a real run does."""
    tokens = modality.tokenize((images, labels), torch.device("cpu"))
    try:
        from maskssl.utils.keyed_random import batch_keys
    except ImportError:  # older maskssl: the masker draws from the generator
        return tokens
    if hasattr(tokens, "sample_keys"):
        tokens.sample_keys = batch_keys(0, step, 0, 0, 1, len(images), torch.device("cpu"))
    return tokens


def _phase(name: str, labelled: bool):
    return torch.profiler.record_function(name) if labelled else contextlib.nullcontext()


def make_steps(modality, ours, theirs, mask_ratio, batch_size, lr, betas, weight_decay, labelled=False,
               compiled_ours: Callable | None = None):
    """Closures, each running one full optimizer step of one implementation on synthetic images: mae,
    maskssl and, given ``compiled_ours`` (``torch.compile(ours)``), maskssl compiled."""
    from timm.optim import param_groups_weight_decay

    from maskssl.engine.optim import build_optimizer, param_groups

    device = torch.device("cpu")
    ours_opt = build_optimizer(param_groups(ours, weight_decay), lr, betas, device)
    theirs_opt = torch.optim.AdamW(param_groups_weight_decay(theirs, weight_decay), lr=lr, betas=betas)
    images = torch.randn(batch_size, *modality.image_shape, generator=torch.Generator().manual_seed(0))
    labels = torch.zeros(batch_size, dtype=torch.long)
    generator = torch.Generator(device=device).manual_seed(0)
    ours.train()
    theirs.train()

    counter = iter(range(10**9))

    def optimizer_step(forward: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer) -> torch.Tensor:
        """One full train step, each phase labelled for the profiler: forward, backward, update, zero_grad."""
        with _phase("step.forward", labelled):
            loss = forward()
        with _phase("step.backward", labelled):
            loss.backward()
        with _phase("step.optimizer", labelled):
            optimizer.step()
        with _phase("step.zero_grad", labelled):
            optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def maskssl_step(forward: Callable) -> Callable[[], torch.Tensor]:
        return lambda: optimizer_step(
            lambda: forward(loop_prepare(modality, images, labels, next(counter)), generator).loss, ours_opt)

    def step_mae() -> torch.Tensor:
        return optimizer_step(lambda: theirs(images, mask_ratio=mask_ratio)[0], theirs_opt)

    make_steps.optimizers = {"mae": theirs_opt, "maskssl": ours_opt}  # type: ignore[attr-defined]
    steps = {"mae": step_mae, "maskssl": maskssl_step(ours)}
    if compiled_ours is not None:  # same parameters and optimizer: only the forward differs
        steps["maskssl compiled"] = maskssl_step(compiled_ours)
    return steps


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


# -- achieved share of the matmul rate -------------------------------------------------------------------
def step_flops(step: Callable[[], object]) -> int:
    """Multiply-add FLOPs (x2) of one step: matmuls, convolutions and attention, forward and backward,
    counted by ``torch.utils.flop_counter`` (CPU's fused attention kernels added with torch's SDPA formulas)."""
    from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

    def forward(query, key, value, *args, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    aten = torch.ops.aten
    attention = {aten._scaled_dot_product_flash_attention_for_cpu: forward,
                 aten._scaled_dot_product_flash_attention_for_cpu_backward: backward}
    with FlopCounterMode(display=False, custom_mapping=attention) as counter:
        step()
    return counter.get_total_flops()


def matmul_rate(shapes: list[tuple[int, int, int]], repeats: int = 20) -> dict[tuple[int, int, int], float]:
    """GFLOP/s of fp32 ``F.linear`` ([M, K] x [N, K]^T) at each (M, K, N), median of ``repeats`` calls."""
    rates = {}
    for m, k, n in shapes:
        x, w = torch.randn(m, k), torch.randn(n, k)
        torch.nn.functional.linear(x, w)
        times = [timed(lambda: torch.nn.functional.linear(x, w)) for _ in range(repeats)]
        rates[(m, k, n)] = 2 * m * k * n / statistics.median(times) / 1e9
    return rates


def print_matmul_share(steps: dict[str, Callable], seconds: dict[str, list[float]], shapes) -> None:
    """Each implementation's achieved GFLOP/s (its counted FLOPs / its median step time) as a share of the
    in-run fp32 matmul rate at the step's MLP shapes (the fastest of them): how much of the step is matmul."""
    rates = matmul_rate(shapes)
    best = max(rates.values())
    print("\nfp32 matmul rate in this run (F.linear, median of 20): " +
          ", ".join(f"[{m}x{k}]x[{k}x{n}] {r:.1f}" for (m, k, n), r in rates.items()) + " GFLOP/s")
    header = f"{'implementation':<16} {'GFLOP/step':>10} {'GFLOP/s':>8} {'share of matmul rate':>21}"
    print(header)
    print("-" * len(header))
    for name, step in steps.items():
        flops = step_flops(step)
        achieved = flops / statistics.median(seconds[name]) / 1e9
        print(f"{name:<16} {flops / 1e9:>10.2f} {achieved:>8.1f} {100 * achieved / best:>20.1f}%")


# -- profile -----------------------------------------------------------------------------------------
def profile(steps: dict[str, Callable], num_steps: int, rows: int) -> None:
    """torch.profiler (CPU) over ``num_steps`` steps of each implementation, one step of each in turn
    (mae, maskssl, mae, ...; one profiler session per step) so that load drift hits both alike.
    Prints each one's top ``rows`` ops by self CPU time, the phases, and the ops that differ most."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    # name -> op -> [self CPU us, CPU total us, calls], summed over the profiled steps
    stats: dict[str, dict[str, list[float]]] = {name: {} for name in steps}
    for round_ in range(num_steps):
        order = list(steps.items())
        for name, step in order if round_ % 2 == 0 else order[::-1]:  # mae first, then maskssl first, ...
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                step()
            for e in prof.key_averages():
                acc = stats[name].setdefault(e.key, [0.0, 0.0, 0])
                acc[0] += e.self_cpu_time_total
                acc[1] += e.cpu_time_total
                acc[2] += e.count

    def ms(name: str, key: str, i: int = 0) -> float:
        return stats[name].get(key, [0.0, 0.0, 0])[i] / 1e3 / num_steps

    def calls(name: str, key: str) -> float:
        return stats[name].get(key, [0.0, 0.0, 0])[2] / num_steps

    def is_op(key: str) -> bool:
        return not key.startswith(("step.", "ProfilerStep"))

    for name in steps:
        total = sum(ms(name, k) for k in stats[name] if is_op(k))
        top = sorted((k for k in stats[name] if is_op(k)), key=lambda k: -ms(name, k))[:rows]
        print(f"\n=== {name}: top {rows} ops by self CPU time, per step (mean of {num_steps} profiled steps) ===")
        header = f"{'op':<60} {'self ms':>9} {'self %':>7} {'total ms':>9} {'calls':>6}"
        print(header)
        print("-" * len(header))
        for k in top:
            print(f"{k[:60]:<60} {ms(name, k):>9.2f} {100 * ms(name, k) / total:>6.1f}% {ms(name, k, 1):>9.2f} "
                  f"{calls(name, k):>6.0f}")
        print(f"{'self CPU total':<60} {total:>9.1f}")

    a_name, b_name = "mae", "maskssl"
    print("\n=== phases (inclusive CPU ms per step, record_function labels) ===")
    print(f"{'phase':<18} {'mae':>9} {'maskssl':>9} {'diff':>8}")
    for key in ("step.forward", "step.backward", "step.optimizer", "step.zero_grad"):
        a, b = ms(a_name, key, 1), ms(b_name, key, 1)
        print(f"{key:<18} {a:>9.1f} {b:>9.1f} {b - a:>+8.1f}")

    keys = [k for k in set(stats[a_name]) | set(stats[b_name]) if is_op(k)]
    diffs = sorted(keys, key=lambda k: -abs(ms(b_name, k) - ms(a_name, k)))
    print("\n=== ops with the largest self-CPU difference (ms per step; calls per step) ===")
    header = f"{'op':<52} {'mae ms':>8} {'maskssl ms':>10} {'diff ms':>8} {'mae calls':>9} {'maskssl calls':>13}"
    print(header)
    print("-" * len(header))
    for k in diffs[:rows]:
        a, b = ms(a_name, k), ms(b_name, k)
        print(f"{k[:52]:<52} {a:>8.2f} {b:>10.2f} {b - a:>+8.2f} {calls(a_name, k):>9.0f} {calls(b_name, k):>13.0f}")
    total_a, total_b = sum(ms(a_name, k) for k in keys), sum(ms(b_name, k) for k in keys)
    print(f"{'self CPU total (all ops)':<52} {total_a:>8.1f} {total_b:>10.1f} {total_b - total_a:>+8.1f}")
    shared = [k for k in keys if k.startswith(("aten::mm", "aten::addmm", "aten::_scaled_dot_product", "aten::gelu"))]
    sa, sb = sum(ms(a_name, k) for k in shared), sum(ms(b_name, k) for k in shared)
    print(f"noise floor: mm/addmm/SDPA/GELU run the same timm code at the same shapes in both and take "
          f"{sa:.0f} vs {sb:.0f} ms ({100 * (sb - sa) / sa:+.1f}%); differences of that size are load, not code")
    matmul = [k for k in keys if k in MATMUL_OPS]
    print("\n=== self CPU time in matmul and attention kernels (" + ", ".join(MATMUL_OPS) + ") ===")
    for name in (a_name, b_name):
        kernels, everything = sum(ms(name, k) for k in matmul), sum(ms(name, k) for k in keys)
        rest = sorted((k for k in keys if k not in MATMUL_OPS), key=lambda k: -ms(name, k))[:5]
        print(f"{name}: {kernels:.0f} of {everything:.0f} ms per step ({100 * kernels / everything:.1f}%); the rest's "
              "largest: " + ", ".join(f"{k} {ms(name, k):.0f}" for k in rest))
    for x, y in ((b_name, a_name), (a_name, b_name)):
        only = sorted(k for k in set(stats[x]) - set(stats[y]) if is_op(k))
        print(f"ops only {x} runs: {', '.join(only) or '-'}")


# -- the code that is not shared, in isolation ---------------------------------------------------------
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


def parts(modality, ours, theirs, mask_ratio, batch_size, repeats) -> None:
    """Forward + backward of each piece where the two code bases differ, interleaved, median ms.

    The transformer blocks are timm's ``Block`` in both (one block of each is timed as a control:
    identical code, so its difference is the measurement noise).
    """
    from maskssl.interfaces import Decoded, Encoded
    from maskssl.layers.visible import gather_visible, scatter_visible
    from maskssl.maskers import sample_views

    cpu = torch.device("cpu")
    images = torch.randn(batch_size, *modality.image_shape, generator=torch.Generator().manual_seed(0))
    labels = torch.zeros(batch_size, dtype=torch.long)
    tokens = modality.tokenize((images, labels), cpu)
    generator = torch.Generator().manual_seed(0)
    L, D = tokens.num_tokens, ours.encoder.embed_dim
    dec = ours.decoders[0]
    n_vis = L - ours.masker.num_hidden(L)
    x_full = torch.randn(batch_size, L, D, requires_grad=True)
    latent = torch.randn(batch_size, 1 + n_vis, D, requires_grad=True)
    enc_in = torch.randn(batch_size, 1 + n_vis, D, requires_grad=True)
    dec_in = torch.randn(batch_size, 1 + L, dec.embed.out_features, requires_grad=True)
    pred = torch.randn(batch_size, L, tokens.targets.shape[-1], requires_grad=True)
    keyed = loop_prepare(modality, images, labels, 0)  # with sample keys when this maskssl has them
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
            t = loop_prepare(modality, images, labels, 0)
            m = sample_views(ours.masker, t, 1, generator)[0]
            backward(ours.encoder(t, m).latent)

    def mae_model_rest():
        with without_blocks((theirs, "blocks"), (theirs, "decoder_blocks")):
            theirs(images, mask_ratio=mask_ratio)[0].backward()

    def ours_model_rest():
        with without_blocks((ours.encoder, "blocks"), (dec, "blocks")):
            ours(loop_prepare(modality, images, labels, 0), generator).loss.backward()

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
                Decoded(prediction=pred, hidden=pred), mask, modality.tokenize((images, labels), cpu)
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
    print(f"\n=== pieces where the code differs: forward+backward, median ms of {repeats} interleaved runs ===")
    header = f"{'piece':<34} {'mae ms':>8} {'maskssl ms':>10} {'diff ms':>8}"
    print(header)
    print("-" * len(header))
    for name, (a, b) in pieces.items():
        fns = [f for f in (a, b) if f is not None]
        for f in fns:
            f()  # warm-up
        times: dict[int, list[float]] = {i: [] for i in range(len(fns))}
        for _ in range(repeats if "control" not in name else max(3, repeats // 4)):
            for i, f in enumerate(fns):
                times[i].append(timed(f))
        med = [1e3 * statistics.median(times[i]) for i in range(len(fns))]
        if a is None:
            print(f"{name:<34} {'-':>8} {med[0]:>10.2f} {'':>8}")
        else:
            print(f"{name:<34} {med[0]:>8.2f} {med[1]:>10.2f} {med[1] - med[0]:>+8.2f}")
    for model in (ours, theirs):
        model.zero_grad(set_to_none=True)


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mae", default=os.environ.get("MAE_REPO"),
                        help="facebookresearch/mae checkout (env MAE_REPO)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per implementation")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per implementation first")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--profile", action="store_true", help="also profile --profile-steps steps of each")
    parser.add_argument("--profile-steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=25, help="ops per profile table")
    parser.add_argument("--parts", action="store_true", help="time the non-shared pieces alone (also with --profile)")
    parser.add_argument("--part-repeats", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="also time maskssl's model under torch.compile "
                        "(train.compile=true), interleaved with the two eager steps; mae stays eager, as published")
    parser.add_argument("--no-check", action="store_true", help="skip the loss/gradient equivalence check")
    args = parser.parse_args()

    if not args.mae or not (Path(args.mae) / "models_mae.py").is_file():
        print(
            f"skip: no facebookresearch/mae checkout ({args.mae or 'none given'}); pass --mae PATH or set MAE_REPO "
            "to a directory holding models_mae.py (git clone https://github.com/facebookresearch/mae)"
        )
        return
    torch.set_num_threads(args.threads)
    config, modality, ours, theirs, mask_ratio, settings = build_pair(Path(args.mae).resolve(), args.batch_size)
    import timm

    print(
        f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} threads, batch "
        f"{args.batch_size}, fp32 CPU; mae at {Path(args.mae).resolve()}"
    )
    print("matched settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + f", mask_ratio={mask_ratio}")
    n_ours = sum(p.numel() for p in ours.parameters() if p.requires_grad)
    n_theirs = sum(p.numel() for p in theirs.parameters() if p.requires_grad)
    print(f"trainable parameters: mae {n_theirs:,}  maskssl {n_ours:,}")
    attn = {name: {blk.attn.fused_attn for blk in blocks} for name, blocks in
            (("mae", [*theirs.blocks, *theirs.decoder_blocks]),
             ("maskssl", [*ours.encoder.blocks, *ours.decoders[0].blocks]))}
    keyed = getattr(loop_prepare(modality, torch.zeros(1, *modality.image_shape), torch.zeros(1, dtype=torch.long), 0),
                    "sample_keys", None) is not None
    print("maskssl masking noise: " + ("per-sample keys (maskssl.utils.keyed_random, as its training loop)" if keyed
                                       else "torch.rand from the generator"))
    print(f"attention: timm Attention.fused_attn (F.scaled_dot_product_attention) mae {attn['mae']} "
          f"maskssl {attn['maskssl']}")
    if not args.no_check:
        print(equivalence_check(modality, ours, theirs, mask_ratio, min(args.batch_size, 32)))

    train = config.train
    lr = train.blr * args.batch_size / 256
    compiled_ours = None
    if args.compile:
        images = torch.randn(args.batch_size, *modality.image_shape, generator=torch.Generator().manual_seed(2))
        labels = torch.zeros(args.batch_size, dtype=torch.long)
        compiled_ours, report = compile_with_check(ours, loop_prepare(modality, images, labels, 0))
        print(report)
    steps = make_steps(modality, ours, theirs, mask_ratio, args.batch_size, lr, tuple(train.betas),
                       train.weight_decay, labelled=args.profile, compiled_ours=compiled_ours)
    for name, opt in make_steps.optimizers.items():  # type: ignore[attr-defined]
        d = opt.defaults
        print(f"optimizer {name}: {type(opt).__name__} betas {d['betas']} foreach {d['foreach']} fused {d['fused']} "
              f"groups (tensors, weight_decay) {[(len(g['params']), g['weight_decay']) for g in opt.param_groups]}")
    for _ in range(args.warmup):
        for step in steps.values():
            step()
    if args.steps > 0:
        seconds: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.steps):  # interleaved: mae, maskssl[, maskssl compiled], mae, maskssl, ...
            for name, step in steps.items():
                seconds[name].append(timed(step))
        print_times(seconds, args)
        tokens = (settings["img_size"] // settings["patch_size"]) ** 2
        visible = 1 + tokens - ours.masker.num_hidden(tokens)  # [CLS] + visible patches
        mlp_shapes = [(args.batch_size * rows, width, int(width * settings["mlp_ratio"])) for rows, width in
                      ((visible, settings["embed_dim"]), (1 + tokens, settings["decoder_embed_dim"]))]
        print_matmul_share(steps, seconds, mlp_shapes)
    if args.profile:
        profile(steps, args.profile_steps, args.rows)
    if args.profile or args.parts:
        parts(modality, ours, theirs, mask_ratio, args.batch_size, args.part_repeats)


def print_times(seconds: dict[str, list[float]], args: argparse.Namespace) -> None:
    median = {name: statistics.median(s) for name, s in seconds.items()}
    print(f"\n{args.steps} interleaved steps each after {args.warmup} warm-up steps each; {machine()}")
    header = f"{'implementation':<16} {'images/s':>9} {'ms/step':>9} {'min ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for name, s in seconds.items():
        print(f"{name:<16} {args.batch_size / median[name]:>9.1f} {1e3 * median[name]:>9.1f} "
              f"{1e3 * min(s):>8.1f} {1e3 * max(s):>8.1f}")
    for name in (n for n in seconds if n != "mae"):
        pair_ratio = statistics.median(b / a for a, b in zip(seconds["mae"], seconds[name]))
        print(f"ratio {name}/mae: images/s {median['mae'] / median[name]:.3f}, ms/step "
              f"{median[name] / median['mae']:.3f} (median of per-pair time ratios {pair_ratio:.3f})")


if __name__ == "__main__":
    main()
