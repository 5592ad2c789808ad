"""The fast kernels equal the plain computations they replace: values and gradients, to float tolerance."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_graph_model import hidden_mask, ring_graph
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from maskssl import Decoded, Tokens
from maskssl_graph import (
    GATDecoder,
    GATEncoder,
    GATLayer,
    GraphDataConfig,
    GraphModality,
    GraphModelConfig,
    ProjectedGATLayer,
    SparseRows,
    corrupt_dense,
    projected_scaled_cosine_error,
    scaled_cosine_error,
)
from maskssl_graph.corruption import Corruption
from maskssl_graph.gat import HiddenRowsDecoded
from maskssl_graph.layers import PReLU
from maskssl_graph.ops.attention import EdgeLayout, attention_sum


def grads(loss: Tensor, *tensors: Tensor) -> list[Tensor]:
    return list(torch.autograd.grad(loss, tensors, retain_graph=True))


def close(a: Tensor, b: Tensor, tolerance: float = 1e-5) -> bool:
    """Equal up to ``tolerance`` relative to the larger magnitude of b."""
    return bool((a - b).abs().max() <= tolerance * b.abs().max().clamp_min(1e-12))


# -- attention ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("heads", [1, 3])
@pytest.mark.parametrize("subset", [False, True])
def test_attention_sum_is_the_edge_wise_sum(heads: int, subset: bool) -> None:
    """CSR products and the sampled product = gather, multiply, scatter-add over the edges (and gradients)."""
    edge_index = ring_graph(30).context["edge_index"]
    rows = torch.tensor([0, 4, 5, 17, 29]) if subset else None
    layout = EdgeLayout.from_edge_index(edge_index, 30, heads, rows)
    g = torch.Generator().manual_seed(0)
    weights = torch.rand(layout.source.numel(), heads, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(30, heads, 7, generator=g, dtype=torch.float64, requires_grad=True)
    out = attention_sum(weights, x, layout)
    messages = weights.unsqueeze(-1) * x[layout.source]  # [E, H, C]
    reference = torch.zeros(layout.num_targets, heads, 7, dtype=torch.float64).index_add(0, layout.target, messages)
    assert out.shape == reference.shape and torch.allclose(out, reference)
    upstream = torch.randn(out.shape, generator=g, dtype=torch.float64)
    for mine, theirs in zip(grads((out * upstream).sum(), weights, x), grads((reference * upstream).sum(), weights, x)):
        assert torch.allclose(mine, theirs)


def test_layout_keeps_the_edges_into_the_rows() -> None:
    edge_index = ring_graph(30).context["edge_index"]
    rows = torch.tensor([3, 8])
    layout = EdgeLayout.from_edge_index(edge_index, 30, rows=rows)
    expected = sorted((int(s), int(t)) for s, t in edge_index.T if int(t) in (3, 8))
    assert sorted((int(s), int(rows[t])) for s, t in zip(layout.source, layout.target)) == expected
    assert EdgeLayout.from_edge_index(edge_index, 30, rows=torch.tensor([], dtype=torch.long)).num_targets == 0


@pytest.mark.parametrize(("heads", "project", "residual"), [(4, True, False), (2, False, False), (3, True, True)])
def test_gat_layer_is_torch_geometric_gatconv(heads: int, project: bool, residual: bool) -> None:
    """Same parameters (a GATConv state dict loads), same output and gradients, on a graph with self-loops."""
    edge_index = ring_graph(25).context["edge_index"]
    reference = GATConv(heads * 6, 6, heads=heads, residual=residual).double().eval()
    if not project:
        reference.lin = nn.Identity()  # the encoder's first layer: its input arrives projected
    layer = GATLayer(heads * 6, heads, 6, residual=residual, project=project).double().eval()
    with torch.no_grad():
        reference.bias.normal_()
    layer.load_state_dict(reference.state_dict())
    h = torch.randn(25, heads * 6, dtype=torch.float64, requires_grad=True)
    out, expected = layer(h, EdgeLayout.from_edge_index(edge_index, 25, heads)), reference(h, edge_index)
    assert torch.allclose(out, expected)
    upstream = torch.randn(out.shape, dtype=torch.float64)
    mine = grads((out * upstream).sum(), h, *layer.parameters())
    theirs = grads((expected * upstream).sum(), h, *reference.parameters())
    assert all(torch.allclose(a, b) for a, b in zip(mine, theirs))


def test_projected_gat_layer_hands_out_its_sums_before_the_linear_map() -> None:
    tokens = ring_graph(20)
    layer, h, rows = ProjectedGATLayer(8, 5).eval(), torch.randn(20, 8), torch.tensor([1, 6, 11])
    sums = layer(h, tokens.context["edge_index"], rows, project=False)
    assert sums.shape == (3, 8)
    assert torch.allclose(F.linear(sums, layer.lin.weight, layer.bias), layer(h, tokens.context["edge_index"], rows))
    assert layer(h, tokens.context["edge_index"], torch.tensor([], dtype=torch.long)).shape == (0, 5)


def test_encoder_reuses_the_layout_of_the_same_edges_only() -> None:
    tokens = ring_graph(20)
    encoder = GATEncoder(12, "mean", hidden_dim=8, num_heads=2).eval()
    first = encoder.edge_layout(tokens.context["edge_index"], 20)
    assert encoder.edge_layout(tokens.context["edge_index"], 20) is first
    assert encoder.edge_layout(tokens.context["edge_index"].clone(), 20) is not first


# -- loss ---------------------------------------------------------------------------------------------------


def reference_sce(prediction: Tensor, target: Tensor, alpha: float) -> Tensor:
    """GraphMAE's sce_loss (with the clamp): normalise both, 1 - dot, power, mean; autograd's gradient."""
    cos = (F.normalize(prediction, dim=-1) * F.normalize(target, dim=-1)).sum(-1)
    return (1 - cos).clamp_min(0.0).pow(alpha).mean()


def bag_of_words(rows: int, width: int, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(rows, width, generator=g) * (torch.rand(rows, width, generator=g) < 0.2)
    target[:, 0] += 0.05
    return target


@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_scaled_cosine_error_has_autograds_gradient(alpha: float, sparse: bool) -> None:
    target = bag_of_words(40, 30)
    target[3] = 0.0  # a target row of zeros
    prediction = torch.randn(40, 30, requires_grad=True)
    with torch.no_grad():
        prediction[5] = 0.0  # a prediction row of zeros: the clamped norms' gradients
    loss = scaled_cosine_error(prediction, SparseRows.from_dense(target) if sparse else target, alpha)
    expected = reference_sce(prediction, target, alpha)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert close(grads(loss, prediction)[0], grads(expected, prediction)[0])


@pytest.mark.parametrize("alpha", [1.0, 3.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_projected_scaled_cosine_error_is_the_loss_of_the_formed_prediction(alpha: float, sparse: bool) -> None:
    target = bag_of_words(50, 40)
    g = torch.Generator().manual_seed(1)
    states = torch.randn(50, 16, generator=g, requires_grad=True)
    weight = (0.3 * torch.randn(40, 16, generator=g)).requires_grad_()
    bias = (0.1 * torch.randn(40, generator=g)).requires_grad_()
    loss = projected_scaled_cosine_error(states, weight, bias, SparseRows.from_dense(target) if sparse else target,
                                         alpha)
    expected = reference_sce(F.linear(states, weight, bias), target, alpha)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    for mine, theirs in zip(grads(loss, states, weight, bias), grads(expected, states, weight, bias)):
        assert close(mine, theirs, 1e-4)


def test_the_graph_loss_of_hidden_rows_equals_the_loss_of_the_full_prediction() -> None:
    """The modality's loss of a ``HiddenRowsDecoded`` (sparse targets, factored prediction) = its loss of the
    same decoder output as a plain Decoded [1, N, F] (dense gather of the hidden rows), gradients included."""
    tokens, mask = ring_graph(40), hidden_mask(40)
    tokens = Tokens(inputs=SparseRows.from_dense(tokens.inputs), targets=tokens.targets, context=tokens.context)
    encoder, decoder = GATEncoder(12, "mean", hidden_dim=16, num_heads=2).eval(), GATDecoder(16, 12).eval()
    decoded = decoder(encoder(tokens, mask), mask, tokens)
    assert isinstance(decoded, HiddenRowsDecoded)
    modality = GraphModality(GraphDataConfig(), GraphModelConfig(alpha=3.0))
    loss = modality.reconstruction_loss(decoded, mask, tokens)
    expected = modality.reconstruction_loss(Decoded(decoded.prediction, decoded.hidden), mask, tokens)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    params = list(decoder.parameters()) + list(encoder.parameters())
    assert all(close(a, b, 1e-4) for a, b in zip(grads(loss, *params), grads(expected, *params)))


def test_sparse_path_trains_under_bfloat16_autocast() -> None:
    tokens, mask = ring_graph(40), hidden_mask(40)
    tokens = Tokens(inputs=SparseRows.from_dense(tokens.inputs), targets=tokens.targets, context=tokens.context)
    encoder, decoder = GATEncoder(12, "mean", hidden_dim=16, num_heads=2), GATDecoder(16, 12)
    modality = GraphModality(GraphDataConfig(), GraphModelConfig(alpha=3.0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = modality.reconstruction_loss(decoder(encoder(tokens, mask), mask, tokens), mask, tokens)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in encoder.parameters())


# -- small pieces -------------------------------------------------------------------------------------------


def test_prelu_is_torch_prelu() -> None:
    x = torch.randn(50, 8, requires_grad=True)
    mine, theirs = PReLU(), nn.PReLU()
    with torch.no_grad():
        mine.weight.fill_(0.3)
        theirs.weight.fill_(0.3)
    upstream = torch.randn(50, 8)
    assert torch.equal(mine(x), theirs(x))
    a, b = grads((mine(x) * upstream).sum(), x, mine.weight), grads((theirs(x) * upstream).sum(), x, theirs.weight)
    assert torch.equal(a[0], b[0]) and torch.allclose(a[1], b[1])


def test_corrupt_dense_has_the_gradient_of_index_copy_and_index_put() -> None:
    """Sources may themselves be replaced rows: they still receive their copies' gradient."""
    corruption = Corruption(token=torch.tensor([1, 4, 7]), noise=torch.tensor([2, 9]), source=torch.tensor([4, 2]))
    x, token, upstream = torch.randn(12, 5, requires_grad=True), torch.randn(5, requires_grad=True), torch.randn(12, 5)
    out = corrupt_dense(x, token, corruption)
    expected = x.index_copy(0, corruption.noise, x[corruption.source]).index_put(
        (corruption.token,), token.expand(3, -1)
    )
    assert torch.equal(out, expected)
    mine, theirs = grads((out * upstream).sum(), x, token), grads((expected * upstream).sum(), x, token)
    assert torch.allclose(mine[0], theirs[0]) and torch.allclose(mine[1], theirs[1])


def test_sparse_rows_select_rows() -> None:
    x = ring_graph(30).inputs
    rows = torch.tensor([0, 3, 4, 20])
    assert torch.equal(SparseRows.from_dense(x).select_rows(rows).to_dense(), x[rows])
