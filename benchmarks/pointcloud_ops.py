"""Time the point-cloud ops against the number of points, and the share of a training step spent grouping.

    python benchmarks/pointcloud_ops.py                       # CPU (or CUDA when present); a few minutes
    python benchmarks/pointcloud_ops.py --sizes 1024,4096 --batch 8 --device cpu

Table 1: per batch of B clouds of N points, in milliseconds (median of --repeats runs):
    FPS            64 farthest point samples per cloud (the tokenizer's centres)
    kNN 64x32      the 32 nearest points of each of those 64 centres (the tokenizer's groups)
    kNN Nx16       the 16 nearest points of every point (memory bounded by chunking)
    Chamfer-L2     between two clouds of N points each, forward and backward
with one column per backend (pure torch always; pytorch3d when it is importable).

Table 2: one optimizer step of the CPU recipe and of the paper-sized model (Point-CMAE, two views):
the time of ``tokenize`` (FPS + kNN grouping) and its share of the whole step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from maskssl import Tokens
from maskssl.build import build_modality, build_model
from maskssl.config.load import load_config
from maskssl_pointcloud.ops import HAS_PYTORCH3D, chamfer_distance, farthest_point_sample, knn

REPO = Path(__file__).resolve().parents[1]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after one warm-up call."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def chamfer_step(x: torch.Tensor, y: torch.Tensor, backend: str) -> None:
    x = x.detach().requires_grad_()
    chamfer_distance(x, y, norm=2, backend=backend).sum().backward()  # type: ignore[arg-type]


def train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, tokenize: Callable[[], Tokens], generator: torch.Generator
) -> None:
    """Tokenize, forward, backward and one AdamW update."""
    out = model(tokenize(), generator)
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def ops_table(sizes: list[int], batch: int, device: torch.device, repeats: int) -> str:
    backends = ["torch", "pytorch3d"] if HAS_PYTORCH3D else ["torch"]
    names = ("FPS", "kNN 64x32", "kNN Nx16", "Chamfer-L2 f+b")
    columns = [f"{name} [{backend}]" for name in names for backend in backends]
    lines = ["| N | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    generator = torch.Generator().manual_seed(0)
    for n in sizes:
        x = torch.randn(batch, n, 3, generator=generator).to(device)
        y = torch.randn(batch, n, 3, generator=generator).to(device)
        cells = []
        for name in names:
            for backend in backends:
                ops: dict[str, Callable[[], object]] = {
                    "FPS": partial(farthest_point_sample, x, 64, backend=backend),
                    "kNN 64x32": partial(knn, x[:, :64], x, 32, backend=backend),
                    "kNN Nx16": partial(knn, x, x, 16, backend=backend),
                    "Chamfer-L2 f+b": partial(chamfer_step, x, y, backend),
                }
                cells.append(f"{timed(ops[name], device, repeats):.1f}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def step_table(device: torch.device, repeats: int) -> str:
    recipes = {
        "CPU recipe (512 pts, 32x16, 128-d x4, batch 64)": (REPO / "configs/pointcloud/point_cmae.yaml", 64, []),
        "paper-sized (1024 pts, 64x32, 384-d x12, batch 16)": (
            REPO / "configs/pointcloud/shapenet55_point_cmae.yaml",
            16,
            ["data.dataset=procedural", "data.root=null"],
        ),
    }
    lines = ["| model | step (ms) | tokenize: FPS + kNN (ms) | share |", "|---|---|---|---|"]
    for name, (recipe, batch_size, overrides) in recipes.items():
        config = load_config("pointcloud", recipe, overrides)
        modality = build_modality(config)
        dataset = modality.build_dataset("train")
        batch = modality.collate([dataset[i] for i in range(batch_size)])
        torch.manual_seed(0)
        model = build_model(modality, config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        tokenize = partial(modality.tokenize, batch, device)
        step = partial(train_step, model, optimizer, tokenize, torch.Generator(device=device).manual_seed(0))
        step_ms, tokenize_ms = timed(step, device, repeats), timed(tokenize, device, repeats)
        lines.append(f"| {name} | {step_ms:.0f} | {tokenize_ms:.1f} | {100 * tokenize_ms / step_ms:.1f}% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="256,1024,4096,16384", help="comma-separated point counts N")
    parser.add_argument("--batch", type=int, default=8, help="clouds per batch for the ops table")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, pytorch3d: {HAS_PYTORCH3D}")
    print(f"\nops, batch of {args.batch} clouds, ms (median of {args.repeats})\n")
    print(ops_table([int(s) for s in args.sizes.split(",")], args.batch, device, args.repeats))
    print("\none Point-CMAE training step (two views): time in grouping\n")
    print(step_table(device, args.repeats))


if __name__ == "__main__":
    main()
