"""``maskssl config show``: the config a run would resolve to, each value with the layer that set it.

Layers, lowest first: the core's defaults, the modality's recipe, the YAML file, the ``key=value``
overrides. The output is YAML that loads back to the resolved config (the origins are comments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from maskssl.build import config_layers
from maskssl.config import RunConfig


def layers(
    modality: str | None, config_path: Path | None, overrides: list[str]
) -> tuple[RunConfig, list[tuple[str, dict[str, Any]]]]:
    """The resolved config and its layers as (origin label, values), lowest first."""
    found = config_layers(modality, config_path, overrides)
    stack = [
        ("default", RunConfig().to_dict()),
        (f"{found.modality} recipe", found.recipe),
        (f"file {config_path}", found.file),
        ("--modality", {"modality": found.modality} if modality is not None else {}),
        ("override", found.overrides),
    ]
    return found.resolve(), [(label, values) for label, values in stack if values]


def show(config: RunConfig, stack: list[tuple[str, dict[str, Any]]]) -> str:
    """YAML of ``config`` with ``# origin`` after every value."""
    lines: list[str] = []
    _emit(config.to_dict(), stack, (), lines)
    return "\n".join(lines) + "\n"


def _emit(values: dict[str, Any], stack: list[tuple[str, dict[str, Any]]], path: tuple[str, ...],
          lines: list[str]) -> None:
    indent = "  " * len(path)
    for key, value in values.items():
        here = (*path, key)
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            _emit(value, stack, here, lines)
        else:
            lines.append(f"{indent}{key}: {_flow(value)}  # {_origin(stack, here)}")


def _flow(value: Any) -> str:
    """One value as flow-style YAML (tuples as lists)."""
    plain = list(value) if isinstance(value, tuple) else value
    return yaml.safe_dump([plain], default_flow_style=True, width=10**6).strip()[1:-1]


def _origin(stack: list[tuple[str, dict[str, Any]]], path: tuple[str, ...]) -> str:
    """The highest layer that sets ``path`` or a mapping above it."""
    for label, values in reversed(stack):
        node: Any = values
        for part in path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return label
    return "default"
