"""GraphMAE's published numbers, reproduced: Cora (node protocol) and MUTAG (graph protocol), several seeds.

    python benchmarks/graphmae_reproduce.py                              # Cora and MUTAG, seeds 0-4 (about 50 min)
    python benchmarks/graphmae_reproduce.py --recipes mutag --seeds 0 1 --out runs/graphmae

Each recipe `configs/graph/<recipe>.yaml` is pretrained once per seed (``train.seed``) and evaluated as
`maskssl eval` does with its modality's protocol: for node tasks the mean test accuracy of 5 logistic
regressions (Adam lr 0.01, 300 epochs, selected on the validation nodes, probe seeds seed..seed+4),
for graph tasks the mean accuracy of an SVM over 10 stratified folds. The table gives mean ± std of
those per-seed accuracies over pretraining seeds (GraphMAE reports mean ± std over seeds too), the
same encoder at random initialisation as the floor, and the pretraining wall time. Data is read from
$MASKSSL_SHARED_DATA (default ../shared/data): planetoid/ for Planetoid graphs, TUDataset/ for TU ones.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import torch
from maskssl.build import load_config
from maskssl.engine.device import select_device
from maskssl.engine.loop import train
from maskssl.eval.evaluate import EvalSettings, evaluate
from maskssl.eval.pretrained import load_pretrained
from summary import results_table, write_results

REPO = Path(__file__).resolve().parents[1]
DATA_FOLDER = {"cora": "planetoid", "citeseer": "planetoid", "pubmed": "planetoid", "mutag": "TUDataset", "proteins": "TUDataset"}
"""The folder of the shared data holding each recipe's dataset."""
PUBLISHED = {"cora": "84.2 ± 0.4", "citeseer": "73.4 ± 0.4", "pubmed": "81.1 ± 0.4", "mutag": "88.19 ± 1.26", "proteins": "75.30 ± 0.39"}
"""GraphMAE's reported accuracy (../shared/REFERENCE.md)."""
COLUMNS = {"accuracy": "test accuracy (%)", "train_minutes": "pretraining (min)"}


def accuracy(report: dict[str, Any]) -> float:
    """The protocol's headline accuracy: logreg test mean (node tasks) or SVM mean over folds (graph tasks)."""
    if "logreg" in report:
        return report["logreg"]["test_accuracy_mean"]
    return report["svm"]["accuracy_mean"]


def run_one(recipe: str, seed: int, random_init: bool, out: Path, device: torch.device, extra: list[str]) -> dict[str, float]:
    """Pretrain (unless random init) and evaluate one (recipe, seed)."""
    shared = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
    overrides = [f"train.seed={seed}", f"data.root={shared / DATA_FOLDER[recipe]}", *extra]
    run_dir = out / recipe / f"seed{seed}"
    minutes = 0.0
    if not random_init:
        config = load_config("graph", REPO / "configs" / "graph" / f"{recipe}.yaml", overrides)
        start = time.perf_counter()
        train(config, run_dir, overwrite=True, progress=False)
        minutes = (time.perf_counter() - start) / 60
    report = evaluate(load_pretrained(run_dir, device, random_init=random_init), device, EvalSettings(seed=seed))
    return {"accuracy": accuracy(report), "train_minutes": minutes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=["cora", "mutag"], choices=list(DATA_FOLDER))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=Path("runs/graphmae_reproduce"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every run, e.g. train.epochs=100")
    args = parser.parse_args()
    device = select_device(args.device)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for recipe in args.recipes:
        for method, random_init in (("GraphMAE", False), ("random init", True)):
            for seed in args.seeds:
                row = run_one(recipe, seed, random_init, args.out, device, args.overrides)
                results.setdefault(recipe, {}).setdefault(method, []).append(row)
                print(f"{recipe} {method} seed {seed}: accuracy {row['accuracy']:.2f}, "
                      f"{row['train_minutes']:.1f} min", flush=True)
    table = results_table(results, COLUMNS)
    write_results(args.out, results, table)
    published = ", ".join(f"{recipe} {PUBLISHED[recipe]}" for recipe in args.recipes)
    print(f"\nseeds {args.seeds}, {torch.get_num_threads()} threads on {device}; GraphMAE reports {published}\n{table}")


if __name__ == "__main__":
    main()
