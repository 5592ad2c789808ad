"""A user's own graphs: one .npz graph, a folder of .npz graphs, TU files in any folder, registered Data / Dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from graph_files import path, star, write_tu
from torch_geometric.data import Data
from torch_geometric.datasets import FakeDataset
from torch_geometric.utils import is_undirected

from maskssl import load_config, train
from maskssl.cli import main
from maskssl.config.evaluation import EvalConfig
from maskssl.errors import ConfigError, DataError
from maskssl.eval.evaluate import run_protocol
from maskssl_graph import register_graph
from maskssl_graph.data.graphs import GraphList, NodeGraph
from maskssl_graph.modality import GraphDataConfig, GraphModality, GraphModelConfig

TINY = ["encoder.hidden_dim=16", "model.pooled_nodes=8", "train.log_every=1", "--no-progress"]


def ring(n: int = 12, classes: int = 3) -> dict[str, np.ndarray]:
    """A labelled ring (each edge listed once, in one direction) with 4 random features per node."""
    src = np.arange(n)
    return {
        "x": np.random.default_rng(0).random((n, 4)).astype(np.float32),
        "edge_index": np.stack([src, (src + 1) % n]),
        "y": src % classes,
    }


def write_npz(file: Path, **arrays: Any) -> Path:
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(file, **arrays)
    return file


def load(dataset: str, root: Path | None = None, **options: Any) -> NodeGraph | GraphList:
    config = GraphDataConfig(dataset=dataset, root=None if root is None else str(root), **options)
    return GraphModality(config, GraphModelConfig()).source


def loops_per_node(graph: NodeGraph | Data) -> torch.Tensor:
    src, dst = graph.edge_index
    return torch.bincount(src[src == dst], minlength=graph.x.shape[0])


# -- formats -----------------------------------------------------------------------------------------


def test_npz_node_graph_with_masks_is_undirected_with_one_self_loop_per_node(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    arrays = ring()
    arrays["edge_index"] = np.concatenate([arrays["edge_index"], [[3, 5], [3, 5]]], axis=1)  # two self-loops
    masks = {name: np.arange(12) % 3 == i for i, name in enumerate(("train_mask", "val_mask", "test_mask"))}
    graph = load("npz", write_npz(tmp_path / "g.npz", **arrays, **masks))
    assert isinstance(graph, NodeGraph) and torch.equal(graph.x, torch.from_numpy(arrays["x"]))  # as given
    assert all(torch.equal(graph.masks[name[:-5]], torch.from_numpy(m)) for name, m in masks.items())
    assert is_undirected(graph.edge_index) and graph.edge_index.shape[1] == 2 * 12 + 12
    assert torch.equal(loops_per_node(graph), torch.ones(12, dtype=torch.long))
    assert "the edges were not symmetric; symmetrised (to_undirected) to 24 edges" in capfd.readouterr().err


def test_npz_without_masks_draws_a_seeded_stratified_split(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    file = write_npz(tmp_path / "g.npz", **ring(60, classes=3))
    graph = load("npz", file)
    train, val, test = (graph.masks[s] for s in ("train", "val", "test"))
    assert [int(m.sum()) for m in (train, val, test)] == [42, 6, 12]  # 20% of each class, then 10% of the rest
    assert torch.equal(train.int() + val.int() + test.int(), torch.ones(60, dtype=torch.int))
    assert graph.y[test].bincount().tolist() == [4, 4, 4] and graph.y[val].bincount().tolist() == [2, 2, 2]
    assert "drew the split (data.test_fraction=0.2, data.val_fraction=0.1, data.seed=0" in capfd.readouterr().err
    assert torch.equal(load("npz", file).masks["test"], test)
    assert not torch.equal(load("npz", file, seed=1).masks["test"], test)


def test_npz_with_train_and_test_masks_draws_val_from_train(tmp_path: Path) -> None:
    train, test = np.arange(30) < 20, np.arange(30) >= 20
    graph = load("npz", write_npz(tmp_path / "g.npz", **ring(30), train_mask=train, test_mask=test))
    assert torch.equal(graph.masks["test"], torch.from_numpy(test))
    assert int(graph.masks["val"].sum()) == 3 and not (graph.masks["val"] & ~torch.from_numpy(train)).any()


def test_npz_without_labels_pretrains_but_evaluation_and_finetuning_say_labels_are_needed(tmp_path: Path) -> None:
    arrays = ring()
    del arrays["y"]
    config = GraphDataConfig(dataset="npz", root=str(write_npz(tmp_path / "g.npz", **arrays)))
    modality = GraphModality(config, GraphModelConfig(pooled_nodes=4))
    tokens = modality.tokenize(modality.collate([modality.build_dataset("train")[0]]), torch.device("cpu"))
    assert tokens.labels is None and tokens.targets.shape == (1, 12, 4)
    encoder = modality.build_encoder({"name": "gat", "hidden_dim": 8, "num_layers": 1})
    splits = modality.evaluation_features(encoder, torch.device("cpu"), 16)
    assert all(split.labels is None for split in splits.values())
    skipped = run_protocol("logreg", splits, EvalConfig())
    assert "logreg needs class labels, and the train/val/test split has none" in skipped["classification_skipped"]
    with pytest.raises(DataError, match="has no labels: fine-tuning needs node labels y"):
        modality.finetune_dataset("train")


def test_graph_without_features_gets_one_hot_degrees(tmp_path: Path) -> None:
    edges = np.array([[0, 0, 0, 1], [1, 2, 3, 2]])  # undirected degrees 3, 2, 2, 1, and node 4 isolated
    graph = load("npz", write_npz(tmp_path / "g.npz", edge_index=edges, num_nodes=5))
    assert graph.x.shape == (5, 4) and graph.x.argmax(dim=1).tolist() == [3, 2, 2, 1, 0]
    with_x = load("npz", write_npz(tmp_path / "h.npz", edge_index=edges, x=np.ones((5, 2))), degree_features=True)
    assert with_x.x.shape == (5, 4)


def test_npz_folder_with_scalar_labels(tmp_path: Path) -> None:
    for i in range(4):
        write_npz(tmp_path / f"g{i}.npz", x=np.ones((3 + i, 2)), edge_index=np.array([[0, 1], [1, 2]]), y=i % 2)
    graphs = load("npz_folder", tmp_path)
    assert isinstance(graphs, GraphList) and len(graphs) == 4 and [int(g.y) for g in graphs.graphs] == [0, 1, 0, 1]
    assert graphs[3].x.shape == (6, 2) and is_undirected(graphs[0].edge_index)
    assert torch.equal(loops_per_node(graphs[3]), torch.ones(6, dtype=torch.long))


def test_npz_folder_with_class_sub_folders_labels_by_sorted_folder(tmp_path: Path) -> None:
    for name, size in (("stars", 5), ("paths", 4)):
        for i in range(2):
            edges = np.array(star(size) if name == "stars" else path(size)).T
            write_npz(tmp_path / name / f"{i}.npz", edge_index=edges, num_nodes=size)
    graphs = load("npz_folder", tmp_path)
    assert [int(g.y) for g in graphs.graphs] == [0, 0, 1, 1]  # paths=0, stars=1
    assert graphs[2].x.shape == (5, 5) and graphs[2].x.argmax(dim=1).tolist() == [4, 1, 1, 1, 1]


def test_tu_files_under_any_folder_and_name(tmp_path: Path) -> None:
    write_tu(tmp_path, "mine", [star(5), path(4), star(4)], [3, 7, 3], node_labels=True)
    folder = tmp_path / "anywhere"
    (tmp_path / "mine" / "raw").rename(folder)
    (folder / "mine_node_attributes.txt").write_text("\n".join(f"{i}.5" for i in range(13)) + "\n")
    graphs = load("tu_folder", folder)
    assert [int(g.y) for g in graphs.graphs] == [0, 1, 0]  # labels renumbered 0..C-1
    assert graphs[0].x.shape == (5, 1 + 3) and graphs[0].x[:, 0].tolist() == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert not list(folder.glob("processed*"))


def test_registered_data_and_dataset(tmp_path: Path) -> None:
    arrays = {key: torch.as_tensor(value) for key, value in ring().items()}
    data = Data(**arrays, extra=torch.zeros(3))
    register_graph("test_user_nodes", data)
    graph = load("test_user_nodes")
    assert isinstance(graph, NodeGraph) and graph.x.shape == (12, 4) and is_undirected(graph.edge_index)
    assert data.edge_index.shape == (2, 12)  # the registered Data is left as it was
    dataset = FakeDataset(num_graphs=6, avg_num_nodes=8, num_channels=3, num_classes=2)  # an InMemoryDataset
    register_graph("test_user_graphs", dataset)
    loaded = load("test_user_graphs")
    assert isinstance(loaded, GraphList) and len(loaded) == 6 and loaded[5].y.tolist() == dataset[5].y.tolist()
    assert loaded[0].x.shape == dataset[0].x.shape and all(is_undirected(g.edge_index) for g in loaded.graphs)
    assert not GraphModality(GraphDataConfig(dataset="test_user_graphs"), GraphModelConfig()).node_task
    with pytest.raises(ConfigError, match="'npz' is a built-in data.dataset name"):
        register_graph("npz", data)
    register_graph("test_user_bad", [data, "not a graph"])
    with pytest.raises(DataError, match="'test_user_bad', graph 1 is a str, not a torch_geometric Data"):
        load("test_user_bad")


# -- one DataError per bad input -----------------------------------------------------------------------


def bad(**change: Any) -> dict[str, Any]:
    arrays: dict[str, Any] = ring()
    for key, value in change.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


ALL, EDGES = np.ones(12, bool), np.array([[0, 1], [1, 2]])
BAD_NODE_GRAPHS = {
    "edge out of range": (bad(edge_index=EDGES * 12), r"refers to node 24, but the graph has 12 nodes"),
    "negative edge": (bad(edge_index=-EDGES), r"negative node ids \(smallest -2\)"),
    "float edges": (bad(edge_index=EDGES * 1.0), r"edge_index holds torch.float64; node ids must be integers"),
    "edges [E, 2]": (bad(edge_index=np.array([[0, 1], [1, 2], [2, 3]])), r"\[2, E\] .*got \(3, 2\): transpose it"),
    "no edge_index": (bad(edge_index=None), r"no edge_index \[2, E\]"),
    "no x": (bad(x=None), r"no node features x \[N, F\]; give x, or num_nodes = N for a graph without features"),
    "x rank 1": (bad(x=np.ones(12)), r"x must be node features \[N, F\], got \(12,\) \(one feature per node"),
    "nan x": (bad(x=np.where(np.eye(12, 4) > 0, np.nan, 1.0)), r"node features hold NaN or infinite values in 4 of 12"),
    "inf x": (bad(x=np.full((12, 4), np.inf)), r"NaN or infinite values in 12 of 12 nodes"),
    "short y": (bad(y=np.zeros(11, dtype=int)), r"one label per node, shape \[12\], got shape \(11,\)"),
    "float y": (bad(y=np.zeros(12)), r"y holds torch.float64; labels must be integer class ids"),
    "negative y": (bad(y=-np.ones(12, dtype=int)), r"negative class id -1"),
    "short mask": (bad(train_mask=ALL[:11], test_mask=ALL), r"train_mask must have one entry per node"),
    "int mask": (bad(train_mask=np.arange(4), test_mask=ALL), r"train_mask holds torch.int64; it must be a boolean"),
    "lone mask": (bad(test_mask=ALL), r"has test_mask only; give train_mask and test_mask together"),
    "overlap": (bad(train_mask=np.arange(12) < 8, test_mask=np.arange(12) > 5), r"train_mask and test_mask share 2"),
    "empty mask": (bad(train_mask=~ALL, test_mask=ALL), r"train_mask selects no node"),
}


@pytest.mark.parametrize("case", BAD_NODE_GRAPHS)
def test_bad_npz_node_graph_is_one_data_error_naming_the_file(tmp_path: Path, case: str) -> None:
    arrays, message = BAD_NODE_GRAPHS[case]
    file = write_npz(tmp_path / "g.npz", **arrays)
    with pytest.raises(DataError, match=rf"{tmp_path}.*{message}"):
        load("npz", file)


def test_bad_graph_folders_and_roots(tmp_path: Path) -> None:
    edges = np.array([[0, 1], [1, 2]])
    write_npz(tmp_path / "a" / "c0" / "g.npz", x=np.ones((3, 2)), edge_index=edges, y=1)
    with pytest.raises(DataError, match=r"g.npz holds y, but its class is its folder c0"):
        load("npz_folder", tmp_path / "a")
    write_npz(tmp_path / "b" / "g0.npz", x=np.ones((3, 2)), edge_index=edges, y=np.zeros(3, dtype=int))
    with pytest.raises(DataError, match=r"g0.npz: y must be one graph label \(a scalar\), got shape \(3,\)"):
        load("npz_folder", tmp_path / "b")
    write_npz(tmp_path / "c" / "g0.npz", x=np.ones((3, 2)), edge_index=edges, y=0)
    write_npz(tmp_path / "c" / "g1.npz", x=np.ones((3, 5)), edge_index=edges, y=1)
    with pytest.raises(DataError, match=r"g1.npz: x has 5 features per node but .*g0.npz has 2"):
        load("npz_folder", tmp_path / "c")
    (tmp_path / "text.npz").write_text("x, edge_index")
    with pytest.raises(DataError, match=r"cannot read .*text.npz as a .npz file .*numpy.savez"):
        load("npz", tmp_path / "text.npz")
    with pytest.raises(DataError, match=r"data.root=.*c is a folder; point data.root at the file, or use .*npz_folder"):
        load("npz", tmp_path / "c")
    with pytest.raises(DataError, match=r"no NAME_A.txt in .*c; put the TU files"):
        load("tu_folder", tmp_path / "c")
    write_tu(tmp_path / "tu", "one", [path(3), path(3)], [0, 1], node_labels=False)
    tu = tmp_path / "tu" / "one" / "raw"
    (tu / "one_A.txt").write_text("1, 2\n2, 1\n")  # the last graph has no edges
    with pytest.raises(DataError, match=r"lists 2 graphs but torch-geometric read 1: .*data.dataset=npz_folder"):
        load("tu_folder", tu)
    (tu / "one_A.txt").write_text("1, 2\n2, 1\n1, 9\n4, 5\n")
    with pytest.raises(DataError, match=r"TU files one_\*.txt in .*, graph 1: edge_index refers to node 8"):
        load("tu_folder", tu)
    (tu / "two_A.txt").write_text("1, 2\n")
    with pytest.raises(DataError, match=r"holds several TU data sets \(one_A.txt, two_A.txt\); keep one per folder"):
        load("tu_folder", tu)
    with pytest.raises(DataError, match=r"not a built-in graph .*register_graph\('my_graph', data\) .*--import"):
        load("my_graph")


# -- end to end ---------------------------------------------------------------------------------------


def test_cli_trains_and_evaluates_on_a_user_npz_graph(tmp_path: Path) -> None:
    file = write_npz(tmp_path / "graph.npz", **ring(60))
    run = tmp_path / "run"
    argv = ["train", "--modality", "graph", "--out", str(run), "data.dataset=npz", f"data.root={file}"]
    assert main([*argv, "train.max_steps=3", *TINY]) == 0
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert main(["eval", str(run), "eval.logreg.seeds=1", "eval.logreg.epochs=5"]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["protocol"] == "logreg" and report["samples"] == {"train": 42, "val": 6, "test": 12, "all": 60}


def test_cli_trains_and_resumes_on_a_graph_registered_by_an_imported_module(tmp_path: Path) -> None:
    module = tmp_path / "user_graphs_for_test.py"
    module.write_text(
        "import torch\nfrom torch_geometric.data import Data\nfrom maskssl_graph import register_graph\n"
        "edges = torch.tensor([[i, (i + 1) % 20] for i in range(20)]).T\n"
        "register_graph('test_cli_graph', Data(x=torch.rand(20, 3), edge_index=edges, y=torch.arange(20) % 2))\n"
    )
    run = tmp_path / "run"
    common = ["--out", str(run), *TINY]
    assert main(["train", "--modality", "graph", "--import", str(module), "data.dataset=test_cli_graph",
                 "train.max_steps=2", *common]) == 0
    assert main(["train", "--resume", "train.max_steps=3", *common]) == 0
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 3


def test_python_train_on_a_registered_list_of_graphs(tmp_path: Path) -> None:
    graphs = [Data(x=torch.ones(n, 2), edge_index=torch.tensor(star(n)).T, y=torch.tensor(n % 2)) for n in range(3, 11)]
    register_graph("test_python_graphs", graphs)
    config = load_config("graph", overrides=[
        "data.dataset=test_python_graphs", "encoder.name=gin", "decoder.name=gin", "encoder.hidden_dim=8",
        "train.batch_size=4", "train.max_steps=2",
    ])
    assert train(config, tmp_path / "run", progress=False).step == 2
