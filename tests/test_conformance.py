"""maskssl.testing on every installed component (timm-style), and proof that it catches broken ones.

The parametrized cases cover every entry point of every kind in the installed distributions (the
core and the image, graph and point-cloud plugins in CI): a new plugin component is checked without
touching this file. Encoders and decoders are checked inside a modality of their own distribution,
since only a modality knows how to build them. Negative cases below break one property each.
"""

from __future__ import annotations

import importlib.metadata as metadata

import pytest
import torch
from torch import Tensor, nn

import tests.toy  # noqa: F401  (registers the toy modality: a fast, local, known-good modality)
from maskssl import Decoded, Encoded, Masker, Regularizer, Tokens, ViewOutput, registry
from maskssl.testing import (
    ConformanceError,
    available_devices,
    build_case,
    check_component,
    check_decoder,
    check_encoder,
    check_exporter,
    check_mask,
    check_masker,
    check_modality,
    check_regularizer,
    make_tokens,
    to_device,
)
from tests.toy import ToyData, ToyDecoder, ToyEncoder, ToyModality, ToyModel

TINY: dict[str, list[str]] = {
    "image": ["encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2", "decoder.embed_dim=16",
              "decoder.depth=1", "decoder.num_heads=2"],
    "graph": ["encoder.hidden_dim=16", "model.pooled_nodes=32"],
    "pointcloud": ["data.num_points=128", "data.procedural_size=8", "model.num_groups=16", "model.group_size=8",
                   "encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2", "encoder.pointnet_width=8",
                   "decoder.embed_dim=32", "decoder.depth=1", "decoder.num_heads=2"],
}  # fmt: skip
"""Overrides that make each known modality's model tiny; any other modality runs its default recipe."""


def installed(kind: str) -> list[str]:
    """Names of ``kind`` declared as entry points by installed distributions (local registrations aside)."""
    return sorted({ep.name for ep in metadata.entry_points(group=registry.GROUPS[kind])})


# ---- every installed component passes ---------------------------------------------------------------------


@pytest.mark.parametrize("name", installed("masker"))
def test_installed_masker_conforms(name: str) -> None:
    check_masker(name)


@pytest.mark.parametrize("name", installed("regularizer"))
def test_installed_regularizer_conforms(name: str) -> None:
    check_regularizer(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", installed("modality"))
def test_installed_modality_conforms(name: str) -> None:
    case = check_modality(name, TINY.get(name, []))
    assert case.name == name and case.config.modality == name


@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind in ("encoder", "decoder", "exporter") for name in installed(kind)]
)
def test_installed_encoder_decoder_or_exporter_conforms_inside_a_modality_of_its_distribution(kind: str, name: str) -> None:
    check_component(kind, name, TINY)


def test_the_core_and_its_plugins_are_all_covered() -> None:
    assert {"random"} <= set(installed("masker")) and {"uniformity", "comask"} <= set(installed("regularizer"))


def test_a_local_modality_passes_by_name_and_as_an_instance() -> None:
    check_modality("toy", ["data.samples=8"])
    check_modality(ToyModality(ToyData(samples=8), ToyModel()), ["masker.ratio=0.75"])


# ---- broken components are caught, with the property and the fix in the message ------------------------------


class MaskerBase(Masker):
    """Hides the tokens with the largest ``scores(tokens, generator)``: exactly ``count(L)`` per row."""

    def count(self, length: int) -> int:
        return self.num_hidden(length)

    def scores(self, tokens: Tokens, generator: torch.Generator | None) -> Tensor:
        return torch.rand(tokens.batch_size, tokens.num_tokens, generator=generator, device=tokens.device)

    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        hidden = self.scores(tokens, generator).topk(self.count(tokens.num_tokens), dim=1).indices
        return torch.zeros(tokens.batch_size, tokens.num_tokens, dtype=torch.bool, device=tokens.device).scatter(
            1, hidden, True
        )


class GraphMAECount(MaskerBase):
    def count(self, length: int) -> int:
        return int(self.ratio * length)  # 9 of 16 at 0.6, where MAE hides 16 - int(6.4) = 10


class GlobalRNG(MaskerBase):
    def scores(self, tokens: Tokens, generator: torch.Generator | None) -> Tensor:
        return torch.rand(tokens.batch_size, tokens.num_tokens, device=tokens.device)  # ignores the generator


class FirstTokens(MaskerBase):
    def scores(self, tokens: Tokens, generator: torch.Generator | None) -> Tensor:
        return -torch.arange(tokens.num_tokens, dtype=torch.float, device=tokens.device).expand(tokens.batch_size, -1)


class OnAnotherDevice(MaskerBase):
    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        return super().__call__(tokens, generator).to("meta")


def test_the_reference_masker_passes() -> None:
    check_masker(MaskerBase(0.6))


def test_inexact_count_is_caught() -> None:
    with pytest.raises(ConformanceError, match=r"fails 'exact hidden count': rows of a \[3, 16\] mask hide \[9, 9, 9\] "
                       r"tokens, expected 10 .* Fix: hide exactly self.num_hidden") as info:
        check_masker(GraphMAECount(0.6))
    assert "GraphMAECount" in info.value.component and isinstance(info.value, AssertionError)


def test_masker_drawing_from_the_global_rng_is_caught() -> None:
    with pytest.raises(ConformanceError, match=r"'same seed, same mask'.*Fix: draw every random number from the "
                       r"`generator` argument"):
        check_masker(GlobalRNG(0.5))


def test_masker_ignoring_the_seed_is_caught_unless_deterministic_by_design() -> None:
    with pytest.raises(ConformanceError, match=r"'different seed, different mask': generators seeded 0 to 4 all "
                       r"gave the same mask.*random=False"):
        check_masker(FirstTokens(0.5))
    check_masker(FirstTokens(0.5), random=False)


def test_mask_on_the_wrong_device_is_caught() -> None:
    with pytest.raises(ConformanceError, match=r"the mask is on meta, the input was on cpu"):
        check_mask(OnAnotherDevice(0.5), make_tokens(2, 16), "masker under test")


def test_masker_that_fails_on_some_tokens_names_them() -> None:
    with pytest.raises(ConformanceError, match=r"masker 'block' .* fails 'runs on Tokens': masking tokens "
                       r"\[B=2, L=8\] with grid=None .*ValueError: BlockMasker needs tokens on a 2-D grid"):
        check_masker("block", shapes=[(2, 8)], tokens=lambda b, n, d: Tokens(None, torch.zeros(b, n, 3, device=d)))


def toy_encoder(cls: type[ToyEncoder] = ToyEncoder) -> ToyEncoder:
    torch.manual_seed(0)
    return cls(token_dim=3, num_tokens=16, embed_dim=8)


class WideLatent(ToyEncoder):
    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        encoded = super().forward(tokens, mask)
        return Encoded(latent=torch.cat([encoded.latent, encoded.latent[..., :1]], dim=-1), pooled=encoded.pooled)


class DetachedPool(ToyEncoder):
    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        encoded = super().forward(tokens, mask)
        return Encoded(latent=encoded.latent, pooled=encoded.pooled.detach())


class UnusedParameter(ToyEncoder):
    def __init__(self, **options: int) -> None:
        super().__init__(**options)
        self.spare = nn.Linear(2, 2)


class Drifting(ToyEncoder):
    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        self.calls = getattr(self, "calls", 0) + 1
        encoded = super().forward(tokens, mask)
        return Encoded(latent=encoded.latent + self.calls, pooled=encoded.pooled)


def test_the_reference_encoder_and_decoder_pass() -> None:
    encoder, tokens = toy_encoder(), make_tokens(4, 16)
    check_encoder(encoder, tokens)
    check_decoder(ToyDecoder(token_dim=3, num_tokens=16, encoder_dim=8), encoder, tokens)


def test_encoder_with_wrong_output_shape_is_caught() -> None:
    with pytest.raises(ConformanceError, match=r"WideLatent fails 'Encoded shapes': Encoded.latent must be a float "
                       r"tensor \[B=4, S, D=8\], got shape \[4, 8, 9\]. Fix: .*D = encoder.embed_dim = 8"):
        check_encoder(toy_encoder(WideLatent), make_tokens(4, 16))


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (DetachedPool, r"'differentiable pooled': Encoded.pooled does not require grad"),
        (UnusedParameter, r"'gradient to every trainable parameter': 2 of 5 .* got no gradient .*: spare.weight, "
                          r"spare.bias"),
        (Drifting, r"'same seed, same output': Encoded.latent differs between two runs"),
    ],
)
def test_encoder_faults_are_caught(cls: type[ToyEncoder], message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        check_encoder(toy_encoder(cls), make_tokens(4, 16))


class HiddenOnly(ToyDecoder):
    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        decoded = super().forward(encoded, mask, tokens)
        rows = mask.shape[0]
        return Decoded(prediction=decoded.prediction[mask].view(rows, -1, 3), hidden=decoded.hidden)


def test_decoder_predicting_only_hidden_tokens_is_caught() -> None:
    with pytest.raises(ConformanceError, match=r"HiddenOnly fails 'Decoded shapes': Decoded.prediction must be a "
                       r"float tensor \[B=4, L=16, T=3\], got shape \[4, 8, 3\]"):
        check_decoder(HiddenOnly(token_dim=3, num_tokens=16, encoder_dim=8), toy_encoder(), make_tokens(4, 16))


class PerSample(Regularizer):
    def forward(self, views: list[ViewOutput]) -> Tensor:
        return views[0].encoded.pooled.square().sum(dim=1)  # [B], not a scalar


class Detached(Regularizer):
    def forward(self, views: list[ViewOutput]) -> Tensor:
        return views[0].encoded.pooled.detach().square().mean()


def test_regularizer_faults_are_caught() -> None:
    with pytest.raises(ConformanceError, match=r"'scalar output': the output must be a float tensor \[\], got shape "
                       r"\[8\]. Fix: return a 0-dim float tensor"):
        check_regularizer(PerSample())
    with pytest.raises(ConformanceError, match=r"'differentiable': the output does not require grad"):
        check_regularizer(Detached())
    with pytest.raises(ConformanceError, match=r"regularizer 'comask' .* raised: ValueError: the comask regularizer "
                       r"compares views but the model has 1"):
        check_regularizer("comask", num_views=1)


class DetachedLoss(ToyModality):
    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        return super().reconstruction_loss(Decoded(decoded.prediction.detach(), decoded.hidden), mask, tokens)


def test_modality_faults_are_caught() -> None:
    with pytest.raises(ConformanceError, match=r"modality 'toy' .*DetachedLoss\) fails 'differentiable loss'"):
        check_modality(DetachedLoss(ToyData(samples=8), ToyModel()))
    with pytest.raises(ConformanceError, match=r"modality 'toy' .* fails 'builds its model': .*ConfigError: "
                       r"unknown key 'encoder.depth' for encoder 'toy_mlp'; valid keys: embed_dim. Fix: "):
        check_modality("toy", ["encoder.depth=1"])
    with pytest.raises(ConformanceError, match=r"modality 'toy' fails 'builds from its recipe': .*unknown config "
                       r"key 'data.sample'.*Did you mean 'data.samples'"):
        check_modality("toy", ["data.sample=8"])


# ---- helpers ----------------------------------------------------------------------------------------------


class _NoStateExporter:
    format_id = "broken-v1"

    def export(self, encoder: nn.Module, *args: object) -> tuple[dict[str, Tensor], dict[str, object]]:
        return {}, {}

    def describe(self, *args: object) -> str:
        return "written"


class _NoFormatExporter(_NoStateExporter):
    format_id = ""


@pytest.mark.parametrize(("cls", "message"), [
    (_NoStateExporter, "exporter 'broken' .* fails 'exports an encoder': the first value returned is not a non-empty"),
    (_NoFormatExporter, "exporter 'broken' .* fails 'has a format id'"),
])
def test_exporter_faults_are_caught(cls: type, message: str) -> None:
    registry.register("exporter", "broken")(cls)
    try:
        with pytest.raises(ConformanceError, match=message):
            check_exporter("broken", build_case("toy"))
    finally:
        registry.unregister("exporter", "broken")


def test_checks_run_on_the_available_devices_only() -> None:
    seen: set[torch.device] = set()

    def tokens(batch: int, length: int, device: torch.device) -> Tokens:
        seen.add(device)
        return make_tokens(batch, length, device)

    check_masker("random", ratios=[0.5], tokens=tokens)
    assert seen == set(available_devices())
    assert available_devices()[0] == torch.device("cpu")
    assert (torch.device("cuda") in available_devices()) == torch.cuda.is_available()


def test_to_device_moves_nested_batches() -> None:
    tokens = make_tokens(2, 4)
    tokens.context = {"edges": [torch.zeros(2, 3)], "pair": (torch.ones(1), "name")}
    moved = to_device(tokens, torch.device("meta"))
    assert moved.targets.is_meta and moved.positions.is_meta and moved.context["edges"][0].is_meta
    assert moved.context["pair"][0].is_meta and moved.context["pair"][1] == "name" and moved.grid == tokens.grid
    assert not tokens.targets.is_meta  # the original is untouched
