"""maskssl.regularizers.comask: Point-CMAE's co-mask contrast, for any modality (toy runs use it too)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import tests.toy  # noqa: F401  (registers the toy modality)
from maskssl import registry
from maskssl.config.load import load_config
from maskssl.interfaces import Decoded, Encoded, ViewOutput
from maskssl.maskers import RandomMasker, hidden_in_all, sample_views
from maskssl.pretrain import train
from maskssl.regularizers.comask import CoMaskRegularizer, comask_loss
from tests.test_maskers import make_tokens, seeded


def view(hidden: torch.Tensor, mask: torch.Tensor) -> ViewOutput:
    batch = hidden.shape[0]
    return ViewOutput(
        mask=mask,
        encoded=Encoded(latent=torch.zeros(batch, 1, 2), pooled=torch.zeros(batch, 2)),
        decoded=Decoded(prediction=torch.zeros(*mask.shape, 1), hidden=hidden),
    )


def random_hidden(seed: int, shape: tuple[int, int, int] = (4, 10, 6)) -> torch.Tensor:
    return torch.randn(shape, generator=seeded(seed))


def masks(seed: int, batch: int = 4, length: int = 10, ratio: float = 0.6) -> torch.Tensor:
    return sample_views(RandomMasker(ratio), make_tokens(batch, length), 2, seeded(seed))  # [2, B, L]


def test_zero_for_identical_features_and_positive_otherwise() -> None:
    h, m = random_hidden(0), masks(0)
    reg = CoMaskRegularizer()
    assert reg([view(h, m[0]), view(h.clone(), m[1])]).item() == pytest.approx(0.0, abs=1e-6)
    assert reg([view(h, m[0]), view(3.0 * h, m[1])]).item() == pytest.approx(0.0, abs=1e-6)  # scale-free
    assert reg([view(h, m[0]), view(random_hidden(1), m[1])]).item() > 0.5


def test_index_pairing_is_mean_one_minus_cosine_over_the_intersection() -> None:
    a, b, m = random_hidden(2), random_hidden(3), masks(4)
    both = m[0] & m[1]
    assert torch.equal(hidden_in_all(m), both)
    expected = torch.stack(
        [1 - F.cosine_similarity(a[i, j], b[i, j], dim=0) for i, j in both.nonzero().tolist()]
    ).mean()
    got = CoMaskRegularizer("index")([view(a, m[0]), view(b, m[1])])
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_only_co_masked_tokens_count() -> None:
    a, b, m = random_hidden(5), random_hidden(6), masks(7)
    both = m[0] & m[1]
    before = comask_loss(a, b, both)
    a2 = a.clone()
    a2[~both] = torch.randn_like(a2[~both])  # change every token that is not hidden in both views
    assert comask_loss(a2, b, both).item() == pytest.approx(before.item(), rel=1e-6)
    a2[both] = -a2[both]
    assert comask_loss(a2, b, both).item() != pytest.approx(before.item(), rel=1e-3)


def test_all_pairs_variant_compares_each_co_masked_token_with_every_token() -> None:
    a, b, m = random_hidden(8), random_hidden(9), masks(10)
    both = m[0] & m[1]
    terms = [
        1 - F.cosine_similarity(a[i, j], b[i, t], dim=0) for i, j in both.nonzero().tolist() for t in range(a.shape[1])
    ]
    got = CoMaskRegularizer("all")([view(a, m[0]), view(b, m[1])])
    assert got.item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-6)
    assert got.item() != pytest.approx(CoMaskRegularizer("index")([view(a, m[0]), view(b, m[1])]).item(), rel=1e-3)


def test_no_co_masked_token_gives_zero_with_a_gradient_path() -> None:
    a = random_hidden(11).requires_grad_()
    none = torch.zeros(4, 10, dtype=torch.bool)
    loss = comask_loss(a, random_hidden(12), none)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(a.grad, torch.zeros_like(a))


def test_gradients_reach_both_views() -> None:
    a, b = random_hidden(13).requires_grad_(), random_hidden(14).requires_grad_()
    m = masks(15)
    CoMaskRegularizer()([view(a, m[0]), view(b, m[1])]).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0


def test_three_views_average_the_pairs() -> None:
    hidden = [random_hidden(s) for s in (16, 17, 18)]
    m = sample_views(RandomMasker(0.6), make_tokens(4, 10), 3, seeded(19))
    views = [view(h, mv) for h, mv in zip(hidden, m)]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = sum(comask_loss(hidden[i], hidden[j], m[i] & m[j]) for i, j in pairs) / 3
    assert CoMaskRegularizer()(views).item() == pytest.approx(expected.item(), rel=1e-6)


def test_one_view_is_an_error_that_says_views_2() -> None:
    with pytest.raises(ValueError, match="views=2"):
        CoMaskRegularizer()([view(random_hidden(20), masks(21)[0])])


def test_bfloat16_inputs_give_a_float32_loss() -> None:
    m = masks(22)
    loss = comask_loss(random_hidden(23).bfloat16(), random_hidden(24).bfloat16(), m[0] & m[1])
    assert loss.dtype == torch.float32


def test_registered_with_its_options() -> None:
    assert "comask" in registry.list_names("regularizer")
    reg = registry.create("regularizer", {"name": "comask", "pairing": "all"})
    assert isinstance(reg, CoMaskRegularizer) and reg.pairing == "all"
    with pytest.raises(ValueError, match="pairing"):
        CoMaskRegularizer("some")  # type: ignore[arg-type]


def test_toy_run_with_two_views_logs_the_term(tmp_path) -> None:
    """Modality-agnostic: the toy modality (no plugin) trains with views 2 and the co-mask term."""
    config = load_config("toy", overrides=["views=2", "regularizers.comask.weight=1", "train.epochs=1"])
    train(config, tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all("comask" in r and 0.0 <= r["comask"] <= 2.0 for r in records)
