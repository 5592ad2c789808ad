"""YAML recipe files: reading (with ``_base_`` inheritance), writing, and the recursive merge of their mappings.

    load_yaml("configs/image/digits_mae.yaml")   # or an installed recipe by name: load_yaml("image/digits_mae")
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from maskssl.config.recipes import resolve_recipe
from maskssl.errors import ConfigError
from maskssl.utils.files import write_text_atomic


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``update`` merged in, mappings recursively."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


BASE_KEY = "_base_"


def load_yaml(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML recipe; errors name the file and line.

    ``_base_: other.yaml`` (a path relative to the file) inherits: the base is read first (its own
    ``_base_`` too) and the file's keys are merged over it, mappings recursively. A cycle is an error.
    ``path`` may also name an installed recipe (``graph/cora``, ``maskssl.config.recipes``).
    """
    path = resolve_recipe(path) if not _chain else Path(path)
    if path.resolve() in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path.resolve()))
        raise ConfigError(f"config file '{path}': {BASE_KEY} forms a cycle ({cycle})")
    values = _read_yaml(path)
    base = values.pop(BASE_KEY, None)
    if base is None:
        return values
    if not isinstance(base, str):
        raise ConfigError(f"config file '{path}': {BASE_KEY} must be the path of one YAML file, got {base!r}")
    return deep_merge(load_yaml(path.parent / base, (*_chain, path.resolve())), values)


def _read_yaml(path: Path) -> dict[str, Any]:
    """One YAML file as a mapping (no inheritance)."""
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist; pass the path of a YAML recipe (maskssl config list)")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file '{path}' is not UTF-8 text (line {line}: byte "
            f"{exc.object[exc.start:exc.start + 1]!r}); save it as UTF-8"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file '{path}' is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of sections (modality, train, ...)")
    return loaded


def save_yaml(values: dict[str, Any], path: Path) -> None:
    """Write a config as YAML (tuples as lists, so it loads back with safe_load)."""
    write_text_atomic(path, yaml.safe_dump(_plain(values), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
