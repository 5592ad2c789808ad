"""The graph modality (GraphMAE): nodes are tokens, a batch of graphs is one sequence of nodes.

A batch becomes Tokens with B = 1 and L = N, the nodes of the batch: ``targets`` [1, N, F] are the
node features, ``context`` holds ``edge_index`` [2, E] and either ``sample`` [S] (node tasks: the
nodes whose states ``Encoded.pooled`` returns, drawn afresh each batch, or in fine-tuning a split's
nodes) or ``batch`` [N] and ``num_graphs`` (graph tasks: pooled is one readout per graph). The core's random masker then hides
``N - int(N * (1 - ratio))`` nodes of the batch; GraphMAE hides ``int(ratio * N)``: the same for even
N * ratio, one node more otherwise (Cora at 0.5: 1354 both ways).

Node tasks (Planetoid, synthetic, a user's .npz graph or registered Data) train full-batch, one step per
epoch (``train.batch_size=1``); graph tasks (TU datasets, a user's graph files or registered Dataset) train
on mini-batches of ``train.batch_size`` graphs. What ``data.dataset`` may name: ``sources``.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import Any, ClassVar

import torch
from sklearn.model_selection import StratifiedKFold
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torch_geometric.data import Batch

from maskssl import Decoded, Decoder, Encoder, FeatureSet, Modality, Tokens, registry
from maskssl.errors import ConfigError, DataError
from maskssl.finetune.linear_head import PooledLinearHead, PooledLinearHeadConfig
from maskssl_graph.config import GraphDataConfig, GraphModelConfig
from maskssl_graph.data.graphs import GraphList, NodeGraph, SingleGraph
from maskssl_graph.data.sources import is_node_task, load_source
from maskssl_graph.gat import HiddenRowsDecoded
from maskssl_graph.loss import projected_scaled_cosine_error, scaled_cosine_error
from maskssl_graph.ops.sparse import SparseRows
from maskssl_graph.pooling import READOUTS


class GraphModality(Modality):
    """GraphMAE on torch-geometric: node features reconstructed with the scaled cosine error."""

    name: ClassVar[str] = "graph"
    data_config: ClassVar[type] = GraphDataConfig
    model_config: ClassVar[type] = GraphModelConfig
    default_recipe: ClassVar[dict[str, Any] | str] = "synthetic"  # recipes/synthetic.yaml
    head_config: ClassVar[type] = PooledLinearHeadConfig
    default_finetune_recipe: ClassVar[dict[str, Any] | str] = "finetune/synthetic"  # recipes/finetune/synthetic.yaml

    def __init__(self, data: GraphDataConfig, model: GraphModelConfig) -> None:
        super().__init__(data, model)
        if model.pooling not in READOUTS:
            raise ConfigError(f"model.pooling={model.pooling!r}: choose one of {', '.join(READOUTS)}")
        if model.pooled_nodes < 1:
            raise ConfigError(f"model.pooled_nodes={model.pooled_nodes} must be at least 1")
        if model.alpha <= 0:
            raise ConfigError(f"model.alpha={model.alpha} must be positive (GraphMAE uses 1 to 3)")
        if not 0 <= data.fold < data.folds or data.folds < 2:
            raise ConfigError(f"data.fold={data.fold} must be in [0, data.folds={data.folds}) and data.folds >= 2")
        for key in ("test_fraction", "val_fraction"):
            if not 0 < getattr(data, key) < 1:
                raise ConfigError(f"data.{key}={getattr(data, key)} must be in (0, 1), e.g. 0.2")
        self.node_task = is_node_task(data.dataset)

    @cached_property
    def source(self) -> NodeGraph | GraphList:
        """The loaded data: one NodeGraph (node tasks) or a GraphList (graph tasks), read once."""
        return load_source(self.data)

    @property
    def feature_dim(self) -> int:
        """F, node input features."""
        source = self.source
        return source.x.shape[1] if isinstance(source, NodeGraph) else source[0].x.shape[1]

    def build_dataset(self, split: str) -> Dataset:
        """Every split is the whole data: pretraining is self-supervised, and the evaluation splits come
        from ``evaluation_features`` (node masks, or cross-validation folds)."""
        source = self.source
        return SingleGraph(source) if isinstance(source, NodeGraph) else source

    def finetune_dataset(self, split: str, keep: Tensor | None = None) -> Dataset:
        """Node tasks: the graph, classifying the nodes of the public ``split`` mask (``keep``: a subset of
        them). Graph tasks: the graphs of fold ``data.fold`` ("test") or of the other folds ("train")."""
        source = self.source
        if not self._has_labels():
            raise DataError(f"data.dataset={self.data.dataset} has no labels: fine-tuning needs {self._label_kind()}")
        if isinstance(source, NodeGraph):
            nodes = source.masks[split].nonzero().flatten()
            return SingleGraph(source.with_labelled(nodes if keep is None else nodes[keep]))
        labels = torch.cat([graph.y for graph in source.graphs]).numpy()
        largest = max(Counter(labels.tolist()).values(), default=0)
        if self.data.folds > largest:  # scikit-learn's stratified split needs that many graphs in some class
            raise ConfigError(
                f"data.folds={self.data.folds} is more than the {largest} graphs of the largest class of data.dataset="
                f"{self.data.dataset} ({len(labels)} graphs): choose at most {largest} folds (GraphMAE's protocol: 10)"
            )
        folds = StratifiedKFold(self.data.folds, shuffle=True, random_state=self.data.seed)
        train, test = list(folds.split(labels, labels))[self.data.fold]
        indices = torch.as_tensor(train if split == "train" else test)
        if keep is not None:
            indices = indices[keep]
        return GraphList([source.graphs[i] for i in indices.tolist()])

    def _has_labels(self) -> bool:
        """Whether the data has class labels (a user's graphs may come without; they still pretrain)."""
        source = self.source
        return (source.y if isinstance(source, NodeGraph) else source[0].y) is not None

    def _label_kind(self) -> str:
        return "node labels y [N]" if self.node_task else "a graph label y per graph (or class sub-folders)"

    def sample_labels(self, dataset: Dataset) -> Tensor:
        """Labels of the labelled nodes (node tasks) or of the graphs (graph tasks)."""
        if isinstance(dataset, SingleGraph) and dataset.graph.labelled is not None:
            return dataset.graph.y[dataset.graph.labelled]
        return super().sample_labels(dataset)

    def build_head(self, encoder: Encoder, num_classes: int, options: PooledLinearHeadConfig) -> nn.Module:
        """A linear layer on ``Encoded.pooled``: graph readouts, or the states of a split's nodes."""
        return PooledLinearHead(encoder.embed_dim, num_classes, options)

    def collate(self, samples: list[Any]) -> NodeGraph | Batch:
        """The graph itself (node tasks), or the graphs merged into one disconnected Batch."""
        if isinstance(samples[0], NodeGraph):
            return samples[0]
        return Batch.from_data_list(samples)

    def tokenize(self, batch: NodeGraph | Batch, device: torch.device) -> Tokens:
        """A graph or batch of graphs -> Tokens with B = 1, L = N (see the module docstring)."""
        if isinstance(batch, NodeGraph):
            graph = batch.to(device)
            sample = (
                graph.labelled if graph.labelled is not None
                else torch.randperm(graph.num_nodes)[: self.model.pooled_nodes].to(device)
            )
            return Tokens(
                inputs=graph.inputs,
                targets=graph.x.unsqueeze(0),
                labels=None if graph.y is None else graph.y[sample],
                context={"edge_index": graph.edge_index, "sample": sample},
            )
        batch = batch.to(device)
        return Tokens(
            inputs=batch.x,
            targets=batch.x.unsqueeze(0),
            labels=batch.y,
            context={"edge_index": batch.edge_index, "batch": batch.batch, "num_graphs": batch.num_graphs},
        )

    def build_encoder(self, section: dict[str, Any]) -> Encoder:
        """The ``encoder`` section with in_dim (F) and pooling (``model.pooling``) injected."""
        return registry.create("encoder", section, in_dim=self.feature_dim, pooling=self.model.pooling)

    def build_decoder(self, section: dict[str, Any], encoder: Encoder) -> Decoder:
        """The ``decoder`` section with encoder_dim and out_dim (F) injected."""
        return registry.create("decoder", section, encoder_dim=encoder.embed_dim, out_dim=self.feature_dim)

    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        """GraphMAE's scaled cosine error over the hidden nodes (mask [1, N], True = hidden)."""
        if isinstance(decoded, HiddenRowsDecoded):  # the decoder predicted the hidden rows only: no gather
            # the targets' hidden rows; kept sparse when the features are (tokenize hands them as the inputs)
            inputs = tokens.inputs
            target = (inputs.select_rows(decoded.rows) if isinstance(inputs, SparseRows)
                      else tokens.targets[0].index_select(0, decoded.rows))
            return projected_scaled_cosine_error(decoded.states, decoded.weight, decoded.bias, target, self.model.alpha)
        hidden = mask[0]
        return scaled_cosine_error(decoded.prediction[0][hidden], tokens.targets[0][hidden], self.model.alpha)

    def features(self, encoder: Encoder, tokens: Tokens) -> Tensor:
        """Frozen features, nothing hidden: every node's state [N, D] (node tasks), or graph readouts [G, D]."""
        encoded = encoder(tokens, None)
        return encoded.latent[0] if "sample" in tokens.context else encoded.pooled

    def evaluation_protocol(self) -> str:
        """GraphMAE's: logistic regression on the public split (nodes), SVM under 10-fold CV (graphs)."""
        return "logreg" if self.node_task else "svm"

    @torch.no_grad()
    def evaluation_features(
        self, encoder: Encoder, device: torch.device, batch_size: int
    ) -> dict[str, FeatureSet]:
        """Node tasks: every node's state from the whole, unmasked graph, split by the public masks, and
        "all" nodes. Graph tasks: the readout of every graph as "all"."""
        source = self.source
        labelled = self._has_labels()
        if isinstance(source, NodeGraph):
            graph = source.to(device)
            states = self.features(encoder, self.tokenize(graph, device)).float()  # [N, D]
            splits = {name: FeatureSet(states[m], graph.y[m] if labelled else None) for name, m in graph.masks.items()}
            return {**splits, "all": FeatureSet(states, graph.y)}
        features, labels = [], []
        for batch in DataLoader(source, batch_size=batch_size, shuffle=False, collate_fn=self.collate):
            tokens = self.tokenize(batch, device)
            features.append(self.features(encoder, tokens).float())
            labels.append(tokens.labels)
        return {"all": FeatureSet(torch.cat(features), torch.cat(labels) if labelled else None)}

