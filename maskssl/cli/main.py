"""``main``: the ``maskssl`` console script. Parses the command line, imports the ``--import`` modules once,
runs the command and turns maskssl's errors into one line and an exit code (see ``maskssl.cli``)."""

from __future__ import annotations

import argparse
import sys
import warnings

from maskssl.cli import config, data, evaluate, export, finetune, plugins, train
from maskssl.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Parser
from maskssl.errors import MaskSSLError, NonFiniteLossError, PluginImportError, TrainingInterrupted, WriteError
from maskssl.registry.user_imports import import_user_module


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sets ``args.run``, the function that carries it out."""
    parser = Parser(prog="maskssl", description="Masked self-supervised learning across modalities.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train.add_parser(commands)
    finetune.add_parser(commands)
    evaluate.add_parsers(commands)
    export.add_parser(commands)
    config.add_parser(commands)
    data.add_parser(commands)
    plugins.add_parser(commands)
    return parser


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> str:
    return f"maskssl: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``maskssl`` console script; returns the exit code."""
    warnings.formatwarning = _one_line_warning
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides after an option (``finetune runs/x --out y train.epochs=5``) land in ``extra``
    if extra and hasattr(args, "overrides") and not any(item.startswith("-") for item in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        for spec in getattr(args, "imports", []):
            import_user_module(spec)
        return int(args.run(args))
    except TrainingInterrupted as exc:
        print(f"maskssl: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (NonFiniteLossError, PluginImportError, WriteError) as exc:
        print(f"maskssl: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except MaskSSLError as exc:
        print(f"maskssl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
