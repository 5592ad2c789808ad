"""Fine-tuning: carry a pretrained encoder downstream, on the same loop as pretraining.

    maskssl finetune runs/digits                            # the modality's default recipe
    maskssl finetune runs/digits --random-init              # the same recipe from random weights
    maskssl finetune runs/digits --config configs/image/finetune/digits.yaml finetune.label_fraction=0.1

    from maskssl.finetune import finetune, load_finetune_config
    config = load_finetune_config("runs/digits", overrides=["train.epochs=5"])
    result = finetune(config, "runs/digits-ft")             # result.evaluations: top-1 ... per evaluation
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maskssl.checkpoints.sources import PretrainedSource
from maskssl.engine.loop import TrainResult, run_task
from maskssl.finetune.config import FinetuneConfig, FinetuneSection, load_finetune_config
from maskssl.finetune.task import FinetuneTask


def finetune(
    config: FinetuneConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
) -> TrainResult:
    """Fine-tune ``config.pretrained``'s encoder as ``config`` says; write the run to ``run_dir``.

    The run directory holds what a pretraining run does (config.yaml, metrics.jsonl, checkpoints/) and
    ``results.json``: the test-split evaluations, the best and the last. Options as ``maskssl.train``.
    """

    def make_task() -> FinetuneTask:
        fresh = not resume and not config.finetune.random_init
        return FinetuneTask(config, PretrainedSource.open(config.pretrained) if fresh else None)

    return run_task(make_task, config.train, run_dir, resume=resume, overwrite=overwrite, progress=progress)


def format_results(report: dict[str, Any]) -> str:
    """A table of the best and the last evaluation of ``results.json``."""
    best, last = report["best"], report["last"]
    if best is None or last is None:
        return "no evaluation yet"
    keys = [key for key in last if key not in ("step", "epoch")]
    rows = [("metric", f"best (epoch {best['epoch'] + 1})", f"last (epoch {last['epoch'] + 1})")]
    rows += [(key, f"{best[key]:.2f}", f"{last[key]:.2f}") for key in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


__all__ = ["FinetuneConfig", "FinetuneSection", "FinetuneTask", "PretrainedSource", "finetune", "format_results",
           "load_finetune_config"]
