"""Where a run's code comes from, so that a resumed run is the same run.

A run records, in ``<run>/provenance.json`` and in every checkpoint, the ``--import`` list and, for each
component its config names (modality, masker, encoder, decoder, regularizers), the code it resolved to:
an installed distribution and its version, or a locally registered class with its source file and the
file's SHA-256. ``maskssl train/finetune --resume`` repeats the recorded imports (``reimport``) and the
engine refuses to continue when a name now resolves to other code (``check_same_code``): a user masker
registered as ``random`` by ``--import mymasks.py`` must not silently become the built-in ``random``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maskssl import registry
from maskssl.errors import CheckpointError, MaskSSLError
from maskssl.registry.user_imports import import_user_module, imported
from maskssl.utils.files import write_text_atomic

FILE_NAME = "provenance.json"


def component_names(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of every registry component a resolved config dict names."""
    names = [("modality", str(config["modality"]))]
    for kind in ("masker", "encoder", "decoder"):
        section = config.get(kind)
        if isinstance(section, Mapping) and "name" in section:
            names.append((kind, str(section["name"])))
    names += [("regularizer", str(name)) for name in config.get("regularizers") or {}]
    return names


def origin(kind: str, name: str) -> dict[str, str | None]:
    """The code ``name`` resolves to: {distribution, version, target} and, when local, {file, sha256}."""
    entry = registry.entries(kind).get(name)
    if entry is None:
        return {"distribution": None, "version": None, "target": None}
    found: dict[str, str | None] = {
        "distribution": entry.distribution, "version": entry.version, "target": entry.target,
    }
    if entry.is_local:
        file = _source_file(entry.obj)
        found["file"] = file
        found["sha256"] = hashlib.sha256(Path(file).read_bytes()).hexdigest() if file else None
    return found


def describe(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a run records: the user imports of this process and the origin of each named component."""
    return {
        "imports": [record.to_dict() for record in imported()],
        "components": {f"{kind}:{name}": origin(kind, name) for kind, name in component_names(config)},
    }


def write(run_dir: Path, record: Mapping[str, Any]) -> None:
    write_text_atomic(run_dir / FILE_NAME, json.dumps(record, indent=2))


def recorded(run_dir: Path) -> dict[str, Any] | None:
    """The provenance a run directory recorded (None for runs older than this file)."""
    path = run_dir / FILE_NAME
    return json.loads(path.read_text()) if path.is_file() else None


def reimport(run_dir: Path) -> list[str]:
    """Import again every module the run in ``run_dir`` imported; returns the ones imported now.

    Raises MaskSSLError when a recorded ``.py`` file no longer exists.
    """
    record = recorded(run_dir)
    before = {item.spec for item in imported()}
    for item in (record or {}).get("imports", []):
        spec, file = item["spec"], item.get("file")
        if file and spec == file and not Path(file).is_file():
            raise MaskSSLError(
                f"the run in {run_dir} was started with --import {file}, which no longer exists; restore the "
                f"file, since the run's components come from it"
            )
        import_user_module(spec)
    return [item.spec for item in imported() if item.spec not in before]


def check_same_code(saved: Mapping[str, Any] | None, config: Mapping[str, Any], where: Path) -> None:
    """Raise CheckpointError when a component named in ``config`` resolves to other code than ``saved`` says."""
    if not saved:
        return
    now = describe(config)["components"]
    for key, then in saved.get("components", {}).items():
        current = now.get(key)
        if current is None or _same_code(then, current):
            continue
        kind, name = key.split(":", 1)
        if then.get("file") and then.get("file") == current.get("file"):
            raise CheckpointError(
                f"the code of {kind} '{name}' in {then['file']} changed since the run in {where} started (sha256 "
                f"{(then.get('sha256') or '')[:12]} then, {(current.get('sha256') or '')[:12]} now); restore the "
                f"code it was trained with, or start a new run"
            )
        raise CheckpointError(
            f"{kind} '{name}' now resolves to {_explain(current)}, but the run in {where} was trained with "
            f"{_explain(then)}; {_fix(then)}"
        )


def _same_code(then: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Equal origins; a local class is the same by file, hash and class name (``toy:X`` and ``tests.toy:X``
    are one file imported by path and by module name)."""
    if then.get("distribution") == now.get("distribution") == "(local)":
        keys = ("file", "sha256")
        return all(then.get(k) == now.get(k) for k in keys) and _qualname(then) == _qualname(now)
    return dict(then) == dict(now)


def _qualname(found: Mapping[str, Any]) -> str:
    return str(found.get("target") or "").rpartition(":")[2]


def _explain(found: Mapping[str, Any]) -> str:
    if found.get("distribution") is None:
        return "nothing (it is not registered)"
    if found["distribution"] == "(local)":
        digest = (found.get("sha256") or "")[:12]
        return f"{found['target']} from {found.get('file') or 'code without a file'} (sha256 {digest or 'n/a'})"
    return f"{found['target']} from {found['distribution']} {found['version']}"


def _fix(then: Mapping[str, Any]) -> str:
    if then.get("distribution") == "(local)":
        return f"pass --import with the module that registers it ({then.get('file')})"
    return f"install {then['distribution']}=={then['version']} to continue the run, or start a new run"


def _source_file(obj: Any) -> str | None:
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    try:
        file = inspect.getsourcefile(obj) or getattr(module, "__file__", None)
    except TypeError:  # classes defined in __main__ of an interactive session
        file = None
    return str(Path(file).resolve()) if file else None
