"""GraphMAE's GAT encoder (torch-geometric's GATConv, computed as ``GATLayer``) and single-layer GAT decoder."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from maskssl import Decoded, Decoder, Encoded, Encoder, Tokens
from maskssl.errors import ConfigError
from maskssl.utils.typecheck import require_positive, require_probability
from maskssl_graph.corruption import sample_corruption
from maskssl_graph.gat_layer import GATLayer
from maskssl_graph.layers import Activation, Norm, make_activation, make_norm
from maskssl_graph.ops.attention import EdgeLayout
from maskssl_graph.pooling import Pooling, pool_samples
from maskssl_graph.projected_gat import ProjectedGATLayer
from maskssl_graph.projection import MaskedInputProjection


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
        residual: add a linear map of each layer's input (GATConv's residual; in layer 1 that input is the
            projected features).
        replace_rate: share of the hidden nodes given another node's features instead of the mask token.

    Layer l: dropout -> GAT layer (``GATLayer``: GATConv, heads concatenated) -> norm -> activation. Layer 1's
    linear map is the ``MaskedInputProjection`` (mask token, replacement, sparse-aware); its GAT layer only
    attends. The layers share one ``EdgeLayout`` of the graph, kept while the same edge tensor comes back.
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
        require_positive(hidden_dim=hidden_dim, num_heads=num_heads)
        require_probability(in_drop=in_drop, attn_drop=attn_drop)
        if hidden_dim % num_heads:
            raise ConfigError(f"hidden_dim={hidden_dim} must be divisible by num_heads={num_heads}")
        if num_layers < 1:
            raise ConfigError(f"num_layers={num_layers} must be at least 1")
        if not 0.0 <= replace_rate < 1.0:
            raise ConfigError(f"replace_rate={replace_rate} must be in [0, 1)")
        self.embed_dim = hidden_dim
        self.pooling = pooling
        self.in_drop = in_drop
        self.replace_rate = replace_rate
        self.input = MaskedInputProjection(in_dim, hidden_dim, dropout=in_drop)
        self.num_heads = num_heads
        self._layout: tuple[Tensor, tuple[int, int], EdgeLayout] | None = None  # see ``edge_layout``
        self.convs = nn.ModuleList(
            GATLayer(hidden_dim, num_heads, hidden_dim // num_heads, attn_drop, negative_slope, residual, layer > 0)
            for layer in range(num_layers)
        )
        self.norms = nn.ModuleList(make_norm(norm, hidden_dim) for _ in range(num_layers))
        self.activations = nn.ModuleList(make_activation(activation) for _ in range(num_layers))

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens.inputs: features [N, F] (dense or ``SparseRows``); mask [1, N] bool or None."""
        corruption = sample_corruption(mask[0], self.replace_rate) if mask is not None else None
        h = self.input(tokens.inputs, corruption)  # [N, D], dropout already applied to the input
        layout = self.edge_layout(tokens.context["edge_index"], h.shape[0])
        for layer, (conv, norm, activation) in enumerate(zip(self.convs, self.norms, self.activations)):
            if layer > 0:
                h = F.dropout(h, self.in_drop, self.training)
            h = activation(norm(conv(h, layout)))
        return Encoded(latent=h.unsqueeze(0), pooled=pool_samples(h, tokens.context, self.pooling))

    def edge_layout(self, edge_index: Tensor, num_nodes: int) -> EdgeLayout:
        """The attention layout of the graph's edges, rebuilt only when another edge tensor arrives: a node
        task passes the same one every step, a batch of graphs a new one."""
        key = (edge_index._version, num_nodes)
        if self._layout is None or self._layout[0] is not edge_index or self._layout[1] != key:
            self._layout = (edge_index, key, EdgeLayout.from_edge_index(edge_index, num_nodes, self.num_heads))
        return self._layout[2]


class HiddenRowsDecoded(Decoded):
    """``Decoded`` of a decoder that predicts the hidden nodes only, as a linear map of D-wide states.

    Attributes:
        hidden: [1, N, D] the decoder's per-node states.
        rows: [M] the hidden nodes (``mask[0].nonzero()``, ascending).
        states: [M, D] the rows' states before the decoder's last linear map ...
        weight: [F, D] ... and bias [F]: the rows' prediction is ``F.linear(states, weight, bias)``, which the
            loss reads in this form (``projected_scaled_cosine_error``).
        prediction: [1, N, F], the rows' prediction in the hidden rows and 0 elsewhere; formed (and from then
            on part of the autograd graph) on first access only: the objective does not read it.
    """

    def __init__(self, hidden: Tensor, rows: Tensor, states: Tensor, weight: Tensor, bias: Tensor) -> None:
        self.hidden, self.rows, self.states, self.weight, self.bias = hidden, rows, states, weight, bias
        self._prediction: Tensor | None = None

    @property
    def prediction(self) -> Tensor:  # type: ignore[override]
        if self._prediction is None:
            rows_prediction = F.linear(self.states, self.weight, self.bias)  # [M, F]
            full = rows_prediction.new_zeros(self.hidden.shape[1], rows_prediction.shape[1])
            self._prediction = full.index_put_((self.rows,), rows_prediction).unsqueeze(0)
        return self._prediction


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
    ``predict_visible``, the layer aggregates into the hidden nodes only and hands their sums [M, D] over
    with its linear map (``HiddenRowsDecoded``): the loss reads the prediction in that form, and the
    [1, N, F] prediction is formed only if something else reads it.
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
        require_probability(in_drop=in_drop, attn_drop=attn_drop)
        self.in_drop = in_drop
        self.predict_visible = predict_visible
        self.to_decoder = nn.Linear(encoder_dim, encoder_dim, bias=False)  # GraphMAE's encoder_to_decoder
        self.layer = ProjectedGATLayer(encoder_dim, out_dim, attn_drop=attn_drop, negative_slope=negative_slope)

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """encoded.latent [1, N, D]; mask [1, N] bool (True = hidden); the graph's edges carry self-loops."""
        hidden = mask[0]
        latent = encoded.latent.squeeze(0)  # [N, D] (a view: its backward is free, unlike [0]'s)
        visible = (~hidden).nonzero().flatten()
        kept = F.dropout(self.to_decoder(latent.index_select(0, visible)), self.in_drop, self.training)  # [N_vis, D]
        h = latent.new_zeros(latent.shape).index_put_((visible,), kept)  # re-mask: hidden rows are 0
        edge_index = tokens.context["edge_index"]
        if self.predict_visible:
            return Decoded(prediction=self.layer(h, edge_index).unsqueeze(0), hidden=h.unsqueeze(0))
        rows = hidden.nonzero().flatten()
        states = self.layer(h, edge_index, rows, project=False)  # [M, D]
        return HiddenRowsDecoded(h.unsqueeze(0), rows, states, self.layer.lin.weight, self.layer.bias)
