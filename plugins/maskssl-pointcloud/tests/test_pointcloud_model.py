"""Tokenizer, encoder, decoders, Point-CMAE masking and loss, features, augmentations."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from maskssl import Decoded, registry
from maskssl.build import build_modality, build_model
from maskssl.config.load import load_config
from maskssl.errors import ConfigError
from maskssl.layers.visible import gather_visible, scatter_visible
from maskssl.maskers import hidden_in_all
from maskssl_pointcloud import MiniPointNet, PointMAEDecoder, PointTransformerEncoder
from maskssl_pointcloud.augment import augment, jitter, rotate, scale_translate

RECIPES = Path(__file__).resolve().parents[3] / "configs" / "pointcloud"
TINY = [
    "data.num_points=128",
    "data.procedural_size=16",
    "model.num_groups=16",
    "model.group_size=8",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "encoder.pointnet_width=8",
    "decoder.embed_dim=32",
    "decoder.depth=1",
    "decoder.num_heads=2",
]


def tiny(*overrides: str):
    config = load_config("pointcloud", overrides=[*TINY, *overrides])
    modality = build_modality(config)
    batch = modality.collate([modality.build_dataset("train")[i] for i in range(4)])
    return config, modality, batch


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_visible_round_trip_keeps_order() -> None:
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).view(2, 5, 3)
    mask = torch.tensor([[1, 0, 0, 1, 0], [0, 1, 1, 0, 0]], dtype=torch.bool)
    visible = gather_visible(x, mask)
    assert torch.equal(visible[0], x[0, [1, 2, 4]]) and torch.equal(visible[1], x[1, [0, 3, 4]])
    fill = torch.full((3,), -1.0)
    full = scatter_visible(visible, mask, fill)
    assert torch.equal(full[~mask], x[~mask]) and (full[mask] == -1).all()
    with pytest.raises(ValueError, match="same number"):
        gather_visible(x, torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.bool))


def test_tokens_are_groups_relative_to_fps_centres() -> None:
    _, modality, batch = tiny()
    with torch.no_grad():
        tokens = modality.tokenize(batch, torch.device("cpu"))
    assert tokens.inputs.shape == (4, 16, 8, 3) and tokens.targets.shape == (4, 16, 24)
    assert tokens.positions.shape == (4, 16, 3) and tokens.labels.shape == (4,)
    assert torch.equal(tokens.targets, tokens.inputs.flatten(2))
    assert torch.equal(tokens.inputs[:, :, 0], torch.zeros(4, 16, 3))  # each centre is its own nearest point
    absolute = tokens.inputs + tokens.positions.unsqueeze(2)  # points of the cloud
    points = batch[0]
    distance = torch.cdist(absolute.flatten(1, 2), points, compute_mode="donot_use_mm_for_euclid_dist")
    assert distance.min(dim=2).values.max() < 1e-6


def test_mini_pointnet_is_invariant_to_point_order_within_a_group() -> None:
    net = MiniPointNet(16, width=8).eval()
    groups = torch.randn(2, 5, 7, 3)
    shuffled = groups[:, :, torch.randperm(7)]
    assert torch.allclose(net(groups), net(shuffled), atol=1e-6)
    assert net(groups).shape == (2, 5, 16)


def layer_by_layer(net: MiniPointNet, groups: torch.Tensor) -> torch.Tensor:
    """Point-MAE's Encoder as written: per point first, max, [max ‖ point], second, max (the reference)."""
    batch, num_groups, group_size, _ = groups.shape
    x = net.first(groups.reshape(-1, 3)).view(batch * num_groups, group_size, -1)  # [BG, k, 2w]
    x = torch.cat([x.max(dim=1, keepdim=True).values.expand_as(x), x], dim=-1)  # [BG, k, 4w]
    return net.second(x.flatten(0, 1)).view(batch, num_groups, group_size, -1).max(dim=2).values


@pytest.mark.parametrize("train", [True, False])
def test_mini_pointnet_computes_the_layer_by_layer_formula_and_its_gradients(train: bool) -> None:
    torch.manual_seed(0)
    net = MiniPointNet(16, width=8).double().train(train)
    groups = torch.randn(3, 5, 7, 3, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(3, 5, 16, dtype=torch.float64)
    results = []
    for forward in (net, lambda g: layer_by_layer(net, g)):
        net.zero_grad()
        groups.grad = None
        out = forward(groups)  # in train mode BatchNorm uses the batch's statistics
        out.backward(grad)
        results.append([out, groups.grad, *(p.grad for p in net.parameters())])
    for got, want in zip(*results):
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-12)


def test_encoder_sees_only_visible_groups_and_puts_cls_first() -> None:
    config, modality, batch = tiny()
    encoder = modality.build_encoder(config.encoder).eval()
    assert isinstance(encoder, PointTransformerEncoder)
    with torch.no_grad():
        tokens = modality.tokenize(batch, torch.device("cpu"))
        mask = registry.create("masker", config.masker)(tokens, seeded(0))
        encoded = encoder(tokens, mask)
        assert encoded.latent.shape == (4, 1 + 16 - 10, 32)  # 16 - int(16 * (1 - 0.59375)) = 10 hidden
        assert torch.equal(encoded.pooled, encoded.latent[:, 1:].amax(dim=1))
        tokens.inputs[mask] = 100.0  # hidden groups must not influence the encoding
        assert torch.allclose(encoder(tokens, mask).latent, encoded.latent)
        assert encoder(tokens, None).latent.shape == (4, 17, 32)


def test_decoder_predicts_every_group_and_rejects_a_wrong_encoder_output() -> None:
    config, modality, batch = tiny()
    model = build_model(modality, config)
    assert all(isinstance(d, PointMAEDecoder) for d in model.decoders)
    with torch.no_grad():
        tokens = modality.tokenize(batch, torch.device("cpu"))
        mask = registry.create("masker", config.masker)(tokens, seeded(1))
        encoded = model.encoder(tokens, mask)
        decoded = model.decoders[0](encoded, mask, tokens)
        assert decoded.prediction.shape == (4, 16, 24) and decoded.hidden.shape == (4, 16, 32)
        with pytest.raises(ValueError, match="visible"):
            model.decoders[0](encoded, torch.zeros_like(mask), tokens)


def test_point_cmae_two_views_exact_counts_shared_encoder_separate_decoders() -> None:
    config, modality, batch = tiny("data.num_points=256", "model.num_groups=64")
    model = build_model(modality, config)
    assert model.num_views == 2 and set(model.regularizers) == {"comask"}
    assert model.reconstruction_weight == 1000.0 and model.regularizer_weights["comask"] == 1.0
    first, second = (dict(d.named_parameters()) for d in model.decoders)
    assert all(first[name] is not second[name] for name in first)  # separate weights
    tokens = modality.tokenize(batch, torch.device("cpu"))
    out = model(tokens, seeded(2))
    masks = torch.stack([v.mask for v in out.views])  # [2, B, 64]
    assert (masks.sum(dim=2) == 38).all()  # ratio 0.59375: Point-MAE's int(0.6 * 64), per view and sample
    assert not torch.equal(masks[0], masks[1])
    assert torch.equal(hidden_in_all(masks), masks[0] & masks[1])
    assert set(out.terms) == {"reconstruction", "comask"}
    out.loss.backward()
    assert model.encoder.cls_token.grad is not None and all(
        d.head.weight.grad.abs().sum() > 0 for d in model.decoders
    )


def test_point_mae_is_the_one_view_config() -> None:
    config, modality, batch = tiny("views=1", "regularizers.comask=null")
    model = build_model(modality, config)
    out = model(modality.tokenize(batch, torch.device("cpu")), seeded(3))
    assert model.num_views == 1 and set(out.terms) == {"reconstruction"}


def test_uniformity_works_unchanged_on_pooled_features() -> None:
    config, modality, batch = tiny("regularizers.uniformity.weight=0.01")
    out = build_model(modality, config)(modality.tokenize(batch, torch.device("cpu")), seeded(4))
    assert 0.0 < out.terms["uniformity"].item() <= 1.0


@pytest.mark.parametrize("loss", ["chamfer_l2", "chamfer_l1"])
def test_reconstruction_loss_reads_hidden_groups_only_and_ignores_point_order(loss: str) -> None:
    _, modality, batch = tiny(f"model.loss={loss}")
    with torch.no_grad():
        tokens = modality.tokenize(batch, torch.device("cpu"))
    mask = torch.zeros(4, 16, dtype=torch.bool)
    mask[:, :5] = True
    k = modality.model.group_size
    exact = tokens.inputs[:, :, torch.randperm(k)].flatten(2)  # each group's points, shuffled
    assert modality.reconstruction_loss(Decoded(exact, torch.zeros(4, 16, 1)), mask, tokens).item() == 0.0
    wrong_visible = exact.clone()
    wrong_visible[~mask] += 1.0
    assert modality.reconstruction_loss(Decoded(wrong_visible, torch.zeros(4, 16, 1)), mask, tokens).item() == 0.0
    wrong_hidden = exact.clone()
    wrong_hidden[mask] += 0.1
    assert modality.reconstruction_loss(Decoded(wrong_hidden, torch.zeros(4, 16, 1)), mask, tokens).item() > 0


def test_features_are_cls_and_max_over_groups() -> None:
    config, modality, batch = tiny()
    encoder = modality.build_encoder(config.encoder).eval()
    with torch.no_grad():
        tokens = modality.tokenize(batch, torch.device("cpu"))
        features = modality.features(encoder, tokens)
        latent = encoder(tokens, None).latent
    assert features.shape == (4, 64)
    assert torch.equal(features[:, :32], latent[:, 0]) and torch.equal(features[:, 32:], latent[:, 1:].amax(dim=1))


def test_groups_must_fit_the_cloud() -> None:
    with pytest.raises(ConfigError, match="num_groups"):
        tiny("model.num_groups=500")


# -- augmentations ---------------------------------------------------------------------------------------------


def test_augmentations_are_seeded_and_do_what_they_say() -> None:
    points = torch.randn(8, 50, 3, generator=seeded(5))
    assert torch.equal(scale_translate(points, seeded(1)), scale_translate(points, seeded(1)))
    moved = scale_translate(points, seeded(1))
    scale = (moved[:, 1:] - moved[:, :1]) / (points[:, 1:] - points[:, :1])  # [B, N-1, 3]: constant per cloud and axis
    assert torch.allclose(scale, scale[:, :1].expand_as(scale), rtol=1e-4)
    assert ((scale[:, 0] >= 2 / 3 - 1e-5) & (scale[:, 0] <= 1.5 + 1e-5)).all()
    turned = rotate(points, seeded(2))
    assert torch.allclose(turned[..., 1], points[..., 1])  # about the vertical y axis
    assert torch.allclose(turned.norm(dim=-1), points.norm(dim=-1), atol=1e-5)
    noise = jitter(points, seeded(3)) - points
    assert 0 < noise.abs().max() <= 0.05 + 1e-6
    generator = seeded(4)
    in_order = jitter(rotate(points, generator), generator)
    assert torch.equal(augment(points, ["rotate", "jitter"], seeded(4)), in_order)


def test_tokenize_augments_only_while_autograd_records() -> None:
    _, modality, batch = tiny("data.augment=[scale_translate, rotate]")
    with torch.no_grad():
        clean = modality.tokenize(batch, torch.device("cpu"))
        assert torch.equal(modality.tokenize(batch, torch.device("cpu")).positions, clean.positions)
    torch.manual_seed(0)
    augmented = modality.tokenize(batch, torch.device("cpu"))
    assert not torch.allclose(augmented.positions, clean.positions)
    torch.manual_seed(0)
    assert torch.equal(modality.tokenize(batch, torch.device("cpu")).positions, augmented.positions)
    _, plain, _ = tiny("data.augment=[]")
    assert torch.equal(plain.tokenize(batch, torch.device("cpu")).positions, clean.positions)
    assert math.isfinite(float(augmented.targets.abs().max()))


def test_point_mae_differs_from_the_default_point_cmae_recipe_only_in_views() -> None:
    default = load_config("pointcloud").to_dict()  # the default recipe names point_cmae.yaml
    point_mae = load_config("pointcloud", RECIPES / "point_mae.yaml").to_dict()
    assert {k for k in default if default[k] != point_mae[k]} == {"views", "regularizers"}
    assert point_mae["views"] == 1 and point_mae["regularizers"] == {}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_every_recipe_builds_its_model(recipe: str) -> None:
    """Point-MAE's mask count (int(0.6 G)) with the core's rule, one decoder per view, co-mask with two views."""
    config = load_config("pointcloud", RECIPES / recipe)
    model = build_model(build_modality(config), config)
    assert model.num_views == (2 if "cmae" in recipe else 1)
    assert set(model.regularizers) == ({"comask"} if "cmae" in recipe else set())
    assert model.masker.num_hidden(config.model["num_groups"]) == int(0.6 * config.model["num_groups"])
