"""A PLY reader in numpy: ascii, binary_little_endian and binary_big_endian; vertex x y z, and faces.

Elements other than ``vertex`` and ``face`` (edges, materials ...) are read past and dropped, as are
vertex properties other than x, y, z (normals, colours). Faces are the ``vertex_indices`` (or
``vertex_index``) list of the ``face`` element. Malformed input raises ValueError saying what is wrong.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CODES = {
    "char": "b", "int8": "b", "uchar": "B", "uint8": "B", "short": "h", "int16": "h", "ushort": "H", "uint16": "H",
    "int": "i", "int32": "i", "uint": "I", "uint32": "I", "float": "f", "float32": "f", "double": "d", "float64": "d",
}
"""PLY type -> struct (and numpy) type code."""
ENDIANS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}
FACE_LISTS = ("vertex_indices", "vertex_index")
TRUNCATED = "the data ends before the last element the header declares (a truncated file?)"

Column = np.ndarray | list[np.ndarray]
"""One property of an element: [count] (scalar), [count, n] (lists of one length) or count arrays [n_i]."""


@dataclass
class _Property:
    name: str
    code: str
    count_code: str | None  # type of a list's length; None for a scalar property


@dataclass
class _Element:
    name: str
    count: int
    properties: list[_Property] = field(default_factory=list)


class _Body:
    """The values after ``end_header``, read in order: ascii tokens or binary with an endianness."""

    def __init__(self, data: bytes, start: int, endian: str | None) -> None:
        self.endian = endian
        self.data = data if endian else b""
        self.tokens = data[start:].split() if endian is None else []
        self.pos = start if endian else 0

    def take(self, code: str, n: int) -> tuple[float, ...]:
        """The next ``n`` values of type ``code``."""
        if self.endian is None:
            if self.pos + n > len(self.tokens):
                raise ValueError(TRUNCATED)
            values = tuple(float(token) for token in self.tokens[self.pos : self.pos + n])
            self.pos += n
            return values
        try:
            values = struct.unpack_from(f"{self.endian}{n}{code}", self.data, self.pos)
        except struct.error:
            raise ValueError(TRUNCATED) from None
        self.pos += n * struct.calcsize("<" + code)
        return values

    def rows(self, fields: list[tuple[str, int]], count: int) -> list[np.ndarray]:
        """``count`` rows of ``fields`` (type code, values per row): one array [count, n] per field."""
        widths = [n for _, n in fields]
        if self.endian is None:
            size = count * sum(widths)
            if self.pos + size > len(self.tokens):
                raise ValueError(TRUNCATED)
            table = np.array(self.tokens[self.pos : self.pos + size], dtype=np.float64).reshape(count, -1)
            self.pos += size
            edges = np.cumsum([0, *widths])
            return [table[:, start:end] for start, end in itertools.pairwise(edges)]
        dtype = np.dtype([(f"f{i}", self.endian + code, (n,)) for i, (code, n) in enumerate(fields)])
        if self.pos + count * dtype.itemsize > len(self.data):
            raise ValueError(TRUNCATED)
        table = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += count * dtype.itemsize
        return [table[f"f{i}"].reshape(count, n) for i, n in enumerate(widths)]


def _header(lines: list[str]) -> tuple[str | None, list[_Element]]:
    """The body's endianness (None: ascii) and the elements the header declares, in order."""
    fmt, elements = None, []
    for line in lines[1:]:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format" and len(words) >= 2:
            fmt = words[1]
        elif words[0] == "element" and len(words) == 3 and words[2].isdigit():
            elements.append(_Element(words[1], int(words[2])))
        elif words[0] == "property" and elements and len(words) == 3 and words[1] in CODES:
            elements[-1].properties.append(_Property(words[2], CODES[words[1]], None))
        elif words[0] == "property" and elements and len(words) == 5 and words[1] == "list" and \
                words[2] in CODES and words[3] in CODES:
            elements[-1].properties.append(_Property(words[4], CODES[words[3]], CODES[words[2]]))
        else:
            raise ValueError(f"unreadable PLY header line {line.strip()!r}")
    if fmt not in ENDIANS:
        raise ValueError(f"PLY format {fmt!r} is not ascii, binary_little_endian or binary_big_endian")
    return ENDIANS[fmt], elements


def _element(body: _Body, element: _Element) -> dict[str, Column]:
    """The columns of one element. Lists of one length (all triangles, say) are read as one block; lists of
    varying lengths (triangles and quads) row by row."""
    if element.count == 0:
        return {}
    start = body.pos
    fields: list[tuple[str, int]] = []  # (type code, values per row) of the block, as the first row has them
    lengths: list[int | None] = []  # per field: the list length a count field must hold in every row, else None
    for prop in element.properties:
        if prop.count_code is None:
            body.take(prop.code, 1)
            fields.append((prop.code, 1))
            lengths.append(None)
        else:
            length = int(body.take(prop.count_code, 1)[0])
            body.take(prop.code, length)
            fields += [(prop.count_code, 1), (prop.code, length)]
            lengths += [length, None]
    body.pos = start
    try:
        block = body.rows(fields, element.count)
    except ValueError:  # shorter than rows like the first: lists of varying lengths, or a truncated file
        if all(prop.count_code is None for prop in element.properties):
            raise
        block = []
    if block and all(n is None or (column == n).all() for column, n in zip(block, lengths, strict=True)):
        values = iter(column for column, n in zip(block, lengths, strict=True) if n is None)
        return {prop.name: next(values)[:, 0] if prop.count_code is None else next(values)
                for prop in element.properties}
    body.pos = start
    rows: dict[str, list[np.ndarray]] = {prop.name: [] for prop in element.properties}
    for _ in range(element.count):
        for prop in element.properties:
            n = 1 if prop.count_code is None else int(body.take(prop.count_code, 1)[0])
            rows[prop.name].append(np.array(body.take(prop.code, n)))
    return {prop.name: rows[prop.name] if prop.count_code else np.concatenate(rows[prop.name])
            for prop in element.properties}


def read_ply(path: Path) -> tuple[np.ndarray, Column | None]:
    """(vertices float64 [V, 3], the face element's index lists or None when it has no faces) of a PLY file."""
    data = path.read_bytes()
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise ValueError("not a PLY file (no 'ply' ... 'end_header' header)")
    newline = data.find(b"\n", end)
    start = len(data) if newline < 0 else newline + 1
    endian, elements = _header(data[:end].decode("ascii", errors="replace").splitlines())
    body = _Body(data, start, endian)
    read = {element.name: _element(body, element) for element in elements}
    vertex = read.get("vertex", {})
    if not {"x", "y", "z"} <= set(vertex):
        vertex_count = next((e.count for e in elements if e.name == "vertex"), 0)
        raise ValueError(
            "it has no vertices" if vertex_count == 0 else "its vertex element has no x, y, z properties"
        )
    vertices = np.stack([np.asarray(vertex[axis], dtype=np.float64) for axis in "xyz"], axis=1)  # [V, 3]
    faces = read.get("face", {})
    if not faces:
        return vertices, None
    name = next((name for name in FACE_LISTS if name in faces), None)
    if name is None:
        raise ValueError(f"its face element has no {' or '.join(FACE_LISTS)} list (it has {', '.join(faces)})")
    return vertices, faces[name]
