"""MAE against U-MAE with the same budget on real images, several seeds: probes and feature geometry.

    python benchmarks/umae_vs_mae.py                                  # digits and MNIST, seeds 0 1 2
    python benchmarks/umae_vs_mae.py --datasets digits --seeds 0 1 --out runs/umae_vs_mae
    python benchmarks/umae_vs_mae.py --datasets mnist --methods U-MAE --umae-weight 0.001 --out runs/lambda_0.001
    python benchmarks/umae_vs_mae.py --datasets mnist --out runs/long train.epochs=100   # any config override

For each dataset the recipe `configs/image/<dataset>_umae.yaml` is trained twice per seed: with the
uniformity weight 0 (MAE; the term is still logged) and 0.01 (U-MAE; --umae-weight). Each run is then evaluated
as `maskssl eval` does (linear probe, kNN, effective rank, alignment, uniformity), and the encoder at
random initialisation gives the floor. MNIST is read from $MASKSSL_SHARED_DATA/images (default
../shared/data/images). Prints a mean ± std table and writes results.json and results.md to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
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
METHODS = ("MAE", "U-MAE", "random init")
"""Random init evaluates the MAE run's architecture before training."""
COLUMNS = {
    "linear_probe": "linear probe (%)", "knn": "kNN (%)", "effective_rank": "effective rank",
    "alignment": "alignment", "uniformity": "uniformity", "reconstruction": "reconstruction (last 5 logs)",
}


def final_reconstruction(run_dir: Path, last: int = 5) -> float:
    """Mean reconstruction loss of the run's ``last`` logged steps (metrics.jsonl)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()[-last:]]
    return sum(record["reconstruction"] for record in records) / len(records)


def run_one(
    dataset: str, weight: float | None, seed: int, out: Path, device: torch.device, extra: list[str]
) -> dict[str, Any]:
    """Train with uniformity weight ``weight`` (None: random init, untrained) and evaluate one seed."""
    shared = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
    overrides = [f"train.seed={seed}", *extra]
    if dataset == "mnist":
        overrides.append(f"data.root={shared / 'images'}")
    run_dir = out / dataset / f"{'umae' if weight else 'mae'}_seed{seed}"  # random init: the MAE run's config
    if weight is not None:
        config = load_config("image", REPO / f"configs/image/{dataset}_umae.yaml", overrides)
        config.regularizers["uniformity"]["weight"] = weight
        train(config, run_dir, overwrite=True, progress=False)
    pretrained = load_pretrained(run_dir, device, random_init=weight is None)
    report = evaluate(pretrained, device, dataclasses.replace(pretrained.config.eval, seed=seed))
    trained = {} if weight is None else {"reconstruction": final_reconstruction(run_dir)}
    return trained | {
        "linear_probe": report["linear_probe"]["test_accuracy"],
        "knn": report["knn"]["accuracy"],
        "effective_rank": report["effective_rank"],
        "alignment": report["alignment"],
        "uniformity": report["uniformity"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"], choices=["digits", "mnist"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("runs/umae_vs_mae"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--umae-weight", type=float, default=0.01, help="U-MAE's lambda (default 0.01, the paper's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every run, e.g. train.epochs=5")
    args = parser.parse_args()
    device = select_device(args.device)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for dataset in args.datasets:
        for method in args.methods:
            weight = {"MAE": 0.0, "U-MAE": args.umae_weight, "random init": None}[method]
            for seed in args.seeds:
                row = run_one(dataset, weight, seed, args.out, device, args.overrides)
                results.setdefault(dataset, {}).setdefault(method, []).append(row)
                print(f"{dataset} {method} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    table = results_table(results, COLUMNS)
    write_results(args.out, results, table)
    print(f"\nseeds {args.seeds}, {torch.get_num_threads()} threads on {device}\n{table}")


if __name__ == "__main__":
    main()
