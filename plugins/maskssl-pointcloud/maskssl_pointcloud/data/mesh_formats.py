"""Readers of one point-cloud or mesh file each, in numpy (no mesh library needed).

Point files:
    .npy  an array [P, 3] or [P, >=3] (xyz first; extra channels such as normals are dropped)
    .xyz  text, one point a line, whitespace- or comma-separated, xyz in the first 3 columns (the rest
          is dropped); blank lines are skipped and # starts a comment (also in .off and .obj)
    .ply  without faces (``maskssl_pointcloud.data.ply``: ascii or binary, any numeric vertex type)
Meshes:
    .off  ``OFF`` (also COFF, NOFF ..., and ModelNet's ``OFF<V> <F> <E>`` on one line), V vertex lines,
          F face lines ``n i_1 ... i_n`` (from 0)
    .obj  ``v x y z`` and ``f a b c ...`` lines (from 1; ``a/t/n`` and ``a//n`` index syntax, negative
          indices count back from the last vertex so far); other lines (vt, vn, g, usemtl ...) are skipped
    .ply  with a face element (``vertex_indices`` or ``vertex_index`` list)
A face with n > 3 vertices becomes the fan of triangles (0, i, i+1). An .off or .obj file without any
face is read as a point cloud (its vertices).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from maskssl.data.checks import check_finite
from maskssl.errors import DataError
from maskssl_pointcloud.data.ply import read_ply

Polygons = np.ndarray | Sequence[Sequence[int | float | str]]
"""Faces as [F, n] vertex indices, or F index lists of any lengths."""


class Shape(NamedTuple):
    """A file's geometry: vertices float64 [V, 3] and triangles int64 [F, 3] (from 0), None for a point cloud."""

    vertices: np.ndarray
    triangles: np.ndarray | None


def triangulate(polygons: Polygons, vertex_count: int, first: int) -> np.ndarray:
    """Triangles int64 [T, 3] (from 0) of faces whose indices count from ``first``: a fan per face.

    ValueError when a face has fewer than 3 vertices or an index outside the ``vertex_count`` vertices.
    """
    if isinstance(polygons, np.ndarray):
        groups = [polygons]
    else:
        by_length: dict[int, list[Sequence[int | float | str]]] = {}
        for polygon in polygons:
            by_length.setdefault(len(polygon), []).append(polygon)
        groups = [np.array(group) for _, group in sorted(by_length.items())]
    triangles = []
    for group in groups:  # [F_n, n], faces of n vertices
        n = group.shape[1]
        if n < 3:
            raise ValueError(f"a face has {n} vertices (a face needs at least 3)")
        indices = group.astype(np.float64).astype(np.int64) - first
        fan = np.stack([np.repeat(indices[:, :1], n - 2, axis=1), indices[:, 1:-1], indices[:, 2:]], axis=2)
        triangles.append(fan.reshape(-1, 3))
    result = np.concatenate(triangles)
    outside = result[(result < 0) | (result >= vertex_count)]
    if outside.size:
        raise ValueError(
            f"a face refers to vertex {outside[0] + first}, but the file has {vertex_count} vertices "
            f"(numbered from {first})"
        )
    return result


def _lines(path: Path, commas: bool = False) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a text file, # comments removed (commas as spaces)."""
    text = re.sub(r"#[^\r\n]*", "", path.read_text(encoding="utf-8", errors="replace"))
    if commas:
        text = text.replace(",", " ")
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line and not line.isspace()]


def _word_counts(lines: Sequence[str]) -> np.ndarray:
    """Words per line [L] (runs of non-whitespace), counted in one vectorised pass over the bytes."""
    data = np.frombuffer("\n".join(lines).encode(), dtype=np.uint8)
    space = np.isin(data, np.frombuffer(b" \t\n\r\v\f", dtype=np.uint8))
    starts = ~space & np.concatenate([[True], space[:-1]])
    return np.bincount(np.cumsum(data == ord("\n"))[starts], minlength=len(lines))


def _words(lines: Sequence[str], counts: np.ndarray) -> np.ndarray | None:
    """The words of ``lines`` as a str array [L, k] when every line has k words (``counts`` [L]), else None."""
    if not len(lines) or (counts != counts[0]).any():
        return None
    return np.array(" ".join(lines).split()).reshape(len(lines), int(counts[0]))


def _coordinates(numbered: Sequence[tuple[int, str]], first: int = 0) -> np.ndarray:
    """float64 [V, 3]: words ``first`` to ``first + 2`` of each line (after a keyword such as OBJ's ``v``);
    ValueError naming a line with fewer."""
    lines = [line for _, line in numbered]
    counts = _word_counts(lines)
    short = np.flatnonzero(counts < first + 3)
    if short.size:
        raise ValueError(f"line {numbered[short[0]][0]} has fewer than 3 coordinates (x y z)")
    words = _words(lines, counts)
    if words is None:  # lines of different widths: word by word
        words = np.array([line.split()[: first + 3] for line in lines]).reshape(len(lines), first + 3)
    return words[:, first : first + 3].astype(np.float64)


def read_npy(path: Path) -> Shape:
    """Points [P, 3] of an .npy array [P, >=3]."""
    array = np.load(path, allow_pickle=False)
    if not isinstance(array, np.ndarray) or array.ndim != 2 or array.shape[1] < 3:
        shape = array.shape if isinstance(array, np.ndarray) else type(array).__name__
        raise ValueError(f"it holds {shape}, not an array of points [P, 3] or [P, >=3] (xyz first)")
    return Shape(array[:, :3].astype(np.float64), None)


def read_xyz(path: Path) -> Shape:
    """Points [P, 3] of an .xyz text file (first 3 columns)."""
    return Shape(_coordinates(_lines(path, commas=True)), None)


def _off_faces(numbered: Sequence[tuple[int, str]]) -> Polygons:
    """Face lines ``n i_1 ... i_n [colour]``: [F, n] words when all are alike and colourless, else lists."""
    lines = [line for _, line in numbered]
    counts = _word_counts(lines)
    words = _words(lines, counts)
    if words is not None and (words[:, 0].astype(np.int64) == counts[0] - 1).all():
        return words[:, 1:]
    polygons = []
    for number, line in numbered:
        row = line.split()
        if len(row) < 1 + int(row[0]):
            raise ValueError(f"line {number} declares a face of {row[0]} vertices but lists {len(row) - 1}")
        polygons.append(row[1 : 1 + int(row[0])])
    return polygons


def read_off(path: Path) -> Shape:
    """Vertices [V, 3] and triangles of an .off file (its vertices alone when it has no faces)."""
    rows = _lines(path)
    first = rows[0][1].split() if rows else [""]
    header = re.fullmatch(r"([A-Z]*OFF)(\d*)", first[0])
    if header is None:
        raise ValueError("not an OFF file (the first line is not OFF, COFF, NOFF ...)")
    counts = ([header.group(2)] if header.group(2) else []) + first[1:]
    body = rows[1:]
    if not counts and body:  # the counts on the line after the keyword
        counts, body = body[0][1].split(), body[1:]
    if len(counts) < 2 or not all(word.isdigit() for word in counts[:2]):
        raise ValueError("the OFF header lacks the vertex and face counts")
    vertex_count, face_count = int(counts[0]), int(counts[1])
    if len(body) < vertex_count + face_count:
        raise ValueError(
            f"it ends early: the header declares {vertex_count} vertices and {face_count} faces, "
            f"the file has {len(body)} lines of them (a truncated file?)"
        )
    vertices = _coordinates(body[:vertex_count])
    if face_count == 0:
        return Shape(vertices, None)
    return Shape(vertices, triangulate(_off_faces(body[vertex_count : vertex_count + face_count]), vertex_count, 0))


def read_obj(path: Path) -> Shape:
    """Vertices [V, 3] and triangles of a Wavefront .obj file (its vertices alone when it has no faces)."""
    vertex_rows: list[tuple[int, str]] = []
    polygons: list[list[int]] = []
    for number, line in _lines(path):
        line = line.lstrip()
        if line[:2] in ("v ", "v\t"):
            vertex_rows.append((number, line))
        elif line[:2] in ("f ", "f\t"):
            indices = [int(word.split("/", 1)[0]) for word in line.split()[1:]]
            polygons.append([i if i > 0 else len(vertex_rows) + 1 + i for i in indices])  # -1: the last so far
    vertices = _coordinates(vertex_rows, first=1)
    return Shape(vertices, triangulate(polygons, len(vertices), 1) if polygons else None)


def _read_ply(path: Path) -> Shape:
    vertices, faces = read_ply(path)
    return Shape(vertices, None if faces is None else triangulate(faces, len(vertices), 0))


READERS: dict[str, Callable[[Path], Shape]] = {
    ".npy": read_npy, ".xyz": read_xyz, ".ply": _read_ply, ".off": read_off, ".obj": read_obj,
}
"""Supported file suffixes (matched case-insensitively) and their readers."""


def read_shape(path: Path) -> Shape:
    """The geometry of a supported file; a DataError naming ``path`` and what is wrong when it cannot be
    read, is empty, holds NaN or infinite coordinates, or has a face outside its vertices."""
    try:
        if path.stat().st_size == 0:
            raise ValueError("the file is empty")
        shape = READERS[path.suffix.lower()](path)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read point cloud {path} ({type(exc).__name__}: {exc})") from exc
    except ValueError as exc:  # malformed content: the message says what
        raise DataError(f"cannot read point cloud {path}: {exc}") from exc
    if len(shape.vertices) == 0:
        raise DataError(f"cannot read point cloud {path}: it holds no points")
    check_finite(shape.vertices, "point coordinates", str(path), unit="point")
    return shape
