"""Writing run files so that a failure never leaves half a file, and says in one line what went wrong."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from maskssl.errors import WriteError


def write_atomic(path: Path, write: Callable[[IO[bytes]], object], *, needed_bytes: int | None = None) -> None:
    """Write ``path`` through ``write(handle)`` (its return value is ignored) into ``path.tmp``, flushed to disk, then
    renamed into place.

    On any failure the temporary file is removed and the previous ``path`` (if any) is untouched; an
    OSError becomes a WriteError naming the path, the cause and, for a full disk, ``needed_bytes``.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        handle = open(tmp, "wb")
    except OSError as exc:
        raise WriteError(explain_os_error(exc, path, needed_bytes)) from exc
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WriteError(explain_os_error(exc, path, needed_bytes)) from exc
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """``write_atomic`` for a text file (UTF-8)."""
    data = text.encode("utf-8")
    write_atomic(path, lambda handle: handle.write(data), needed_bytes=len(data))


def explain_os_error(exc: OSError, path: Path, needed_bytes: int | None = None) -> str:
    """``cannot write runs/x/eval.json: no space left on device (3.2 MB needed)`` and the like."""
    if exc.errno == errno.ENOSPC:
        need = f" ({needed_bytes / 2**20:.1f} MB needed)" if needed_bytes else ""
        return f"cannot write {path}: no space left on device{need}; free space on that disk"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: {exc.strerror.lower() if exc.strerror else 'permission denied'}"
    return f"cannot write {path}: {exc.strerror or exc}"
