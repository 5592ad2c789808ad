"""GraphMAE's published numbers, reproduced: Cora (node protocol) and MUTAG (graph protocol), several seeds.

    python benchmarks/graphmae_reproduce.py                              # Cora and MUTAG, seeds 0-4 (about 50 min)
    python benchmarks/graphmae_reproduce.py --recipes mutag --seeds 0 1 --out runs/graphmae
    python benchmarks/graphmae_reproduce.py --eval-only --out runs/graphmae_reproduce   # re-evaluate saved runs

Each recipe `configs/graph/<recipe>.yaml` is pretrained once per seed (``train.seed``) and evaluated as
`maskssl eval` does with its modality's protocol: for node tasks the mean test accuracy of 5 logistic
regressions (Adam lr 0.01, 300 epochs, selected on the validation nodes, probe seeds seed..seed+4),
for graph tasks the mean accuracy of an SVM over 10 stratified folds. GraphMAE's code prints two node
accuracies, the test accuracy of the probe's last epoch ("final_acc") and of its best validation epoch
("early-stopping"); both are reported. The table gives mean ± std of
those per-seed accuracies over pretraining seeds (GraphMAE reports mean ± std over seeds too), the
same encoder at random initialisation as the floor, and the pretraining wall time. Data is read from
$MASKSSL_SHARED_DATA (default ../shared/data): planetoid/ for Planetoid graphs, TUDataset/ for TU ones.
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
DATA_FOLDER = {"cora": "planetoid", "citeseer": "planetoid", "pubmed": "planetoid", "mutag": "TUDataset", "proteins": "TUDataset"}
"""The folder of the shared data holding each recipe's dataset."""
PUBLISHED = {"cora": "84.2 ± 0.4", "citeseer": "73.4 ± 0.4", "pubmed": "81.1 ± 0.4", "mutag": "88.19 ± 1.26", "proteins": "75.30 ± 0.39"}
"""GraphMAE's reported accuracy (docs/reference.md)."""
COLUMNS = {
    "accuracy": "test accuracy (%)", "last_epoch_accuracy": "node probe: last-epoch test accuracy (%)",
    "train_minutes": "pretraining (min)",
}


def accuracies(report: dict[str, Any]) -> dict[str, float]:
    """The protocol's accuracies: logreg test mean at the best validation epoch and at the last epoch (node
    tasks), or the SVM's mean over folds (graph tasks)."""
    if "logreg" in report:
        logreg = report["logreg"]
        return {"accuracy": logreg["test_accuracy_mean"], "last_epoch_accuracy": logreg["final_test_accuracy_mean"]}
    return {"accuracy": report["svm"]["accuracy_mean"]}


def run_one(
    recipe: str, seed: int, random_init: bool, out: Path, device: torch.device, extra: list[str], eval_only: bool
) -> dict[str, float]:
    """Pretrain (unless random init or ``eval_only``: the run in ``out`` is reused) and evaluate one seed."""
    shared = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
    overrides = [f"train.seed={seed}", f"data.root={shared / DATA_FOLDER[recipe]}", *extra]
    run_dir = out / recipe / f"seed{seed}"
    minutes = 0.0
    if not random_init and not eval_only:
        config = load_config("graph", REPO / "configs" / "graph" / f"{recipe}.yaml", overrides)
        start = time.perf_counter()
        train(config, run_dir, overwrite=True, progress=False)
        minutes = (time.perf_counter() - start) / 60
    pretrained = load_pretrained(run_dir, device, random_init=random_init)
    report = evaluate(pretrained, device, dataclasses.replace(pretrained.config.eval, seed=seed))
    timing = {} if eval_only else {"train_minutes": minutes}
    return accuracies(report) | timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=["cora", "mutag"], choices=list(DATA_FOLDER))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=Path("runs/graphmae_reproduce"))
    parser.add_argument("--eval-only", action="store_true", help="evaluate the runs already in --out, train nothing")
    parser.add_argument("--device", default="auto")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every run, e.g. train.epochs=100")
    args = parser.parse_args()
    device = select_device(args.device)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for recipe in args.recipes:
        for method, random_init in (("GraphMAE", False), ("random init", True)):
            for seed in args.seeds:
                row = run_one(recipe, seed, random_init, args.out, device, args.overrides, args.eval_only)
                results.setdefault(recipe, {}).setdefault(method, []).append(row)
                print(f"{recipe} {method} seed {seed}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
    table = results_table(results, COLUMNS)
    write_results(args.out, results, table)
    published = ", ".join(f"{recipe} {PUBLISHED[recipe]}" for recipe in args.recipes)
    print(f"\nseeds {args.seeds}, {torch.get_num_threads()} threads on {device}; GraphMAE reports {published}\n{table}")


if __name__ == "__main__":
    main()
