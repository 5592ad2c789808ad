"""What the command modules share: the one-line-error parser, exit codes, the common options, run directories."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from maskssl.config.evaluation import EvalConfig, check_eval
from maskssl.config.run import from_mapping, parse_overrides
from maskssl.config.yaml_files import deep_merge
from maskssl.errors import MaskSSLError
from maskssl.registry import provenance

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


Subcommands = argparse._SubParsersAction
"""What ``add_subparsers`` returns: each command module adds its parsers to it."""


def add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """--modality, --config and key=value overrides: what ``load_config`` resolves a run's config from."""
    parser.add_argument("--modality", help="modality plugin (default: image)")
    parser.add_argument("--config", type=Path, help="YAML recipe: a file, or an installed recipe's name (maskssl config list)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=5")


def add_eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--knn-k", type=int, help="neighbours of the kNN classifier (short for eval.knn.k=N)")
    parser.add_argument("--probe-epochs", type=int, help="linear-probe epochs (short for eval.probe.epochs=N)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    add_import_option(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """What ``train`` and ``finetune`` share: --resume, --overwrite, --import, --no-progress, key=value overrides."""
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    add_import_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=5")


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """--import MODULE (repeatable); ``main`` imports them before any command runs."""
    parser.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="import a module or .py file first, so components it registers can be named (repeatable)",
    )


def output_path(text: str) -> Path:
    """argparse type of --out: a path whose every part is a name this file system can hold."""
    path = Path(text)
    limit = _name_max(path)
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise argparse.ArgumentTypeError(
                f"'{part[:24]}...' is {len(os.fsencode(part))} bytes long, more than the {limit} a file or folder name "
                f"may have here; choose a shorter path"
            )
    return path


def _name_max(path: Path) -> int:
    """The longest file name (bytes) of the file system ``path`` would be on (255 where it cannot be asked)."""
    existing = next((p for p in (path, *path.parents) if _exists(p)), Path("."))
    try:
        return os.pathconf(existing, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or not answered
        return 255


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long to ask about
        return False


def reimport_for(path: Path) -> None:
    """Repeat the ``--import``s recorded by the run that ``path`` (a run directory or its checkpoint) is."""
    run_dir = path if path.is_dir() else path.parent.parent if path.suffix == ".pt" else None
    if run_dir is None:
        return
    for spec in provenance.reimport(run_dir):
        print(f"maskssl: importing {spec}, as the run in {run_dir} did", file=sys.stderr)


def run_dir_for(out: Path | None, name: str) -> Path:
    """--out, or runs/<name>-<time> outside torchrun."""
    if out is not None:
        return out
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise MaskSSLError("under torchrun, pass --out so every process writes to the same run directory")
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def is_main_process() -> bool:
    """Rank 0 under torchrun (or the only process): the one that prints the summary."""
    return int(os.environ.get("RANK", "0")) == 0


def eval_settings(base: EvalConfig, args: argparse.Namespace, overrides: list[str]) -> EvalConfig:
    """The run's ``eval`` section with ``eval.key=value`` overrides and the --knn-k / --probe-epochs shorthands."""
    given = (("knn.k", args.knn_k), ("probe.epochs", args.probe_epochs))
    shorthands = [f"eval.{key}={value}" for key, value in given if value is not None]
    values = parse_overrides([*overrides, *shorthands])
    other = sorted(key for key in values if key != "eval")
    if other:
        raise MaskSSLError(f"only eval.* settings can be given here, not {', '.join(other)}")
    settings = from_mapping(EvalConfig, deep_merge(dataclasses.asdict(base), values.get("eval", {})), "eval")
    check_eval(settings)
    return settings
