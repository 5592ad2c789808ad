"""The layer rule, read from the source: the core imports neither evaluation, the CLI, the test kit nor plugins.

Layers, bottom to top: the core (``maskssl`` minus the packages below) < ``maskssl.eval`` <
``maskssl.testing`` and ``maskssl.cli``; plugins (``maskssl_*``) sit on the core and ``maskssl.eval``,
and no plugin imports another. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "maskssl"
ABOVE_CORE = ("maskssl.eval", "maskssl.testing", "maskssl.cli", "maskssl.__main__")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts)


def _crosses(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def test_the_core_imports_no_evaluation_cli_test_kit_or_plugin() -> None:
    offences = []
    for path in sorted(CORE.rglob("*.py")):
        module = _module_name(path, CORE)
        if _crosses(module, ABOVE_CORE):
            continue
        for name in imported_modules(path):
            if _crosses(name, ABOVE_CORE) or name.startswith("maskssl_"):
                offences.append(f"{module} imports {name}")
    assert not offences, "\n".join(offences)


def test_evaluation_imports_neither_the_cli_nor_the_test_kit() -> None:
    offences = [
        f"{_module_name(path, CORE)} imports {name}"
        for path in sorted((CORE / "eval").rglob("*.py"))
        for name in imported_modules(path)
        if _crosses(name, ("maskssl.testing", "maskssl.cli")) or name.startswith("maskssl_")
    ]
    assert not offences, "\n".join(offences)


def test_no_plugin_imports_another() -> None:
    offences = []
    for package in sorted((REPO / "plugins").glob("*/maskssl_*")):
        for path in sorted(package.rglob("*.py")):
            offences += [
                f"{_module_name(path, package)} imports {name}"
                for name in imported_modules(path)
                if name.startswith("maskssl_") and name.split(".")[0] != package.name
            ]
    assert not offences, "\n".join(offences)
