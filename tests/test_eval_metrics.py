"""maskssl.eval metrics: linear probe, online probe, weighted kNN, spectrum / effective rank, geometry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor

from maskssl.errors import MaskSSLError
from maskssl.eval.geometry import alignment, uniformity
from maskssl.eval.knn import knn_accuracy, knn_classify
from maskssl.eval.probe import ProbeResult, linear_probe
from maskssl.eval.spectrum import effective_rank, plot_spectrum, singular_values
from maskssl.layers.probe_head import OnlineProbe

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def clusters(n: int, num_classes: int = 4, dim: int = 16, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Gaussian clusters (noise std 0.3) around centres 5 apart on the coordinate axes, plus an offset."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % num_classes
    centres = 5.0 * torch.eye(num_classes, dim)
    return centres[labels] + 0.3 * torch.randn(n, dim, generator=g) + 1.0, labels


def hadamard(n: int) -> Tensor:
    """Sylvester's Hadamard matrix [n, n] (n a power of 2): entries ±1, orthogonal columns, column 0 all ones."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], dim=1), torch.cat([h, -h], dim=1)])
    return h


# spectrum


def test_equal_centred_spectrum_gives_full_effective_rank() -> None:
    # Columns 1.. of a Hadamard matrix have zero mean and are orthogonal: centring leaves all 7 singular
    # values equal to sqrt(8). An added constant row offset is removed by the centring.
    features = hadamard(8)[:, 1:] + torch.arange(7.0, dtype=torch.float64)  # [8, 7]
    s = singular_values(features)
    assert s.shape == (7,)
    torch.testing.assert_close(s, torch.full((7,), 8.0**0.5, dtype=torch.float64))
    assert effective_rank(s) == pytest.approx(7.0, abs=1e-9)


def test_rank_one_features_give_effective_rank_one() -> None:
    g = torch.Generator().manual_seed(0)
    features = torch.randn(50, 1, generator=g) @ torch.randn(1, 12, generator=g) + torch.randn(1, 12, generator=g)
    assert effective_rank(singular_values(features)) == pytest.approx(1.0, abs=1e-5)


def test_effective_rank_of_known_spectra() -> None:
    assert effective_rank(torch.tensor([1.0, 1.0, 0.0, 0.0])) == pytest.approx(2.0)
    assert effective_rank(torch.tensor([3.0, 1.0])) == pytest.approx(np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))))
    assert effective_rank(torch.zeros(3)) == 0.0
    with pytest.raises(ValueError):
        effective_rank(torch.tensor([1.0, -1.0]))


def test_singular_values_match_numpy() -> None:
    features = torch.randn(40, 9, generator=torch.Generator().manual_seed(1))
    x = features.double().numpy()
    expected = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    s = singular_values(features)
    assert s.dtype == torch.float64
    assert bool((s[:-1] >= s[1:]).all())
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-10)
    assert singular_values(features.T).shape == (9,)  # min(N, D) with N < D


def test_plot_spectrum_writes_png(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    spectra = {
        "random": singular_values(torch.randn(64, 16, generator=g)),
        "collapsed": singular_values(torch.randn(64, 2, generator=g) @ torch.randn(2, 16, generator=g)),
    }
    path = plot_spectrum(spectra, tmp_path / "plots" / "spectrum.png", title="test")
    assert path == tmp_path / "plots" / "spectrum.png"
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE


def test_plot_spectrum_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib...` raise ImportError
    with pytest.raises(MaskSSLError, match="pip install matplotlib"):
        plot_spectrum({"a": torch.ones(3)}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# kNN


def test_knn_separates_clusters_and_is_near_chance_on_random_labels() -> None:
    train_x, train_y = clusters(400, seed=0)
    test_x, test_y = clusters(400, seed=1)
    assert knn_accuracy(train_x, train_y, test_x, test_y) >= 99.0
    g = torch.Generator().manual_seed(2)
    random_train_y = torch.randint(0, 4, (400,), generator=g)
    random_test_y = torch.randint(0, 4, (400,), generator=g)
    assert abs(knn_accuracy(train_x, random_train_y, test_x, random_test_y) - 25.0) < 10.0


def test_knn_weighted_vote_and_k_clamp() -> None:
    train_x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.1]])
    train_y = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.05]])
    # k=1: the nearest neighbour; k=3 (all): at T=0.07 its weight exp(~1/0.07) outvotes two far ones
    assert knn_classify(train_x, train_y, query, k=1).tolist() == [0]
    assert knn_classify(train_x, train_y, query, k=3).tolist() == [0]
    # at a high temperature every vote weighs about the same: two votes for class 1 win
    assert knn_classify(train_x, train_y, query, k=3, temperature=100.0).tolist() == [1]
    # k larger than N is clamped to N (no error), so it equals k = N
    assert knn_classify(train_x, train_y, query, k=50, temperature=100.0).tolist() == [1]
    # tiny temperature: no overflow, the nearest wins
    assert knn_classify(train_x, train_y, query, k=3, temperature=1e-4).tolist() == [0]


def test_knn_chunked_equals_unchunked() -> None:
    train_x, train_y = clusters(300, num_classes=5, seed=3)
    test_x, _ = clusters(257, num_classes=5, seed=4)
    whole = knn_classify(train_x, train_y, test_x, chunk_size=10_000)
    chunked = knn_classify(train_x, train_y, test_x, chunk_size=7)
    assert whole.shape == (257,) and whole.dtype == torch.long
    assert torch.equal(whole, chunked)


def test_knn_num_classes_beyond_training_labels() -> None:
    train_x, train_y = clusters(40, num_classes=2)
    predicted = knn_classify(train_x, train_y, train_x, num_classes=10)
    assert torch.equal(predicted, train_y)


# linear probe


@pytest.mark.slow
def test_linear_probe_separates_clusters_and_is_near_chance_on_random_labels() -> None:
    train_x, train_y = clusters(600, num_classes=5, seed=0)
    test_x, test_y = clusters(500, num_classes=5, seed=1)
    result = linear_probe(train_x, train_y, test_x, test_y, epochs=30)
    assert isinstance(result, ProbeResult)
    assert result.train_accuracy >= 99.0 and result.test_accuracy >= 99.0
    assert result.epochs == 30 and result.lr == pytest.approx(0.1)

    g = torch.Generator().manual_seed(5)
    random_train_y = torch.randint(0, 5, (600,), generator=g)
    random_test_y = torch.randint(0, 5, (500,), generator=g)
    chance = linear_probe(train_x, random_train_y, test_x, random_test_y, epochs=30)
    assert abs(chance.test_accuracy - 20.0) < 10.0


def test_linear_probe_is_deterministic_given_a_seed() -> None:
    train_x, _ = clusters(120, num_classes=3, seed=0)
    labels = torch.randint(0, 3, (120,), generator=torch.Generator().manual_seed(0))
    first, second = (linear_probe(train_x, labels, train_x, labels, epochs=3, batch_size=32, seed=7) for _ in range(2))
    assert first == second
    assert first.lr == pytest.approx(0.1 * 32 / 256)


def test_linear_probe_small_training_set_uses_whole_batch() -> None:
    train_x, train_y = clusters(20, num_classes=2)
    result = linear_probe(train_x, train_y, train_x, train_y, epochs=20)
    assert result.lr == pytest.approx(0.1 * 20 / 256)
    assert result.test_accuracy == 100.0
    # accuracies use BatchNorm's running statistics (eval mode), so a single test row is fine
    assert linear_probe(train_x, train_y, train_x[:1], train_y[:1], epochs=20).test_accuracy == 100.0
    with pytest.raises(ValueError):
        linear_probe(train_x[:1], train_y[:1], train_x, train_y)


# online probe


def test_online_probe_trains_its_head_but_not_the_encoder() -> None:
    torch.manual_seed(0)
    features, labels = clusters(64, num_classes=4)
    encoder = torch.nn.Linear(16, 8)
    probe = OnlineProbe(feature_dim=8, num_classes=4)
    loss, accuracy = probe(encoder(features), labels)
    assert loss.ndim == 0 and accuracy.ndim == 0 and accuracy.dtype == torch.float32
    assert 0.0 <= float(accuracy) <= 100.0
    loss.backward()
    assert encoder.weight.grad is None and encoder.bias.grad is None
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in probe.parameters())

    optimizer = torch.optim.SGD(probe.parameters(), lr=0.5, momentum=0.9)
    first = float(loss.detach())
    for _ in range(30):
        loss, accuracy = probe(encoder(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first and float(accuracy) >= 95.0
    assert encoder.weight.grad is None


# geometry


def test_alignment_of_identical_and_negated_views() -> None:
    x = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    assert alignment(x, 3.0 * x) == pytest.approx(1.0)
    assert alignment(x, -x) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        alignment(x, x[:5])


def test_uniformity_of_orthonormal_and_identical_rows() -> None:
    assert uniformity(torch.eye(6)) == pytest.approx(0.0, abs=1e-12)
    assert uniformity(hadamard(8)) == pytest.approx(0.0, abs=1e-12)
    assert uniformity(torch.ones(5, 3)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        uniformity(torch.ones(1, 3))


def test_uniformity_chunked_equals_pairwise_formula() -> None:
    x = torch.randn(37, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = x / x.norm(dim=1, keepdim=True)
    sim_sq = (z @ z.T).square()
    expected = float((sim_sq.sum() - sim_sq.diagonal().sum()) / (37 * 36))
    assert uniformity(x, chunk_size=4) == pytest.approx(expected, rel=1e-12)
    assert uniformity(x) == pytest.approx(expected, rel=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_metrics_follow_cuda_inputs() -> None:
    train_x, train_y = clusters(200)
    cuda_x, cuda_y = train_x.cuda(), train_y.cuda()
    assert knn_classify(cuda_x, cuda_y, cuda_x).device.type == "cuda"
    assert linear_probe(cuda_x, cuda_y, cuda_x, cuda_y, epochs=5).test_accuracy >= 99.0
    assert effective_rank(singular_values(cuda_x)) == pytest.approx(effective_rank(singular_values(train_x)))
    assert uniformity(cuda_x) == pytest.approx(uniformity(train_x))
