"""Fixed-size clouds from files: a seeded subset of a file's points, or points drawn on a mesh's surface."""

from __future__ import annotations

import numpy as np

from maskssl.errors import DataError


def fixed_subset(points: np.ndarray, count: int, rng: np.random.Generator, source: str) -> np.ndarray:
    """``count`` rows of ``points`` [P, 3] drawn without replacement by ``rng``: [count, 3].

    A DataError naming ``source`` when the cloud has fewer than ``count`` points (clouds are not padded
    or resampled with repeats: a repeated point would be its own nearest neighbour in a group).
    """
    if len(points) < count:
        raise DataError(f"{source} has {len(points)} points, fewer than data.num_points={count}")
    return points[rng.choice(len(points), count, replace=False)]


def triangle_areas(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Areas [F] of ``triangles`` [F, 3] (indices into ``vertices`` [V, 3])."""
    a, b, c = (vertices[triangles[:, corner]] for corner in range(3))  # [F, 3] each
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(
    vertices: np.ndarray, triangles: np.ndarray, count: int, rng: np.random.Generator, source: str
) -> np.ndarray:
    """``count`` points [count, 3] uniform by area on a mesh (vertices [V, 3], triangles [F, 3]).

    Each point picks a triangle with probability proportional to its area, then a uniform point in it
    (the square-root barycentric rule of the procedural shapes). A DataError naming ``source`` when the
    mesh has no area.
    """
    areas = triangle_areas(vertices, triangles)  # [F]
    total = float(areas.sum())
    if not total > 0:
        raise DataError(
            f"{source}: its {len(triangles)} triangles have zero total area (every face is degenerate); "
            f"fix or remove the mesh"
        )
    chosen = triangles[rng.choice(len(triangles), count, p=areas / total)]  # [count, 3]
    a, b, c = (vertices[chosen[:, corner]] for corner in range(3))  # [count, 3] each
    r1, r2 = np.sqrt(rng.random((count, 1))), rng.random((count, 1))
    return (1 - r1) * a + r1 * (1 - r2) * b + r1 * r2 * c
