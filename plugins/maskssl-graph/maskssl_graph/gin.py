"""GraphMAE's GIN encoder and decoder (graph classification) on torch-geometric's GINConv."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GINConv

from maskssl import Decoded, Decoder, Encoded, Encoder, Tokens
from maskssl.errors import ConfigError
from maskssl.utils.typecheck import require_positive, require_probability
from maskssl_graph.corruption import corrupt_dense, sample_corruption
from maskssl_graph.layers import Activation, Norm, make_activation, make_norm
from maskssl_graph.pooling import Pooling, pool_samples


def gin_mlp(in_dim: int, hidden_dim: int, out_dim: int, activation: Activation, norm: Norm | None) -> nn.Sequential:
    """GraphMAE's two-layer MLP inside a GIN layer: Linear -> norm -> activation -> Linear."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), make_norm(norm, hidden_dim), make_activation(activation),
        nn.Linear(hidden_dim, out_dim),
    )


class GINEncoder(Encoder):
    """GraphMAE's GIN encoder: the whole (batched) graph, hidden nodes entering corrupted.

    Args:
        in_dim: F, node input features; injected by the modality.
        pooling: graph readout for ``Encoded.pooled``; injected (``model.pooling``).
        hidden_dim: D, width of every layer and of the output (GraphMAE's num_hidden).
        num_layers: GIN layers.
        in_drop: dropout on every layer's input.
        activation: inside each MLP and after each layer.
        norm: null, batchnorm or layernorm inside each MLP and after each layer.
        learn_eps: learn GIN's epsilon (initially 0).
        replace_rate: share of the hidden nodes given another node's features instead of the mask token.

    Layer l: dropout -> GINConv(sum aggregation, MLP) -> norm -> activation, as GraphMAE's
    ApplyNodeFunc; the last layer keeps its norm and activation only when ``norm`` is set (GraphMAE's
    ``last_norm``). The graphs carry self-loops (as GraphMAE's), which GIN's sum counts.
    The input is dense (``Tokens.targets``): TU datasets' one-hot features are narrow.
    ``forward`` returns latent [1, N, D] and pooled [S, D] (``pool_samples``).
    """

    block_pattern = r"^convs\.(\d+)\."

    def __init__(
        self,
        in_dim: int,
        pooling: Pooling,
        hidden_dim: int = 32,
        num_layers: int = 5,
        in_drop: float = 0.2,
        activation: Activation = "prelu",
        norm: Norm | None = "batchnorm",
        learn_eps: bool = False,
        replace_rate: float = 0.0,
    ) -> None:
        super().__init__()
        require_positive(hidden_dim=hidden_dim)
        require_probability(in_drop=in_drop)
        if num_layers < 1:
            raise ConfigError(f"num_layers={num_layers} must be at least 1")
        if not 0.0 <= replace_rate < 1.0:
            raise ConfigError(f"replace_rate={replace_rate} must be in [0, 1)")
        self.embed_dim = hidden_dim
        self.pooling = pooling
        self.in_drop = in_drop
        self.replace_rate = replace_rate
        self.mask_token = nn.Parameter(torch.zeros(in_dim))
        self.convs = nn.ModuleList()
        for layer in range(num_layers):
            mlp = gin_mlp(in_dim if layer == 0 else hidden_dim, hidden_dim, hidden_dim, activation, norm)
            if layer < num_layers - 1 or norm is not None:
                mlp = nn.Sequential(mlp, make_norm(norm, hidden_dim), make_activation(activation))
            self.convs.append(GINConv(mlp, eps=0.0, train_eps=learn_eps))

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens.targets[0]: dense features [N, F]; mask [1, N] bool or None."""
        h = tokens.targets[0]
        if mask is not None:
            h = corrupt_dense(h, self.mask_token, sample_corruption(mask[0], self.replace_rate))
        edge_index = tokens.context["edge_index"]
        for conv in self.convs:
            h = conv(F.dropout(h, self.in_drop, self.training), edge_index)
        return Encoded(latent=h.unsqueeze(0), pooled=pool_samples(h, tokens.context, self.pooling))


class GINDecoder(Decoder):
    """GraphMAE's decoder for graph tasks: bias-free linear, re-mask, one GIN layer predicting every node.

    Args:
        encoder_dim: D; injected by the modality.
        out_dim: F, features to reconstruct per node; injected.
        in_drop: dropout on the GIN layer's input.
        activation, norm: inside the layer's MLP (D -> D -> F); none after it (GraphMAE's decoding layer).
        learn_eps: learn GIN's epsilon (initially 0).

    ``forward`` returns prediction [1, N, F] and hidden [1, N, D] (the re-masked decoder input).
    """

    def __init__(
        self,
        encoder_dim: int,
        out_dim: int,
        in_drop: float = 0.2,
        activation: Activation = "prelu",
        norm: Norm | None = "batchnorm",
        learn_eps: bool = False,
    ) -> None:
        super().__init__()
        require_probability(in_drop=in_drop)
        self.in_drop = in_drop
        self.to_decoder = nn.Linear(encoder_dim, encoder_dim, bias=False)  # GraphMAE's encoder_to_decoder
        self.conv = GINConv(gin_mlp(encoder_dim, encoder_dim, out_dim, activation, norm), eps=0.0, train_eps=learn_eps)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """encoded.latent [1, N, D]; mask [1, N] bool (True = hidden)."""
        h = self.to_decoder(encoded.latent[0]).masked_fill(mask[0].unsqueeze(-1), 0.0)  # re-mask, [N, D]
        prediction = self.conv(F.dropout(h, self.in_drop, self.training), tokens.context["edge_index"])
        return Decoded(prediction=prediction.unsqueeze(0), hidden=h.unsqueeze(0))
