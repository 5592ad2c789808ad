"""The ``maskssl`` command.

    maskssl train --modality image                          # the modality's default recipe
    maskssl train --config configs/image/digits_umae.yaml train.epochs=5 masker.ratio=0.6
    maskssl train --out runs/x --resume                     # continue a run from its last checkpoint
    maskssl train --import mymodule masker.name=mine        # use components registered in your module
    maskssl finetune runs/x                                 # fine-tune the encoder (the modality's default recipe)
    maskssl finetune runs/x --random-init                   # the same recipe from random weights (baseline)
    maskssl eval runs/x                                     # linear probe, kNN, effective rank, alignment, uniformity
    maskssl sweep --modality image --ratios 0.25,0.5,0.75,0.9 --out runs/sweep
    maskssl export runs/x --out encoder.safetensors         # encoder weights (safetensors) + JSON metadata
    maskssl export runs/x --format timm --out vit.safetensors   # a timm VisionTransformer state dict + JSON
    maskssl data check --modality image data.dataset=imagefolder data.root=photos   # unreadable samples
    maskssl config show --config configs/image/digits_umae.yaml train.epochs=3   # the resolved config
    maskssl plugins list

Usage errors print one line and exit 2. torch and the plugins are imported only by the commands that
need them, so ``maskssl --help`` and ``maskssl plugins list`` answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

from maskssl import provenance, registry
from maskssl.config import deep_merge, from_mapping, load_yaml, parse_overrides
from maskssl.errors import MaskSSLError, NonFiniteLossError, PluginImportError, TrainingInterrupted, WriteError
from maskssl.eval_config import EvalConfig, check_eval
from maskssl.files import explain_os_error, write_text_atomic
from maskssl.user_imports import import_user_module

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
RESUME_OVERRIDABLE = ("train.max_steps", "train.num_workers", "train.threads", "train.device", "train.log_every")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="maskssl", description="Masked self-supervised learning across modalities.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="pretrain a masked autoencoder")
    train.add_argument("--modality", help="modality plugin to train (see 'maskssl plugins list'); default: image")
    train.add_argument("--config", type=Path, help="YAML recipe: a file, or an installed recipe's name (maskssl config list)")
    train.add_argument("--out", type=Path, help="run directory (default: runs/<modality>-<time>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    _add_import_option(train)
    train.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    train.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=5")

    finetune = commands.add_parser("finetune", help="fine-tune a pretrained encoder for classification")
    finetune.add_argument("pretrained", type=Path, metavar="PRETRAINED",
                          help="pretraining run directory, checkpoint (.pt) or export (.safetensors)")
    finetune.add_argument("--config", type=Path, help="YAML fine-tuning recipe: a file or an installed recipe's name (maskssl config list)")
    finetune.add_argument("--out", type=Path, help="run directory (default: runs/finetune-<modality>-<time>)")
    finetune.add_argument("--random-init", action="store_true",
                          help="train the same recipe from random weights (finetune.random_init=true)")
    finetune.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    finetune.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    _add_import_option(finetune)
    finetune.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    finetune.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=5")

    evaluate = commands.add_parser("eval", help="evaluate a pretrained encoder's frozen features")
    evaluate.add_argument("path", type=Path, help="run directory (newest good checkpoint) or checkpoint file")
    evaluate.add_argument("--random-init", action="store_true", help="evaluate untrained weights (baseline)")
    evaluate.add_argument("--out", type=Path, help="folder for eval.json and spectrum.png (default: the run directory)")
    evaluate.add_argument("overrides", nargs="*", metavar="eval.key=value",
                          help="evaluation settings over the run's eval section, e.g. eval.logreg.weight_decay=0.01")
    _add_eval_options(evaluate)

    sweep = commands.add_parser("sweep", help="pretrain and evaluate once per mask ratio")
    _add_recipe_options(sweep)
    sweep.add_argument("--out", type=Path, required=True, help="folder for one run per ratio and the sweep files")
    sweep.add_argument("--ratios", type=_ratios, default=[0.25, 0.5, 0.75, 0.9], help="comma-separated mask ratios")
    sweep.add_argument("--select", choices=["label-free"], help="after the runs, choose a ratio without labels: "
                       "the largest separation (maskssl.eval.ratio_choice), views of every run masked at 0.75; a "
                       "heuristic: 0.1 to 13 probe points off the best ratio on the README's six data sets")
    _add_eval_options(sweep)

    export = commands.add_parser("export", help="save a run's encoder as safetensors + JSON metadata")
    export.add_argument("path", type=Path, help="run directory (newest good checkpoint) or checkpoint file")
    export.add_argument("--out", type=Path, required=True, help="output file, e.g. encoder.safetensors")
    export.add_argument("--format", choices=("maskssl", "timm"), default="maskssl",
                        help="maskssl (default; load with maskssl.export.load_encoder) or timm (ViT image "
                             "encoders: a timm VisionTransformer state dict, kwargs in the JSON)")
    _add_import_option(export)

    config = commands.add_parser("config", help="inspect configs")
    config_commands = config.add_subparsers(dest="config_command", required=True, parser_class=_Parser)
    show = config_commands.add_parser("show", help="print the config a run would resolve to, each value with "
                                                   "where it came from (default, recipe, file, override)")
    _add_recipe_options(show)
    _add_import_option(show)
    config_commands.add_parser("list", help="the recipes the installed plugins ship, by the name --config takes")

    data = commands.add_parser("data", help="inspect a run's datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    check = data_commands.add_parser("check", help="read every sample of the train and test splits once and "
                                                   "list the ones that fail (exit 1 if any)")
    _add_recipe_options(check)
    check.add_argument("--workers", type=int, default=0, help="loader processes reading the samples (default 0)")
    _add_import_option(check)

    plugins = commands.add_parser("plugins", help="inspect installed plugins")
    plugin_commands = plugins.add_subparsers(dest="plugins_command", required=True, parser_class=_Parser)
    listing = plugin_commands.add_parser("list", help="every component: kind, name, distribution, version, status")
    listing.add_argument("--check", action="store_true",
                         help="import every component to check it works (slower: imports torch and the plugins)")
    return parser


def _add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """--modality, --config and key=value overrides: what ``load_config`` resolves a run's config from."""
    parser.add_argument("--modality", help="modality plugin (default: image)")
    parser.add_argument("--config", type=Path, help="YAML recipe: a file, or an installed recipe's name (maskssl config list)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.epochs=5")


def _add_eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--knn-k", type=int, help="neighbours of the kNN classifier (short for eval.knn.k=N)")
    parser.add_argument("--probe-epochs", type=int, help="linear-probe epochs (short for eval.probe.epochs=N)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    _add_import_option(parser)


def _add_import_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="import a module or .py file first, so components it registers can be named (repeatable)",
    )


def _ratios(text: str) -> list[float]:
    try:
        ratios = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if not ratios or any(not 0 < r < 1 for r in ratios):
        raise argparse.ArgumentTypeError(f"mask ratios must be in (0, 1), got '{text}'")
    return ratios


def _reimport_for(path: Path) -> None:
    """Repeat the ``--import``s recorded by the run that ``path`` (a run directory or its checkpoint) is."""
    run_dir = path if path.is_dir() else path.parent.parent if path.suffix == ".pt" else None
    if run_dir is None:
        return
    for spec in provenance.reimport(run_dir):
        print(f"maskssl: importing {spec}, as the run in {run_dir} did", file=sys.stderr)


def _saved_config_path(args: argparse.Namespace) -> Path:
    """The saved config of the run ``--resume --out`` continues."""
    if args.out is None:
        raise MaskSSLError("--resume needs --out, the run directory to continue")
    if args.config is not None:
        raise MaskSSLError("--resume continues with the run's saved config; drop --config")
    saved = args.out / "config.yaml"
    if not saved.is_file():
        raise MaskSSLError(f"--resume: {args.out} holds no run (no config.yaml there); start the run without --resume")
    return saved


def _check_resume_changes(saved: dict, resumed: dict) -> None:
    """--resume may change only RESUME_OVERRIDABLE keys of the saved config, and the eval settings."""
    before, after = _flatten(saved), _flatten(resumed)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    bad = [k for k in changed if k not in RESUME_OVERRIDABLE and not k.startswith("eval.")]
    if bad:
        allowed = ", ".join(RESUME_OVERRIDABLE)
        raise MaskSSLError(f"--resume cannot change {', '.join(bad)}; only {allowed} and eval.* may change")


def _run_dir(out: Path | None, name: str) -> Path:
    """--out, or runs/<name>-<time> outside torchrun."""
    if out is not None:
        return out
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise MaskSSLError("under torchrun, pass --out so every process writes to the same run directory")
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _train(args: argparse.Namespace) -> int:
    from maskssl.build import load_config
    from maskssl.engine.loop import train

    for spec in args.imports:
        import_user_module(spec)
    if args.resume:
        saved = _saved_config_path(args)
        _reimport_for(args.out)
        modality = args.modality or load_yaml(saved).get("modality")
        config = load_config(modality, saved, args.overrides)
        _check_resume_changes(load_config(modality, saved).to_dict(), config.to_dict())
    else:
        config = load_config(args.modality, args.config, args.overrides)
    out = _run_dir(args.out, config.modality)
    result = train(
        config, out, resume=args.resume, overwrite=args.overwrite, progress=False if args.no_progress else None
    )
    if int(os.environ.get("RANK", "0")) == 0:
        loss = f"{result.loss:.4f}" if result.loss is not None else "n/a"
        print(f"run written to {result.run_dir} (step {result.step}, loss {loss}): "
              f"config.yaml, metrics.jsonl, checkpoints/")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from maskssl.engine.run_dir import results_path
    from maskssl.finetune import FinetuneConfig, finetune, format_results, load_finetune_config

    for spec in args.imports:
        import_user_module(spec)
    overrides = [*args.overrides, *(["finetune.random_init=true"] if args.random_init else [])]
    _reimport_for(args.pretrained)
    if args.resume:
        saved_path = _saved_config_path(args)
        _reimport_for(args.out)
        saved = load_yaml(saved_path)
        if Path(saved.get("pretrained", "")) != args.pretrained:
            raise MaskSSLError(
                f"{args.out} fine-tunes {saved.get('pretrained')}, not {args.pretrained}; resume it with that PRETRAINED"
            )
        config = from_mapping(FinetuneConfig, deep_merge(saved, parse_overrides(overrides)))
        _check_resume_changes(from_mapping(FinetuneConfig, saved).to_dict(), config.to_dict())
    else:
        config = load_finetune_config(args.pretrained, args.config, overrides)
    out = _run_dir(args.out, f"finetune-{config.modality}")
    result = finetune(
        config, out, resume=args.resume, overwrite=args.overwrite, progress=False if args.no_progress else None
    )
    if int(os.environ.get("RANK", "0")) == 0:
        report = json.loads(results_path(result.run_dir).read_text())
        baseline = " from random init" if config.finetune.random_init else ""
        print(f"fine-tuned {config.pretrained}{baseline}: {report['num_classes']} classes, "
              f"{report['train_samples']} train samples, test split")
        print(format_results(report))
        print(f"run written to {result.run_dir}: results.json, config.yaml, metrics.jsonl, checkpoints/")
    return 0


def _flatten(values: dict, prefix: str = "") -> dict[str, object]:
    """Nested config dict -> {"train.epochs": 5, ...}."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _eval_settings(base: EvalConfig, args: argparse.Namespace, overrides: list[str]) -> EvalConfig:
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


def _eval(args: argparse.Namespace) -> int:
    import torch

    from maskssl.engine.device import select_device, set_cpu_threads
    from maskssl.eval.evaluate import evaluate, format_table, summary_rows
    from maskssl.eval.spectrum import plot_spectrum
    from maskssl.pretrained import load_pretrained

    for spec in args.imports:
        import_user_module(spec)
    _reimport_for(args.path)
    device = select_device(args.device)
    pretrained = load_pretrained(args.path, device, random_init=args.random_init)
    set_cpu_threads(pretrained.config.train.threads)
    report = evaluate(pretrained, device, _eval_settings(pretrained.config.eval, args, args.overrides))
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


def _sweep(args: argparse.Namespace) -> int:
    from maskssl.build import load_config
    from maskssl.engine.device import select_device
    from maskssl.eval.ratio_choice import COMMON_VIEW_RATIO, choose_label_free
    from maskssl.eval.sweep import format_sweep, plot_sweep, run_sweep

    for spec in args.imports:
        import_user_module(spec)
    config = load_config(args.modality, args.config, args.overrides)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = _eval_settings(config.eval, args, [])
    if args.select == "label-free" and settings.alignment_mask_ratio is None:
        settings = dataclasses.replace(settings, alignment_mask_ratio=COMMON_VIEW_RATIO)
    rows = run_sweep(config, args.ratios, args.out, select_device(args.device), settings)
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


def _export(args: argparse.Namespace) -> int:
    from maskssl.export import export_encoder

    for spec in args.imports:
        import_user_module(spec)
    _reimport_for(args.path)
    weights, meta = export_encoder(args.path, args.out, format=args.format)
    if args.format == "timm":
        print(f"timm ViT weights written to {weights} (metadata: {meta}); load them with\n"
              f"    {json.loads(meta.read_text())['timm']['python']}\n"
              f"(set NUM_CLASSES; only head.weight and head.bias are missing, none with num_classes=0)")
    else:
        print(f"encoder written to {weights} (metadata: {meta}); load it with maskssl.export.load_encoder")
    return 0


def _config_list() -> int:
    from maskssl.recipes import description, installed_recipes

    recipes = installed_recipes()
    if not recipes:
        print("no installed plugin ships recipes (pip install maskssl-image, maskssl-graph or maskssl-pointcloud)")
        return 0
    width = max(len(name) for name in recipes)
    for name, path in recipes.items():
        print(f"{name:<{width}}  {description(path)}")
    print(f"\nuse one with --config NAME, e.g. maskssl train --config {next(iter(recipes))}")
    return 0


def _config_show(args: argparse.Namespace) -> int:
    from maskssl.config_show import layers, show

    for spec in args.imports:
        import_user_module(spec)
    print(show(*layers(args.modality, args.config, args.overrides)), end="")
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from maskssl.build import build_modality, load_config
    from maskssl.data_scan import format_scan, scan

    for spec in args.imports:
        import_user_module(spec)
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


def _plugins_list(check: bool) -> int:
    rows = [("KIND", "NAME", "DISTRIBUTION", "VERSION", "STATUS")]
    for kind in registry.GROUPS:
        for name, entry in sorted(registry.entries(kind).items()):
            rows.append((kind, name, entry.distribution, entry.version or "-", _plugin_status(entry, check)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def _plugin_status(entry: registry.Entry, check: bool) -> str:
    """--check: "ok" or "broken: ..." from importing it; else from its distribution's installed requirements."""
    if check:
        try:
            entry.load()
            return "ok"
        except PluginImportError as exc:
            return f"broken: {exc.__cause__!r}"
    missing = registry.missing_requirements(entry.distribution) if not entry.is_local else []
    return f"missing {', '.join(missing)}" if missing else "installed"


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> str:
    return f"maskssl: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``maskssl`` console script; returns the exit code."""
    warnings.formatwarning = _one_line_warning
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides after an option (``finetune runs/x --out y train.epochs=5``) land in ``extra``
    if extra and hasattr(args, "overrides") and not any(item.startswith("-") for item in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        commands = {"train": _train, "finetune": _finetune, "eval": _eval, "sweep": _sweep, "export": _export}
        if args.command in commands:
            return commands[args.command](args)
        if args.command == "data":
            return _data_check(args)
        if args.command == "config":
            return _config_list() if args.config_command == "list" else _config_show(args)
        return _plugins_list(args.check)
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
