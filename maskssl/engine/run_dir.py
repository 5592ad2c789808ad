"""A run directory: one writer at a time, refusing to mix two runs in one, clearing an old run on --overwrite
(exactly the files maskssl wrote), its files, and what a ``--resume`` may change of the config it saved.

One writer: ``claim_run_dir`` holds an exclusive ``flock`` on ``<run>/.maskssl.lock`` from before the
"already holds a run" check to the end of the run, so a second ``maskssl train --out`` of the same folder
started at the same time is refused instead of mixing its files with the first's. The kernel releases the
lock when the process ends in any way, SIGKILL included: a lock never outlives its run (the file stays,
unlocked, and the next run takes it). On systems without ``fcntl`` (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from maskssl.checkpoints.io import list_checkpoints, remove_checkpoint_files, remove_partial_files
from maskssl.config.yaml_files import load_yaml, save_yaml
from maskssl.engine.task import Task
from maskssl.errors import CheckpointError, ConfigError, MaskSSLError, WriteError
from maskssl.registry import provenance
from maskssl.utils.files import explain_os_error

RESUME_OVERRIDABLE = (
    "train.max_steps", "train.num_workers", "train.threads", "train.device", "train.log_every", "data.root",
)
"""The keys of a saved config that ``--resume`` may change (besides ``eval.*``): none changes what is computed
(``data.root``: the same data, moved; the move is recorded in provenance.json)."""


def results_path(run_dir: Path) -> Path:
    """Where a run's evaluations go (``results.json``, the task's ``report`` of them)."""
    return run_dir / "results.json"


RUN_FILES = ("config.yaml", "provenance.json", "metrics.jsonl", "results.json", "eval*.json", "spectrum*.png")
"""Files of a run directory besides ``checkpoints/`` and ``tensorboard/``: ``--overwrite`` removes them all."""
TENSORBOARD_FILES = "events.out.tfevents.*"
"""What TensorBoard's writer puts in ``<run>/tensorboard/``."""
LOCK_FILE = ".maskssl.lock"


def holds_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a run: its saved config or a checkpoint."""
    return (run_dir / "config.yaml").exists() or bool(list_checkpoints(run_dir))


@contextlib.contextmanager
def claim_run_dir(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for this process, creating it: a second claim, by any process, is a ConfigError naming the
    holder's pid until this one ends. On the way out the lock file goes, and the folder too when this claim
    made it and nothing was written into it (a run refused by its checks leaves no trace)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir} is a file; choose a directory")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield
        return
    created = not run_dir.exists()
    lock = run_dir / LOCK_FILE
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = _locked(lock, fcntl)
    except OSError as exc:
        raise WriteError(f"{explain_os_error(exc, run_dir)}; choose another --out") from exc
    try:
        with handle:
            try:
                yield
            finally:
                lock.unlink(missing_ok=True)  # while still locked: a later claim then locks a new file
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        if created:
            with contextlib.suppress(OSError):  # the run wrote files: the folder stays
                run_dir.rmdir()


def _locked(lock: Path, fcntl: Any) -> IO[str]:
    """``lock`` opened and exclusively locked (its holder's pid written in it); ConfigError when another holds it."""
    while True:
        handle = open(lock, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ConfigError(
                f"another maskssl process (pid {holder}) is writing to {lock.parent}; wait for it to finish, or "
                f"choose another --out"
            ) from None
        if lock.exists() and os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            return handle
        handle.close()  # the holder removed this file as it finished: lock the new one


def _record_data_root_move(run_dir: Path, config: dict[str, Any]) -> None:
    """A resume that points ``data.root`` elsewhere (the data moved): add {from, to} to provenance.json."""
    saved = load_yaml(run_dir / "config.yaml").get("data", {}) if (run_dir / "config.yaml").is_file() else {}
    before, now = saved.get("root"), config.get("data", {}).get("root")
    record = provenance.recorded(run_dir)
    if before != now and record is not None:
        moves = [*record.get("data_root_moves", []), {"from": before, "to": now}]
        provenance.write(run_dir, {**record, "data_root_moves": moves})


def check_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix two runs in one directory unless told to resume or overwrite (writes nothing; a file given
    as the directory is refused by ``claim_run_dir``, which comes first)."""
    if resume:
        if not list_checkpoints(run_dir):
            raise CheckpointError(f"--resume: no checkpoint in {run_dir}/checkpoints; start a new run instead")
    elif holds_run(run_dir) and not overwrite:
        raise ConfigError(
            f"{run_dir} already holds a run; pass --resume to continue it, --overwrite to replace it, "
            f"or choose another --out"
        )


def remove_run_files(run_dir: Path) -> None:
    """Delete exactly the files a run wrote (``RUN_FILES``, its checkpoints and TensorBoard events), and its
    ``checkpoints/`` and ``tensorboard/`` folders when nothing else is in them: what --overwrite replaces,
    and what a run that failed before its first checkpoint leaves behind."""
    remove_checkpoint_files(run_dir)
    written = [path for pattern in RUN_FILES for path in run_dir.glob(pattern)]
    for path in [*written, *(run_dir / "tensorboard").glob(TENSORBOARD_FILES)]:
        path.unlink()
    with contextlib.suppress(OSError):  # not there, or the user's files are in it: they stay
        (run_dir / "tensorboard").rmdir()


def start_run_dir(run_dir: Path, resume: bool, task: Task, origins: dict[str, Any]) -> None:
    """Make ``run_dir`` hold this run: clear an old run's files (unless resuming), write the config and
    ``origins`` (``provenance.describe`` of it; a resumed run keeps the record it has)."""
    if resume:
        remove_partial_files(run_dir)
        _record_data_root_move(run_dir, task.config_dict())
    else:
        remove_run_files(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_yaml(task.config_dict(), run_dir / "config.yaml")
    except OSError as exc:
        raise WriteError(f"{explain_os_error(exc, run_dir)}; choose another --out") from exc
    if not resume or provenance.recorded(run_dir) is None:
        provenance.write(run_dir, origins)


def saved_config_path(run_dir: Path | None, config_given: bool) -> Path:
    """The saved config of the run that ``--resume --out run_dir`` continues (a resume takes no --config)."""
    if run_dir is None:
        raise MaskSSLError("--resume needs --out, the run directory to continue")
    if config_given:
        raise MaskSSLError("--resume continues with the run's saved config; drop --config")
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        raise MaskSSLError(f"--resume: {run_dir} holds no run (no config.yaml there); start the run without --resume")
    return saved


def check_resume_changes(saved: dict[str, Any], resumed: dict[str, Any]) -> None:
    """--resume may change only RESUME_OVERRIDABLE keys of the saved config, and the eval settings."""
    before, after = _flatten(saved), _flatten(resumed)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    bad = [k for k in changed if k not in RESUME_OVERRIDABLE and not k.startswith("eval.")]
    if bad:
        allowed = ", ".join(RESUME_OVERRIDABLE)
        raise MaskSSLError(f"--resume cannot change {', '.join(bad)}; only {allowed} and eval.* may change")


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """Nested config dict -> {"train.epochs": 5, ...}."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
