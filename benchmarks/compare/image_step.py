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

One timed step = (maskssl: ``modality.tokenize`` + the per-sample mask keys of
``maskssl.utils.keyed_random.batch_keys``, as its loop's ``PretrainTask.prepare`` sets them ->
``model(tokens, generator)``, mae:
``model(imgs, mask_ratio)``) -> loss.backward() -> optimizer.step() -> optimizer.zero_grad(set_to_none=True).
maskssl's tokenize (patchify of the targets) is inside the step because mae patchifies inside its
loss. The training loop's bookkeeping (lr schedule, seeding, finite check, logging) is outside both.
After ``--warmup`` steps of each, the two are run interleaved step by step (A, B, A, B, ...) in this
one process, so drift in the machine's load hits both alike; the table shows the median. Then each
step's matrix-product FLOPs over its median time, as a share of the fp32 matmul rate ``F.linear``
reaches in this run at the step's MLP shapes (harness.py). ``--compile`` adds a third implementation,
maskssl's model under ``torch.compile`` (``train.compile=true``; same parameters and optimizer),
interleaved with the other two, after a compiling forward + backward whose time is printed with the
eager and compiled losses of one eval-mode forward (``maskssl_side.compile_with_check``,
shared with point_step.py).

``--profile`` runs torch.profiler (CPU activities) over ``--profile-steps`` steps of each (one profiler
session per step, alternating which implementation goes first), prints each one's top ``--rows`` ops by
self CPU time, the forward / backward / optimizer / zero_grad phases, the ops whose self time differs
most (with a noise-floor line: the shared timm kernels), each one's self time in matmul and attention
kernels against the rest, and then (also ``--parts`` alone) the pieces where the two code bases differ
(image_differences.py), timed alone and interleaved: masking + visible-token gather, the
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

import copy
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import harness
import torch
from image_differences import parts, profile
from maskssl_side import compile_with_check, copy_weights, loop_tokens, maskssl_steps
from torch import nn

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "configs/image/cifar10_vit_tiny_umae.yaml"
OVERRIDES = ["regularizers.uniformity=null", "train.precision=fp32", "train.device=cpu"]
MAE_NAMES = [  # mae's parameter / buffer name prefix -> maskssl's (others: "encoder." + name)
    ("decoder_embed.", "decoders.0.embed."), ("mask_token", "decoders.0.mask_token"),
    ("decoder_pos_embed", "decoders.0.pos_embed"), ("decoder_blocks.", "decoders.0.blocks."),
    ("decoder_norm.", "decoders.0.norm."), ("decoder_pred.", "decoders.0.head."),
]
MAE = harness.Published("facebookresearch/mae", "--mae", "MAE_REPO", "models_mae.py",
                        "https://github.com/facebookresearch/mae")


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
    """(maskssl config, modality, maskssl model, mae model, mask ratio, settings dict), same shapes, fp32, CPU."""
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


def equivalence_check(modality, ours, theirs, mask_ratio: float, batch_size: int) -> str:
    """Same weights, same mask noise, same images: losses and the patch-embedding gradient of both."""
    ours_c, theirs_c = copy.deepcopy(ours), copy.deepcopy(theirs)
    pos_same = torch.allclose(ours.encoder.pos_embed, theirs.pos_embed, atol=1e-6)
    missing = copy_weights(theirs_c, ours_c, MAE_NAMES, "encoder.")  # weights and fixed position embeddings
    assert not missing, f"maskssl tensors without an mae counterpart: {sorted(missing)}"
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


# -- the train steps -------------------------------------------------------------------------------------
def synthetic(modality, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images [B, C, H, W] random normal from ``seed``, zero labels [B])."""
    images = torch.randn(batch_size, *modality.image_shape, generator=torch.Generator().manual_seed(seed))
    return images, torch.zeros(batch_size, dtype=torch.long)


def make_steps(config, modality, ours, theirs, mask_ratio, batch_size, labelled: bool, compiled: Callable | None):
    """Steps of mae, maskssl and, given ``compiled`` (``torch.compile(ours)``), maskssl compiled, on synthetic
    images, each phase labelled for the profiler when ``labelled``; and the two optimizers."""
    from timm.optim import param_groups_weight_decay

    train = config.train
    lr = train.blr * batch_size / 256
    images, labels = synthetic(modality, batch_size, 0)
    theirs_opt = torch.optim.AdamW(param_groups_weight_decay(theirs, train.weight_decay), lr=lr, betas=train.betas)
    theirs.train()
    step_mae = harness.train_step(lambda: theirs(images, mask_ratio=mask_ratio)[0], theirs_opt, labelled)
    ours_steps, ours_opt = maskssl_steps(ours, compiled, modality, (images, labels), train, lr, labelled)
    return {"mae": step_mae, **ours_steps}, {"mae": theirs_opt, "maskssl": ours_opt}


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = harness.parser(__doc__, MAE, unit="step", steps=10, warmup=2, threads=torch.get_num_threads(),
                            profile_steps=3, batch_size=128, compile=True)
    parser.add_argument("--parts", action="store_true", help="time the non-shared pieces alone (also with --profile)")
    parser.add_argument("--part-repeats", type=int, default=20)
    args, path = harness.parse_args(parser, MAE)
    config, modality, ours, theirs, mask_ratio, settings = build_pair(path, args.batch_size)
    import timm

    print(f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, fp32 CPU; mae at {path}")
    print("matched settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + f", mask_ratio={mask_ratio}")
    n_ours = sum(p.numel() for p in ours.parameters() if p.requires_grad)
    n_theirs = sum(p.numel() for p in theirs.parameters() if p.requires_grad)
    print(f"trainable parameters: mae {n_theirs:,}  maskssl {n_ours:,}")
    attn = {name: {blk.attn.fused_attn for blk in blocks} for name, blocks in
            (("mae", [*theirs.blocks, *theirs.decoder_blocks]),
             ("maskssl", [*ours.encoder.blocks, *ours.decoders[0].blocks]))}
    print("maskssl masking noise: per-sample keys (maskssl.utils.keyed_random, as its training loop)")
    print(f"attention: timm Attention.fused_attn (F.scaled_dot_product_attention) mae {attn['mae']} "
          f"maskssl {attn['maskssl']}")
    if not args.no_check:
        print(equivalence_check(modality, ours, theirs, mask_ratio, min(args.batch_size, 32)))

    compiled = compile_with_check(ours, loop_tokens(
        modality, synthetic(modality, args.batch_size, 2), 0)) if args.compile else None
    steps, optimizers = make_steps(config, modality, ours, theirs, mask_ratio, args.batch_size, args.profile, compiled)
    harness.print_optimizers(optimizers)
    harness.warm_up(steps, args.warmup)
    if args.steps > 0:  # interleaved: mae, maskssl[, maskssl compiled], mae, maskssl, ...
        timings = harness.time_steps(steps, args.steps)
        harness.print_times(timings, args.warmup, args.batch_size, "images", rate=".1f", ms=".1f")
        for name in (n for n in steps if n != "mae"):
            print(f"ratio {name}/mae: images/s {timings.median('mae') / timings.median(name):.3f}, ms/step "
                  f"{timings.median(name) / timings.median('mae'):.3f} (median of per-pair time ratios "
                  f"{timings.pair_ratio(name, 'mae'):.3f})")
        tokens = (settings["img_size"] // settings["patch_size"]) ** 2
        visible = 1 + tokens - ours.masker.num_hidden(tokens)  # [CLS] + visible patches
        mlp_shapes = [(args.batch_size * rows, width, int(width * settings["mlp_ratio"])) for rows, width in
                      ((visible, settings["embed_dim"]), (1 + tokens, settings["decoder_embed_dim"]))]
        harness.print_matmul_share(steps, timings, mlp_shapes)
    if args.profile:
        profile(steps, args.profile_steps, args.rows)
    if args.profile or args.parts:
        parts(modality, ours, theirs, mask_ratio, *synthetic(modality, args.batch_size, 0), args.part_repeats)


if __name__ == "__main__":
    main()
