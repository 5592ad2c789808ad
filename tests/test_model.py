"""maskssl.model: V masked views through one shared encoder and V decoders; the weighted objective."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from maskssl.interfaces import Decoded, Decoder, Encoded, Encoder, Regularizer, Tokens, ViewOutput
from maskssl.maskers import RandomMasker, sample_views
from maskssl.model import MaskedAutoencoder, StepOutput
from maskssl.regularizers.uniformity import UniformityRegularizer

B, L, T, D = 4, 16, 3, 8


class MeanEncoder(Encoder):
    """Averages the visible tokens' targets and maps them through a Linear: pooled [B, D], latent [B, 1, D]."""

    def __init__(self) -> None:
        super().__init__()
        self.embed_dim = D
        self.proj = nn.Linear(T, D)
        self.masks_seen: list[Tensor] = []

    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        visible = torch.ones_like(tokens.targets[..., 0]) if mask is None else (~mask).float()  # [B, L]
        self.masks_seen.append(mask)
        mean = (tokens.targets * visible[..., None]).sum(1) / visible.sum(1, keepdim=True)  # [B, T]
        pooled = torch.tanh(self.proj(mean))  # [B, D]
        return Encoded(latent=pooled[:, None, :], pooled=pooled)


class TokenDecoder(Decoder):
    """Predicts every token from the pooled feature plus a learned per-position offset."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(D, T)
        self.position = nn.Parameter(torch.randn(L, T) * 0.1)
        self.masks_seen: list[Tensor] = []

    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        self.masks_seen.append(mask)
        hidden = encoded.latent.expand(-1, tokens.num_tokens, -1)  # [B, L, D]
        return Decoded(prediction=self.head(hidden) + self.position, hidden=hidden)


def hidden_mse(decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
    """Mean squared error over hidden tokens only."""
    per_token = (decoded.prediction - tokens.targets).square().mean(dim=-1)  # [B, L]
    return per_token[mask].mean()


class Constant(Regularizer):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value
        self.calls: list[list[ViewOutput]] = []

    def forward(self, views: list[ViewOutput]) -> Tensor:
        self.calls.append(views)
        return torch.tensor(self.value)


def make_tokens(seed: int = 0) -> Tokens:
    targets = torch.randn(B, L, T, generator=torch.Generator().manual_seed(seed))
    return Tokens(inputs=None, targets=targets)


def make_model(views: int = 2, regularizers: dict | None = None, weight: float = 1.0) -> MaskedAutoencoder:
    torch.manual_seed(0)
    return MaskedAutoencoder(
        encoder=MeanEncoder(),
        decoders=[TokenDecoder() for _ in range(views)],
        masker=RandomMasker(0.75),
        reconstruction=hidden_mse,
        regularizers=regularizers,
        reconstruction_weight=weight,
    )


def test_one_view_per_decoder_with_independent_reproducible_masks() -> None:
    model, tokens = make_model(views=3), make_tokens()
    out = model(tokens, torch.Generator().manual_seed(5))
    assert isinstance(out, StepOutput) and model.num_views == 3 and len(out.views) == 3
    expected = sample_views(model.masker, tokens, 3, torch.Generator().manual_seed(5))
    for v, view in enumerate(out.views):
        assert torch.equal(view.mask, expected[v])
        assert view.mask.dtype == torch.bool and (view.mask.sum(dim=1) == 12).all()
        assert view.decoded.prediction.shape == (B, L, T) and view.encoded.pooled.shape == (B, D)
    assert not torch.equal(out.views[0].mask, out.views[1].mask)
    assert not torch.equal(out.views[1].mask, out.views[2].mask)
    again = model(tokens, torch.Generator().manual_seed(5))
    assert torch.equal(again.loss, out.loss)


def test_shared_encoder_sees_every_view_and_each_decoder_its_own() -> None:
    model, tokens = make_model(views=2), make_tokens()
    out = model(tokens, torch.Generator().manual_seed(0))
    encoder: MeanEncoder = model.encoder  # type: ignore[assignment]
    assert len(encoder.masks_seen) == 2
    for v, decoder in enumerate(model.decoders):
        assert len(decoder.masks_seen) == 1
        assert torch.equal(decoder.masks_seen[0], out.views[v].mask)
        assert torch.equal(encoder.masks_seen[v], out.views[v].mask)
    assert model.decoders[0].head.weight is not model.decoders[1].head.weight  # separate weights
    assert not torch.equal(out.views[0].decoded.prediction, out.views[1].decoded.prediction)


def test_total_loss_arithmetic_with_constant_regularizers() -> None:
    first, second = Constant(2.0), Constant(-1.5)
    model = make_model(views=2, regularizers={"first": (0.1, first), "second": (3, second)}, weight=0.5)
    tokens = make_tokens()
    out = model(tokens, torch.Generator().manual_seed(1))
    per_view = [hidden_mse(v.decoded, v.mask, tokens) for v in out.views]
    assert per_view[0].item() != pytest.approx(per_view[1].item())
    reconstruction = per_view[0] + per_view[1]
    assert set(out.terms) == {"reconstruction", "first", "second"}
    assert out.terms["reconstruction"].item() == pytest.approx(reconstruction.item(), rel=1e-6)  # unweighted
    assert out.terms["first"].item() == 2.0 and out.terms["second"].item() == -1.5
    expected = 0.5 * reconstruction.item() + 0.1 * 2.0 + 3 * -1.5
    assert out.loss.item() == pytest.approx(expected, rel=1e-6)
    for regularizer in (first, second):  # each regularizer sees all views, once
        assert len(regularizer.calls) == 1 and regularizer.calls[0] == out.views


def test_one_view_without_regularizers_is_plain_mae() -> None:
    model, tokens = make_model(views=1), make_tokens()
    out = model(tokens, torch.Generator().manual_seed(2))
    assert list(out.terms) == ["reconstruction"]
    view = out.views[0]
    assert out.loss.item() == pytest.approx(hidden_mse(view.decoded, view.mask, tokens).item(), rel=1e-6)


def test_gradients_reach_the_encoder_and_every_decoder() -> None:
    model = make_model(views=2, regularizers={"uniformity": (0.01, UniformityRegularizer())})
    model(make_tokens(), torch.Generator().manual_seed(3)).loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_decoder_gradient_comes_from_its_own_view_only() -> None:
    model, tokens = make_model(views=2), make_tokens()
    out = model(tokens, torch.Generator().manual_seed(4))
    first_view = hidden_mse(out.views[0].decoded, out.views[0].mask, tokens)
    weights = [model.decoders[0].head.weight, model.decoders[1].head.weight]
    grads = torch.autograd.grad(first_view, weights, allow_unused=True)
    assert grads[0].abs().sum() > 0 and grads[1] is None  # decoder 1 is not in view 0's graph


def test_regularizer_gradient_reaches_the_encoder_through_pooled_features() -> None:
    model = make_model(views=2, regularizers={"uniformity": (1.0, UniformityRegularizer())}, weight=0.0)
    out = model(make_tokens(), torch.Generator().manual_seed(5))
    out.loss.backward()
    assert model.encoder.proj.weight.grad.abs().sum() > 0
    for decoder in model.decoders:  # reconstruction is weighted 0: decoders get no gradient
        assert decoder.head.weight.grad is None or torch.count_nonzero(decoder.head.weight.grad) == 0
    assert out.loss.item() == pytest.approx(out.terms["uniformity"].item(), rel=1e-6)


def test_regularizer_modules_belong_to_the_model() -> None:
    class Learned(Regularizer):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, views: list[ViewOutput]) -> Tensor:
            return self.scale * 1.0

    model = make_model(views=1, regularizers={"learned": (1.0, Learned())})
    assert "regularizers.learned.scale" in dict(model.named_parameters())
    assert "regularizers.learned.scale" in model.state_dict()


def test_empty_decoders_raise() -> None:
    with pytest.raises(ValueError, match="at least one decoder"):
        MaskedAutoencoder(MeanEncoder(), [], RandomMasker(0.5), hidden_mse)
