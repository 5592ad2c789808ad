"""GraphMAE's GAT encoder (torch-geometric's GATConv) and single-layer GAT decoder."""

from __future__ import annotations

import torch.nn.functional as F
from maskssl import Decoded, Decoder, Encoded, Encoder, Tokens
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from maskssl_graph.corruption import sample_corruption
from maskssl_graph.layers import Activation, Norm, init_like_graphmae, make_activation, make_norm
from maskssl_graph.pooling import Pooling, pool_samples
from maskssl_graph.projected_gat import ProjectedGATLayer
from maskssl_graph.projection import MaskedInputProjection


def _attention_only(conv: GATConv) -> GATConv:
    """Drop the layer's own linear map: its input arrives projected by the sparse-aware input projection."""
    conv.lin = nn.Identity()
    return conv


class GATEncoder(Encoder):
    """GraphMAE's GAT encoder: the whole graph, hidden nodes entering corrupted; heads concatenated.

    Args:
        in_dim: F, node input features; injected by the modality.
        pooling: graph readout for ``Encoded.pooled`` on graph tasks; injected (``model.pooling``).
        hidden_dim: D = num_heads x per-head width (GraphMAE's num_hidden), the output width.
        num_heads: attention heads per layer.
        num_layers: GAT layers.
        in_drop: dropout on every layer's input features (GraphMAE's in_drop / feat_drop).
        attn_drop: dropout on the attention coefficients.
        negative_slope: LeakyReLU slope of the attention scores.
        activation: after every layer, the last one included (GraphMAE's encoding=True).
        norm: null, batchnorm or layernorm after every layer, before the activation.
        residual: add a linear map of each layer's input (torch-geometric's GATConv residual; in layer 1
            that input is the projected features).
        replace_rate: share of the hidden nodes given another node's features instead of the mask token.

    Layer l: dropout -> GATConv -> norm -> activation. Layer 1's linear map is the
    ``MaskedInputProjection`` (mask token, replacement, sparse-aware); its GATConv only attends.
    ``forward`` returns latent [1, N, D] (every node, B = 1) and pooled [S, D] (``pool_samples``).
    """

    block_pattern = r"^(?:convs|norms|activations)\.(\d+)\."

    def __init__(
        self,
        in_dim: int,
        pooling: Pooling,
        hidden_dim: int = 512,
        num_heads: int = 4,
        num_layers: int = 2,
        in_drop: float = 0.2,
        attn_drop: float = 0.1,
        negative_slope: float = 0.2,
        activation: Activation = "prelu",
        norm: Norm | None = None,
        residual: bool = False,
        replace_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by num_heads={num_heads}")
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if not 0.0 <= replace_rate < 1.0:
            raise ValueError(f"replace_rate={replace_rate} must be in [0, 1)")
        self.embed_dim = hidden_dim
        self.pooling = pooling
        self.in_drop = in_drop
        self.replace_rate = replace_rate
        self.input = MaskedInputProjection(in_dim, hidden_dim, dropout=in_drop)
        self.convs = nn.ModuleList()
        for layer in range(num_layers):
            conv = GATConv(
                hidden_dim, hidden_dim // num_heads, heads=num_heads, dropout=attn_drop,
                negative_slope=negative_slope, residual=residual,
            )
            init_like_graphmae(conv)
            self.convs.append(_attention_only(conv) if layer == 0 else conv)
        self.norms = nn.ModuleList(make_norm(norm, hidden_dim) for _ in range(num_layers))
        self.activations = nn.ModuleList(make_activation(activation) for _ in range(num_layers))

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens.inputs: features [N, F] (dense or ``SparseRows``); mask [1, N] bool or None."""
        corruption = sample_corruption(mask[0], self.replace_rate) if mask is not None else None
        h = self.input(tokens.inputs, corruption)  # [N, D], dropout already applied to the input
        edge_index = tokens.context["edge_index"]
        for layer, (conv, norm, activation) in enumerate(zip(self.convs, self.norms, self.activations)):
            if layer > 0:
                h = F.dropout(h, self.in_drop, self.training)
            h = activation(norm(conv(h, edge_index)))
        return Encoded(latent=h.unsqueeze(0), pooled=pool_samples(h, tokens.context, self.pooling))


class GATDecoder(Decoder):
    """GraphMAE's decoder: bias-free linear, re-mask (hidden rows set to 0), one single-head GAT layer.

    Args:
        encoder_dim: D, the encoder's width; injected by the modality.
        out_dim: F, features to reconstruct per node; injected.
        in_drop: dropout on the GAT layer's input.
        attn_drop: dropout on the attention coefficients.
        negative_slope: LeakyReLU slope of the attention scores.
        predict_visible: also predict the visible nodes (default False: their prediction rows stay 0,
            since the loss reads hidden nodes only).

    The GAT layer is GraphMAE's ``GATConv(D, F, heads=1)`` computed as a ``ProjectedGATLayer`` (its
    linear map after the attention-weighted sum). What is never read is not computed: the bias-free
    linear runs on the visible rows only (the hidden ones are re-masked to 0 anyway), and, unless
    ``predict_visible``, the layer aggregates and projects into the hidden nodes only.
    ``forward`` returns prediction [1, N, F] and hidden [1, N, D] (the re-masked layer input).
    """

    def __init__(
        self,
        encoder_dim: int,
        out_dim: int,
        in_drop: float = 0.2,
        attn_drop: float = 0.1,
        negative_slope: float = 0.2,
        predict_visible: bool = False,
    ) -> None:
        super().__init__()
        self.in_drop = in_drop
        self.predict_visible = predict_visible
        self.to_decoder = nn.Linear(encoder_dim, encoder_dim, bias=False)  # GraphMAE's encoder_to_decoder
        self.layer = ProjectedGATLayer(encoder_dim, out_dim, attn_drop=attn_drop, negative_slope=negative_slope)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """encoded.latent [1, N, D]; mask [1, N] bool (True = hidden); the graph's edges carry self-loops."""
        hidden = mask[0]
        latent = encoded.latent[0]  # [N, D]
        visible = (~hidden).nonzero().flatten()
        kept = F.dropout(self.to_decoder(latent[visible]), self.in_drop, self.training)  # [N_vis, D]
        h = latent.new_zeros(latent.shape).index_put((visible,), kept)  # re-mask: hidden rows are 0
        edge_index = tokens.context["edge_index"]
        if self.predict_visible:
            prediction = self.layer(h, edge_index)  # [N, F]
        else:
            rows = hidden.nonzero().flatten()
            predicted = self.layer(h, edge_index[:, hidden[edge_index[1]]], rows)  # [M, F], edges into hidden
            prediction = predicted.new_zeros(h.shape[0], predicted.shape[1]).index_put((rows,), predicted)
        return Decoded(prediction=prediction.unsqueeze(0), hidden=h.unsqueeze(0))
