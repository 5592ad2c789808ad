"""GraphMAE on Cora: a 2-D map of the frozen node embeddings, coloured by class, before and after pretraining.

Pretrains configs/graph/cora.yaml (GAT 2 x 512, half the nodes masked, scaled cosine error) on the
real Cora citation graph (2708 nodes, 7 classes) from $MASKSSL_SHARED_DATA/planetoid (default
../shared/data/planetoid), SHORTENED to 300 full-batch epochs (the recipe has 1500; its cosine schedule
follows the shorter budget) so the example stays within a few minutes. The frozen encoder's states of
all nodes [2708, 512] from the whole unmasked graph are projected to 2-D (t-SNE after PCA to 50 dims),
for the untrained encoder and for the pretrained one. Printed: GraphMAE's node protocol from the core's
evaluation (logistic regression on the public 140 / 500 / 1000 split, selected on validation, mean ±
std over 5 probe seeds) and the effective rank of the node states, for both encoders.

    python examples/05_graphmae_cora_embedding.py --out runs/example_05 --png examples/gallery/graphmae_cora_tsne.png
    python examples/05_graphmae_cora_embedding.py --fast --out /tmp/example_05   # 3 epochs, PCA: a smoke test
    python examples/05_graphmae_cora_embedding.py --epochs 1500 --out runs/example_05_full   # the recipe's budget

Full mode (300 epochs, two t-SNE maps): 2 min 40 s on this project's 2-core CPU, measured with OMP_NUM_THREADS=1
while two other benchmarks were running; --fast: about 8 s. Exits with status 1 when Cora is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

import maskssl
from maskssl.checkpoints.pretrained import Pretrained, load_pretrained
from maskssl.config.evaluation import EvalConfig
from maskssl.engine.device import select_device
from maskssl.eval.evaluate import run_protocol
from maskssl.eval.plotting import new_figure
from maskssl.eval.spectrum import effective_rank, singular_values

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))
CORA = SHARED_DATA / "planetoid" / "Cora" / "raw" / "ind.cora.x"


def pretrain(out: Path, epochs: int, fast: bool) -> Path:
    """Train the Cora recipe for ``epochs`` full-batch epochs into out/cora; returns the run directory."""
    overrides = [
        f"data.root={SHARED_DATA / 'planetoid'}", f"train.epochs={epochs}", f"train.log_every={min(50, epochs)}"
    ]
    if fast:
        overrides += ["encoder.hidden_dim=64", "encoder.num_heads=2"]
    config = maskssl.load_config("graph", REPO / "configs" / "graph" / "cora.yaml", overrides)
    run_dir = out / "cora"
    maskssl.train(config, run_dir, overwrite=True, progress=False)
    return run_dir


def node_report(pretrained: Pretrained, device: torch.device) -> dict[str, Any]:
    """Frozen states of every node (``all``: features [N, D], labels [N]), the logreg protocol, the effective rank."""
    torch.manual_seed(0)  # as maskssl eval: the graph modality draws its pooled nodes in tokenize
    splits = pretrained.modality.evaluation_features(pretrained.model.encoder, device, batch_size=256)
    if splits is None or "all" not in splits:
        raise RuntimeError("the graph modality should return node splits with 'all' for a node task")
    logreg = run_protocol("logreg", splits, EvalConfig())["logreg"]
    rank = effective_rank(singular_values(splits["all"].features))
    return {"all": splits["all"], "logreg": logreg, "effective_rank": rank}


def project(features: torch.Tensor, method: str, seed: int) -> np.ndarray:
    """features [N, D] -> 2-D coordinates [N, 2]: PCA, or t-SNE (perplexity 30) after PCA to 50 dims."""
    x = features.double().cpu().numpy()
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    x = PCA(n_components=min(50, *x.shape), random_state=seed).fit_transform(x)
    return TSNE(n_components=2, perplexity=30.0, init="pca", random_state=seed).fit_transform(x)


def plot_maps(maps: dict[str, tuple[np.ndarray, np.ndarray]], method: str, path: Path) -> None:
    """One panel per entry: title -> (coordinates [N, 2], labels [N]); points coloured by class."""
    figure = new_figure(5.0 * len(maps), 5.0, dpi=80)
    for index, (title, (xy, labels)) in enumerate(maps.items()):
        axes = figure.add_subplot(1, len(maps), index + 1)
        for label in np.unique(labels):
            keep = labels == label
            axes.scatter(xy[keep, 0], xy[keep, 1], s=3, color=f"C{label}", label=f"class {label}", linewidths=0)
        axes.set_title(title, fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
    axes.legend(loc="lower right", fontsize=7, markerscale=3, frameon=True)
    nodes = next(iter(maps.values()))[0].shape[0]
    figure.suptitle(f"Cora: frozen GAT node states of all {nodes} nodes, {method.upper()}", fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/example_05"), help="runs and (by default) the PNG")
    parser.add_argument("--png", type=Path, default=None, help="picture path (default: OUT/graphmae_cora_tsne.png)")
    parser.add_argument("--epochs", type=int, default=300, help="pretraining epochs (the recipe's: 1500)")
    parser.add_argument("--projection", choices=["tsne", "pca"], default=None, help="default: tsne (pca with --fast)")
    parser.add_argument("--fast", action="store_true", help="3 epochs of a 64-wide GAT and a PCA map: a smoke test")
    args = parser.parse_args()
    if not CORA.is_file():
        sys.exit(f"Cora not found at {CORA.parent}: set MASKSSL_SHARED_DATA to the shared/data folder")
    epochs = 3 if args.fast else args.epochs
    method = args.projection or ("pca" if args.fast else "tsne")
    run_dir = pretrain(args.out, epochs, args.fast)
    device = select_device("auto")
    maps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, random_init in (("random init", True), (f"GraphMAE, {epochs} epochs", False)):
        report = node_report(load_pretrained(run_dir, device, random_init=random_init), device)
        logreg = report["logreg"]
        print(
            f"{name:<22} logreg test accuracy {logreg['test_accuracy_mean']:.2f} ± {logreg['test_accuracy_std']:.2f}%"
            f" (val {logreg['val_accuracy_mean']:.2f}%), effective rank {report['effective_rank']:.1f}"
            f" of {report['all'].features.shape[1]}"
        )
        features, labels = report["all"]
        title = f"{name}: logreg test {logreg['test_accuracy_mean']:.1f}%"
        maps[title] = (project(features, method, seed=0), labels.cpu().numpy())
    png = args.png or args.out / "graphmae_cora_tsne.png"
    plot_maps(maps, method, png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
