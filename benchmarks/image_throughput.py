"""Throughput of the image train step (images/s) and its achieved GFLOP/s next to a plain matmul.

    python benchmarks/image_throughput.py                       # default recipe + ViT-Tiny CIFAR-10 recipe
    python benchmarks/image_throughput.py --steps 50 --batch-size 256

Each row builds the model a recipe describes, feeds it synthetic batches of the recipe's image shape
(so no dataset is needed and only compute is measured), and times full optimizer steps: masking,
forward, loss, backward, AdamW. FLOPs of one step are counted with torch's FlopCounterMode
(matmuls and convolutions, forward and backward). The matmul row is a square fp32 matmul timed in the
same process: the machine's practical peak for this dtype, to read the model's efficiency against.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from maskssl.build import build_modality, build_model
from maskssl.config.load import load_config
from maskssl.engine.device import select_device

REPO = Path(__file__).resolve().parents[1]
RECIPES = {
    "image default (digits)": (None, []),
    "ViT-Tiny CIFAR-10 U-MAE": (REPO / "configs/image/cifar10_vit_tiny_umae.yaml", []),
}


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Achieved GFLOP/s of a [size, size] @ [size, size] fp32 matmul."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(config_path: Path | None, overrides: list[str], batch_size: int, steps: int, device: torch.device) -> dict:
    """images/s and GFLOP/s of full train steps of one recipe on synthetic batches."""
    config = load_config("image", config_path, [*overrides, f"train.batch_size={batch_size}"])
    modality = build_modality(config)
    model = build_model(modality, config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    images = torch.randn(batch_size, *modality.image_shape)
    labels = torch.zeros(batch_size, dtype=torch.long)
    generator = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        tokens = modality.tokenize((images, labels), device)
        out = model(tokens, generator)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        step()
    step()  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = (time.perf_counter() - start) / steps
    tokens = modality.tokenize((images, labels), device)
    return {
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "tokens": tokens.num_tokens,
        "images_per_s": batch_size / seconds,
        "gflop_per_step": counter.get_total_flops() / 1e9,
        "gflops": counter.get_total_flops() / seconds / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = select_device(args.device)
    peak = matmul_gflops(device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    header = f"{'recipe':<26} {'params(M)':>9} {'tokens':>6} {'images/s':>9} {'GFLOP/step':>10} {'GFLOP/s':>8} {'% of matmul':>11}"
    print(header)
    print("-" * len(header))
    for name, (path, overrides) in RECIPES.items():
        r = measure(path, overrides, args.batch_size, args.steps, device)
        print(
            f"{name:<26} {r['params_m']:>9.2f} {r['tokens']:>6d} {r['images_per_s']:>9.1f} "
            f"{r['gflop_per_step']:>10.2f} {r['gflops']:>8.1f} {100 * r['gflops'] / peak:>10.1f}%"
        )
    print(f"{'fp32 matmul 2048^3':<26} {'':>9} {'':>6} {'':>9} {'':>10} {peak:>8.1f} {100.0:>10.1f}%")


if __name__ == "__main__":
    main()
