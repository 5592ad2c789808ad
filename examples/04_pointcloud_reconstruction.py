"""Point-CMAE on procedural shapes: the visible groups, the groups the decoder predicts, and the truth, in 3-D.

Pretrains the point-cloud modality's default recipe (= configs/pointcloud/point_cmae.yaml: 512 points as
32 groups of 16 around farthest-point-sampled centres, 19 groups hidden per view, two views, co-mask
term) on the offline procedural shapes, then masks test clouds with the model's own masker. Each row is
one test cloud: the visible groups (what the encoder sees), the predicted hidden groups (the first
view's decoder output, moved to its group centre) over the visible ones, and the true hidden groups.
Printed: the Chamfer-L2 of the hidden groups (the reconstruction loss) of the trained and of the
untrained model on the first test clouds.

    python examples/04_pointcloud_reconstruction.py --out runs/example_04 \
        --png examples/gallery/pointcloud_reconstruction.png
    python examples/04_pointcloud_reconstruction.py --fast --out /tmp/example_04    # 4 steps: a smoke test

Full mode (the recipe's 10 epochs of 2048 clouds, 320 steps): 3 min 15 s on this project's 2-core
CPU, measured with OMP_NUM_THREADS=1 while two other benchmarks were running; --fast: about 7 s.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import maskssl
from maskssl.checkpoints.pretrained import Pretrained, load_pretrained
from maskssl.engine.device import select_device
from maskssl.eval.plotting import new_figure

FAST = ["data.procedural_size=256", "train.batch_size=32", "train.max_steps=4", "train.log_every=2"]
PICTURED = ("box", "cone", "torus", "bowl")
"""Shapes drawn, one test cloud each (the first of its class), when the dataset has them."""
COLOURS = {"visible": "#4c72b0", "context": "#c8c8c8", "predicted": "#dd5500", "truth": "#2ca02c"}


def pretrain(out: Path, fast: bool) -> Path:
    """Train the default point-cloud recipe into out/point_cmae; returns the run directory."""
    config = maskssl.load_config("pointcloud", overrides=FAST if fast else [])
    run_dir = out / "point_cmae"
    maskssl.train(config, run_dir, overwrite=True, progress=False)
    return run_dir


def test_tokens(pretrained: Pretrained, count: int, device: torch.device) -> maskssl.Tokens:
    """Tokens of the first ``count`` test clouds: inputs groups [B, G, k, 3], positions centres [B, G, 3]."""
    dataset = pretrained.modality.build_dataset("test")
    batch = pretrained.modality.collate([dataset[i] for i in range(min(count, len(dataset)))])
    return pretrained.modality.tokenize(batch, device)


@torch.no_grad()
def reconstruct(pretrained: Pretrained, tokens: maskssl.Tokens, seed: int) -> tuple[Tensor, Tensor, float]:
    """The first view: (mask [B, G] bool, predicted groups [B, G, k, 3] around their centres, hidden Chamfer-L2)."""
    generator = torch.Generator(tokens.device).manual_seed(seed)
    view = pretrained.model(tokens, generator).views[0]
    predicted = view.decoded.prediction.view(tokens.inputs.shape) + tokens.positions[:, :, None]  # [B, G, k, 3]
    chamfer = float(pretrained.modality.reconstruction_loss(view.decoded, view.mask, tokens))
    return view.mask, predicted, chamfer


def scatter(axes: Any, points: Tensor, colour: str, size: float) -> None:
    """Draw points [N, 3] with the data's vertical y axis drawn upwards (matplotlib's z)."""
    xyz = points.cpu().numpy()
    axes.scatter(xyz[:, 0], xyz[:, 2], xyz[:, 1], s=size, c=colour, depthshade=False, linewidths=0)


def plot_rows(
    tokens: maskssl.Tokens, mask: Tensor, predicted: Tensor, rows: list[tuple[int, str]], title: str, path: Path
) -> None:
    """One row per (cloud index, name): visible groups | predicted hidden groups | true hidden groups (mask [B, G])."""
    truth = tokens.inputs + tokens.positions[:, :, None]  # [B, G, k, 3] in cloud coordinates
    titles = ("visible groups (encoder input)", "predicted hidden groups", "true hidden groups")
    figure = new_figure(9.0, 3.0 * len(rows), dpi=80)
    for r, (index, name) in enumerate(rows):
        visible = truth[index][~mask[index]].flatten(0, 1)  # [Gv * k, 3]
        guessed = predicted[index][mask[index]].flatten(0, 1)  # [Gh * k, 3]
        hidden = truth[index][mask[index]].flatten(0, 1)  # [Gh * k, 3]
        layers = (
            [(visible, COLOURS["visible"], 4.0)],
            [(visible, COLOURS["context"], 2.0), (guessed, COLOURS["predicted"], 4.0)],
            [(visible, COLOURS["context"], 2.0), (hidden, COLOURS["truth"], 4.0)],
        )
        for c, layer in enumerate(layers):
            axes = figure.add_subplot(len(rows), 3, 3 * r + c + 1, projection="3d")
            for points, colour, size in layer:
                scatter(axes, points, colour, size)
            for set_limits in (axes.set_xlim, axes.set_ylim, axes.set_zlim):
                set_limits(-0.8, 0.8)
            axes.set_box_aspect((1, 1, 1), zoom=1.35)
            axes.view_init(elev=20, azim=-60)
            axes.set_axis_off()
            axes.set_title(f"{name}: {titles[c]}" if c == 0 else titles[c], fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/example_04"), help="runs and (by default) the PNG")
    parser.add_argument(
        "--png", type=Path, default=None, help="picture path (default: OUT/pointcloud_reconstruction.png)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the masks drawn for the picture")
    parser.add_argument("--fast", action="store_true", help="4 training steps on 256 clouds: a smoke test")
    args = parser.parse_args()
    run_dir = pretrain(args.out, args.fast)
    device = select_device("auto")
    trained = load_pretrained(run_dir, device)
    tokens = test_tokens(trained, 16 if args.fast else 64, device)
    mask, predicted, chamfer = reconstruct(trained, tokens, args.seed)
    _, _, untrained_chamfer = reconstruct(load_pretrained(run_dir, device, random_init=True), tokens, args.seed)
    names = list(getattr(trained.modality.build_dataset("test"), "shapes", []))
    # Test cloud i has label i % classes, so cloud names.index(shape) is the first of that shape.
    rows = [(names.index(shape), shape) for shape in PICTURED if shape in names] or [(0, "cloud 0"), (1, "cloud 1")]
    png = args.png or args.out / "pointcloud_reconstruction.png"
    hidden, groups = int(mask[0].sum()), tokens.num_tokens
    title = f"Point-CMAE, {trained.step} steps: {hidden} of {groups} groups hidden (grey: visible points)"
    plot_rows(tokens, mask, predicted, rows, title, png)
    print(f"point_cmae: {trained.step} steps, {hidden} of {groups} groups of {tokens.inputs.shape[2]} points hidden")
    print(f"hidden-group Chamfer-L2 on {tokens.batch_size} test clouds: trained {chamfer:.5f}, "
          f"untrained {untrained_chamfer:.5f}")
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
