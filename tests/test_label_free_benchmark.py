"""benchmarks/label_free_ratio.py: runs collected from disk, the label-free choice against the best probe, resume."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "label_free_ratio.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("label_free_ratio", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(out: Path, seed: int, ratio: float, alignment: float, uniformity: float, probe: float,
              rank: float = 10.0) -> None:
    run = out / "digits" / f"seed{seed}" / f"ratio_{ratio:g}"
    run.mkdir(parents=True)
    report = {"alignment": alignment, "uniformity": uniformity, "effective_rank": rank,
              "linear_probe": {"test_accuracy": probe}}
    (run / "eval.json").write_text(json.dumps(report))


def test_summary_compares_the_largest_mean_separation_with_the_best_mean_probe(bench, tmp_path: Path) -> None:
    # separation = (1 - uniformity) / (1 - alignment): 0.5 -> 0.8/0.4 = 2, 0.75 -> 0.8/0.2 = 4, 0.9 -> 0.5/0.5 = 1
    for seed, noise in ((0, 0.0), (1, 1.0)):
        write_run(tmp_path, seed, 0.5, 0.6, 0.2, 91.0 + noise)
        write_run(tmp_path, seed, 0.75, 0.8, 0.2, 89.0 + noise)
        write_run(tmp_path, seed, 0.9, 0.5, 0.5, 80.0 + noise)
    summary = bench.summarize(bench.collect("digits", tmp_path))
    assert summary["seeds"] == 2 and summary["ratios"] == [0.5, 0.75, 0.9]
    assert summary["chosen"] == 0.75 and summary["best"] == 0.5
    assert summary["gap"] == pytest.approx(2.0) and summary["gap_default"] == pytest.approx(2.0)
    assert summary["seed_std"] == pytest.approx(2 ** -0.5)  # two seeds 1 point apart at every ratio
    assert "| digits | 0.5, 0.75, 0.9 | 2 | 0.75 | 0.5 | 89.50 / 91.50 | 2.00 | 2.00 | 0.71 | no |" in bench.table([summary])


def test_the_table_says_when_the_choice_would_be_warned_about_as_partly_collapsed(bench, tmp_path: Path) -> None:
    write_run(tmp_path, 0, 0.5, 0.6, 0.2, 91.0, rank=63.0)
    write_run(tmp_path, 0, 0.75, 0.8, 0.2, 70.0, rank=14.0)  # the larger separation, a fifth of the rank
    summary = bench.summarize(bench.collect("digits", tmp_path))
    assert summary["chosen"] == 0.75 and summary["rank_warning"]
    assert bench.table([summary]).splitlines()[-1].endswith("| yes |")


def test_finished_runs_are_kept_and_a_different_budget_is_refused(bench, tmp_path: Path, monkeypatch) -> None:
    trained: list[tuple[int, list[float]]] = []

    def fake_sweep(config, ratios, out_dir, device, settings):
        assert settings.alignment_mask_ratio == bench.COMMON_VIEW_RATIO
        trained.append((config.train.seed, list(ratios)))
        for ratio in ratios:
            run = out_dir / f"ratio_{ratio:g}"
            run.mkdir(parents=True)
            (run / "eval.json").write_text(json.dumps({"alignment": 0.5, "uniformity": 0.1, "effective_rank": 3.0}))
        return []

    monkeypatch.setattr(bench, "run_sweep", fake_sweep)
    write_run(tmp_path, 0, 0.5, 0.5, 0.1, 90.0)
    bench.run_dataset("digits", [0], [0.5, 0.75], tmp_path, ["train.epochs=1"])
    assert trained == [(0, [0.75])]  # ratio 0.5 of seed 0 was already there
    bench.run_dataset("digits", [0], [0.5, 0.75], tmp_path, ["train.epochs=1"])
    assert trained == [(0, [0.75])]
    with pytest.raises(SystemExit, match="must share a budget"):
        bench.run_dataset("digits", [1], [0.5], tmp_path, ["train.epochs=2"])
