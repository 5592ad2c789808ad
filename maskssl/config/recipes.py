"""Recipes shipped inside the installed plugins, found by name: ``--config graph/cora``.

A modality plugin's recipes are the YAML files under the ``recipes/`` folder of the package that defines
its modality (its entry point in ``maskssl.modalities``); ``<modality>/<path without .yaml>`` names one,
e.g. ``image/digits_umae`` or ``image/finetune/digits``. The packages are located without being
imported (``importlib.util.find_spec``), so listing recipes does not import torch or the plugins.
In the repository, ``configs/<modality>`` links to the same folders.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from maskssl.errors import ConfigError

RECIPE_FOLDER = "recipes"


def installed_recipes() -> dict[str, Path]:
    """Every installed recipe by name (``<modality>/<relative path without .yaml>``), sorted."""
    recipes: dict[str, Path] = {}
    for ep in metadata.entry_points(group="maskssl.modalities"):
        folder = _package_folder(ep.value.split(":")[0].split(".")[0])
        if folder is None or not (folder / RECIPE_FOLDER).is_dir():
            continue
        root = folder / RECIPE_FOLDER
        for path in sorted(root.rglob("*.yaml")):
            recipes.setdefault(f"{ep.name}/{path.relative_to(root).with_suffix('').as_posix()}", path)
    return dict(sorted(recipes.items()))


def resolve_recipe(spec: str | Path) -> Path:
    """``spec`` when it is a file, else the installed recipe it names (``graph/cora``, ``graph/cora.yaml``
    or ``configs/graph/cora.yaml`` outside a clone); ConfigError listing the close names otherwise."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        raise ConfigError(f"config file '{spec}' is a directory; pass a YAML file in it, or an installed recipe's "
                          f"name (maskssl config list)")
    name = path.as_posix().removesuffix(".yaml").removeprefix("configs/")
    recipes = installed_recipes()
    if name in recipes:
        return recipes[name]
    family = name.split("/")[0]
    close = [known for known in recipes if known.startswith(family + "/")] or list(recipes)
    raise ConfigError(
        f"config file '{spec}' does not exist and no installed recipe is named '{name}'; pass a YAML file or "
        f"one of: {', '.join(close[:12])}{' ...' if len(close) > 12 else ''} (all: maskssl config list)"
    )


def recipe_modality(path: Path) -> str | None:
    """The modality whose plugin ships the recipe file ``path`` (None for a file of the user's)."""
    for name, recipe in installed_recipes().items():
        if recipe.resolve() == path.resolve():
            return name.split("/")[0]
    return None


def description(path: Path) -> str:
    """The recipe's first comment line (its one-line description), without the '#'."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def _package_folder(package: str) -> Path | None:
    """The folder of an installed top-level package, without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
