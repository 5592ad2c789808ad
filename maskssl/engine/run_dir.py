"""A run directory: refusing to mix two runs in one, clearing an old run on --overwrite, and its files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from maskssl import provenance
from maskssl.config import save_yaml
from maskssl.engine.checkpoint import checkpoint_dir, list_checkpoints, remove_partial_files
from maskssl.engine.task import Task
from maskssl.errors import CheckpointError, ConfigError, WriteError
from maskssl.files import explain_os_error


def results_path(run_dir: Path) -> Path:
    """Where a run's evaluations go (``results.json``, the task's ``report`` of them)."""
    return run_dir / "results.json"


RUN_FILES = ("config.yaml", "provenance.json", "metrics.jsonl", "results.json", "eval*.json", "spectrum*.png")
"""Files of a run directory besides ``checkpoints/`` and ``tensorboard/``: ``--overwrite`` removes them all."""


def check_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix two runs in one directory unless told to resume or overwrite (writes nothing)."""
    holds_run = (run_dir / "config.yaml").exists() or bool(list_checkpoints(run_dir))
    if resume:
        if not list_checkpoints(run_dir):
            raise CheckpointError(f"--resume: no checkpoint in {run_dir}/checkpoints; start a new run instead")
    elif holds_run and not overwrite:
        raise ConfigError(
            f"{run_dir} already holds a run; pass --resume to continue it, --overwrite to replace it, "
            f"or choose another --out"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir} is a file; choose a directory")


def start_run_dir(run_dir: Path, resume: bool, task: Task, origins: dict[str, Any]) -> None:
    """Make ``run_dir`` hold this run: clear an old run's files (unless resuming), write the config and
    ``origins`` (``provenance.describe`` of it; a resumed run keeps the record it has)."""
    if resume:
        remove_partial_files(run_dir)
    else:
        shutil.rmtree(checkpoint_dir(run_dir), ignore_errors=True)
        shutil.rmtree(run_dir / "tensorboard", ignore_errors=True)
        for pattern in RUN_FILES:
            for path in run_dir.glob(pattern):
                path.unlink()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_yaml(task.config_dict(), run_dir / "config.yaml")
    except OSError as exc:
        raise WriteError(f"{explain_os_error(exc, run_dir)}; choose another --out") from exc
    if not resume or provenance.recorded(run_dir) is None:
        provenance.write(run_dir, origins)
