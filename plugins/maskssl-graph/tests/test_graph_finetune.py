"""Graph fine-tuning: node classification on a split's nodes, graph classification on CV folds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from graph_files import path, star, write_tu

from maskssl import load_config, train
from maskssl.config.load import recipe_values
from maskssl.config.yaml_files import load_yaml
from maskssl.errors import ConfigError
from maskssl.finetune import FinetuneTask, finetune, load_finetune_config
from maskssl.finetune.layer_decay import encoder_layer_ids
from maskssl_graph.modality import GraphModality

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def node_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("graph") / "run"
    train(load_config("graph", overrides=["encoder.hidden_dim=32", "train.max_steps=2"]), run, progress=False)
    return run


def test_node_head_classifies_the_split_nodes(node_run: Path) -> None:
    task = FinetuneTask(load_finetune_config(node_run, None, []), None)
    model = task.build_model().eval()
    graph = task.train_dataset()[0]
    tokens = task.modality.tokenize(graph, torch.device("cpu"))
    assert torch.equal(tokens.context["sample"], graph.masks["train"].nonzero().flatten())
    logits = model(tokens)
    assert logits.shape == (100, task.num_classes) and tokens.labels.shape == (100,)  # the synthetic train split
    states = model.encoder(tokens, None).latent[0]  # [N, D]
    assert torch.allclose(logits, model.head.linear(states[tokens.context["sample"]]), atol=1e-5)
    test_graph = task.test_dataset[0]
    assert int(test_graph.labelled.numel()) == int(test_graph.masks["test"].sum())


def test_node_label_fraction_keeps_a_balanced_share_of_the_train_nodes(node_run: Path, tmp_path: Path) -> None:
    config = load_finetune_config(node_run, None, ["finetune.label_fraction=0.2", "train.max_steps=2"])
    finetune(config, tmp_path / "ft", progress=False)
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert 15 <= report["train_samples"] <= 25 and report["last"]["step"] == 2


def test_gat_layers_get_layer_ids(node_run: Path) -> None:
    encoder = FinetuneTask(load_finetune_config(node_run, None, []), None).build_model().encoder
    layers, depth = encoder_layer_ids(encoder)
    assert depth == 2 and layers["convs.1.lin.weight" if "convs.1.lin.weight" in layers else "norms.1.weight"] == 2
    assert all(layers[name] == 0 for name in layers if name.startswith("input."))


def test_graph_task_folds_are_disjoint_stratified_and_cover_every_graph(tmp_path: Path) -> None:
    graphs = [star(4 + i % 5) for i in range(20)] + [path(4 + i % 5) for i in range(20)]
    write_tu(tmp_path / "tu", "TOY", graphs, [0] * 20 + [1] * 20, node_labels=True)
    common = ["data.dataset=TOY", f"data.root={tmp_path / 'tu'}", "encoder.name=gin", "decoder.name=gin",
              "encoder.hidden_dim=16", "train.batch_size=8"]
    run = tmp_path / "run"
    train(load_config("graph", overrides=[*common, "train.max_steps=2"]), run, progress=False)
    task = FinetuneTask(load_finetune_config(run, None, ["data.folds=4"]), None)
    modality, tests = task.modality, []
    for fold in range(4):
        modality.data.fold = fold  # one modality: the same graph objects in every fold
        train_set, test_set = modality.finetune_dataset("train"), modality.finetune_dataset("test")
        assert len(train_set) == 30 and len(test_set) == 10
        assert modality.sample_labels(test_set).bincount().tolist() == [5, 5]
        tests.append({id(g) for g in test_set.graphs})
        assert not tests[-1] & {id(g) for g in train_set.graphs}
    assert len(set().union(*tests)) == 40
    logits = task.build_model().eval()(task.modality.tokenize(task.collate(test_set.graphs[:3]), torch.device("cpu")))
    assert logits.shape == (3, 2)
    with pytest.raises(ConfigError, match="data.fold=4"):
        FinetuneTask(load_finetune_config(run, None, ["data.folds=4", "data.fold=4"]), None)


def test_default_recipes_are_the_synthetic_recipe_files() -> None:
    assert GraphModality.default_finetune_recipe == "finetune/synthetic"
    assert recipe_values(GraphModality.default_finetune_recipe, "graph") == load_yaml(
        REPO / "configs/graph/finetune/synthetic.yaml")
    assert recipe_values(GraphModality.default_recipe, "graph") == load_yaml(REPO / "configs/graph/synthetic.yaml")


def test_more_folds_than_graphs_in_a_class_is_a_config_error(tmp_path: Path) -> None:
    write_tu(tmp_path / "tu", "TOY", [star(4 + i % 5) for i in range(12)], [0] * 6 + [1] * 6, node_labels=True)
    common = ["data.dataset=TOY", f"data.root={tmp_path / 'tu'}", "encoder.name=gin", "decoder.name=gin",
              "encoder.hidden_dim=16", "train.batch_size=4"]
    run = tmp_path / "run"
    train(load_config("graph", overrides=[*common, "train.max_steps=1"]), run, progress=False)
    with pytest.raises(ConfigError, match=r"data.folds=500 is more than the 6 graphs of the largest class .*\(12 graphs\)"):
        FinetuneTask(load_finetune_config(run, None, ["data.folds=500"]), None)
