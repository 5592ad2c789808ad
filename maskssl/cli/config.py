"""``maskssl config list`` (the installed recipes) and ``maskssl config show`` (a resolved config, each value's origin)."""

from __future__ import annotations

import argparse

from maskssl.cli.common import Parser, Subcommands, add_import_option, add_recipe_options


def add_parser(commands: Subcommands) -> None:
    config = commands.add_parser("config", help="inspect configs")
    config_commands = config.add_subparsers(dest="config_command", required=True, parser_class=Parser)
    show = config_commands.add_parser("show", help="print the config a run would resolve to, each value with "
                                                   "where it came from (default, recipe, file, override)")
    add_recipe_options(show)
    add_import_option(show)
    show.set_defaults(run=run_show)
    listing = config_commands.add_parser("list", help="the recipes the installed plugins ship, by the name --config takes")
    listing.set_defaults(run=run_list)


def run_list(args: argparse.Namespace) -> int:
    from maskssl.config.recipes import description, installed_recipes

    recipes = installed_recipes()
    if not recipes:
        print("no installed plugin ships recipes (pip install maskssl-image, maskssl-graph or maskssl-pointcloud)")
        return 0
    width = max(len(name) for name in recipes)
    for name, path in recipes.items():
        print(f"{name:<{width}}  {description(path)}")
    print(f"\nuse one with --config NAME, e.g. maskssl train --config {next(iter(recipes))}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from maskssl.build import build_masker_and_regularizers
    from maskssl.config.show import layers, show

    config, stack = layers(args.modality, args.config, args.overrides)
    build_masker_and_regularizers(config)  # their option checks (ConfigError) run here too, as in a run
    print(show(config, stack), end="")
    return 0
