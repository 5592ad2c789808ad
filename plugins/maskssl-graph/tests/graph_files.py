"""Tiny TU Dortmund datasets written on the fly, for tests that must not depend on shared files."""

from __future__ import annotations

from pathlib import Path


def write_tu(root: Path, name: str, graphs: list[list[tuple[int, int]]], labels: list[int], node_labels: bool) -> None:
    """TU Dortmund raw files for ``graphs`` (undirected edge lists over local node ids) under root/name/raw."""
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    edges, indicator, node_label_lines, offset = [], [], [], 0
    for index, graph in enumerate(graphs):
        size = 1 + max(max(edge) for edge in graph)
        indicator += [str(index + 1)] * size
        node_label_lines += [str(node % 3) for node in range(size)]
        for a, b in graph:
            edges += [f"{offset + a + 1}, {offset + b + 1}", f"{offset + b + 1}, {offset + a + 1}"]
        offset += size
    (raw / f"{name}_A.txt").write_text("\n".join(edges) + "\n")
    (raw / f"{name}_graph_indicator.txt").write_text("\n".join(indicator) + "\n")
    (raw / f"{name}_graph_labels.txt").write_text("\n".join(map(str, labels)) + "\n")
    if node_labels:
        (raw / f"{name}_node_labels.txt").write_text("\n".join(node_label_lines) + "\n")


def star(size: int) -> list[tuple[int, int]]:
    return [(0, i) for i in range(1, size)]


def path(size: int) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(size - 1)]
