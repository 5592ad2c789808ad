"""``--import``: run a user's module or ``.py`` file so the components it registers can be named.

Every import is remembered (``imported()``) so that a run can record it and ``--resume`` can repeat it.
Whatever goes wrong inside the user's code becomes one ``MaskSSLError`` naming the file and the cause.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from maskssl.errors import MaskSSLError


@dataclass(frozen=True)
class UserImport:
    """One ``--import``: a ``.py`` file (``spec`` is its absolute path) or a dotted module name."""

    spec: str
    file: str | None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


_imported: list[UserImport] = []


def imported() -> list[UserImport]:
    """The user modules imported in this process, in order."""
    return list(_imported)


def import_user_module(spec: str) -> UserImport:
    """Import a module by dotted name, or a Python file by path; its registrations then take effect.

    Raises MaskSSLError (one line: the file, the line and the cause) when the file is missing, does not
    compile, misses a dependency or raises while it runs.
    """
    for done in _imported:
        if spec in (done.spec, done.file) or (spec.endswith(".py") and done.file == str(Path(spec).resolve())):
            return done
    if spec.endswith(".py"):
        record = _import_file(Path(spec))
    else:
        record = _import_dotted(spec)
    _imported.append(record)
    return record


def _import_file(path: Path) -> UserImport:
    if not path.is_file():
        raise MaskSSLError(f"--import {path}: no such file")
    path = path.resolve()
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    if module_spec is None or module_spec.loader is None:
        raise MaskSSLError(f"--import {path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[path.stem] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[path.stem]
        raise MaskSSLError(f"--import {path} failed: {_describe(exc)}") from exc
    return UserImport(spec=str(path), file=str(path))


def _import_dotted(spec: str) -> UserImport:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise MaskSSLError(f"--import {spec}: no module named '{exc.name}' (is it on PYTHONPATH?)") from exc
        raise MaskSSLError(f"--import {spec} failed: {_describe(exc)}") from exc
    except Exception as exc:
        raise MaskSSLError(f"--import {spec} failed: {_describe(exc)}") from exc
    file = getattr(module, "__file__", None)
    return UserImport(spec=spec, file=str(Path(file).resolve()) if file else None)


def _describe(exc: BaseException) -> str:
    """``SyntaxError: invalid syntax (mymasks.py, line 3)`` or ``ValueError: boom (mymasks.py, line 7)``."""
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg} ({Path(exc.filename or '?').name}, line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    where = f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
    fix = "; install the missing package" if isinstance(exc, ModuleNotFoundError) else ""
    return f"{type(exc).__name__}: {exc}{where}{fix}"
