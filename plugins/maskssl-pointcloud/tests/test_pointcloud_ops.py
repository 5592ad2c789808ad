"""Geometric ops: FPS, kNN, Chamfer and grouping against brute-force references (and pytorch3d when present)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from maskssl_pointcloud.ops import (
    HAS_PYTORCH3D,
    chamfer_distance,
    farthest_point_sample,
    gather_points,
    group_points,
    knn,
)

needs_pytorch3d = pytest.mark.skipif(
    not HAS_PYTORCH3D, reason="pytorch3d is not importable here: parity with its kernels is checked where it is"
)


def cloud(batch: int, n: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(batch, n, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# -- brute-force references (numpy, one cloud at a time, written for clarity) ----------------------------


def fps_reference(points: np.ndarray, k: int) -> list[int]:
    picked = [0]
    for _ in range(k - 1):
        to_set = [min(float(((p - points[j]) ** 2).sum()) for j in picked) for p in points]
        picked.append(int(np.argmax(to_set)))
    return picked


def knn_reference(queries: np.ndarray, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    distances = np.array([[((q - p) ** 2).sum() for p in points] for q in queries])  # [M, N]
    index = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, index, axis=1), index


def chamfer_reference(x: np.ndarray, y: np.ndarray, norm: int) -> float:
    d = np.array([[((a - b) ** 2).sum() for b in y] for a in x])  # [P, Q]
    if norm == 2:
        return d.min(axis=1).mean() + d.min(axis=0).mean()
    return (np.sqrt(d.min(axis=1)).mean() + np.sqrt(d.min(axis=0)).mean()) / 2


# -- farthest point sampling -------------------------------------------------------------------------------


def test_fps_matches_brute_force_reference() -> None:
    points = cloud(3, 60, seed=1)
    picked = farthest_point_sample(points, 12, backend="torch")
    assert picked.shape == (3, 12) and picked.dtype == torch.long
    for b in range(3):
        assert picked[b].tolist() == fps_reference(points[b].numpy(), 12)


def test_fps_points_are_distinct_and_well_spread() -> None:
    """Greedy FPS guarantees: every point lies within the picked set's smallest pairwise distance of it."""
    points = cloud(4, 500, seed=2)
    picked = farthest_point_sample(points, 32, backend="torch")
    for b in range(4):
        assert len(set(picked[b].tolist())) == 32
        chosen = points[b, picked[b]]  # [K, 3]
        separation = torch.pdist(chosen).min()
        covering = torch.cdist(points[b], chosen).min(dim=1).values.max()
        assert covering <= separation + 1e-12
    # and far better spread than a random subset of the same size
    random_subset = points[:, :32]
    assert torch.pdist(points[0, picked[0]]).min() > 2 * torch.pdist(random_subset[0]).min()


def test_fps_starts_at_point_zero_and_k_equal_n_is_a_permutation() -> None:
    points = cloud(2, 20, seed=3)
    picked = farthest_point_sample(points, 20, backend="torch")
    assert (picked[:, 0] == 0).all()
    assert all(sorted(row.tolist()) == list(range(20)) for row in picked)


def test_fps_float32_matches_float64() -> None:
    points = cloud(2, 300, seed=4)
    assert torch.equal(
        farthest_point_sample(points.float(), 24, backend="torch"), farthest_point_sample(points, 24, backend="torch")
    )


@pytest.mark.parametrize("k", [0, 11])
def test_fps_rejects_bad_counts(k: int) -> None:
    with pytest.raises(ValueError, match="sample"):
        farthest_point_sample(cloud(1, 10), k)


# -- k nearest neighbours -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5])  # k = 1 (Chamfer's) takes a min instead of topk
@pytest.mark.parametrize("max_pairs", [1 << 24, 7])  # one chunk, and chunks of a single query row
def test_knn_matches_brute_force(max_pairs: int, k: int) -> None:
    queries, points = cloud(2, 17, seed=5), cloud(2, 40, seed=6)
    distance, index = knn(queries, points, k, backend="torch", max_pairs=max_pairs)
    assert distance.shape == index.shape == (2, 17, k)
    for b in range(2):
        ref_distance, ref_index = knn_reference(queries[b].numpy(), points[b].numpy(), k)
        assert np.array_equal(index[b].numpy(), ref_index)
        np.testing.assert_allclose(distance[b].numpy(), ref_distance, rtol=1e-12)
    assert (distance[..., 1:] >= distance[..., :-1]).all()  # ascending


def test_knn_distances_are_differentiable_like_brute_force() -> None:
    queries = cloud(1, 6, seed=7).requires_grad_()
    points = cloud(1, 15, seed=8).requires_grad_()
    distance, index = knn(queries, points, 3, backend="torch")
    distance.sum().backward()
    q2, p2 = queries.detach().clone().requires_grad_(), points.detach().clone().requires_grad_()
    ((q2[0, :, None] - p2[0, index[0]]) ** 2).sum().backward()
    assert torch.allclose(queries.grad, q2.grad) and torch.allclose(points.grad, p2.grad)


def test_knn_rejects_too_many_neighbours() -> None:
    with pytest.raises(ValueError, match="k=9"):
        knn(cloud(1, 3), cloud(1, 8), 9)


# -- Chamfer distance -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", [2, 1])
@pytest.mark.parametrize("max_pairs", [1 << 24, 5])
def test_chamfer_matches_brute_force(norm: int, max_pairs: int) -> None:
    x, y = cloud(3, 25, seed=9), cloud(3, 31, seed=10) * 0.5 + 0.1
    got = chamfer_distance(x, y, norm=norm, backend="torch", max_pairs=max_pairs)
    assert got.shape == (3,)
    expected = [chamfer_reference(x[b].numpy(), y[b].numpy(), norm) for b in range(3)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("norm", [2, 1])
def test_chamfer_is_zero_for_identical_sets_in_any_order_with_finite_gradients(norm: int) -> None:
    x = cloud(2, 40, seed=11).requires_grad_()
    shuffled = x.detach()[:, torch.randperm(40, generator=torch.Generator().manual_seed(0))]
    distance = chamfer_distance(x, shuffled, norm=norm, backend="torch")
    assert torch.equal(distance, torch.zeros(2, dtype=distance.dtype))
    distance.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert (chamfer_distance(x.detach(), shuffled + 0.01, norm=norm, backend="torch") > 0).all()


def test_chamfer_is_symmetric() -> None:
    x, y = cloud(2, 10, seed=12), cloud(2, 14, seed=13)
    for norm in (1, 2):
        assert torch.allclose(chamfer_distance(x, y, norm=norm), chamfer_distance(y, x, norm=norm))


# -- grouping ---------------------------------------------------------------------------------------------------------


def test_group_points_are_the_nearest_neighbours_of_fps_centres() -> None:
    points = cloud(2, 200, seed=14)
    centres, groups = group_points(points, 8, 10, backend="torch")
    assert centres.shape == (2, 8, 3) and groups.shape == (2, 8, 10, 3)
    assert torch.equal(centres, gather_points(points, farthest_point_sample(points, 8, backend="torch")))
    assert torch.equal(groups[:, :, 0], torch.zeros(2, 8, 3, dtype=points.dtype))  # the centre itself, first
    absolute = groups + centres.unsqueeze(2)
    for b, g in itertools.product(range(2), range(8)):
        _, ref_index = knn_reference(centres[b, g : g + 1].numpy(), points[b].numpy(), 10)
        assert torch.allclose(absolute[b, g], points[b, ref_index[0]])


# -- backends ----------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(HAS_PYTORCH3D, reason="pytorch3d is installed")
def test_asking_for_missing_pytorch3d_says_how_to_get_it() -> None:
    with pytest.raises(ImportError, match="pytorch3d"):
        knn(cloud(1, 4), cloud(1, 4), 1, backend="pytorch3d")


@needs_pytorch3d
def test_pytorch3d_parity_fps_knn_chamfer() -> None:
    x, y = cloud(2, 300, seed=15).float(), cloud(2, 200, seed=16).float()
    assert torch.equal(farthest_point_sample(x, 32, backend="torch"), farthest_point_sample(x, 32, backend="pytorch3d"))
    d_torch, i_torch = knn(x, y, 8, backend="torch")
    d_p3d, i_p3d = knn(x, y, 8, backend="pytorch3d")
    assert torch.equal(i_torch, i_p3d) and torch.allclose(d_torch, d_p3d, atol=1e-5)
    for norm in (1, 2):
        assert torch.allclose(
            chamfer_distance(x, y, norm=norm, backend="torch"),
            chamfer_distance(x, y, norm=norm, backend="pytorch3d"),
            atol=1e-5,
        )


def test_knn_inside_bfloat16_autocast_finds_the_float32_neighbours() -> None:
    queries, points = cloud(2, 50, seed=17).float(), cloud(2, 400, seed=18).float()
    expected = knn(queries, points, 8, backend="torch")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        distance, index = knn(queries, points, 8, backend="torch")
    assert torch.equal(index, expected[1]) and distance.dtype == torch.float32
