"""``maskssl config show``: the config a run would resolve to, each value with the layer that set it.

Layers, lowest first: the core's defaults, the modality's recipe, the YAML file, the ``key=value``
overrides. The output is YAML that loads back to the resolved config (the origins are comments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from maskssl import registry
from maskssl.config import RunConfig, load_yaml, parse_overrides, resolve
from maskssl.errors import ConfigError


def layers(
    modality: str | None, config_path: Path | None, overrides: list[str]
) -> tuple[RunConfig, list[tuple[str, dict[str, Any]]]]:
    """The resolved config and its layers as (origin label, values), lowest first (as ``load_config``)."""
    file_values = load_yaml(config_path) if config_path is not None else {}
    override_values = parse_overrides(overrides)
    from_file = file_values.get("modality")
    if modality is not None and from_file is not None and modality != from_file:
        raise ConfigError(f"--modality {modality} disagrees with modality: {from_file} in {config_path}")
    name = override_values.get("modality") or modality or from_file or RunConfig.modality
    recipe = registry.get("modality", name).default_recipe
    config = resolve(recipe, {**file_values, "modality": name}, override_values)
    chosen = {"modality": name} if modality is not None else {}
    stack = [
        ("default", RunConfig().to_dict()),
        (f"{name} recipe", recipe),
        (f"file {config_path}", file_values),
        ("--modality", chosen),
        ("override", override_values),
    ]
    return config, [(label, values) for label, values in stack if values]


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
