"""Does the label-free mask-ratio choice find the ratio a probe with labels would pick?

    python benchmarks/label_free_ratio.py --datasets digits mutag            # seeds 0 1 2, 6 ratios each
    python benchmarks/label_free_ratio.py --table                            # the table of every result so far

For each data set, each mask ratio and each seed, the data set's recipe is pretrained with that ratio
(the same budget for every ratio) and evaluated as ``maskssl sweep --select label-free`` does: the views
of every run masked at one common ratio (0.75), the separation (1 - uniformity) / (1 - alignment) of the
held-out features (``maskssl.eval.ratio_choice``: the criterion, fixed before any probe was looked at),
and the recipe's probe (linear probe, GraphMAE's logistic regression or SVM). Per data set the chosen
ratio maximises the separation averaged over seeds; the best-probe ratio maximises the mean probe
accuracy. The table gives both, the probe gap between them, the gap of MAE's default 0.75, and the
probe's standard deviation over seeds (mean over ratios): gaps below it are within seed noise, and
whether ``maskssl sweep`` would warn that the choice's features look partly collapsed (its mean effective
rank under half the largest ratio's: ``maskssl.eval.ratio_choice.collapse_warning``).
Each run is kept in --out/<data set>/seedS/ratio_R (default --out: runs/label_free_ratio): a finished run
is not redone, so an interrupted benchmark resumes, and data sets or seeds may run in separate processes
or sessions (``--seeds 2``). Real data comes from $MASKSSL_SHARED_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
from pathlib import Path
from typing import Any

import torch

from maskssl.config.load import load_config
from maskssl.engine.device import select_device
from maskssl.eval.ratio_choice import COMMON_VIEW_RATIO, collapse_warning, separation
from maskssl.eval.sweep import run_sweep

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
RATIOS = (0.25, 0.4, 0.5, 0.6, 0.75, 0.9)
MAE_DEFAULT_RATIO = 0.75
DATASETS: dict[str, tuple[str, str | None, list[str]]] = {
    "digits": ("image", None, []),
    "mnist": ("image", "image/mnist_umae", [f"data.root={SHARED / 'images'}"]),
    "procedural": ("pointcloud", "pointcloud/point_mae", []),
    "modelnet": ("pointcloud", "pointcloud/modelnet_subset_point_mae",
                 [f"data.root={SHARED / 'pointclouds' / 'modelnet40_resampled_subset_1024.npz'}"]),
    "cora": ("graph", "graph/cora", [f"data.root={SHARED / 'planetoid'}"]),
    "mutag": ("graph", "graph/mutag", [f"data.root={SHARED / 'TUDataset'}"]),
}
"""Data set -> (modality, recipe, overrides); each recipe's own budget, the same for every ratio."""


def probe_accuracy(report: dict[str, Any]) -> float | None:
    """The recipe's headline probe accuracy (%) in an eval report: linear probe, logreg or SVM."""
    if "linear_probe" in report:
        return report["linear_probe"]["test_accuracy"]
    if "logreg" in report:
        return report["logreg"]["test_accuracy_mean"]
    if "svm" in report:
        return report["svm"]["accuracy_mean"]
    return None


def run_dataset(name: str, seeds: list[int], ratios: list[float], out: Path, extra: list[str]) -> None:
    """Pretrain and evaluate every (seed, ratio) of one data set into out/<name>/seedS/ratio_R.

    A run whose eval.json exists is kept (an interrupted benchmark resumes; two processes may take
    different seeds); the overrides must match those the data set's earlier runs used (out/<name>/overrides.json).
    """
    modality, recipe, overrides = DATASETS[name]
    recorded = out / name / "overrides.json"
    if recorded.exists() and json.loads(recorded.read_text()) != extra:
        raise SystemExit(f"{recorded} records the overrides {json.loads(recorded.read_text())}, not {extra}: "
                         f"runs of one data set must share a budget (use another --out)")
    recorded.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_text(json.dumps(extra))
    device = select_device("auto")
    for seed in seeds:
        config = load_config(modality, recipe, [*overrides, f"train.seed={seed}", *extra])
        settings = dataclasses.replace(config.eval, alignment_mask_ratio=COMMON_VIEW_RATIO, seed=seed)
        todo = [r for r in ratios if not (out / name / f"seed{seed}" / f"ratio_{r:g}" / "eval.json").exists()]
        for ratio in todo:
            run_sweep(config, [ratio], out / name / f"seed{seed}", device, settings)


def collect(name: str, out: Path) -> dict[str, Any]:
    """Every finished run of one data set under out/<name>: seed, ratio, alignment, uniformity, effective
    rank, probe."""
    runs = []
    for path in sorted((out / name).glob("seed*/ratio_*/eval.json")):
        report = json.loads(path.read_text())
        runs.append({"seed": int(path.parts[-3].removeprefix("seed")),
                     "ratio": float(path.parts[-2].removeprefix("ratio_")),
                     "alignment": report["alignment"], "uniformity": report["uniformity"],
                     "effective_rank": report["effective_rank"], "probe": probe_accuracy(report)})
    return {"dataset": name, "runs": runs}


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Chosen (largest mean separation) and best-probe (largest mean probe) ratios, and the probe gaps."""
    by_ratio: dict[float, list[dict[str, Any]]] = {}
    for run in result["runs"]:
        by_ratio.setdefault(run["ratio"], []).append(run)
    mean_separation = {r: statistics.mean(separation(x["alignment"], x["uniformity"]) for x in rs)
                       for r, rs in by_ratio.items()}
    mean_probe = {r: statistics.mean(x["probe"] for x in rs) for r, rs in by_ratio.items()}
    seed_std = [statistics.stdev(x["probe"] for x in rs) for rs in by_ratio.values() if len(rs) > 1]
    chosen, best = max(mean_separation, key=mean_separation.get), max(mean_probe, key=mean_probe.get)
    mean_rank = {r: statistics.mean(x["effective_rank"] for x in rs) for r, rs in by_ratio.items()}
    rank_rows = [{"ratio": r, "effective_rank": rank} for r, rank in mean_rank.items()]
    default = MAE_DEFAULT_RATIO if MAE_DEFAULT_RATIO in mean_probe else None
    return {
        "dataset": result["dataset"], "seeds": min(len(rs) for rs in by_ratio.values()), "ratios": sorted(by_ratio),
        "chosen": chosen, "best": best, "probe_chosen": mean_probe[chosen], "probe_best": mean_probe[best],
        "gap": mean_probe[best] - mean_probe[chosen],
        "gap_default": None if default is None else mean_probe[best] - mean_probe[default],
        "seed_std": statistics.mean(seed_std) if seed_std else None,
        "probe_by_ratio": mean_probe, "separation_by_ratio": mean_separation,
        "rank_by_ratio": mean_rank,
        "rank_warning": collapse_warning({"ratio": chosen, "effective_rank": mean_rank[chosen]}, rank_rows) is not None,
    }


def table(summaries: list[dict[str, Any]]) -> str:
    """Markdown table: per data set, chosen vs best-probe ratio and the probe gaps (points)."""
    lines = ["| data set | ratios | seeds | label-free choice | best-probe ratio | probe at choice / best (%) "
             "| gap (points) | gap of 0.75 (points) | probe std over seeds (points) | rank warning |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        ratios = ", ".join(f"{r:g}" for r in s["ratios"])
        lines.append(f"| {s['dataset']} | {ratios} | {s['seeds']} | {s['chosen']:g} | {s['best']:g} | "
                     f"{s['probe_chosen']:.2f} / {s['probe_best']:.2f} | {s['gap']:.2f} | "
                     + " | ".join("-" if s[key] is None else f"{s[key]:.2f}" for key in ("gap_default", "seed_std"))
                     + f" | {'yes' if s['rank_warning'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=[], choices=sorted(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS))
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "label_free_ratio")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--table", action="store_true", help="print the table of every data set in --out")
    parser.add_argument("overrides", nargs="*", help="config overrides for every run, e.g. train.epochs=5")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        run_dataset(name, args.seeds, args.ratios, args.out, args.overrides)
    finished = sorted({path.parts[-4] for path in args.out.glob("*/seed*/ratio_*/eval.json")})
    names = args.datasets if not args.table else finished
    summaries = [summarize(collect(name, args.out)) for name in names]
    print(table(summaries))
    for s in summaries:
        probes = ", ".join(f"{r:g}: {p:.2f}" for r, p in sorted(s["probe_by_ratio"].items()))
        scores = ", ".join(f"{r:g}: {v:.3g}" for r, v in sorted(s["separation_by_ratio"].items()))
        ranks = ", ".join(f"{r:g}: {v:.1f}" for r, v in sorted(s["rank_by_ratio"].items()))
        print(f"{s['dataset']}: probe by ratio {probes}; separation by ratio {scores}; effective rank by ratio {ranks}")


if __name__ == "__main__":
    main()
