"""``maskssl data check``: read every sample of a run's train and test splits once and list the failures."""

from __future__ import annotations

import argparse
import sys

from maskssl.cli.common import EXIT_FAILED, Parser, Subcommands, add_import_option, add_recipe_options
from maskssl.errors import MaskSSLError


def add_parser(commands: Subcommands) -> None:
    data = commands.add_parser("data", help="inspect a run's datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    check = data_commands.add_parser("check", help="read every sample of the train and test splits once and "
                                                   "list the ones that fail (exit 1 if any)")
    add_recipe_options(check)
    check.add_argument("--workers", type=int, default=0, help="loader processes reading the samples (default 0)")
    add_import_option(check)
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from maskssl.build import build_modality
    from maskssl.config.load import load_config
    from maskssl.data.scan import format_scan, scan

    if args.workers < 0:
        raise MaskSSLError("--workers cannot be negative")
    modality = build_modality(load_config(args.modality, args.config, args.overrides))
    bad = 0
    for split in ("train", "test"):
        result = scan(modality.build_dataset(split), split, args.workers)
        print(format_scan(result), flush=True)
        bad += len(result.failures)
    if bad:
        print(f"{bad} samples cannot be read: replace or remove their files", file=sys.stderr)
    return EXIT_FAILED if bad else 0
