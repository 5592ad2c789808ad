"""The ``maskssl`` command.

    maskssl train --modality image                          # the modality's default recipe
    maskssl train --config configs/image/digits_umae.yaml train.epochs=5 masker.ratio=0.6
    maskssl train --out runs/x --resume                     # continue a run from its last checkpoint
    maskssl train --import mymodule masker.name=mine        # use components registered in your module
    maskssl plugins list

Usage errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from maskssl import registry
from maskssl.errors import MaskSSLError, NonFiniteLossError, PluginImportError

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
RESUME_OVERRIDABLE = ("train.max_steps", "train.num_workers", "train.device", "train.log_every")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="maskssl", description="Masked self-supervised learning across modalities.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="pretrain a masked autoencoder")
    train.add_argument("--modality", help="modality plugin to train (see 'maskssl plugins list'); default: image")
    train.add_argument("--config", type=Path, help="YAML recipe (see configs/)")
    train.add_argument("--out", type=Path, help="run directory (default: runs/<modality>-<time>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    train.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="import a module or .py file first, so components it registers can be named (repeatable)",
    )
    train.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    train.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=5")

    plugins = commands.add_parser("plugins", help="inspect installed plugins")
    plugin_commands = plugins.add_subparsers(dest="plugins_command", required=True, parser_class=_Parser)
    plugin_commands.add_parser("list", help="every component: kind, name, distribution, version, status")
    return parser


def import_user_module(spec: str) -> None:
    """Import a module by dotted name, or a Python file by path (its registrations then take effect)."""
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_file():
            raise MaskSSLError(f"--import {spec}: no such file")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise MaskSSLError(f"--import {spec}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
        return
    sys.path.insert(0, os.getcwd())
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise MaskSSLError(f"--import {spec}: no module named '{exc.name}' (is it on PYTHONPATH?)") from exc
        raise


def _train(args: argparse.Namespace) -> int:
    from maskssl.build import load_config
    from maskssl.config import load_yaml
    from maskssl.engine.loop import TrainingInterrupted, train

    for spec in args.imports:
        import_user_module(spec)
    if args.resume:
        if args.out is None:
            raise MaskSSLError("--resume needs --out, the run directory to continue")
        if args.config is not None:
            raise MaskSSLError("--resume continues with the run's saved config; drop --config")
        bad = [o for o in args.overrides if not o.startswith(RESUME_OVERRIDABLE)]
        if bad:
            raise MaskSSLError(
                f"--resume cannot change {', '.join(bad)}; only {', '.join(RESUME_OVERRIDABLE)} may change"
            )
        saved = args.out / "config.yaml"
        config = load_config(load_yaml(saved).get("modality"), saved, args.overrides)
    else:
        config = load_config(args.modality, args.config, args.overrides)
    out = args.out
    if out is None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise MaskSSLError("under torchrun, pass --out so every process writes to the same run directory")
        out = Path("runs") / f"{config.modality}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        result = train(
            config, out, resume=args.resume, overwrite=args.overwrite, progress=False if args.no_progress else None
        )
    except TrainingInterrupted as exc:
        print(f"maskssl: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if int(os.environ.get("RANK", "0")) == 0:
        loss = f"{result.loss:.4f}" if result.loss is not None else "n/a"
        print(f"run written to {result.run_dir} (step {result.step}, loss {loss}): "
              f"config.yaml, metrics.jsonl, checkpoints/")
    return 0


def _plugins_list() -> int:
    rows = [("KIND", "NAME", "DISTRIBUTION", "VERSION", "STATUS")]
    for kind in registry.GROUPS:
        for name, entry in sorted(registry.entries(kind).items()):
            try:
                entry.load()
                status = "ok"
            except PluginImportError as exc:
                status = f"broken: {exc.__cause__!r}"
            rows.append((kind, name, entry.distribution, entry.version or "-", status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``maskssl`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        return _plugins_list()
    except (NonFiniteLossError, PluginImportError) as exc:
        print(f"maskssl: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except MaskSSLError as exc:
        print(f"maskssl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
