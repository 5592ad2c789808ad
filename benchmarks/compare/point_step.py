"""Side-by-side: maskssl's point-cloud pretraining train step vs. the published Pang-Yatian/Point-MAE code.

    taskset -c 1 env OMP_NUM_THREADS=1 python benchmarks/compare/point_step.py --point-mae /path/to/Point-MAE \
        --steps 6 --warmup 1 --batch-size 32 --threads 1
    python benchmarks/compare/point_step.py --point-mae /path/to/Point-MAE --profile   # + per-op tables

``--point-mae`` is a checkout of https://github.com/Pang-Yatian/Point-MAE (default: env POINT_MAE_REPO).
Without one the script prints what to pass and exits 0 (skip). Point-MAE's code is only imported from
that path (added to ``sys.path`` here); nothing of it lives in this repository.

What is built, at identical shapes: Point-MAE's ``cfgs/pretrain.yaml`` (model section) is read, and
maskssl's ``configs/pointcloud/shapenet55_point_mae.yaml`` (``--recipe point_mae``, the default) or
``shapenet55_point_cmae.yaml`` (``--recipe point_cmae``: two views + co-mask term, a different objective,
timed for the record) gets the same values as overrides:

    clouds            [B, 1024, 3] fp32 random normal (synthetic; no dataset), CPU
    tokens            64 groups (FPS centres) x 32 points (kNN), relative to their centre
    encoder           mini-PointNet (128, 256 | 512, 384), 384-d x 12 blocks, 6 heads, mlp 4, no qkv bias,
                      centre MLP position added before every block, drop path 0 -> 0.1
    decoder           384-d x 4 blocks, 6 heads, own centre MLP, LayerNorm, linear head to 32 x 3
    mask              random, int(0.6 * 64) = 38 of 64 groups hidden per cloud (maskssl ratio 38/64)
    loss              Chamfer-L2 per hidden group, mean (reconstruction_weight 1, as Point-MAE)
    optimizer         AdamW lr 1e-3, betas (0.9, 0.999), weight decay 0.05. maskssl: its loop's
                      ``build_optimizer(param_groups(...))`` (fused on CPU; decay on >= 2-D tensors);
                      Point-MAE: ``torch.optim.AdamW`` with the groups of its ``tools/builder.py``
                      (no decay on 1-D tensors, biases and names containing 'token'), rebuilt here because
                      importing ``tools`` pulls in its datasets and runners
    augmentation      none on either side (maskssl ``data.augment=[]``; Point-MAE's runner applies its
                      ScaleAndTranslate outside the model, as it also re-samples the clouds with FPS)
    precision         fp32, ``torch.set_num_threads(--threads)``

Known differences that stay: maskssl's encoder has a [CLS] token (27 instead of 26 encoder tokens;
Point-CMAE's encoder) and embeds only the visible groups with the mini-PointNet (Point-MAE embeds all
64 and then drops the hidden ones: the same values up to BatchNorm's batch statistics); Point-MAE's
attention is its own q @ k^T softmax, maskssl's is timm's ``Block`` (fused SDPA), whose LayerNorms have
eps 1e-6 (timm 1.0's default) where Point-MAE's ``nn.LayerNorm`` has 1e-5.

One timed step = (maskssl: ``modality.tokenize`` (grouping) + the per-sample mask keys its loop sets ->
``model(tokens, generator).loss``; Point-MAE: ``model(points)``, grouping inside) -> ``loss.backward()``
-> ``optimizer.step()`` -> ``optimizer.zero_grad(set_to_none=True)``. After ``--warmup`` steps of each,
the two are run interleaved (A, B, A, B, ...) in this one process; the table shows medians. Large
activations (Point-MAE's mini-PointNet on [B*64*32, 512], maskssl's on [B*26*32, 512]) are fresh memory
every step, page-faulted in again; ``THP_MEM_ALLOC_ENABLE=1`` in the environment (read by torch at its
first allocation) backs them with huge pages for both sides (the table's header says whether it is set).

``--compile`` adds a third implementation, maskssl's model under ``torch.compile`` (``train.compile=true``;
same parameters and optimizer as eager maskssl), interleaved with the other two, after a compiling
forward + backward whose time is printed with the eager and compiled losses of one eval-mode forward.

Run-time patches of Point-MAE (nothing is edited on disk), all because its ops are CUDA-only:
  * ``pointnet2_ops.pointnet2_utils`` (FPS): ``furthest_point_sample`` = maskssl's pure-torch
    ``farthest_point_sample`` (same start at point 0, same greedy rule), ``gather_operation`` = a gather.
  * ``knn_cuda.KNN``: maskssl's pure-torch ``knn`` (sorted ascending, as KNN_CUDA).
  * ``chamfer`` (the CUDA extension under ``extensions/chamfer_dist``): the module is stubbed and
    ``ChamferFunction`` is replaced by maskssl's ``nearest_sq_distance`` both ways (the same squared
    nearest distances, differentiated by autograd instead of the extension's hand-written backward).
  * ``termcolor`` and ``easydict`` (imported by its utils, unused here) are stubbed when not installed.
So both sides run the same FPS / kNN / nearest-distance code; the step differences are the models'.
Nothing else needed patching: Point-MAE defines its own Attention (no timm ``qk_scale``), has no
``np.float``, and ``timm.models.layers`` still imports (with a deprecation warning).

Before timing, an equivalence check copies Point-MAE's weights (and LayerNorm eps) into a copy of the
maskssl model and runs both in eval mode (BatchNorm on its running statistics, no drop path) on the same
clouds with the same mask (Point-MAE's masking is replaced by maskssl's mask for this check only), with
maskssl's [CLS] token taken out of its encoder blocks by hooks: tokens, loss and two gradients must agree
to float tolerance.
For ``--recipe point_cmae`` it checks the parameter shapes of the first view's encoder and decoder.
"""

from __future__ import annotations

import copy
import sys
import types
from pathlib import Path

import harness
import torch
from maskssl_side import compile_with_check, copy_weights, maskssl_steps, renamed
from torch import Tensor, nn

from maskssl.config.run import TrainConfig

REPO = Path(__file__).resolve().parents[2]
POINT_MAE = harness.Published("Point-MAE", "--point-mae", "POINT_MAE_REPO", "models/Point_MAE.py",
                              "https://github.com/Pang-Yatian/Point-MAE")
RECIPES = {"point_mae": "shapenet55_point_mae.yaml", "point_cmae": "shapenet55_point_cmae.yaml"}
POINT_MAE_NAMES = [  # Point-MAE's parameter / buffer name prefix -> maskssl's (first view's decoder)
    ("MAE_encoder.encoder.first_conv.", "encoder.group_embed.first."),
    ("MAE_encoder.encoder.second_conv.", "encoder.group_embed.second."),
    ("MAE_encoder.", "encoder."), ("mask_token", "decoders.0.mask_token"),
    ("decoder_pos_embed.", "decoders.0.pos_embed."), ("MAE_decoder.blocks.", "decoders.0.blocks.blocks."),
    ("MAE_decoder.norm.", "decoders.0.norm."), ("increase_dim.0.", "decoders.0.head."),
]
MASKSSL_EXTRA = {"encoder.cls_token", "encoder.cls_pos"}  # the [CLS] token and its position


# -- Point-MAE, imported from its checkout with its CUDA ops replaced --------------------------------
def import_point_mae(path: Path):
    """Point-MAE's ``models.Point_MAE`` module from the checkout at ``path``, patched (module docstring)."""
    from maskssl_pointcloud.ops import farthest_point_sample, knn, nearest_sq_distance

    def furthest_point_sample(xyz: Tensor, count: int) -> Tensor:
        """xyz [B, N, 3] -> int32 indices [B, count], as pointnet2_ops."""
        return farthest_point_sample(xyz, count, backend="torch").int()

    def gather_operation(features: Tensor, index: Tensor) -> Tensor:
        """features [B, C, N], index [B, K] -> [B, C, K], as pointnet2_ops."""
        return features.gather(2, index.long().unsqueeze(1).expand(-1, features.shape[1], -1))

    class KNN(nn.Module):
        """knn_cuda.KNN(k, transpose_mode=True): (ref [B, N, 3], query [B, M, 3]) -> (squared dist, index [B, M, k])."""

        def __init__(self, k: int, transpose_mode: bool = False) -> None:
            super().__init__()
            assert transpose_mode, "Point-MAE uses transpose_mode=True"
            self.k = k

        def forward(self, ref: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
            return knn(query, ref, self.k, backend="torch")

    class ChamferFunction:
        """extensions.chamfer_dist.ChamferFunction: squared nearest distances x -> y [B, N] and y -> x [B, M]."""

        @staticmethod
        def apply(xyz1: Tensor, xyz2: Tensor) -> tuple[Tensor, Tensor]:
            return nearest_sq_distance(xyz1, xyz2, backend="torch"), nearest_sq_distance(xyz2, xyz1, backend="torch")

    utils = harness.stand_in("pointnet2_ops.pointnet2_utils", furthest_point_sample=furthest_point_sample,
                             gather_operation=gather_operation)
    sys.modules.update({
        "pointnet2_ops": harness.stand_in("pointnet2_ops", pointnet2_utils=utils),
        "pointnet2_ops.pointnet2_utils": utils,
        "knn_cuda": harness.stand_in("knn_cuda", KNN=KNN), "chamfer": harness.stand_in("chamfer"),
    })
    harness.stub_missing("termcolor", colored=lambda text, *a, **k: text)
    harness.stub_missing("easydict", EasyDict=dict)
    for name in ("models", "utils", "extensions"):
        if name in sys.modules:
            raise RuntimeError(f"a module named '{name}' is already imported; Point-MAE's would clash with it")
    sys.path.insert(0, str(path))
    import extensions.chamfer_dist  # noqa: E402  (from the checkout)
    import models.Point_MAE  # noqa: E402

    extensions.chamfer_dist.ChamferFunction = ChamferFunction
    return models.Point_MAE


def namespace(value: object) -> object:
    """A yaml mapping as nested attribute objects (Point-MAE reads its config as an EasyDict)."""
    if isinstance(value, dict):
        return types.SimpleNamespace(**{k: namespace(v) for k, v in value.items()})
    return value


# -- building both models ---------------------------------------------------------------------------
def build_pair(point_mae: Path, recipe: str, batch_size: int):
    """(maskssl config, modality, model; Point-MAE model, its model config), same shapes, fp32, CPU."""
    import yaml

    from maskssl.build import build_modality, build_model
    from maskssl.config.load import load_config

    theirs_cfg = yaml.safe_load((point_mae / "cfgs/pretrain.yaml").read_text())
    model_cfg, tcfg = theirs_cfg["model"], theirs_cfg["model"]["transformer_config"]
    assert model_cfg["loss"] == "cdl2" and tcfg["mask_type"] == "rand" and tcfg["trans_dim"] == tcfg["encoder_dims"]
    groups = model_cfg["num_group"]
    hidden = int(tcfg["mask_ratio"] * groups)  # Point-MAE's _mask_center_rand
    overrides = [
        "data.augment=[]", f"data.num_points={theirs_cfg['npoints']}", f"model.num_groups={groups}",
        f"model.group_size={model_cfg['group_size']}", "model.loss=chamfer_l2", "model.backend=torch",
        f"encoder.embed_dim={tcfg['trans_dim']}", f"encoder.depth={tcfg['depth']}",
        f"encoder.num_heads={tcfg['num_heads']}", f"encoder.drop_path_rate={tcfg['drop_path_rate']}",
        f"decoder.embed_dim={tcfg['trans_dim']}", f"decoder.depth={tcfg['decoder_depth']}",
        f"decoder.num_heads={tcfg['decoder_num_heads']}", f"decoder.drop_path_rate={tcfg['drop_path_rate']}",
        f"masker.ratio={hidden / groups}", "reconstruction_weight=1", f"train.batch_size={batch_size}",
        f"train.lr={theirs_cfg['optimizer']['kwargs']['lr']}",
        f"train.weight_decay={theirs_cfg['optimizer']['kwargs']['weight_decay']}",
        "train.betas=[0.9,0.999]", "train.precision=fp32", "train.device=cpu",
    ]
    config = load_config("pointcloud", REPO / "configs/pointcloud" / RECIPES[recipe], overrides)
    modality = build_modality(config)
    torch.manual_seed(0)
    ours = build_model(modality, config)
    assert ours.masker.num_hidden(groups) == hidden, (ours.masker.num_hidden(groups), hidden)
    point_mae_module = import_point_mae(point_mae)
    torch.manual_seed(0)
    theirs = point_mae_module.Point_MAE(namespace(model_cfg))
    return config, modality, ours, theirs, model_cfg


def point_mae_to_maskssl(theirs: nn.Module, ours: nn.Module) -> None:
    """Copy Point-MAE's parameters, BatchNorm buffers and LayerNorm eps into the maskssl model (its 1x1
    convolutions become linear layers). Asserts that every maskssl tensor but the [CLS] token and its
    position (and other views' decoders) has a counterpart of the same shape (size-1 axes aside)."""
    missing = copy_weights(theirs, ours, POINT_MAE_NAMES)
    missing = {n for n in missing if not n.startswith("decoders.") or n.startswith("decoders.0.")}
    assert missing == MASKSSL_EXTRA, f"maskssl tensors without a Point-MAE counterpart: {sorted(missing)}"
    modules = dict(ours.named_modules())
    for name, module in theirs.named_modules():
        if isinstance(module, nn.LayerNorm):  # timm 1.0's Block: eps 1e-6; Point-MAE's nn.LayerNorm: 1e-5
            modules[renamed(name + ".weight", POINT_MAE_NAMES).removesuffix(".weight")].eps = module.eps


def without_cls(encoder: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Hooks making the encoder's blocks skip its [CLS] token (a zero row stands in for it in the output)."""
    strip = encoder.blocks.register_forward_pre_hook(lambda _, args: (args[0][:, 1:], args[1][:, 1:]))
    restore = encoder.blocks.register_forward_hook(lambda _, __, out: torch.cat([out[:, :1] * 0, out], dim=1))
    return [strip, restore]


def equivalence_check(modality, ours: nn.Module, theirs: nn.Module, points: Tensor) -> str:
    """Same weights, clouds and mask, eval mode, [CLS] removed: tokens, loss and gradients of both."""
    ours_c, theirs_c = copy.deepcopy(ours).eval(), copy.deepcopy(theirs).eval()
    point_mae_to_maskssl(theirs_c, ours_c)
    handles = without_cls(ours_c.encoder)
    tokens = modality.tokenize((points, None), torch.device("cpu"))
    out = ours_c(tokens, torch.Generator().manual_seed(0))
    mask = out.views[0].mask
    theirs_c.MAE_encoder._mask_center_rand = lambda center, noaug=False: mask
    neighborhood, center = theirs_c.group_divider(points)
    same_tokens = torch.equal(neighborhood, tokens.inputs) and torch.equal(center, tokens.positions)
    loss_theirs = theirs_c(points)
    loss_theirs.backward()
    out.loss.backward()
    for handle in handles:
        handle.remove()
    grads = {
        "mini-PointNet first layer": (theirs_c.MAE_encoder.encoder.first_conv[0].weight,
                                      ours_c.encoder.group_embed.first[0].weight),
        "decoder head": (theirs_c.increase_dim[0].weight, ours_c.decoders[0].head.weight),
    }
    rel = {k: ((a.grad.reshape(b.shape) - b.grad).norm() / a.grad.norm()).item() for k, (a, b) in grads.items()}
    diff = abs(loss_theirs.item() - out.loss.item())
    ok = same_tokens and diff < 1e-5 * max(1.0, loss_theirs.item()) and max(rel.values()) < 1e-4
    return (
        f"equivalence check ({'OK' if ok else 'MISMATCH'}; copied weights, eval mode, same mask, maskssl's [CLS] "
        f"hooked out): same groups and centres {same_tokens}; loss Point-MAE {loss_theirs.item():.7f} maskssl "
        f"{out.loss.item():.7f} |diff| {diff:.1e}; grad rel. diff " + ", ".join(f"{k} {v:.1e}" for k, v in rel.items())
    )


# -- the train steps ---------------------------------------------------------------------------------
def point_mae_optimizer(model: nn.Module, train: TrainConfig) -> torch.optim.Optimizer:
    """Point-MAE's AdamW (tools/builder.py): no weight decay for 1-D tensors, biases and '*token*' names."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        skip = param.ndim == 1 or name.endswith(".bias") or "token" in name
        (no_decay if skip else decay).append(param)
    groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": train.weight_decay}]
    return torch.optim.AdamW(groups, lr=train.lr, betas=tuple(train.betas))


def main() -> None:
    parser = harness.parser(__doc__, POINT_MAE, unit="step", steps=6, warmup=1, threads=torch.get_num_threads(),
                            profile_steps=2, batch_size=32, compile=True)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="point_mae")
    args, path = harness.parse_args(parser, POINT_MAE)
    config, modality, ours, theirs, model_cfg = build_pair(path, args.recipe, args.batch_size)
    import timm

    print(f"torch {torch.__version__}, timm {timm.__version__}, batch {args.batch_size}, fp32 CPU; Point-MAE at "
          f"{path}; maskssl recipe {RECIPES[args.recipe]} (views {config.views}, regularizers "
          f"{list(config.regularizers) or 'none'})")
    print(f"Point-MAE model config: {model_cfg}")
    count = {n: sum(p.numel() for p in m.parameters()) for n, m in (("Point-MAE", theirs), ("maskssl", ours))}
    print("trainable parameters: " + ", ".join(f"{n} {c:,}" for n, c in count.items()))
    points = torch.randn(args.batch_size, modality.data.num_points, 3, generator=torch.Generator().manual_seed(0))
    if not args.no_check and config.views == 1:
        print(equivalence_check(modality, ours, theirs, points[: min(8, args.batch_size)]))
    elif not args.no_check:  # Point-MAE's tensors have same-shape counterparts (first view)?
        point_mae_to_maskssl(theirs, copy.deepcopy(ours))
        print("shape check OK: every Point-MAE parameter has a same-shape maskssl counterpart (first view); "
              f"maskssl adds {sorted(MASKSSL_EXTRA)} and the other views' decoders")
    compiled = (compile_with_check(ours, modality.tokenize((points, None), torch.device("cpu")))
                if args.compile else None)
    theirs_opt = point_mae_optimizer(theirs.train(), config.train)
    ours_steps, ours_opt = maskssl_steps(ours, compiled, modality, (points, None), config.train)
    steps = {"Point-MAE": harness.train_step(lambda: theirs(points), theirs_opt), **ours_steps}
    harness.print_optimizers({"Point-MAE": theirs_opt, "maskssl": ours_opt})
    harness.warm_up(steps, args.warmup)
    if args.steps > 0:
        timings = harness.time_steps(steps, args.steps)
        harness.print_times(timings, args.warmup, args.batch_size, "clouds", rate=".2f", ms=".0f")
        for name in (n for n in steps if n != "Point-MAE"):
            print(f"ratio {name} / Point-MAE clouds/s: {timings.median('Point-MAE') / timings.median(name):.2f}x "
                  f"(median of per-pair ratios {timings.pair_ratio('Point-MAE', name):.2f}x)")
    if args.profile:
        harness.Profile(steps, args.profile_steps).print_top(args.rows)


if __name__ == "__main__":
    main()
