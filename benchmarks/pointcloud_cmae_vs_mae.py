"""Point-MAE against Point-CMAE with the same budget, several seeds: linear probe and kNN of frozen features.

    python benchmarks/pointcloud_cmae_vs_mae.py                        # procedural and ModelNet subset, seeds 0 1 2
    python benchmarks/pointcloud_cmae_vs_mae.py --datasets procedural --seeds 0 --out runs/pc_bench

Per dataset the CPU recipes `configs/pointcloud/<prefix>point_mae.yaml` (one view) and
`<prefix>point_cmae.yaml` (two views + co-mask contrast) are trained per seed, then evaluated as
`maskssl eval` does; the encoder at random initialisation (the same for both recipes, seeded by
train.seed) gives the floor. The ModelNet40 subset is read from $MASKSSL_SHARED_DATA/pointclouds
(default ../shared/data/pointclouds) and probed as airplane vs person vs rest. Prints a mean ± std
table and writes results.json and results.md to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import torch

from maskssl.checkpoints.pretrained import load_pretrained
from maskssl.config.load import load_config
from maskssl.engine.device import select_device
from maskssl.eval.evaluate import evaluate
from maskssl.pretrain import train
from summary import results_table, write_results

REPO = Path(__file__).resolve().parents[1]
DATASETS = {"procedural": "", "modelnet_subset": "modelnet_subset_"}
"""Recipe file prefix per dataset."""
METHODS = {"Point-MAE": "point_mae", "Point-CMAE": "point_cmae", "random init": None}
COLUMNS = {"linear_probe": "linear probe (%)", "knn": "kNN (%)", "effective_rank": "effective rank", "train_minutes": "train (min)"}


def run_one(dataset: str, method: str, seed: int, out: Path, device: torch.device, extra: list[str]) -> dict[str, Any]:
    """Train (unless random init) and evaluate one (dataset, method, seed); returns the metrics."""
    shared = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
    overrides = [f"train.seed={seed}", *extra]
    if dataset == "modelnet_subset":
        overrides.append(f"data.root={shared / 'pointclouds' / 'modelnet40_resampled_subset_1024.npz'}")
    recipe = METHODS[method] or METHODS["Point-MAE"]  # random init: the Point-MAE run's (identical) encoder
    run_dir = out / dataset / f"{recipe}_seed{seed}"
    minutes = 0.0
    if METHODS[method] is not None:
        recipe_file = REPO / "configs" / "pointcloud" / f"{DATASETS[dataset]}{recipe}.yaml"
        config = load_config("pointcloud", recipe_file, overrides)
        start = time.perf_counter()
        train(config, run_dir, overwrite=True, progress=False)
        minutes = (time.perf_counter() - start) / 60
    pretrained = load_pretrained(run_dir, device, random_init=METHODS[method] is None)
    report = evaluate(pretrained, device, dataclasses.replace(pretrained.config.eval, seed=seed))
    return {
        "linear_probe": report["linear_probe"]["test_accuracy"],
        "knn": report["knn"]["accuracy"],
        "effective_rank": report["effective_rank"],
        "train_minutes": minutes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("runs/pointcloud_cmae_vs_mae"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every run, e.g. train.epochs=5")
    args = parser.parse_args()
    device = select_device(args.device)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for dataset in args.datasets:
        for method in METHODS:
            for seed in args.seeds:
                row = run_one(dataset, method, seed, args.out, device, args.overrides)
                results.setdefault(dataset, {}).setdefault(method, []).append(row)
                values = ", ".join(f"{k} {v:.3f}" for k, v in row.items())
                print(f"{dataset} {method} seed {seed}: {values}", flush=True)
    table = results_table(results, COLUMNS)
    write_results(args.out, results, table)
    print(f"\nseeds {args.seeds}, {torch.get_num_threads()} threads on {device}\n{table}")


if __name__ == "__main__":
    main()
