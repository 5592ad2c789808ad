"""Epoch time of GraphMAE's full-batch node pretraining: Cora, and how it scales with nodes and edges.

    python benchmarks/graph_epoch_time.py                     # Cora rows need ../shared/data (or --cora-root)
    python benchmarks/graph_epoch_time.py --steps 20 --threads 1

One epoch of a node task is one optimizer step on the whole graph: masking, corruption, encoder,
re-mask, decoder, scaled cosine error, backward, AdamW. Every row uses the model of
configs/graph/cora.yaml (GAT 2 x 4 heads x 128, single-head GAT decoder) and reports the median step
time. The Cora rows compare the sparse input path (the default: features are 1.3% non-zero) with
dense features, and with a decoder that also predicts the visible nodes (``predict_visible``, the
work GraphMAE's code does). The scaling rows use synthetic stochastic-block-model graphs with 500
features, 10 non-zero per node (2%): first more nodes at a fixed mean degree, then more edges on a
fixed node count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from maskssl.build import build_modality, build_model
from maskssl.config.load import load_config
from maskssl.errors import DataError
from maskssl_graph import NodeGraph, load_node_graph, row_normalize, stochastic_block_graph
from maskssl_graph.data.datasets import with_self_loops

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "configs/graph/cora.yaml"


def synthetic(num_nodes: int, avg_degree: float) -> NodeGraph:
    """A synthetic graph prepared like a Planetoid one (row-normalised, self-loops)."""
    data = stochastic_block_graph(num_nodes=num_nodes, avg_degree=avg_degree, num_val=num_nodes // 5)
    data.x = row_normalize(data.x)
    data.edge_index = with_self_loops(data.edge_index, num_nodes)
    return NodeGraph.from_data(data)


def step_time(graph: NodeGraph, steps: int, overrides: list[str]) -> float:
    """Median seconds of one full training step of the Cora recipe's model on ``graph``."""
    config = load_config("graph", RECIPE, ["data.dataset=synthetic", *overrides])
    modality = build_modality(config)
    modality.source = graph  # the graph to time, instead of the recipe's data
    torch.manual_seed(0)
    model = build_model(modality, config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batch = modality.collate([modality.build_dataset("train")[0]])
    times = []
    for index in range(steps + 2):  # two warm-up steps
        start = time.perf_counter()
        tokens = modality.tokenize(batch, torch.device("cpu"))
        loss = model(tokens, generator).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if index >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def dense(graph: NodeGraph) -> NodeGraph:
    """The same graph with its features handed to the encoder dense."""
    return NodeGraph(x=graph.x, edge_index=graph.edge_index, y=graph.y, masks=graph.masks, sparse=None)


def rows(cora_root: Path) -> list[tuple[str, NodeGraph, list[str]]]:
    """(label, graph, config overrides) of every row."""
    out: list[tuple[str, NodeGraph, list[str]]] = []
    try:
        cora = load_node_graph("Cora", str(cora_root))
        out += [
            ("Cora, sparse input (default)", cora, []),
            ("Cora, dense input", dense(cora), []),
            ("Cora, dense input, decoder predicts all nodes", dense(cora), ["decoder.predict_visible=true"]),
        ]
    except DataError as exc:
        print(f"Cora rows skipped: {exc}")
    out += [(f"synthetic, mean degree 8, {n} nodes", synthetic(n, 8.0), []) for n in (1000, 2000, 4000, 8000)]
    out += [(f"synthetic, 4000 nodes, mean degree {d}", synthetic(4000, float(d)), []) for d in (4, 16, 32)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per row (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    default_root = Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data")) / "planetoid"
    parser.add_argument("--cora-root", type=Path, default=default_root, help="folder holding Cora/raw/")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, median of {args.steps} steps")
    header = ("graph", "nodes", "edges", "features", "non-zeros", "input", "ms / epoch")
    table = []
    for label, graph, overrides in rows(args.cora_root):
        seconds = step_time(graph, args.steps, overrides)
        table.append((
            label, str(graph.num_nodes), str(graph.edge_index.shape[1]), str(graph.x.shape[1]),
            f"{(graph.x != 0).float().mean().item():.1%}", "sparse" if graph.sparse is not None else "dense",
            f"{1000 * seconds:.0f}",
        ))
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in table:
        print("| " + " | ".join(row) + " |")
    print("edges: directed, one self-loop per node included")


if __name__ == "__main__":
    main()
