"""maskssl.regularizers.uniformity: U-MAE's mean squared cosine similarity, and its regularizer over views."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from maskssl.interfaces import Decoded, Encoded, ViewOutput
from maskssl.regularizers.uniformity import UniformityRegularizer, uniformity_loss


def plain_uniformity(x: Tensor) -> Tensor:
    """The formula written out: mean of the squared entries of the Gram matrix of L2-normalised rows."""
    z = x / torch.sqrt((x * x).sum(dim=1, keepdim=True))
    gram = z @ z.T
    return (gram * gram).sum() / (x.shape[0] * x.shape[0])


def plain_off_diagonal(x: Tensor) -> Tensor:
    n = x.shape[0]
    total = torch.zeros((), dtype=x.dtype)
    for i in range(n):
        for j in range(n):
            if i != j:
                total = total + (torch.dot(x[i], x[j]) / (x[i].norm() * x[j].norm())) ** 2
    return total / (n * (n - 1))


def random_features(n: int = 6, d: int = 5, seed: int = 0, dtype: torch.dtype = torch.float64) -> Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def view(pooled: Tensor) -> ViewOutput:
    b = pooled.shape[0]
    mask = torch.zeros(b, 4, dtype=torch.bool)
    return ViewOutput(
        mask=mask,
        encoded=Encoded(latent=pooled[:, None, :], pooled=pooled),
        decoded=Decoded(prediction=torch.zeros(b, 4, 1), hidden=torch.zeros(b, 4, 2)),
    )


def test_orthonormal_rows_give_one_over_n() -> None:
    q, _ = torch.linalg.qr(random_features(8, 8))  # orthonormal columns -> orthonormal rows of q.T
    rows = q.T[:5]  # [5, 8]
    assert uniformity_loss(rows).item() == pytest.approx(1 / 5, abs=1e-12)
    assert uniformity_loss(rows, include_diagonal=False).item() == pytest.approx(0.0, abs=1e-12)


def test_orthogonal_rows_of_any_length_give_one_over_n() -> None:
    rows = torch.eye(6)[:4] * torch.tensor([[0.5], [2.0], [7.0], [1e-3]])
    assert uniformity_loss(rows).item() == pytest.approx(0.25, rel=1e-6)


def test_identical_and_opposite_rows_give_one() -> None:
    row = random_features(1, 7)
    same = row.repeat(5, 1)
    assert uniformity_loss(same).item() == pytest.approx(1.0, abs=1e-12)
    assert uniformity_loss(same, include_diagonal=False).item() == pytest.approx(1.0, abs=1e-12)
    signs = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]], dtype=torch.float64)
    assert uniformity_loss(row.repeat(4, 1) * signs).item() == pytest.approx(1.0, abs=1e-12)  # squared cosine


def test_known_angle() -> None:
    rows = torch.tensor([[1.0, 0.0], [0.5, 3**0.5 / 2]], dtype=torch.float64)  # 60 degrees: cos^2 = 1/4
    assert uniformity_loss(rows).item() == pytest.approx((1 + 1 + 0.25 + 0.25) / 4)
    assert uniformity_loss(rows, include_diagonal=False).item() == pytest.approx(0.25)


def test_matches_plain_formula_on_random_features() -> None:
    x = random_features(9, 4, seed=3)
    assert uniformity_loss(x).item() == pytest.approx(plain_uniformity(x).item(), abs=1e-12)
    value = uniformity_loss(x).item()
    assert 1 / 9 < value < 1


def test_scale_invariance() -> None:
    x = random_features(6, 5, seed=1)
    scales = torch.tensor([[0.01], [3.0], [100.0], [-2.0], [1.0], [0.5]], dtype=torch.float64)
    for diag in (True, False):
        assert uniformity_loss(x * scales, diag).item() == pytest.approx(uniformity_loss(x, diag).item(), abs=1e-12)
        assert uniformity_loss(1e4 * x, diag).item() == pytest.approx(uniformity_loss(x, diag).item(), abs=1e-12)


def test_without_diagonal_is_mean_over_pairs_of_different_rows() -> None:
    x = random_features(7, 3, seed=2)
    off = uniformity_loss(x, include_diagonal=False)
    assert off.item() == pytest.approx(plain_off_diagonal(x).item(), abs=1e-12)
    n = 7  # with the diagonal: (n (n-1) * off + n * 1) / n^2
    assert uniformity_loss(x).item() == pytest.approx(((n - 1) * off.item() + 1) / n, abs=1e-12)


def test_float64_is_kept_and_low_precision_is_upcast() -> None:
    assert uniformity_loss(random_features()).dtype == torch.float64
    assert uniformity_loss(random_features(dtype=torch.float32)).dtype == torch.float32
    assert uniformity_loss(random_features(dtype=torch.bfloat16)).dtype == torch.float32


def test_gradcheck_float64() -> None:
    x = random_features(5, 4, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(uniformity_loss, (x,))
    assert torch.autograd.gradcheck(lambda t: uniformity_loss(t, include_diagonal=False), (x,))


def test_gradient_equals_plain_formula() -> None:
    x = random_features(8, 6, seed=5).requires_grad_()
    (ours,) = torch.autograd.grad(uniformity_loss(x), x)
    (plain,) = torch.autograd.grad(plain_uniformity(x), x)
    assert ours.abs().max() > 1e-6
    assert torch.allclose(ours, plain, rtol=1e-10, atol=1e-12)


def test_gradient_is_orthogonal_to_each_row() -> None:
    """Scale invariance means no gradient along a row's own direction."""
    x = random_features(6, 4, seed=6).requires_grad_()
    (grad,) = torch.autograd.grad(uniformity_loss(x), x)
    assert torch.allclose((grad * x).sum(dim=1), torch.zeros(6, dtype=torch.float64), atol=1e-12)


def test_regularizer_averages_over_views() -> None:
    f1, f2 = random_features(6, 5, seed=7), random_features(6, 5, seed=8)
    expected = (uniformity_loss(f1) + uniformity_loss(f2)) / 2
    assert UniformityRegularizer()([view(f1), view(f2)]).item() == pytest.approx(expected.item(), abs=1e-12)
    assert UniformityRegularizer()([view(f1)]).item() == pytest.approx(uniformity_loss(f1).item(), abs=1e-12)
    off = (uniformity_loss(f1, False) + uniformity_loss(f2, False)) / 2
    regularizer = UniformityRegularizer(include_diagonal=False)
    assert regularizer([view(f1), view(f2)]).item() == pytest.approx(off.item(), abs=1e-12)
    assert abs(off.item() - expected.item()) > 1e-3  # the option matters


def test_regularizer_does_not_detach_features() -> None:
    f1 = random_features(5, 3, seed=9).requires_grad_()
    f2 = random_features(5, 3, seed=10).requires_grad_()
    UniformityRegularizer()([view(f1), view(f2)]).backward()
    assert f1.grad is not None and f2.grad is not None
    assert f1.grad.abs().max() > 0 and f2.grad.abs().max() > 0


def test_regularizer_gradient_is_half_per_view() -> None:
    f1 = random_features(5, 3, seed=11).requires_grad_()
    f2 = random_features(5, 3, seed=12)
    UniformityRegularizer()([view(f1), view(f2)]).backward()
    x = f1.detach().requires_grad_()
    (plain,) = torch.autograd.grad(plain_uniformity(x), x)
    assert torch.allclose(f1.grad, plain / 2, rtol=1e-10, atol=1e-12)


def test_uniformity_is_computed_in_fp32_inside_bf16_autocast() -> None:
    features = torch.randn(8, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = uniformity_loss(torch.nn.functional.linear(features, torch.eye(16)))
    assert inside.dtype == torch.float32
    assert torch.allclose(inside, uniformity_loss(features), atol=2e-2)


def test_pairs_only_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="at least 2 samples"):
        uniformity_loss(torch.randn(1, 4), include_diagonal=False)
