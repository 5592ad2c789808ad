"""``maskssl train``: pretrain a masked autoencoder (a new run, or ``--resume`` of one)."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskssl.cli.common import Subcommands, add_run_options, is_main_process, output_path, reimport_for, run_dir_for
from maskssl.config.yaml_files import load_yaml
from maskssl.errors import MaskSSLError


def add_parser(commands: Subcommands) -> None:
    train = commands.add_parser("train", help="pretrain a masked autoencoder")
    train.add_argument("--modality", help="modality plugin to train (see 'maskssl plugins list'); default: image")
    train.add_argument("--config", type=Path, help="YAML recipe: a file, or an installed recipe's name (maskssl config list)")
    train.add_argument("--out", type=output_path, help="run directory (default: runs/<modality>-<time>)")
    add_run_options(train)
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    from maskssl.config.load import load_config
    from maskssl.engine.run_dir import check_resume_changes, saved_config_path
    from maskssl.pretrain import train

    if args.resume:
        saved = saved_config_path(args.out, args.config is not None)
        reimport_for(args.out)
        if "pretrained" in load_yaml(saved):
            raise MaskSSLError(f"{args.out} is a fine-tuning run; continue it with maskssl finetune "
                               f"{load_yaml(saved)['pretrained']} --resume --out {args.out}")
        modality = args.modality or load_yaml(saved).get("modality")
        config = load_config(modality, saved, args.overrides)
        check_resume_changes(load_config(modality, saved).to_dict(), config.to_dict())
    else:
        config = load_config(args.modality, args.config, args.overrides)
    out = run_dir_for(args.out, config.modality)
    result = train(
        config, out, resume=args.resume, overwrite=args.overwrite, progress=False if args.no_progress else None
    )
    if is_main_process():
        loss = f"{result.loss:.4f}" if result.loss is not None else "n/a"
        print(f"run written to {result.run_dir} (step {result.step}, loss {loss}): "
              f"config.yaml, metrics.jsonl, checkpoints/")
    return 0
