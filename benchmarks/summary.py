"""Mean ± std tables of benchmark results, shared by the benchmark scripts of this folder."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def mean_std(values: list[float]) -> str:
    """``"mean ± sample std"`` with two decimals (std 0 for a single value)."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {spread:.2f}"


def results_table(results: dict[str, dict[str, list[dict[str, float]]]], columns: dict[str, str]) -> str:
    """A markdown table, one row per (dataset, method), one ``mean ± std`` cell per metric.

    results: dataset -> method -> one dict of metric values per seed.
    columns: metric key -> column header, in column order. A method whose rows lack a metric gets "–".
    """
    lines = ["| dataset | method | " + " | ".join(columns.values()) + " |", "|" + "---|" * (len(columns) + 2)]
    for dataset, methods in results.items():
        for method, rows in methods.items():
            cells = [mean_std([row[metric] for row in rows]) if all(metric in row for row in rows) else "–"
                     for metric in columns]
            lines.append(f"| {dataset} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(out: Path, results: dict[str, Any], table: str) -> None:
    """results.json (every seed's values) and results.md (the table) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(table + "\n")
