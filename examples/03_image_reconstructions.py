"""What a masked autoencoder sees and what it fills in: original, masked input, reconstruction, per test image.

Pretrains MAE (configs/image/mnist_mae.yaml, or digits_mae.yaml) and shows, for the first test image of
each class, the original, the input with 75% of its patches hidden (violet), and the decoder's prediction
with the visible patches pasted back. The masks come from the model's own masker through the composite
model's forward pass; the numbers printed are the mean squared error on the hidden patches (the MAE
loss, in normalised pixel units) of the trained and of the untrained model on these images.

    python examples/03_image_reconstructions.py --out runs/example_03 --png examples/gallery/image_reconstructions.png
    python examples/03_image_reconstructions.py --fast --out /tmp/example_03      # a few steps: a smoke test

--dataset auto (default) takes MNIST from $MASKSSL_SHARED_DATA/images (default ../shared/data/images) when it
is there, else scikit-learn's digits; --dataset mnist exits with status 1 when the files are absent.
Full mode on MNIST (the recipe's 20 epochs of 8000 images, 620 steps): 6 min 50 s on this project's 2-core CPU,
measured with OMP_NUM_THREADS=1 while two other benchmarks were running; --fast: about 8 s.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

import maskssl
from maskssl.checkpoints.pretrained import Pretrained, load_pretrained
from maskssl.engine.device import select_device
from maskssl.eval.plotting import new_figure
from maskssl_image import unpatchify

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
MNIST_FILE = SHARED_DATA / "images" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
FAST = {"mnist": ["train.max_steps=4", "train.log_every=2", "data.limit=512"], "digits": ["train.max_steps=4"]}


def pick_dataset(choice: str) -> str:
    """``auto``: MNIST when the shared files are present, else digits (always available)."""
    if choice == "auto":
        return "mnist" if MNIST_FILE.is_file() else "digits"
    if choice == "mnist" and not MNIST_FILE.is_file():
        sys.exit(f"MNIST not found at {MNIST_FILE.parent}: set MASKSSL_SHARED_DATA to the shared/data folder")
    return choice


def pretrain(dataset: str, out: Path, fast: bool) -> Path:
    """Train the MAE recipe of ``dataset`` into out/<dataset>; returns the run directory."""
    overrides = FAST[dataset] if fast else []
    if dataset == "mnist":
        overrides = [f"data.root={SHARED_DATA / 'images'}", *overrides]
    config = maskssl.load_config("image", REPO / "configs" / "image" / f"{dataset}_mae.yaml", overrides)
    run_dir = out / dataset
    maskssl.train(config, run_dir, overwrite=True, progress=False)
    return run_dir


def one_per_class(pretrained: Pretrained, device: torch.device) -> maskssl.Tokens:
    """Tokens of the first test image of each of the 10 classes, in class order (inputs [10, 1, H, W])."""
    dataset = pretrained.modality.build_dataset("test")
    first: dict[int, int] = {}
    for index in range(len(dataset)):
        first.setdefault(int(dataset[index][1]), index)
        if len(first) == 10:
            break
    batch = pretrained.modality.collate([dataset[first[label]] for label in sorted(first)])
    return pretrained.modality.tokenize(batch, device)


@torch.no_grad()
def reconstruct(pretrained: Pretrained, tokens: maskssl.Tokens, seed: int) -> tuple[Tensor, Tensor, float]:
    """One masked view through the model: (mask [B, L] bool, pasted patches [B, L, T], hidden-patch MSE)."""
    generator = torch.Generator(tokens.device).manual_seed(seed)
    view = pretrained.model(tokens, generator).views[0]
    pasted = torch.where(view.mask[..., None], view.decoded.prediction, tokens.targets)  # [B, L, T]
    mse = float(pretrained.modality.reconstruction_loss(view.decoded, view.mask, tokens))
    return view.mask, pasted, mse


def plot_grid(rows: dict[str, np.ndarray], path: Path, title: str) -> None:
    """Save a grid: one row per entry of ``rows`` (images [B, H, W], NaN = hidden), one column per image."""
    from matplotlib import colormaps

    grey = colormaps["gray"].with_extremes(bad="#d9b8ff")  # hidden patches (NaN) in light violet, unlike any grey
    originals = rows["original"]
    columns = originals.shape[0]
    figure = new_figure(1.0 * columns, 1.0 * len(rows) + 0.5, dpi=90)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(columns):
            axes = figure.add_subplot(len(rows), columns, r * columns + c + 1)
            low, high = float(originals[c].min()), float(originals[c].max())  # one grey scale per column
            axes.imshow(images[c], cmap=grey, vmin=low, vmax=high)
            axes.set_xticks([])
            axes.set_yticks([])
            if c == 0:
                axes.set_ylabel(name, fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.03, top=0.89, wspace=0.08, hspace=0.08)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/example_03"), help="runs and (by default) the PNG")
    parser.add_argument("--png", type=Path, default=None, help="picture path (default: OUT/image_reconstructions.png)")
    parser.add_argument("--dataset", choices=["auto", "mnist", "digits"], default="auto")
    parser.add_argument("--seed", type=int, default=0, help="seed of the masks drawn for the picture")
    parser.add_argument("--fast", action="store_true", help="4 training steps: a smoke test")
    args = parser.parse_args()
    dataset = pick_dataset(args.dataset)
    run_dir = pretrain(dataset, args.out, args.fast)
    device = select_device("auto")
    trained = load_pretrained(run_dir, device)
    tokens = one_per_class(trained, device)
    mask, pasted, mse = reconstruct(trained, tokens, args.seed)
    _, _, untrained_mse = reconstruct(load_pretrained(run_dir, device, random_init=True), tokens, args.seed)
    patch, grid = trained.modality.model.patch_size, tokens.grid
    masked = tokens.targets.masked_fill(mask[..., None], float("nan"))  # [B, L, T], NaN = hidden
    rows = {
        name: unpatchify(patches, patch, grid)[:, 0].cpu().numpy()  # [B, H, W]: the first (only) channel
        for name, patches in (("original", tokens.targets), ("masked input", masked), ("reconstruction", pasted))
    }
    hidden = int(mask[0].sum())
    png = args.png or args.out / "image_reconstructions.png"
    plot_grid(rows, png, f"MAE on {dataset} ({trained.step} steps): {hidden} of {tokens.num_tokens} patches hidden")
    print(f"{dataset}: {trained.step} steps, {hidden} of {tokens.num_tokens} patches hidden")
    print(f"hidden-patch MSE on the pictured test images: trained {mse:.4f}, untrained {untrained_mse:.4f}")
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
