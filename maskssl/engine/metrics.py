"""Metrics of a run: ``metrics.jsonl`` (one JSON object per logged step) and TensorBoard when installed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from maskssl.utils.files import write_text_atomic


class MetricsLog:
    """Appends step records to ``<run>/metrics.jsonl``; on resume drops records past the checkpoint.

    Only the main process writes; other ranks get a disabled log. The file is strict JSON: a NaN or
    infinite value (a step skipped by ``train.nonfinite_skips``) is written as ``null``.
    """

    def __init__(self, run_dir: Path, enabled: bool, resume_step: int | None = None) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.enabled = enabled
        self._tensorboard = None
        if not enabled:
            return
        if resume_step is not None:
            self._truncate_after(resume_step)
        elif self.path.exists():
            self.path.unlink()
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            return
        self._tensorboard = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=resume_step)

    def log(self, record: dict[str, Any]) -> None:
        """Write one record; it must hold an integer ``step``."""
        if not self.enabled:
            return
        with open(self.path, "a") as handle:
            handle.write(json.dumps(_finite_or_none(record), allow_nan=False) + "\n")
        if self._tensorboard is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tensorboard.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        lines = self.path.read_text().splitlines()
        kept = [line for line in lines if (record := _parse(line)) is not None and record["step"] <= step]
        write_text_atomic(self.path, "".join(line + "\n" for line in kept))


def _parse(line: str) -> dict[str, Any] | None:
    """A record, or None for a line that a killed process left half written."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _finite_or_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()}


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """All records of a run's ``metrics.jsonl``."""
    path = Path(run_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]
