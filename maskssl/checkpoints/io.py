"""Checkpoints written atomically, loaded without executing pickled code, newest good one first.

Layout: ``<run>/checkpoints/step_00000100.pt`` and its SHA-256 in ``step_00000100.pt.sha256``. A file
is written to ``*.tmp``, flushed to disk, hashed, its checksum put in place, then it is renamed into
place: a crash leaves either the old set or the old set plus a complete, verifiable new file. Loading
checks the checksum, so a file damaged later (a bit flip, a bad copy) is rejected too. Older files
beyond ``keep`` are removed only after the new one is in place.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from maskssl.errors import CheckpointError, WriteError
from maskssl.utils.files import explain_os_error

FORMAT = "maskssl-checkpoint-v1"
_NAME = re.compile(r"^step_(\d+)\.pt$")
_WRITTEN = re.compile(r"^step_\d+\.pt(\.sha256)?(\.tmp)?$")
"""Every file name ``save_checkpoint`` writes: checkpoints, their checksums, and both while being written."""


def checkpoint_dir(run_dir: Path) -> Path:
    return run_dir / "checkpoints"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint files of a run, oldest step first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: dict[str, Any], run_dir: Path, step: int, keep: int) -> Path:
    """Atomically write ``state`` as the checkpoint of ``step``; keep the newest ``keep`` files."""
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:08d}.pt"
    tmp = path.with_name(path.name + ".tmp")
    digest = _checksum_path(path)
    digest_tmp = digest.with_name(digest.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save({"format": FORMAT, **state}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        digest_tmp.write_text(_sha256(tmp))
        os.replace(digest_tmp, digest)
        os.replace(tmp, path)
    except BaseException as exc:  # leave no partial file behind: on a full disk it would keep the disk full
        tmp.unlink(missing_ok=True)
        digest_tmp.unlink(missing_ok=True)
        if isinstance(exc, RuntimeError) and _is_torch_write_failure(exc):  # torch's zip writer hides the OSError
            exc = _write_failure_cause(exc, folder, _tensor_bytes(state))
        if isinstance(exc, OSError):
            raise WriteError(
                f"{explain_os_error(exc, path, _tensor_bytes(state))}; the checkpoints already written are kept"
            ) from exc
        raise
    _fsync_dir(folder)
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink()
        _checksum_path(old).unlink(missing_ok=True)
    return path


def check_model_matches(state: Mapping[str, Any], model: torch.nn.Module, path: Path, built_from: str) -> None:
    """CheckpointError (one line) when checkpoint ``state`` at ``path`` holds another model than ``model``:
    other tensor names or shapes (its layout), which ``load_state_dict`` would report over many lines."""
    saved = {name: tuple(t.shape) for name, t in state["model"].items()}
    built = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    if saved == built:
        return
    missing, unexpected = sorted(built.keys() - saved.keys()), sorted(saved.keys() - built.keys())
    reshaped = sorted(name for name in built.keys() & saved.keys() if built[name] != saved[name])
    parts = [f"{label} {len(names)} (e.g. {names[0]})" for label, names in
             (("missing", missing), ("unexpected", unexpected), ("with another shape", reshaped)) if names]
    raise CheckpointError(
        f"{path} holds a different model than {built_from} builds: tensors {', '.join(parts)}; "
        f"use the checkpoint with the config it was trained with"
    )


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load one checkpoint with ``weights_only=True``; CheckpointError if it is corrupt or foreign."""
    digest = _checksum_path(path)
    if not digest.is_file():
        raise CheckpointError(f"checkpoint {path} has no checksum file {digest.name}; it cannot be verified")
    if digest.read_text().strip() != _sha256(path):
        raise CheckpointError(f"checkpoint {path} is corrupt: its SHA-256 does not match {digest.name}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, unsafe content: all mean "not usable"
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a maskssl checkpoint (expected format {FORMAT})")
    return state


def load_latest(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint of a run that loads; corrupt newer ones are skipped with a warning."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as exc:
            warnings.warn(f"{exc}; falling back to an older checkpoint", stacklevel=2)
    return None


def remove_checkpoint_files(run_dir: Path) -> None:
    """Delete the files ``save_checkpoint`` wrote in a run's checkpoint folder, and the folder when nothing else
    is left in it: a file the user put there stays (``--overwrite`` replaces a run, nothing more)."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if _WRITTEN.match(path.name) and path.is_file():
            path.unlink()
    with contextlib.suppress(OSError):  # not empty: the user's files stay, and the folder with them
        folder.rmdir()


def remove_partial_files(run_dir: Path) -> None:
    """Delete ``*.tmp`` files a killed process left in a run's checkpoint folder."""
    folder = checkpoint_dir(run_dir)
    for tmp in folder.glob("*.tmp") if folder.is_dir() else []:
        tmp.unlink(missing_ok=True)


def _is_torch_write_failure(exc: RuntimeError) -> bool:
    """Whether torch.save's zip writer failed to write (full disk, I/O error): it raises a RuntimeError."""
    return any(mark in str(exc) for mark in ("PytorchStreamWriter failed writing", "inline_container.cc"))


def _write_failure_cause(exc: RuntimeError, folder: Path, needed_bytes: int) -> OSError:
    """The OSError behind torch's writer failure: ENOSPC when the disk has less free space than the
    checkpoint needs, else EIO with torch's first line."""
    if shutil.disk_usage(folder).free < needed_bytes:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return OSError(errno.EIO, f"torch's checkpoint writer failed ({str(exc).splitlines()[0]})")


def _tensor_bytes(value: Any) -> int:
    """Bytes of the tensors in a nested state (what a checkpoint of it needs on disk, about)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
