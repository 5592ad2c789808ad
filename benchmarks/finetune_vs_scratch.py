"""Fine-tuning a pretrained encoder against the same recipe from random initialisation, several seeds.

    python benchmarks/finetune_vs_scratch.py                                    # every section, seeds 0 1 2
    python benchmarks/finetune_vs_scratch.py --sections mnist --seeds 0 --out runs/ft_bench
    python benchmarks/finetune_vs_scratch.py --sections fewshot --episodes 10

Sections (each pretrains per seed, then fine-tunes the pretrained encoder and a random one with the same
recipe and budget; the random encoder is the pretraining config's, seeded by train.seed):

    mnist       configs/image/mnist_umae.yaml pretrained as MAE (uniformity weight 0) and as U-MAE (0.01),
                fine-tuned with configs/image/finetune/mnist.yaml on all, 10% and 1% of the train labels
                (class-balanced); smaller label sets get a smaller batch and more epochs (FRACTIONS)
    procedural  configs/pointcloud/point_cmae.yaml (the default of --modality pointcloud), fine-tuned with
                configs/pointcloud/finetune/procedural.yaml (the default fine-tuning recipe)
    modelnet    configs/pointcloud/modelnet_subset_point_mae.yaml (the real, imbalanced ModelNet shapes as
                airplane / person / rest), fine-tuned with configs/pointcloud/finetune/modelnet_subset.yaml;
                balanced accuracy is the number to read
    fewshot     5-way 10-shot episodes over the procedural classes (Point-MAE's protocol: 20 test samples per
                class), from the procedural section's pretraining runs, mean ± std over episodes and seeds
    mutag, enzymes  configs/graph/{mutag,enzymes}.yaml, fine-tuned with configs/graph/finetune/tu.yaml on each
                of 10 stratified folds; a seed's value is the mean over its folds

Reported: the last evaluation's top-1 and balanced accuracy on the test split (never the best over
evaluations, which would select on the test set). Prints a mean ± std table per section and writes
results.json and results.md to --out. Real data is read from $MASKSSL_SHARED_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from maskssl.config.load import load_config
from maskssl.finetune import finetune, load_finetune_config
from maskssl.pretrain import train
from summary import results_table, write_results

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
CONFIGS = REPO / "configs"
FRACTIONS = {
    1.0: ["train.epochs=3", "finetune.eval_every=1"],
    0.1: ["train.batch_size=64", "train.epochs=30", "train.warmup_epochs=3", "finetune.eval_every=10"],
    0.01: ["train.batch_size=16", "train.epochs=100", "train.warmup_epochs=10", "finetune.eval_every=50"],
}
"""Per label fraction of MNIST (8000 train images): batch and epochs, the same for every initialisation
(about 24k, 24k and 8k training samples seen)."""
COLUMNS = {"top1": "top-1 (%)", "balanced_accuracy": "balanced accuracy (%)", "minutes": "fine-tune (min)"}

Rows = dict[str, dict[str, list[dict[str, float]]]]
"""setting -> initialisation -> one dict of metrics per seed."""


def pretrain(recipe: str, modality: str, seed: int, run_dir: Path, extra: list[str]) -> Path:
    """Pretrain ``recipe`` with ``train.seed=seed`` into ``run_dir`` (kept when it is already complete)."""
    if (run_dir / "done").exists():
        return run_dir
    config = load_config(modality, CONFIGS / recipe, [f"train.seed={seed}", *extra])
    train(config, run_dir, overwrite=True, progress=False)
    (run_dir / "done").touch()
    return run_dir


def finetune_one(pretrained: Path, recipe: str, seed: int, run_dir: Path, extra: list[str]) -> dict[str, float]:
    """Fine-tune ``pretrained`` with ``recipe``; the last evaluation's metrics and the time it took.

    A finished run leaves ``row.json`` and is not run again, so that seeds can run in separate processes
    (``--seeds 0`` and ``--seeds 1`` side by side) and a last call with every seed collects the table.
    """
    done = run_dir / "row.json"
    if done.exists():
        return json.loads(done.read_text())
    start = time.perf_counter()
    config = load_finetune_config(pretrained, CONFIGS / recipe, [f"train.seed={seed}", *extra])
    result = finetune(config, run_dir, overwrite=True, progress=False)
    last = result.evaluations[-1]
    row = {"top1": last["top1"], "balanced_accuracy": last["balanced_accuracy"]}
    row["minutes"] = (time.perf_counter() - start) / 60
    done.write_text(json.dumps(row))
    return row


def both_inits(pretrained: Path, name: str, recipe: str, seed: int, out: Path, extra: list[str]) -> dict[str, dict]:
    """{name: fine-tuned from ``pretrained``, "random init": the same recipe from random weights}."""
    return {
        name: finetune_one(pretrained, recipe, seed, out / f"{name}_seed{seed}", extra),
        "random init": finetune_one(
            pretrained, recipe, seed, out / f"scratch_seed{seed}", [*extra, "finetune.random_init=true"]
        ),
    }


def add(rows: Rows, setting: str, found: dict[str, dict[str, float]]) -> None:
    for init, metrics in found.items():
        rows.setdefault(setting, {}).setdefault(init, []).append(metrics)
        print(f"{setting} {init}: " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()), flush=True)


def mnist(seeds: list[int], out: Path, args: argparse.Namespace) -> Rows:
    rows: Rows = {}
    root = [f"data.root={SHARED / 'images'}"]
    for seed in seeds:
        runs = {
            method: pretrain("image/mnist_umae.yaml", "image", seed, out / f"pretrain_{tag}_seed{seed}",
                             [*root, f"regularizers.uniformity.weight={weight}"])
            for method, tag, weight in (("MAE", "mae", 0.0), ("U-MAE", "umae", 0.01))
        }
        for fraction, budget in FRACTIONS.items():
            extra = [*budget, f"finetune.label_fraction={fraction}"]
            setting = f"MNIST, {fraction:.0%} labels"
            folder = out / f"labels{fraction}"
            found = both_inits(runs["MAE"], "MAE", "image/finetune/mnist.yaml", seed, folder, extra)
            found["U-MAE"] = finetune_one(runs["U-MAE"], "image/finetune/mnist.yaml", seed, folder / f"U-MAE_seed{seed}",
                                          extra)
            add(rows, setting, found)
    return rows


def pointclouds(
    pretrain_recipe: str, finetune_recipe: str, setting: str, extra: list[str]
) -> Callable[[list[int], Path, argparse.Namespace], Rows]:
    method = "Point-CMAE" if "cmae" in pretrain_recipe else "Point-MAE"

    def section(seeds: list[int], out: Path, args: argparse.Namespace) -> Rows:
        rows: Rows = {}
        for seed in seeds:
            run = pretrain(pretrain_recipe, "pointcloud", seed, out / f"pretrain_seed{seed}", extra)
            add(rows, setting, both_inits(run, method, finetune_recipe, seed, out, []))
        return rows

    return section


def fewshot(seeds: list[int], out: Path, args: argparse.Namespace) -> Rows:
    rows: Rows = {}
    episode = ["finetune.ways=5", "finetune.shots=10", "finetune.queries=20", "train.batch_size=16",
               "train.epochs=50", "train.warmup_epochs=5", "finetune.eval_every=50"]
    for seed in seeds:
        run = pretrain("pointcloud/point_cmae.yaml", "pointcloud", seed,
                       out.parent / "procedural" / f"pretrain_seed{seed}", [])
        for index in range(args.episodes):
            found = both_inits(run, "Point-CMAE", "pointcloud/finetune/procedural.yaml", seed,
                               out / f"episode{index}", [*episode, f"finetune.episode={index}"])
            add(rows, "procedural, 5-way 10-shot", found)
    return rows


def tu(name: str) -> Callable[[list[int], Path, argparse.Namespace], Rows]:
    def section(seeds: list[int], out: Path, args: argparse.Namespace) -> Rows:
        rows: Rows = {}
        root = [f"data.root={SHARED / 'TUDataset'}"]
        for seed in seeds:
            run = pretrain(f"graph/{name.lower()}.yaml", "graph", seed, out / f"pretrain_seed{seed}", root)
            folds = [both_inits(run, "GraphMAE", "graph/finetune/tu.yaml", seed, out / f"fold{fold}",
                                [f"data.fold={fold}"]) for fold in range(args.folds)]
            setting = f"{name}, 10-fold" if args.folds == 10 else f"{name}, folds 0-{args.folds - 1} of 10"
            add(rows, setting, {
                init: {key: sum(f[init][key] for f in folds) / len(folds) for key in folds[0][init]}
                for init in folds[0]
            })
        return rows

    return section


SECTIONS: dict[str, Callable[[list[int], Path, argparse.Namespace], Rows]] = {
    "mnist": mnist,
    "procedural": pointclouds("pointcloud/point_cmae.yaml", "pointcloud/finetune/procedural.yaml", "procedural", []),
    "modelnet": pointclouds(
        "pointcloud/modelnet_subset_point_mae.yaml", "pointcloud/finetune/modelnet_subset.yaml",
        "ModelNet subset (airplane / person / rest)",
        [f"data.root={SHARED / 'pointclouds' / 'modelnet40_resampled_subset_1024.npz'}"],
    ),
    "fewshot": fewshot,
    "mutag": tu("MUTAG"),
    "enzymes": tu("ENZYMES"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=10, help="few-shot episodes per seed (default 10)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds of the TU sections")
    parser.add_argument("--out", type=Path, default=Path("runs/finetune_vs_scratch"))
    args = parser.parse_args()
    for name in args.sections:
        out = args.out / name
        start = time.perf_counter()
        rows = SECTIONS[name](args.seeds, out, args)
        table = results_table(rows, COLUMNS)
        write_results(out, rows, table)
        minutes = (time.perf_counter() - start) / 60
        print(f"\n{name}: seeds {args.seeds}, {torch.get_num_threads()} threads, {minutes:.1f} min\n{table}\n", flush=True)
    (args.out / "command.json").write_text(json.dumps(vars(args), default=str, indent=2))


if __name__ == "__main__":
    main()
