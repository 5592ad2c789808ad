"""Graph data: shared Planetoid / TU raw files without network, local TU files, errors, the synthetic graph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from graph_files import path, star, write_tu
from torch_geometric.utils import contains_self_loops

from maskssl.errors import DataError
from maskssl_graph import GraphModality, load_node_graph, load_tu, row_normalize, stochastic_block_graph
from maskssl_graph.modality import GraphDataConfig, GraphModelConfig

# -- shared real data ------------------------------------------------------------------------------


def test_cora_from_shared_raw_files_without_writing_there(
    shared_data: Path, require_shared_data: Callable[[str], Path]
) -> None:
    require_shared_data("planetoid/Cora/raw/ind.cora.x")
    root = shared_data / "planetoid"
    before = sorted(p.name for p in (root / "Cora").iterdir())
    graph = load_node_graph("cora", str(root))
    assert graph.x.shape == (2708, 1433) and graph.y.shape == (2708,) and int(graph.y.max()) == 6
    assert [int(m.sum()) for m in graph.masks.values()] == [140, 500, 1000]
    assert torch.allclose(graph.x.sum(dim=1), torch.ones(2708))  # row-normalised, as GraphMAE (DGL)
    assert graph.sparse is not None and 0.01 < graph.sparse.density < 0.02
    assert contains_self_loops(graph.edge_index) and graph.edge_index.shape[1] == 10556 + 2708
    assert sorted(p.name for p in (root / "Cora").iterdir()) == before  # no processed/ next to raw/


def test_mutag_from_shared_raw_files(shared_data: Path, require_shared_data: Callable[[str], Path]) -> None:
    require_shared_data("TUDataset/MUTAG/raw/MUTAG_A.txt")
    root = shared_data / "TUDataset"
    graphs = load_tu("MUTAG", str(root))
    assert len(graphs) == 188 and graphs[0].x.shape[1] == 7  # one-hot node labels
    assert torch.equal(graphs[0].x.sum(dim=1), torch.ones(graphs[0].num_nodes))
    assert sorted({int(g.y) for g in graphs.graphs}) == [0, 1]
    assert all(contains_self_loops(g.edge_index) for g in graphs.graphs[:5])
    degrees = load_tu("MUTAG", str(root), degree_features=True)
    assert degrees[0].x.shape[1] == 5  # one-hot degree 0..4 (MUTAG's largest degree is 4)


# -- local files and errors ------------------------------------------------------------------------


def test_tu_without_node_labels_gets_one_hot_degrees(tmp_path: Path) -> None:
    write_tu(tmp_path, "TOY", [star(5), path(4), star(4), path(6)], [0, 1, 0, 1], node_labels=False)
    graphs = load_tu("TOY", str(tmp_path))
    assert len(graphs) == 4 and graphs[0].x.shape == (5, 5)  # largest degree 4 -> width 5
    assert graphs[0].x.argmax(dim=1).tolist() == [4, 1, 1, 1, 1]  # degrees before self-loops
    assert [int(g.y) for g in graphs.graphs] == [0, 1, 0, 1]
    assert not (tmp_path / "TOY" / "processed").exists()


def test_tu_with_node_labels_uses_them_one_hot(tmp_path: Path) -> None:
    write_tu(tmp_path, "TOY", [path(4), star(5)], [1, 0], node_labels=True)
    graphs = load_tu("TOY", str(tmp_path))
    assert graphs[0].x.argmax(dim=1).tolist() == [0, 1, 2, 0] and graphs[0].x.shape[1] == 3


def test_missing_files_say_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Cora/raw lacks ind\.cora\.x, .*nothing is downloaded"):
        load_node_graph("Cora", str(tmp_path))
    with pytest.raises(DataError, match="data.root is not set"):
        load_node_graph("pubmed", None)
    (tmp_path / "MUTAG" / "raw").mkdir(parents=True)
    (tmp_path / "MUTAG" / "raw" / "MUTAG_A.txt").write_text("1, 2\n")
    with pytest.raises(DataError, match="MUTAG_graph_indicator.txt, MUTAG_graph_labels.txt"):
        load_tu("MUTAG", str(tmp_path))


# -- synthetic graph and modality ------------------------------------------------------------------


def test_synthetic_graph_is_deterministic_and_homophilous() -> None:
    a, b, c = stochastic_block_graph(seed=0), stochastic_block_graph(seed=0), stochastic_block_graph(seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index) and torch.equal(a.y, b.y)
    assert not torch.equal(a.edge_index, c.edge_index)
    src, dst = a.edge_index
    assert (a.y[src] == a.y[dst]).float().mean() > 0.6
    masks = torch.stack([a.train_mask, a.val_mask, a.test_mask])
    assert torch.equal(masks.sum(dim=0), torch.ones(a.num_nodes, dtype=torch.long))
    assert a.train_mask.sum() == 100 and a.val_mask.sum() == 200


def test_row_normalize_keeps_empty_rows() -> None:
    x = torch.tensor([[1.0, 3.0], [0.0, 0.0]])
    assert torch.equal(row_normalize(x), torch.tensor([[0.25, 0.75], [0.0, 0.0]]))


def test_modality_tokenizes_a_node_graph_and_a_graph_batch(tmp_path: Path) -> None:
    nodes = GraphModality(GraphDataConfig(), GraphModelConfig(pooled_nodes=64))
    graph = nodes.collate([nodes.build_dataset("train")[0]])
    tokens = nodes.tokenize(graph, torch.device("cpu"))
    assert tokens.targets.shape == (1, 1000, 500) and tokens.context["sample"].shape == (64,)
    assert tokens.labels.shape == (64,) and nodes.evaluation_protocol() == "logreg"
    write_tu(tmp_path, "TOY", [star(5), path(4), star(4)], [0, 1, 0], node_labels=False)
    graphs = GraphModality(GraphDataConfig(dataset="TOY", root=str(tmp_path)), GraphModelConfig())
    dataset = graphs.build_dataset("train")
    tokens = graphs.tokenize(graphs.collate([dataset[0], dataset[1], dataset[2]]), torch.device("cpu"))
    assert tokens.targets.shape == (1, 13, 5) and tokens.labels.tolist() == [0, 1, 0]
    assert tokens.context["num_graphs"] == 3 and graphs.evaluation_protocol() == "svm"


def test_a_nan_graph_label_is_a_data_error_naming_the_dataset(tmp_path: Path) -> None:
    write_tu(tmp_path, "TOY", [star(5), path(4)], [0, 1], node_labels=False)
    labels = tmp_path / "TOY" / "raw" / "TOY_graph_labels.txt"
    labels.write_text("0\nnan\n")
    with pytest.raises(DataError, match=r"cannot read TU dataset TOY in .*invalid literal .*nan.*; its label and index files must hold"):
        load_tu("TOY", str(tmp_path))


def test_loading_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # torch-geometric is silent under pytest by itself
    write_tu(tmp_path, "TOY", [star(5), path(4)], [0, 1], node_labels=False)
    load_tu("TOY", str(tmp_path))
    assert capfd.readouterr() == ("", "")


def test_graph_recipes_carry_graphmae_evaluation_settings() -> None:
    from maskssl.config.load import load_config

    configs = Path(__file__).resolve().parents[3] / "configs" / "graph"
    weight_decay = {"cora": 1e-4, "citeseer": 0.01, "pubmed": 1e-4}
    for name, decay in weight_decay.items():
        logreg = load_config(None, configs / f"{name}.yaml").eval.logreg
        assert (logreg.lr, logreg.weight_decay, logreg.epochs, logreg.seeds) == (0.01, decay, 300, 20), name
    for name in ("mutag", "proteins", "enzymes"):
        svm = load_config(None, configs / f"{name}.yaml").eval.svm
        assert svm.folds == 10 and svm.c_grid == [1e-3, 1e-2, 1e-1, 1.0, 10.0], name
