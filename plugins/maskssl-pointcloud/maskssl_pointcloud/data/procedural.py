"""An offline point-cloud dataset: surfaces of parametric shapes with random proportions, pose, scale and noise.

Each cloud is a pure function of (seed, split, index): its class is ``index % len(shapes)``; its points
are drawn uniformly by area on the shape's surface (random proportions within each class), moved to
their centroid and scaled into the unit ball, posed (upright with a random turn about the vertical
axis, or a uniformly random 3-D rotation), scaled by U(0.7, 1) and perturbed by Gaussian noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from maskssl.errors import ConfigError
from maskssl_pointcloud.data.arrays import normalize_cloud

Sampler = Callable[[np.random.Generator, int], np.ndarray]
SCALE_RANGE = (0.7, 1.0)
TEST_FRACTION = 4
"""The test split has procedural_size // TEST_FRACTION clouds."""


def _by_area(rng: np.random.Generator, n: int, parts: Sequence[tuple[float, Sampler]]) -> np.ndarray:
    """n points [n, 3] from surface parts (area, sampler), each part getting points in proportion to its area."""
    areas = np.array([area for area, _ in parts])
    counts = rng.multinomial(n, areas / areas.sum())
    points = np.concatenate([sample(rng, count) for (_, sample), count in zip(parts, counts)])
    return rng.permutation(points)


def _triangle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[float, Sampler]:
    """(area, sampler) of the triangle abc (uniform by the square-root barycentric trick)."""

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        r1, r2 = np.sqrt(rng.random((n, 1))), rng.random((n, 1))
        return (1 - r1) * a + r1 * (1 - r2) * b + r1 * r2 * c

    return 0.5 * float(np.linalg.norm(np.cross(b - a, c - a))), sample


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _circle(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.cos(angle), np.sin(angle)


def _disk(radius: float, z: float) -> tuple[float, Sampler]:
    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        r = radius * np.sqrt(rng.random(n))
        cos, sin = _circle(rng, n)
        return np.stack([r * cos, r * sin, np.full(n, z)], axis=1)

    return np.pi * radius**2, sample


def _tube(radius: float, z_low: float, z_high: float) -> tuple[float, Sampler]:
    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        cos, sin = _circle(rng, n)
        return np.stack([radius * cos, radius * sin, rng.uniform(z_low, z_high, n)], axis=1)

    return 2 * np.pi * radius * (z_high - z_low), sample


def sphere(rng: np.random.Generator, n: int) -> np.ndarray:
    return _unit_vectors(rng, n)


def box(rng: np.random.Generator, n: int) -> np.ndarray:
    half = rng.uniform(0.5, 1.0, 3)
    parts = []
    for axis in range(3):
        u, v = [a for a in range(3) if a != axis]
        for sign in (-1.0, 1.0):

            def face(rng: np.random.Generator, m: int, axis: int = axis, sign: float = sign) -> np.ndarray:
                points = rng.uniform(-half, half, (m, 3))
                points[:, axis] = sign * half[axis]
                return points

            parts.append((4 * half[u] * half[v], face))
    return _by_area(rng, n, parts)


def cylinder(rng: np.random.Generator, n: int) -> np.ndarray:
    radius, half_height = rng.uniform(0.3, 0.6), rng.uniform(0.4, 1.0)
    parts = [_tube(radius, -half_height, half_height), _disk(radius, -half_height), _disk(radius, half_height)]
    return _by_area(rng, n, parts)


def cone(rng: np.random.Generator, n: int) -> np.ndarray:
    radius, height = rng.uniform(0.4, 0.8), rng.uniform(0.8, 1.6)

    def side(rng: np.random.Generator, m: int) -> np.ndarray:
        t = np.sqrt(rng.random(m))  # distance from the apex along the slant, uniform by area
        cos, sin = _circle(rng, m)
        return np.stack([t * radius * cos, t * radius * sin, height * (1 - t)], axis=1)

    return _by_area(rng, n, [(np.pi * radius * np.hypot(radius, height), side), _disk(radius, 0.0)])


def torus(rng: np.random.Generator, n: int) -> np.ndarray:
    major, minor = 1.0, rng.uniform(0.15, 0.45)
    tube_angle = np.empty(0)
    while len(tube_angle) < n:  # rejection sampling: area density is proportional to major + minor * cos(v)
        v = rng.uniform(0, 2 * np.pi, 2 * n)
        keep = rng.uniform(0, major + minor, 2 * n) < major + minor * np.cos(v)
        tube_angle = np.concatenate([tube_angle, v[keep]])
    v = tube_angle[:n]
    cos, sin = _circle(rng, n)
    ring = major + minor * np.cos(v)
    return np.stack([ring * cos, ring * sin, minor * np.sin(v)], axis=1)


def pyramid(rng: np.random.Generator, n: int) -> np.ndarray:
    half, height = rng.uniform(0.5, 0.9), rng.uniform(0.8, 1.6)
    corners = [np.array([x, y, 0.0]) for x, y in ((-half, -half), (half, -half), (half, half), (-half, half))]
    apex = np.array([0.0, 0.0, height])
    faces = [_triangle(corners[i], corners[(i + 1) % 4], apex) for i in range(4)]
    faces += [_triangle(corners[0], corners[1], corners[2]), _triangle(corners[0], corners[2], corners[3])]
    return _by_area(rng, n, faces)


def capsule(rng: np.random.Generator, n: int) -> np.ndarray:
    radius, half_length = rng.uniform(0.25, 0.45), rng.uniform(0.3, 0.8)

    def caps(rng: np.random.Generator, m: int) -> np.ndarray:
        points = radius * _unit_vectors(rng, m)
        return points + np.sign(points[:, 2:3]) * np.array([0.0, 0.0, half_length])

    return _by_area(rng, n, [_tube(radius, -half_length, half_length), (4 * np.pi * radius**2, caps)])


def bowl(rng: np.random.Generator, n: int) -> np.ndarray:
    points = _unit_vectors(rng, n)
    points[:, 2] = -np.abs(points[:, 2])  # the lower half of the sphere, open at the top
    return points * np.array([1.0, 1.0, rng.uniform(0.4, 1.0)])


SHAPES: dict[str, Sampler] = {
    "sphere": sphere,
    "box": box,
    "cylinder": cylinder,
    "cone": cone,
    "torus": torus,
    "pyramid": pyramid,
    "capsule": capsule,
    "bowl": bowl,
}
"""Shape classes by name; a shape's label is its position in ``ProceduralShapes.shapes``."""


def upright_rotation(rng: np.random.Generator) -> np.ndarray:
    """The shape's z axis turned to the vertical y axis (ModelNet's and ShapeNet's up), then a random turn about y."""
    angle = rng.uniform(0, 2 * np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    about_y = np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])
    z_to_y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    return about_y @ z_to_y


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix [3, 3] (from a normalised Gaussian quaternion)."""
    quaternion = rng.normal(size=4)
    w, x, y, z = quaternion / np.linalg.norm(quaternion)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


class ProceduralShapes(Dataset):
    """Generated clouds; a sample is (xyz float32 [num_points, 3] inside the unit ball, label int).

    Args:
        split: "train" (``size`` clouds) or "test" (``size // 4`` clouds, drawn from their own seeds).
        size: clouds in the train split.
        num_points: points per cloud.
        shapes: class names from ``SHAPES`` (default: all, in that order).
        noise: std of the Gaussian noise added to every coordinate after posing.
        seed: the dataset is a pure function of (seed, split, index).
        pose: "upright" (the shape's axis vertical, along y, and a random turn about it: aligned like
            ModelNet and ShapeNet) or "any" (a uniformly random 3-D rotation).
    """

    def __init__(
        self,
        split: str,
        size: int = 2048,
        num_points: int = 1024,
        shapes: Sequence[str] | None = None,
        noise: float = 0.01,
        seed: int = 0,
        pose: Literal["upright", "any"] = "upright",
    ) -> None:
        self.shapes = list(shapes) if shapes is not None else list(SHAPES)
        unknown = [s for s in self.shapes if s not in SHAPES]
        if unknown or len(self.shapes) < 2:
            raise ConfigError(
                f"data.procedural_shapes={self.shapes}: need at least two of {', '.join(SHAPES)}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        if size < TEST_FRACTION or num_points < 1 or noise < 0:
            raise ConfigError(
                f"procedural data needs procedural_size >= {TEST_FRACTION}, num_points >= 1 and noise >= 0 "
                f"(got {size}, {num_points}, {noise})"
            )
        self.split_id = {"train": 0, "test": 1}[split]
        self.size = size if split == "train" else size // TEST_FRACTION
        self.num_points, self.noise, self.seed = num_points, noise, seed
        self.rotation = upright_rotation if pose == "upright" else random_rotation

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        label = index % len(self.shapes)
        rng = np.random.default_rng((self.seed, self.split_id, index))
        points = normalize_cloud(SHAPES[self.shapes[label]](rng, self.num_points))  # [P, 3]
        points = points @ self.rotation(rng).T * rng.uniform(*SCALE_RANGE)
        points = points + self.noise * rng.normal(size=points.shape)
        return torch.from_numpy(points.astype(np.float32)), label
