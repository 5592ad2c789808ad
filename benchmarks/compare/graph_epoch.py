"""Side-by-side: one GraphMAE Cora pretraining epoch in maskssl vs. the published THUDM/GraphMAE pyg-branch code.

    taskset -c 0 python benchmarks/compare/graph_epoch.py --graphmae /path/to/GraphMAE-pyg --steps 30 --warmup 3
    python benchmarks/compare/graph_epoch.py --graphmae /path/to/GraphMAE-pyg --profile   # + per-op tables
    python benchmarks/compare/graph_epoch.py --graphmae /path/to/GraphMAE-pyg --threads 2

``--threads`` (default 1) sets ``torch.set_num_threads``; pin the process (``taskset``) on a shared machine.

``--graphmae`` is a checkout of https://github.com/THUDM/GraphMAE, branch ``pyg`` (default: env GRAPHMAE_REPO).
Without one, or without the Cora files, the script says what to pass and exits 0 (skip). GraphMAE's code
is only imported from that path (added to ``sys.path`` here); nothing of it lives in this repository.

What is built, on the same graph and at identical shapes:

    graph       Cora from ``--cora-root`` as maskssl loads it (``load_node_graph``): 2708 nodes, 1433 features
                row-normalised (GraphMAE's ``T.NormalizeFeatures``), 13264 directed edges after GraphMAE's
                ``remove_self_loops`` + ``add_self_loops`` (maskssl's ``with_self_loops`` is exactly that).
                GraphMAE gets the dense features [2708, 1433]; maskssl its default sparse input (1.3% non-zero).
    GraphMAE    ``graphmae.models.build_model`` on the arguments of ``main_transductive.py --dataset cora
                --use_cfg``: its ``build_args`` defaults overlaid by ``load_best_configs(configs.yml)``.
    maskssl     ``build_model`` of configs/graph/cora.yaml. Every setting both have (widths, heads, layers,
                dropouts, mask and replace rates, SCE alpha, lr, weight decay, activation, ...) is asserted
                equal below and printed.
    optimizer   GraphMAE: its ``create_optimizer("adam", ...)`` = ``torch.optim.Adam`` with L2 weight decay on
                every tensor (for-loop implementation, torch's CPU default). maskssl: ``build_optimizer`` as its
                training loop builds it: the same Adam, fused, no weight decay on 1-D tensors.

One timed epoch = one full-batch optimizer step. GraphMAE: ``model(x, edge_index)`` (mask, corrupt,
encode, re-mask, decode, SCE, its ``loss.item()``) -> ``zero_grad`` -> ``backward`` -> ``step``, as its
``pretrain`` loop. maskssl: ``tokenize`` + the step's sample keys (as ``PretrainTask.prepare``) -> ``model(tokens,
generator)`` -> ``backward`` -> ``step`` -> ``zero_grad``. The lr schedule and the loops' logging are
outside both. After ``--warmup`` steps of each, the two run interleaved (alternating which goes first)
in this one process, so drift in the machine's load hits both alike. The table shows per epoch the median
and minimum wall-clock time and the median process CPU time (which leaves out the time other processes
hold the core), and the speed-up of maskssl in each.

Before timing, an equivalence check copies GraphMAE's weights into maskssl, gives maskssl the nodes that
GraphMAE hid and the corruption it drew (read off its corrupted input: mask-token rows, rows copied from
other nodes, and the one hidden node GraphMAE's rounding leaves uncorrupted), and compares the losses and
every parameter's gradient, with dropout off (eval mode): two independent RNG streams cannot draw the same
dropout masks (with dropout, maskssl's sparse input path differs as its README documents: input dropout
before the noise rows copy their source, no dropout on the mask token). GraphMAE's two ``GAT.activation``
PReLUs are never called (no gradient) and have no counterpart; ``--no-check`` skips the check.

Run-time patches of GraphMAE's code for this environment (nothing is edited on disk):
  * ``tensorboardX`` (imported by ``graphmae/utils.py`` for its optional TensorBoard logger, not installed
    here) is replaced by a stub module when it cannot be imported; the logger is never created.
GraphMAE's ``GATConv`` (a torch-geometric ``MessagePassing``) and ``PreModel`` run unchanged on today's
torch and torch-geometric.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
from pathlib import Path
from unittest import mock

import harness
import torch
from machine import machine
from maskssl_side import maskssl_steps
from torch import Tensor, nn

REPO = Path(__file__).resolve().parents[2]
GRAPHMAE = harness.Published("THUDM/GraphMAE pyg-branch", "--graphmae", "GRAPHMAE_REPO", "graphmae/models/edcoder.py",
                             "-b pyg https://github.com/THUDM/GraphMAE")
RECIPE = REPO / "configs/graph/cora.yaml"
DEFAULT_CORA = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data")) / "planetoid"


# -- GraphMAE, imported from its checkout -------------------------------------------------------------
def graphmae_model(path: Path, num_features: int) -> tuple[nn.Module, torch.optim.Optimizer, argparse.Namespace]:
    """GraphMAE's PreModel and Adam for Cora, as ``main_transductive.py --dataset cora --use_cfg`` builds them."""
    harness.stub_missing("tensorboardX", SummaryWriter=None)  # graphmae/utils.py: for its optional logger only
    sys.path.insert(0, str(path))
    from graphmae.models import build_model  # (from the checkout)
    from graphmae.utils import build_args, create_optimizer, load_best_configs

    argv = ["main_transductive.py", "--dataset", "cora", "--use_cfg"]
    with mock.patch.object(sys, "argv", argv), contextlib.redirect_stdout(io.StringIO()):
        logging.disable(logging.INFO)  # its "Using best configs" line
        args = load_best_configs(build_args(), str(path / "configs.yml"))
        logging.disable(logging.NOTSET)
    args.num_features = num_features
    torch.manual_seed(0)
    model = build_model(args)
    return model, create_optimizer(args.optimizer, model, args.lr, args.weight_decay), args


def matched_settings(args: argparse.Namespace, config) -> dict[str, object]:
    """GraphMAE's Cora settings, asserted equal to maskssl's recipe."""
    enc, dec, train = config.encoder, config.decoder, config.train
    pairs = {
        "encoder/decoder": ((args.encoder, args.decoder), (enc["name"], dec["name"])),
        "num_hidden": (args.num_hidden, enc["hidden_dim"]), "num_heads": (args.num_heads, enc["num_heads"]),
        "num_out_heads": (args.num_out_heads, 1), "num_layers": (args.num_layers, enc["num_layers"]),
        "in_drop": (args.in_drop, enc["in_drop"]), "attn_drop": (args.attn_drop, enc["attn_drop"]),
        "decoder in_drop/attn_drop": ((args.in_drop, args.attn_drop), (dec["in_drop"], dec["attn_drop"])),
        "negative_slope": (args.negative_slope, enc.get("negative_slope", 0.2)),
        "activation": (args.activation, enc["activation"]), "norm": (args.norm, enc["norm"]),
        "residual": (args.residual, enc["residual"]), "mask_rate": (args.mask_rate, config.masker["ratio"]),
        "replace_rate": (args.replace_rate, enc["replace_rate"]),
        "loss_fn/alpha_l": ((args.loss_fn, args.alpha_l), ("sce", config.model["alpha"])),
        "drop_edge_rate": (args.drop_edge_rate, 0.0), "concat_hidden": (args.concat_hidden, False),
        "optimizer": (args.optimizer, train.optimizer), "lr": (args.lr, train.lr),
        "weight_decay": (args.weight_decay, train.weight_decay),
    }
    for name, (theirs, ours) in pairs.items():
        assert theirs == ours, f"{name}: GraphMAE {theirs} vs maskssl {ours}"
    return {name: theirs for name, (theirs, _) in pairs.items()}


# -- weights and the equivalence check ----------------------------------------------------------------
def copy_weights(theirs: nn.Module, ours: nn.Module) -> dict[str, str]:
    """Copy GraphMAE's parameters into maskssl's; returns maskssl name -> GraphMAE name."""
    names = {
        "encoder.input.weight": "encoder.gat_layers.0.lin_src.weight",  # transposed: [F, D] vs [D, F]
        "encoder.input.mask_token": "enc_mask_token",  # [F] vs [1, F]
        "decoders.0.to_decoder.weight": "encoder_to_decoder.weight",
        "decoders.0.layer.lin.weight": "decoder.gat_layers.0.lin_src.weight",
    }
    for layer in range(len(ours.encoder.convs)):
        for part in ("att_src", "att_dst", "bias"):
            names[f"encoder.convs.{layer}.{part}"] = f"encoder.gat_layers.{layer}.{part}"
        names[f"encoder.activations.{layer}.weight"] = f"encoder.gat_layers.{layer}.activation.weight"
        if layer > 0:
            names[f"encoder.convs.{layer}.lin.weight"] = f"encoder.gat_layers.{layer}.lin_src.weight"
    for part in ("att_src", "att_dst", "bias"):
        names[f"decoders.0.layer.{part}"] = f"decoder.gat_layers.0.{part}"
    source, target = dict(theirs.named_parameters()), dict(ours.named_parameters())
    assert set(names) == set(target), f"unmapped maskssl parameters: {set(target) ^ set(names)}"
    with torch.no_grad():
        for mine, their in names.items():
            value = source[their].t() if mine == "encoder.input.weight" else source[their]
            target[mine].copy_(value.reshape(target[mine].shape))
    return names


def equivalence_check(theirs: nn.Module, ours: nn.Module, modality, tokens) -> str:
    """Loss and gradients of both on the nodes GraphMAE hides and the corruption it draws (eval mode)."""
    from maskssl_graph.corruption import Corruption

    x, edge_index = tokens.targets[0], tokens.context["edge_index"]
    theirs.eval(), ours.eval()
    with torch.no_grad():
        theirs.enc_mask_token.normal_()  # a token no row of x equals, so that token rows can be told apart
    names = copy_weights(theirs, ours)
    drawn: dict[str, Tensor] = {}
    corrupt = theirs.encoding_mask_noise

    def recording(*args, **kwargs):
        out_x, (hidden, keep) = corrupt(*args, **kwargs)
        drawn.update(x=out_x.detach(), hidden=hidden)
        return out_x, (hidden, keep)

    torch.manual_seed(0)
    with mock.patch.object(theirs, "encoding_mask_noise", recording):
        loss_theirs = theirs.mask_attr_prediction(x, edge_index)
    loss_theirs.backward()
    rows = drawn["x"][drawn["hidden"]]
    is_token = (rows == theirs.enc_mask_token.detach()).all(dim=1)
    token, others = drawn["hidden"][is_token], drawn["hidden"][~is_token]
    source = torch.stack([(x == drawn["x"][i]).all(dim=1).nonzero()[0, 0] for i in others.tolist()])
    corruption = Corruption(token=token, noise=others, source=source)
    mask = torch.zeros(1, x.shape[0], dtype=torch.bool)
    mask[0, drawn["hidden"]] = True
    with mock.patch("maskssl_graph.gat.sample_corruption", lambda *_: corruption):
        encoded = ours.encoder(tokens, mask)
    loss_ours = modality.reconstruction_loss(ours.decoders[0](encoded, mask, tokens), mask, tokens)
    loss_ours.backward()
    grads = {n: p.grad for n, p in theirs.named_parameters()}

    def difference(name: str, grad: Tensor) -> float:
        """Largest difference of the two gradients, relative to the largest entry of GraphMAE's."""
        reference = grads[names[name]].t() if name == "encoder.input.weight" else grads[names[name]]
        reference = reference.reshape(grad.shape)
        return ((grad - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()

    worst = max(difference(n, p.grad) for n, p in ours.named_parameters())
    relative = abs(loss_ours.item() - loss_theirs.item()) / abs(loss_theirs.item())
    assert relative < 1e-5 and worst < 1e-3, f"not the same computation: loss {relative:.2e}, gradient {worst:.2e}"
    theirs.zero_grad(set_to_none=True), ours.zero_grad(set_to_none=True)
    return (f"check (eval mode, GraphMAE's mask of {int(mask.sum())} nodes: {token.numel()} mask-token, "
            f"{others.numel()} copying a node or left as they are): loss GraphMAE {loss_theirs.item():.6f} maskssl "
            f"{loss_ours.item():.6f} (rel. diff {relative:.1e}); largest gradient difference over all "
            f"{len(names)} parameters {worst:.1e} of the gradient's max")


# -- the two epochs --------------------------------------------------------------------------------------
def make_steps(theirs: nn.Module, their_optimizer: torch.optim.Optimizer, ours: nn.Module, modality,
               config, x: Tensor, edge_index: Tensor) -> dict[str, harness.Step]:
    """Closures running one full-batch optimizer step (= one epoch) of each implementation."""
    theirs.train()

    def graphmae() -> None:  # GraphMAE's pretrain(): one epoch
        loss, _ = theirs(x, edge_index)
        their_optimizer.zero_grad()
        loss.backward()
        their_optimizer.step()

    # maskssl: the loop's _accumulate + _step, without bookkeeping
    batch = modality.collate([modality.build_dataset("train")[0]])
    return {"GraphMAE (pyg)": graphmae, **maskssl_steps(ours, None, modality, batch, config.train)[0]}


def print_times(timings: harness.Timings, warmup: int) -> None:
    """The table of wall-clock and process CPU times per epoch, and the speed-up."""
    print(f"\n{len(timings.wall['maskssl'])} interleaved epochs each after {warmup} warm-up epochs each "
          f"(1 epoch = 1 optimizer step), {torch.get_num_threads()} thread(s)")
    print("| implementation | ms / epoch, median (wall) | min (wall) | median (process CPU) |\n|---|---|---|---|")
    for name, wall in timings.wall.items():
        print(f"| {name} | {1e3 * timings.median(name):.1f} | {1e3 * min(wall):.1f} | "
              f"{1e3 * statistics.median(timings.cpu[name]):.1f} |")
    a, b = timings.wall
    cpu = statistics.median(timings.cpu[a]) / statistics.median(timings.cpu[b])
    print(f"speed-up of {b} over {a}: {timings.median(a) / timings.median(b):.2f}x wall (median of per-pair ratios "
          f"{timings.pair_ratio(a, b):.2f}x), {cpu:.2f}x CPU time")


def main() -> None:
    parser = harness.parser(__doc__, GRAPHMAE, unit="epoch", steps=20, warmup=3, threads=1, profile_steps=5)
    parser.add_argument("--cora-root", type=Path, default=DEFAULT_CORA, help="folder holding Cora/raw/ind.cora.*")
    args, graphmae_path = harness.parse_args(parser, GRAPHMAE)
    if not (args.cora_root / "Cora/raw/ind.cora.graph").is_file():
        print(f"skip: no Cora files under {args.cora_root}/Cora/raw/; pass --cora-root")
        return
    from maskssl.build import build_modality, build_model
    from maskssl.config.load import load_config

    config = load_config("graph", RECIPE, [f"data.root={args.cora_root}", "train.device=cpu", "train.precision=fp32"])
    assert not config.regularizers and config.views == 1 and config.online_probe_classes is None
    modality = build_modality(config)
    graph = modality.source
    torch.manual_seed(0)
    ours = build_model(modality, config)
    theirs, their_optimizer, their_args = graphmae_model(graphmae_path, graph.x.shape[1])
    settings = matched_settings(their_args, config)
    print(f"machine: {machine()}")
    print(f"GraphMAE at {graphmae_path}; Cora: {graph.num_nodes} nodes, {graph.x.shape[1]} features, "
          f"{graph.edge_index.shape[1]} edges (self-loops included)")
    print("matched settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    count = {name: sum(p.numel() for p in m.parameters()) for name, m in (("GraphMAE", theirs), ("maskssl", ours))}
    print(f"parameters: GraphMAE {count['GraphMAE']:,} (2 in never-called PReLUs), maskssl {count['maskssl']:,}")
    tokens = modality.tokenize(graph, torch.device("cpu"))
    if not args.no_check:
        print(equivalence_check(theirs, ours, modality, tokens))

    steps = make_steps(theirs, their_optimizer, ours, modality, config, graph.x, graph.edge_index)
    harness.warm_up(steps, args.warmup)
    if args.steps > 0:  # alternating which goes first
        print_times(harness.time_steps(steps, args.steps, alternate=True), args.warmup)
    if args.profile:
        profile = harness.Profile(steps, args.profile_steps)
        for name, (averages,) in profile.sessions.items():
            print(f"\n=== {name}: {args.profile_steps} steps, ops by self CPU time ===")
            print(averages.table(sort_by="self_cpu_time_total", row_limit=args.rows, max_name_column_width=48))


if __name__ == "__main__":
    main()
