"""``maskssl eval`` (a run's frozen features) and ``maskssl sweep`` (one run per mask ratio, each evaluated)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import warnings
from pathlib import Path

from maskssl.cli.common import (
    Subcommands,
    add_eval_options,
    add_recipe_options,
    eval_settings,
    output_path,
    reimport_for,
)
from maskssl.errors import MaskSSLError, WriteError
from maskssl.utils.files import explain_os_error, write_text_atomic


def add_parsers(commands: Subcommands) -> None:
    evaluate = commands.add_parser("eval", help="evaluate a pretrained encoder's frozen features")
    evaluate.add_argument("path", type=Path, help="run directory (newest good checkpoint) or checkpoint file")
    evaluate.add_argument("--random-init", action="store_true", help="evaluate untrained weights (baseline)")
    evaluate.add_argument("--out", type=output_path, help="folder for eval.json and spectrum.png (default: the run directory)")
    evaluate.add_argument("overrides", nargs="*", metavar="eval.key=value",
                          help="evaluation settings over the run's eval section, e.g. eval.logreg.weight_decay=0.01; "
                               "data.root=DIR when the run's data folder moved")
    add_eval_options(evaluate)
    evaluate.set_defaults(run=run_eval)

    sweep = commands.add_parser("sweep", help="pretrain and evaluate once per mask ratio")
    add_recipe_options(sweep)
    sweep.add_argument("--out", type=output_path, required=True, help="folder for one run per ratio and the sweep files")
    sweep.add_argument("--ratios", type=_ratios, default=[0.25, 0.5, 0.75, 0.9], help="comma-separated mask ratios")
    sweep.add_argument("--select", choices=["label-free"], help="after the runs, choose a ratio without labels: "
                       "the largest separation (maskssl.eval.ratio_choice), views of every run masked at 0.75; a "
                       "heuristic: 0.1 to 13 probe points off the best ratio on the README's six data sets")
    sweep.add_argument("--resume", action="store_true",
                       help="complete the sweep in --out: keep its finished runs, continue or start the others")
    sweep.add_argument("--overwrite", action="store_true", help="replace the runs of a sweep already in --out")
    add_eval_options(sweep)
    sweep.set_defaults(run=run_sweep)


def _ratios(text: str) -> list[float]:
    try:
        ratios = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if not ratios or any(not 0 < r < 1 for r in ratios):
        raise argparse.ArgumentTypeError(f"mask ratios must be in (0, 1), got '{text}'")
    return ratios


def run_eval(args: argparse.Namespace) -> int:
    import torch

    from maskssl.checkpoints.pretrained import load_pretrained
    from maskssl.engine.device import select_device, set_cpu_threads
    from maskssl.eval.evaluate import evaluate, format_table, summary_rows
    from maskssl.eval.spectrum import plot_spectrum

    reimport_for(args.path)
    device = select_device(args.device)
    roots = [item.partition("=")[2] for item in args.overrides if item.startswith("data.root=")]
    settings = [item for item in args.overrides if not item.startswith("data.root=")]
    pretrained = load_pretrained(args.path, device, random_init=args.random_init, data_root=(roots or [None])[-1])
    set_cpu_threads(pretrained.config.train.threads)
    report = evaluate(pretrained, device, eval_settings(pretrained.config.eval, args, settings))
    if roots:
        report["data_root"] = roots[-1]  # the run's data, read from where it lies now
    run_dir = args.path if args.path.is_dir() else args.path.parent.parent
    label = "random init" if args.random_init else f"step {pretrained.step}"
    print(format_table([("run", f"{run_dir} ({label})"), *summary_rows(report)]), flush=True)
    out = args.out or run_dir
    suffix = "_random_init" if args.random_init else ""
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / f"eval{suffix}.json", json.dumps(report, indent=2))
        print(f"report: {out / f'eval{suffix}.json'}")
        plot = plot_spectrum({label: torch.tensor(report["spectrum"])}, out / f"spectrum{suffix}.png")
        print(f"spectrum: {plot}")
    except (WriteError, OSError) as exc:
        hint = "" if args.out else "; pass --out DIR to write the report and the plot elsewhere"
        raise WriteError(f"{exc if isinstance(exc, WriteError) else explain_os_error(exc, out)}{hint}") from exc
    except MaskSSLError as exc:  # matplotlib is optional
        print(f"spectrum plot skipped: {exc}", file=sys.stderr)
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from maskssl.config.load import load_config
    from maskssl.engine.device import select_device
    from maskssl.eval.ratio_choice import COMMON_VIEW_RATIO, choose_label_free
    from maskssl.eval.sweep import format_sweep, plot_sweep, run_sweep

    config = load_config(args.modality, args.config, args.overrides)
    settings = eval_settings(config.eval, args, [])
    if args.select == "label-free" and settings.alignment_mask_ratio is None:
        settings = dataclasses.replace(settings, alignment_mask_ratio=COMMON_VIEW_RATIO)
    rows = run_sweep(
        config, args.ratios, args.out, select_device(args.device), settings, resume=args.resume,
        overwrite=args.overwrite,
    )
    plot_sweep(rows, args.out / "sweep.png")
    print(format_sweep(rows))
    print(f"sweep: {args.out / 'sweep.json'}, plot: {args.out / 'sweep.png'}")
    if args.select == "label-free":
        choice = choose_label_free(rows)
        write_text_atomic(args.out / "label_free.json", json.dumps(choice, indent=2))
        print(f"label-free choice: mask ratio {choice['ratio']:g} (largest separation, {choice['separation']:.4g}; "
              f"views masked at {settings.alignment_mask_ratio:g}): {args.out / 'label_free.json'}")
        if choice["warning"] is not None:
            warnings.warn(choice["warning"], stacklevel=1)
    return 0
