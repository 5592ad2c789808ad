"""GraphMAE's pieces: node masking and corruption, sparse projection, re-mask, decoders, SCE, encoders."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import GATConv
from torch_geometric.utils import add_self_loops

from maskssl import Tokens, registry
from maskssl.maskers import RandomMasker
from maskssl_graph import (
    GATDecoder,
    GATEncoder,
    GINDecoder,
    GINEncoder,
    MaskedInputProjection,
    ProjectedGATLayer,
    SparseRows,
    corrupt_dense,
    sample_corruption,
    scaled_cosine_error,
    sparse_matmul,
)


def ring_graph(num_nodes: int, num_features: int = 12, density: float = 0.2, seed: int = 0) -> Tokens:
    """A ring with chords, sparse non-negative features, self-loops: Tokens of one node task."""
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(num_nodes, num_features, generator=g) < density
    x = keep.float() * torch.rand(num_nodes, num_features, generator=g)
    x[:, 0] += 0.1  # no empty rows
    src = torch.arange(num_nodes)
    edges = torch.cat([torch.stack([src, (src + 1) % num_nodes]), torch.stack([src, (src + 5) % num_nodes])], dim=1)
    edge_index = add_self_loops(torch.cat([edges, edges.flip(0)], dim=1), num_nodes=num_nodes)[0]
    sample = torch.arange(0, num_nodes, 3)
    return Tokens(inputs=x, targets=x.unsqueeze(0), context={"edge_index": edge_index, "sample": sample})


def hidden_mask(num_nodes: int, ratio: float = 0.5, seed: int = 0) -> torch.Tensor:
    tokens = Tokens(inputs=None, targets=torch.zeros(1, num_nodes, 1))
    return RandomMasker(ratio)(tokens, torch.Generator().manual_seed(seed))  # [1, N]


# -- masking and corruption ------------------------------------------------------------------------


@pytest.mark.parametrize("num_nodes", [7, 100, 2708, 19717])
@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_core_masker_hides_graphmae_count_up_to_rounding(num_nodes: int, ratio: float) -> None:
    mask = hidden_mask(num_nodes, ratio)
    graphmae = int(ratio * num_nodes)
    assert mask.shape == (1, num_nodes) and int(mask.sum()) == num_nodes - int(num_nodes * (1 - ratio))
    assert int(mask.sum()) - graphmae in (0, 1)


@pytest.mark.parametrize("replace_rate", [0.0, 0.05, 0.1, 0.5])
def test_corruption_splits_hidden_nodes_into_token_and_noise(replace_rate: float) -> None:
    mask = hidden_mask(1000, 0.5)[0]
    torch.manual_seed(0)
    corruption = sample_corruption(mask, replace_rate)
    hidden = set(mask.nonzero().flatten().tolist())
    token, noise = set(corruption.token.tolist()), set(corruption.noise.tolist())
    assert len(noise) == int(replace_rate * 500) and len(token) == 500 - len(noise)
    assert token | noise == hidden and not token & noise
    assert corruption.source.numel() == len(noise) == len(set(corruption.source.tolist()))
    assert bool(((corruption.source >= 0) & (corruption.source < 1000)).all())


def test_corruption_is_seeded_by_the_global_generator() -> None:
    mask = hidden_mask(300)[0]
    torch.manual_seed(5)
    first = sample_corruption(mask, 0.2)
    torch.manual_seed(5)
    second = sample_corruption(mask, 0.2)
    assert torch.equal(first.token, second.token) and torch.equal(first.source, second.source)
    assert not torch.equal(first.noise, sample_corruption(mask, 0.2).noise)


def test_corrupt_dense_gives_token_rows_and_copies_sources() -> None:
    x = torch.randn(50, 6)
    mask_token = torch.randn(6)
    torch.manual_seed(1)
    corruption = sample_corruption(hidden_mask(50)[0], 0.3)
    out = corrupt_dense(x, mask_token, corruption)
    assert torch.equal(out[corruption.token], mask_token.expand(corruption.token.numel(), -1))
    assert torch.equal(out[corruption.noise], x[corruption.source])
    untouched = torch.ones(50, dtype=torch.bool)
    untouched[corruption.token] = untouched[corruption.noise] = False
    assert torch.equal(out[untouched], x[untouched])


# -- sparse inputs ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_sparse_rows_round_trip_and_matmul_gradient() -> None:
    x = ring_graph(40).inputs
    rows = SparseRows.from_dense(x)
    assert torch.equal(rows.to_dense(), x) and rows.density < 0.35
    weight = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    rows64 = SparseRows(rows.indices, rows.values.double(), rows.shape, rows.transpose_order)
    assert torch.autograd.gradcheck(lambda w: sparse_matmul(rows64, w), (weight,))


def test_sparse_projection_equals_dense_graphmae_corruption() -> None:
    x = ring_graph(60).inputs
    projection = MaskedInputProjection(12, 8, dropout=0.2).eval()  # dropout is the one documented difference
    with torch.no_grad():
        projection.mask_token.normal_()
    torch.manual_seed(2)
    corruption = sample_corruption(hidden_mask(60)[0], 0.25)
    dense = projection(x, corruption)
    sparse = projection(SparseRows.from_dense(x), corruption)
    assert torch.allclose(dense, sparse, atol=1e-5)
    assert torch.allclose(projection(x), projection(SparseRows.from_dense(x)), atol=1e-5)


# -- re-mask and decoders --------------------------------------------------------------------------


@pytest.mark.parametrize("decoder_cls", [GATDecoder, GINDecoder])
def test_remask_zeroes_exactly_the_hidden_rows(decoder_cls: type) -> None:
    tokens = ring_graph(30)
    mask = hidden_mask(30)
    encoder = GATEncoder(12, "mean", hidden_dim=16, num_heads=2)
    decoder = decoder_cls(16, 12)
    layer = decoder.layer if decoder_cls is GATDecoder else decoder.conv
    seen: dict[str, torch.Tensor] = {}
    layer.register_forward_pre_hook(lambda module, args: seen.update(x=args[0]))
    decoder.eval()(encoder(tokens, mask), mask, tokens)
    zero_rows = (seen["x"] == 0).all(dim=1)
    assert torch.equal(zero_rows, mask[0])


def test_gat_decoder_predicts_hidden_rows_only_unless_asked() -> None:
    tokens, mask = ring_graph(30), hidden_mask(30)
    encoded = GATEncoder(12, "mean", hidden_dim=16, num_heads=2).eval()(tokens, mask)
    fast = GATDecoder(16, 12).eval()
    full = GATDecoder(16, 12, predict_visible=True).eval()
    full.load_state_dict(fast.state_dict())
    a, b = fast(encoded, mask, tokens).prediction[0], full(encoded, mask, tokens).prediction[0]
    assert a.shape == b.shape == (30, 12)
    assert torch.allclose(a[mask[0]], b[mask[0]], atol=1e-6)
    assert (a[~mask[0]] == 0).all() and (b[~mask[0]] != 0).any()


def test_projected_gat_layer_is_torch_geometric_gatconv_with_the_same_parameters() -> None:
    """W (sum_j a_ij h_j) + b with scores s . W h equals GATConv(D -> F, heads=1), on every row or a subset."""
    tokens = ring_graph(25)
    h = torch.randn(25, 16)
    edge_index = tokens.context["edge_index"]
    reference = GATConv(16, 12, heads=1).eval()
    layer = ProjectedGATLayer(16, 12).eval()
    with torch.no_grad():
        reference.bias.normal_()
        for name in ("att_src", "att_dst", "bias"):
            getattr(layer, name).copy_(getattr(reference, name))
        layer.lin.weight.copy_(reference.lin.weight)
    expected = reference(h, edge_index)
    assert torch.allclose(layer(h, edge_index), expected, atol=1e-5)
    rows = torch.tensor([3, 7, 20])
    assert torch.allclose(layer(h, edge_index, rows), expected[rows], atol=1e-5)


# -- loss ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 3.0])
def test_scaled_cosine_error_values(alpha: float) -> None:
    x = torch.randn(8, 5)
    zero = 1e-6 if alpha >= 1 else 1e-3  # (rounding of 1 - cos) ** 0.5
    assert scaled_cosine_error(x, x.clone(), alpha).item() == pytest.approx(0.0, abs=zero)
    assert scaled_cosine_error(3.0 * x, x, alpha).item() == pytest.approx(0.0, abs=zero)  # scale-free
    eye = torch.eye(4)
    assert scaled_cosine_error(eye, eye.roll(1, dims=0), alpha).item() == pytest.approx(1.0)  # orthogonal
    assert scaled_cosine_error(x, -x, alpha).item() == pytest.approx(2.0**alpha, rel=1e-5)


def test_scaled_cosine_error_is_a_mean_over_rows() -> None:
    prediction = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # rows: identical (0), orthogonal (1)
    assert scaled_cosine_error(prediction, target, 2.0).item() == pytest.approx(0.5)


# -- encoders --------------------------------------------------------------------------------------


def test_gat_encoder_shapes_and_hidden_nodes_see_only_the_mask_token() -> None:
    tokens, mask = ring_graph(40), hidden_mask(40)
    encoder = GATEncoder(12, "mean", hidden_dim=16, num_heads=4, replace_rate=0.0).eval()
    encoded = encoder(tokens, mask)
    assert encoded.latent.shape == (1, 40, 16) and encoded.pooled.shape == (14, 16)
    changed = tokens.inputs.clone()
    changed[mask[0]] += 5.0  # the hidden nodes' own features must not matter
    other = Tokens(inputs=changed, targets=changed.unsqueeze(0), context=tokens.context)
    assert torch.allclose(encoder(other, mask).latent, encoded.latent, atol=1e-6)
    assert not torch.allclose(encoder(other, None).latent, encoder(tokens, None).latent)


def test_gin_encoder_pools_one_row_per_graph() -> None:
    a, b = ring_graph(10), ring_graph(14, seed=1)
    x = torch.cat([a.inputs, b.inputs])
    edge_index = torch.cat([a.context["edge_index"], b.context["edge_index"] + 10], dim=1)
    batch = torch.cat([torch.zeros(10, dtype=torch.long), torch.ones(14, dtype=torch.long)])
    tokens = Tokens(inputs=x, targets=x.unsqueeze(0),
                    context={"edge_index": edge_index, "batch": batch, "num_graphs": 2})
    for pooling in ("sum", "mean", "max"):
        encoded = GINEncoder(12, pooling, hidden_dim=8, num_layers=3).eval()(tokens, hidden_mask(24, 0.75))
        assert encoded.latent.shape == (1, 24, 8) and encoded.pooled.shape == (2, 8)


def test_encoders_and_decoders_are_registered_with_their_options() -> None:
    encoder = registry.create("encoder", {"name": "gat", "hidden_dim": 8, "num_heads": 2}, in_dim=5, pooling="sum")
    assert isinstance(encoder, GATEncoder) and encoder.embed_dim == 8
    assert isinstance(registry.create("decoder", {"name": "gin"}, encoder_dim=8, out_dim=5), GINDecoder)
    with pytest.raises(ValueError, match="divisible"):
        GATEncoder(5, "mean", hidden_dim=10, num_heads=4)
