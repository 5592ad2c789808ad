"""The layer order and the absence of import cycles, read from the source (imports inside functions and under
``TYPE_CHECKING`` count too).

Core layers, bottom to top (a module may import its own layer and those below, never one above):

    errors < utils, data < registry < config < the contract (interfaces, maskers, model, layers,
    regularizers) < build < checkpoints < engine < pretrain, finetune < eval < testing, cli

So the engine imports no builder, no checkpoint reader of finished runs... only ``checkpoints`` (its io)
and what lies below; pretraining and fine-tuning are tasks above it. Plugins (``maskssl_*``) sit on the
core (never on ``maskssl.cli`` or ``maskssl.testing``), and no plugin imports another. No module, in the
core or in a plugin, is part of an import cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "maskssl"
PLUGINS = sorted(path.parent for path in (REPO / "plugins").glob("*/maskssl_*/__init__.py"))  # not *.egg-info

LAYERS: list[tuple[str, ...]] = [
    ("maskssl.errors",),
    ("maskssl.utils", "maskssl.data"),
    ("maskssl.registry",),
    ("maskssl.config",),
    ("maskssl.interfaces", "maskssl.maskers", "maskssl.model", "maskssl.layers", "maskssl.regularizers"),
    ("maskssl.build",),
    ("maskssl.checkpoints",),
    ("maskssl.engine",),
    ("maskssl.pretrain", "maskssl.finetune"),
    ("maskssl.eval",),
    ("maskssl.testing", "maskssl.cli", "maskssl.__main__"),
]
"""The core's layers, lowest first; ``maskssl/__init__.py`` (names resolved lazily by string) is outside them."""


def _module_name(path: Path, package_dir: Path) -> str:
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package_dir: Path) -> dict[str, Path]:
    return {_module_name(path, package_dir): path for path in sorted(package_dir.rglob("*.py"))}


ALL_MODULES: dict[str, Path] = {name: path for package in (CORE, *PLUGINS) for name, path in _modules(package).items()}


def imported_modules(path: Path) -> set[str]:
    """The project modules a file imports, anywhere in it: ``from a.b import c`` names the module ``a.b.c``
    when that is one, else ``a.b``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            module = node.module or ""
            for alias in node.names:
                names.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in ALL_MODULES else module)
    return {name for name in names if name in ALL_MODULES}


def _layer(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return rank
    return None


def test_every_core_module_has_a_layer() -> None:
    unplaced = [name for name in _modules(CORE) if name != "maskssl" and _layer(name) is None]
    assert not unplaced, f"place these modules in LAYERS: {unplaced}"


def test_no_core_module_imports_one_above_its_layer() -> None:
    offences = []
    for module, path in _modules(CORE).items():
        own = _layer(module)
        if own is None:
            continue
        for name in imported_modules(path):
            if name.startswith("maskssl_"):
                offences.append(f"{module} imports the plugin module {name}")
            elif (other := _layer(name)) is not None and other > own:
                offences.append(f"{module} (layer {own}) imports {name} (layer {other})")
    assert not offences, "\n".join(offences)


def test_the_engine_imports_neither_the_tasks_nor_the_builder() -> None:
    offences = [
        f"{module} imports {name}"
        for module, path in _modules(CORE).items() if module.startswith("maskssl.engine")
        for name in imported_modules(path)
        if name.split(".")[1] in ("build", "pretrain", "finetune") or name.startswith("maskssl.checkpoints.sources")
    ]
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("package", PLUGINS, ids=lambda p: p.name)
def test_a_plugin_imports_the_core_but_not_the_cli_the_test_kit_or_another_plugin(package: Path) -> None:
    offences = [
        f"{module} imports {name}"
        for module, path in _modules(package).items()
        for name in imported_modules(path)
        if name.startswith(("maskssl.cli", "maskssl.testing")) or (
            name.startswith("maskssl_") and name.split(".")[0] != package.name
        )
    ]
    assert not offences, "\n".join(offences)


def _cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself): Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> Iterator[list[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                yield from visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                yield sorted(component)

    for node in sorted(graph):
        if node not in index:
            yield from visit(node)


def test_no_import_cycles_in_the_core_or_the_plugins() -> None:
    graph = {module: imported_modules(path) for module, path in ALL_MODULES.items()}
    cycles = list(_cycles(graph))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(cycle) for cycle in cycles)


def test_the_cycle_check_finds_a_cycle() -> None:
    assert list(_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]
    assert list(_cycles({"a": {"a"}})) == [["a"]] and not list(_cycles({"a": {"b"}, "b": set()}))


def test_the_core_top_level_is_the_contract_and_the_two_tasks() -> None:
    top = sorted(path.name for path in CORE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "build.py", "errors.py", "interfaces.py", "maskers.py", "model.py",
                   "pretrain.py"]


@pytest.mark.parametrize("package", PLUGINS, ids=lambda p: p.name)
def test_every_plugin_has_the_shared_layout(package: Path) -> None:
    required = {"__init__.py", "config.py", "modality.py", "loss.py", "data", "ops", "recipes"}
    present = {path.name for path in package.iterdir()}
    assert required <= present, f"{package.name} lacks {sorted(required - present)}"
    assert (package.parent / "README.md").is_file() and (package.parent / "tests").is_dir()
