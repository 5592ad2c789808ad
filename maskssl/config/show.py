"""``maskssl config show``: the config a run would resolve to, each value with the layer that set it.

Layers, lowest first: the core's defaults, the plugins' defaults (the modality's ``data_config`` and
``model_config`` fields, and the options with a default of each named masker, encoder, decoder and
regularizer: a component's parameters without a default are the ones its modality supplies), the
modality's recipe, the YAML file, the ``key=value`` overrides. The output is YAML that, used as a
config file, resolves to the same config (the origins are comments).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from maskssl import registry
from maskssl.config.load import config_layers
from maskssl.config.run import RunConfig
from maskssl.config.yaml_files import deep_merge


def layers(
    modality: str | None, config_path: Path | None, overrides: list[str]
) -> tuple[RunConfig, list[tuple[str, dict[str, Any]]]]:
    """The resolved config and its layers as (origin label, values), lowest first."""
    found = config_layers(modality, config_path, overrides)
    config = found.resolve()
    stack = [
        ("default", RunConfig().to_dict()),
        *plugin_defaults(config),
        (f"{found.modality} recipe", found.recipe),
        (f"file {config_path}", found.file),
        ("--modality", {"modality": found.modality} if modality is not None else {}),
        ("override", found.overrides),
    ]
    return config, [(label, values) for label, values in stack if values]


def plugin_defaults(config: RunConfig) -> list[tuple[str, dict[str, Any]]]:
    """The defaults of the plugin code ``config`` names, as layers: the modality's data and model
    dataclasses, then each named component's options that have a default."""
    modality = registry.get("modality", config.modality)
    found = [(f"{config.modality} plugin default",
              {"data": _field_defaults(modality.data_config), "model": _field_defaults(modality.model_config)})]
    for kind in ("masker", "encoder", "decoder"):
        name = getattr(config, kind).get("name")
        if name is not None:
            found.append((f"{kind} '{name}' default", {kind: {"name": name, **_option_defaults(kind, name)}}))
    for name in config.regularizers:
        found.append((f"regularizer '{name}' default", {"regularizers": {name: _option_defaults("regularizer", name)}}))
    return found


def _field_defaults(config_type: type) -> dict[str, Any]:
    """Field name -> default of a config dataclass (fields without one are left out)."""
    values = {}
    for field in dataclasses.fields(config_type):
        if field.default is not dataclasses.MISSING:
            values[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            values[field.name] = field.default_factory()
    return values


def _option_defaults(kind: str, name: str) -> dict[str, Any]:
    """Option -> default of the component registered as ``name`` (the options its config section may set)."""
    options = registry.options_of(registry.get(kind, name))
    return {key: p.default for key, p in options.items() if key != "**" and p.default is not p.empty}


def show(config: RunConfig, stack: list[tuple[str, dict[str, Any]]]) -> str:
    """YAML of ``config`` with the keys only ``stack``'s layers hold (the plugin defaults), ``# origin``
    after every value."""
    complete: dict[str, Any] = {}
    for _, values in stack:
        complete = deep_merge(complete, values)
    lines: list[str] = []
    _emit(deep_merge(complete, config.to_dict()), stack, (), lines)
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
