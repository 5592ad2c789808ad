"""How the mask ratio shapes what U-MAE learns: one pretraining per ratio, every metric against the ratio.

Runs the core's sweep (maskssl.eval.sweep.run_sweep, as `maskssl sweep`) on configs/image/digits_umae.yaml
(scikit-learn's real 8x8 digits, 16 patches of 2x2): the same budget at each mask ratio, each run
evaluated as `maskssl eval` does, then plot_sweep draws one panel per metric (final training loss,
linear probe and kNN test accuracy, effective rank, alignment of two masked views at the run's own
ratio, uniformity). The table is also written to OUT/sweep.json, and each run's eval.json to OUT/ratio_R/.

    python examples/06_mask_ratio_sweep.py --out runs/example_06 --png examples/gallery/mask_ratio_sweep.png
    python examples/06_mask_ratio_sweep.py --fast --out /tmp/example_06          # 2 ratios x 3 steps: a smoke test

Full mode (5 ratios x the recipe's 50 epochs): 5 min 45 s on this project's 2-core CPU, measured with
OMP_NUM_THREADS=1 while two other benchmarks were running; --fast: about 10 s.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import maskssl
from maskssl.config.evaluation import EvalConfig, ProbeSettings
from maskssl.engine.device import select_device
from maskssl.eval.sweep import format_sweep, plot_sweep, run_sweep

REPO = Path(__file__).resolve().parents[1]
RATIOS = [0.1, 0.25, 0.5, 0.75, 0.9]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/example_06"), help="runs and (by default) the PNG")
    parser.add_argument("--png", type=Path, default=None, help="picture path (default: OUT/mask_ratio_sweep.png)")
    parser.add_argument("--ratios", type=float, nargs="+", default=RATIOS)
    parser.add_argument("--fast", action="store_true", help="ratios 0.5 and 0.9, 3 steps each: a smoke test")
    args = parser.parse_args()
    overrides = ["train.max_steps=3", "train.log_every=1"] if args.fast else []
    ratios = [0.5, 0.9] if args.fast else args.ratios
    config = maskssl.load_config("image", REPO / "configs" / "image" / "digits_umae.yaml", overrides)
    device = select_device(config.train.device)
    settings = EvalConfig(probe=ProbeSettings(epochs=5 if args.fast else 90))
    rows = run_sweep(config, ratios, args.out, device, settings)  # one dict per ratio, keys: sweep.COLUMNS
    print(format_sweep(rows))
    png = args.png or args.out / "mask_ratio_sweep.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    plot_sweep(rows, png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
