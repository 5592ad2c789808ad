"""Fine-tuning curves: test accuracy per epoch of a pretrained encoder against the same recipe from scratch.

Pretrains U-MAE with the default image recipe (configs/image/digits_umae.yaml: scikit-learn's real 8x8
digits, ViT 128x4), then fine-tunes it and a randomly initialised twin with configs/image/finetune/digits.yaml,
once with all 1437 train labels and once with 10% of them (class-balanced), evaluating the 360 test images
after every epoch. The picture has one panel per label budget: top-1 against epoch, pretrained vs scratch.

    python examples/07_finetune_curves.py --out runs/example_07 --png examples/gallery/finetune_curves.png
    python examples/07_finetune_curves.py --fast --out /tmp/example_07        # a few steps each: a smoke test

Full mode: about 8 minutes on this project's 2-core CPU; --fast: about 30 s.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import maskssl
from maskssl.eval.plotting import new_figure
from maskssl.finetune import finetune, load_finetune_config

REPO = Path(__file__).resolve().parents[1]
BUDGETS = {"all labels": ["finetune.label_fraction=1.0"],
           "10% of the labels": ["finetune.label_fraction=0.1", "train.batch_size=32"]}
"""Panel title -> overrides; 144 images are too few for batch 128."""


def curve(result: maskssl.TrainResult) -> tuple[list[int], list[float]]:
    """(epochs, test top-1) of a fine-tuning run's evaluations."""
    return [e["epoch"] + 1 for e in result.evaluations], [e["top1"] for e in result.evaluations]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/example_07"), help="runs and (by default) the PNG")
    parser.add_argument("--png", type=Path, default=None, help="picture path (default: OUT/finetune_curves.png)")
    parser.add_argument("--fast", action="store_true", help="3 pretraining steps, 2 epochs of fine-tuning")
    args = parser.parse_args()
    pretrain_overrides = ["train.max_steps=3"] if args.fast else []
    config = maskssl.load_config("image", REPO / "configs/image/digits_umae.yaml", pretrain_overrides)
    pretrained = args.out / "pretrain"
    maskssl.train(config, pretrained, overwrite=True, progress=False)
    common = ["finetune.eval_every=1", *(["train.epochs=2", "train.warmup_epochs=1"] if args.fast else [])]
    figure = new_figure(10, 4)
    axes = figure.subplots(1, len(BUDGETS), sharey=True)
    for axis, (title, budget) in zip(axes, BUDGETS.items()):
        for label, extra in (("U-MAE pretrained", []), ("random init", ["finetune.random_init=true"])):
            ft = load_finetune_config(pretrained, REPO / "configs/image/finetune/digits.yaml", [*common, *budget, *extra])
            epochs, top1 = curve(finetune(ft, args.out / f"{title}_{label}".replace(" ", "_"), overwrite=True,
                                          progress=False))
            axis.plot(epochs, top1, marker="o", markersize=3, label=label)
            print(f"{title:<18} {label:<17} top-1 per epoch: {' '.join(f'{v:.1f}' for v in top1)}")
        axis.set_title(f"digits, {title}")
        axis.set_xlabel("fine-tuning epoch")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("test top-1 (%)")
    axes[0].legend(loc="lower right")
    figure.tight_layout()
    png = args.png or args.out / "finetune_curves.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
