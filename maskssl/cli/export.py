"""``maskssl export``: a run's encoder as safetensors + JSON, in maskssl's format or a plugin's (``timm``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskssl import registry
from maskssl.cli.common import Subcommands, add_import_option, output_path, reimport_for


def add_parser(commands: Subcommands) -> None:
    export = commands.add_parser("export", help="save a run's encoder as safetensors + JSON metadata")
    export.add_argument("path", type=Path, help="run directory (newest good checkpoint) or checkpoint file")
    export.add_argument("--out", type=output_path, required=True, help="output file, e.g. encoder.safetensors")
    export.add_argument("--format", choices=("maskssl", *registry.list_names("exporter")), default="maskssl",
                        help="maskssl (default; load with maskssl.checkpoints.export.load_encoder) or timm (ViT image "
                             "encoders: a timm VisionTransformer state dict, kwargs in the JSON)")
    add_import_option(export)
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from maskssl.checkpoints.export import OWN_FORMAT, export_encoder

    reimport_for(args.path)
    weights, meta = export_encoder(args.path, args.out, format=args.format)
    if args.format != OWN_FORMAT:
        exporter = registry.get("exporter", args.format)()
        print(exporter.describe(weights, meta, json.loads(meta.read_text())[args.format]))
    else:
        print(f"encoder written to {weights} (metadata: {meta}); load it with maskssl.checkpoints.export.load_encoder")
    return 0
