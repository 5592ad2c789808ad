"""Small building blocks shared by the GAT and GIN models: activations, norms, GraphMAE's initialisation."""

from __future__ import annotations

from typing import Literal

from torch import nn
from torch_geometric.nn import GATConv

Activation = Literal["prelu", "relu", "elu", "gelu", "identity"]
Norm = Literal["batchnorm", "layernorm"]


def make_activation(name: Activation) -> nn.Module:
    """A fresh activation module; "prelu" has one learnable slope (initially 0.25), as GraphMAE's."""
    modules = {"prelu": nn.PReLU, "relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "identity": nn.Identity}
    if name not in modules:
        raise ValueError(f"unknown activation '{name}'; choose one of {', '.join(modules)}")
    return modules[name]()


def make_norm(name: Norm | None, dim: int) -> nn.Module:
    """BatchNorm1d or LayerNorm over node features [N, dim], or Identity for None."""
    if name is None:
        return nn.Identity()
    if name == "batchnorm":
        return nn.BatchNorm1d(dim)
    if name == "layernorm":
        return nn.LayerNorm(dim)
    raise ValueError(f"unknown norm '{name}'; choose batchnorm, layernorm or null")


def init_like_graphmae(conv: GATConv) -> None:
    """GraphMAE's GAT initialisation: Xavier-normal with ReLU gain for the linear, attention and residual
    weights (torch-geometric's default is Glorot-uniform without gain); the bias stays 0."""
    gain = nn.init.calculate_gain("relu")
    for weight in (getattr(conv.lin, "weight", None), conv.att_src, conv.att_dst, getattr(conv.res, "weight", None)):
        if weight is not None:
            nn.init.xavier_normal_(weight, gain=gain)
