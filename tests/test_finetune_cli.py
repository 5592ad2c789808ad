"""``maskssl finetune`` end to end, in subprocesses, on the toy modality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import TOY, one_line_error, run

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # every test runs `python -m maskssl` or torchrun


def test_finetune_prints_a_table_resumes_and_refuses_changes(tmp_path: Path) -> None:
    pretrained, out = tmp_path / "pre", tmp_path / "ft"
    pretraining = run("train", "--import", TOY, "--modality", "toy", "--out", str(pretrained), "train.max_steps=4")
    assert pretraining.returncode == 0
    common = ["finetune", str(pretrained), "--import", TOY, "--out", str(out), "train.lr=0.05"]
    first = run(*common, "train.max_steps=12", "--no-progress")  # key=value after an option is an override
    assert first.returncode == 0, first.stderr
    assert "4 classes, 64 train samples" in first.stdout and "top1" in first.stdout and "best (epoch 2)" in first.stdout
    report = json.loads((out / "results.json").read_text())
    assert [e["step"] for e in report["evaluations"]] == [8, 12]  # end of epoch 1, then the last step
    assert "cannot change train.lr" in one_line_error(run(*common[:-1], "--resume", "train.lr=0.5"))
    resumed = run(*common, "--resume", "train.max_steps=16")
    assert resumed.returncode == 0, resumed.stderr
    assert [e["step"] for e in json.loads((out / "results.json").read_text())["evaluations"]] == [8, 12, 16]


def test_finetune_usage_errors_are_one_line(tmp_path: Path) -> None:
    assert "does not exist" in one_line_error(run("finetune", str(tmp_path / "nowhere"), "--import", TOY))
    assert "the following arguments are required: PRETRAINED" in one_line_error(run("finetune"))


def test_finetune_under_torchrun_evaluates_once_on_the_main_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    assert run("train", "--import", TOY, "--modality", "toy", "--out", str(tmp_path / "pre"), "train.max_steps=2").returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "maskssl",
         "finetune", str(tmp_path / "pre"), "--import", TOY, "--out", str(tmp_path / "ft"), "--no-progress",
         "train.epochs=2", "train.lr=0.05"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert [e["step"] for e in report["evaluations"]] == [4, 8]  # 64 samples / 2 processes / batch 8 per epoch
    assert result.stdout.count("top1") == 1  # rank 0 alone prints the table
