"""``maskssl plugins list``: every registered component with its distribution, version and status."""

from __future__ import annotations

import argparse

from maskssl import registry
from maskssl.cli.common import Parser, Subcommands
from maskssl.errors import PluginImportError


def add_parser(commands: Subcommands) -> None:
    plugins = commands.add_parser("plugins", help="inspect installed plugins")
    plugin_commands = plugins.add_subparsers(dest="plugins_command", required=True, parser_class=Parser)
    listing = plugin_commands.add_parser("list", help="every component: kind, name, distribution, version, status")
    listing.add_argument("--check", action="store_true",
                         help="import every component to check it works (slower: imports torch and the plugins)")
    listing.set_defaults(run=run_list)


def run_list(args: argparse.Namespace) -> int:
    rows = [("KIND", "NAME", "DISTRIBUTION", "VERSION", "STATUS")]
    for kind in registry.GROUPS:
        for name, entry in sorted(registry.entries(kind).items()):
            rows.append((kind, name, entry.distribution, entry.version or "-", _status(entry, args.check)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def _status(entry: registry.Entry, check: bool) -> str:
    """--check: "ok" or "broken: ..." from importing it; else from its distribution's installed requirements."""
    if check:
        try:
            entry.load()
            return "ok"
        except PluginImportError as exc:
            return f"broken: {exc.__cause__!r}"
    missing = registry.missing_requirements(entry.distribution) if not entry.is_local else []
    return f"missing {', '.join(missing)}" if missing else "installed"
