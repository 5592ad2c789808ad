"""``maskssl finetune``: fine-tune a pretrained encoder for classification (a new run, or ``--resume`` of one)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskssl.cli.common import Subcommands, add_run_options, is_main_process, output_path, reimport_for, run_dir_for
from maskssl.config.run import from_mapping, parse_overrides
from maskssl.config.yaml_files import deep_merge, load_yaml
from maskssl.errors import MaskSSLError


def add_parser(commands: Subcommands) -> None:
    finetune = commands.add_parser("finetune", help="fine-tune a pretrained encoder for classification")
    finetune.add_argument("pretrained", type=Path, metavar="PRETRAINED",
                          help="pretraining run directory, checkpoint (.pt) or export (.safetensors)")
    finetune.add_argument("--config", type=Path, help="YAML fine-tuning recipe: a file or an installed recipe's name (maskssl config list)")
    finetune.add_argument("--out", type=output_path, help="run directory (default: runs/finetune-<modality>-<time>)")
    finetune.add_argument("--random-init", action="store_true",
                          help="train the same recipe from random weights (finetune.random_init=true)")
    add_run_options(finetune)
    finetune.set_defaults(run=run_finetune)


def run_finetune(args: argparse.Namespace) -> int:
    from maskssl.engine.run_dir import check_resume_changes, results_path, saved_config_path
    from maskssl.finetune import FinetuneConfig, finetune, format_results, load_finetune_config

    overrides = [*args.overrides, *(["finetune.random_init=true"] if args.random_init else [])]
    reimport_for(args.pretrained)
    if args.resume:
        saved_path = saved_config_path(args.out, args.config is not None)
        reimport_for(args.out)
        saved = load_yaml(saved_path)
        if "pretrained" not in saved:
            raise MaskSSLError(f"{args.out} is a pretraining run; continue it with maskssl train --resume --out {args.out}")
        if Path(saved["pretrained"]) != args.pretrained:
            raise MaskSSLError(
                f"{args.out} fine-tunes {saved.get('pretrained')}, not {args.pretrained}; resume it with that PRETRAINED"
            )
        config = from_mapping(FinetuneConfig, deep_merge(saved, parse_overrides(overrides)))
        check_resume_changes(from_mapping(FinetuneConfig, saved).to_dict(), config.to_dict())
    else:
        config = load_finetune_config(args.pretrained, args.config, overrides)
    out = run_dir_for(args.out, f"finetune-{config.modality}")
    result = finetune(
        config, out, resume=args.resume, overwrite=args.overwrite, progress=False if args.no_progress else None
    )
    if is_main_process():
        report = json.loads(results_path(result.run_dir).read_text())
        baseline = " from random init" if config.finetune.random_init else ""
        print(f"fine-tuned {config.pretrained}{baseline}: {report['num_classes']} classes, "
              f"{report['train_samples']} train samples, test split")
        print(format_results(report))
        print(f"run written to {result.run_dir}: results.json, config.yaml, metrics.jsonl, checkpoints/")
    return 0
