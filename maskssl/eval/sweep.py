"""Mask-ratio sweep: pretrain once per ratio with the same budget, evaluate each run, plot the trends.

    maskssl sweep --modality image --ratios 0.25,0.5,0.75,0.9 --out runs/sweep
    maskssl sweep ... --out runs/sweep --resume      # keep the finished runs, continue or start the others

A folder that holds a sweep (or any run) is refused unless ``--resume`` or ``--overwrite`` says what to do
with it, as ``maskssl train`` refuses a run directory.

U-MAE's analysis: the mask ratio trades intra-class connectivity (views of one input stay close:
alignment) against inter-class separation; the sweep reports both, with the probes and effective rank,
and their label-free combination ``separation`` (``maskssl.eval.ratio_choice``; ``--select label-free``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from maskssl.checkpoints.io import list_checkpoints
from maskssl.checkpoints.pretrained import load_pretrained
from maskssl.config.evaluation import EvalConfig
from maskssl.config.run import RunConfig, from_mapping
from maskssl.config.yaml_files import load_yaml
from maskssl.engine.run_dir import check_resume_changes, holds_run
from maskssl.errors import MaskSSLError
from maskssl.eval.evaluate import evaluate
from maskssl.eval.plotting import new_figure
from maskssl.eval.ratio_choice import separation
from maskssl.pretrain import train

COLUMNS = ("ratio", "loss", "linear_probe", "knn", "effective_rank", "alignment", "uniformity", "separation")


def run_sweep(
    config: RunConfig, ratios: list[float], out_dir: Path, device: torch.device, settings: EvalConfig,
    *, resume: bool = False, overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Train ``config`` at each mask ratio into ``out_dir/ratio_R``, evaluate, write sweep.json; rows per ratio.

    ``separation`` (``maskssl.eval.ratio_choice``) is None unless ``settings.alignment_mask_ratio`` masks
    every run's views at one ratio. ``out_dir`` holding runs is an error unless ``overwrite`` (every run
    is trained anew) or ``resume`` (a finished run, one with its eval.json, is kept; a run with a
    checkpoint is continued, if its saved config is this one's; the others are started).
    """
    _check_out_dir(out_dir, resume, overwrite)
    rows = []
    common = settings.alignment_mask_ratio is not None  # separation compares runs only at one view ratio
    for ratio in ratios:
        run_config = copy.deepcopy(config)
        run_config.masker = {**run_config.masker, "ratio": ratio}
        run_dir = out_dir / f"ratio_{ratio:g}"
        if resume and holds_run(run_dir):
            saved = from_mapping(RunConfig, load_yaml(run_dir / "config.yaml"))
            check_resume_changes(saved.to_dict(), run_config.to_dict())
        if resume and (run_dir / "eval.json").is_file():
            loss, report = _last_loss(run_dir), json.loads((run_dir / "eval.json").read_text())
        else:
            continue_run = resume and bool(list_checkpoints(run_dir))
            loss = train(run_config, run_dir, resume=continue_run, overwrite=overwrite, progress=False).loss
            report = evaluate(load_pretrained(run_dir, device), device, settings)
            (run_dir / "eval.json").write_text(json.dumps(report, indent=2))
        rows.append(
            {
                "ratio": ratio,
                "loss": loss,
                "linear_probe": report.get("linear_probe", {}).get("test_accuracy"),
                "knn": report.get("knn", {}).get("accuracy"),
                "effective_rank": report["effective_rank"],
                "alignment": report["alignment"],
                "uniformity": report["uniformity"],
                "separation": separation(report["alignment"], report["uniformity"]) if common else None,
            }
        )
    (out_dir / "sweep.json").write_text(json.dumps(rows, indent=2))
    return rows


def _check_out_dir(out_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse an ``out_dir`` that holds a sweep or runs, unless told to resume or overwrite it."""
    if resume and overwrite:
        raise MaskSSLError("--resume and --overwrite exclude each other: keep the runs, or replace them")
    held = sorted(path.name for path in out_dir.iterdir() if path.is_dir() and holds_run(path)) if (
        out_dir.is_dir()) else []
    if (held or (out_dir / "sweep.json").exists()) and not (resume or overwrite):
        shown = ", ".join(held[:6]) + (" ..." if len(held) > 6 else "") if held else "sweep.json"
        raise MaskSSLError(
            f"{out_dir} already holds a sweep ({shown}); pass --resume to keep its finished runs and complete it, "
            f"--overwrite to replace its runs, or choose another --out"
        )


def _last_loss(run_dir: Path) -> float | None:
    """The loss of a finished run's last logged step (its metrics.jsonl)."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines() if (run_dir / "metrics.jsonl").is_file() else []
    return json.loads(lines[-1]).get("loss") if lines else None


def format_sweep(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    lines = ["  ".join(f"{c:>14}" for c in COLUMNS)]
    for row in rows:
        lines.append("  ".join(f"{'-' if row[c] is None else format(row[c], '.4g'):>14}" for c in COLUMNS))
    return "\n".join(lines)


def plot_sweep(rows: list[dict[str, Any]], path: Path) -> Path:
    """One panel per metric against the mask ratio, saved as a PNG."""
    metrics = [c for c in COLUMNS[1:] if any(row[c] is not None for row in rows)]
    figure = new_figure(3.2 * len(metrics), 3.0, dpi=100)
    ratios = [row["ratio"] for row in rows]
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), index + 1)
        axes.plot(ratios, [row[metric] for row in rows], marker="o")
        axes.set_xlabel("mask ratio")
        axes.set_title(metric.replace("_", " "))
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
