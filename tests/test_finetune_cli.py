"""``maskssl finetune`` end to end, in subprocesses, on the toy modality."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import TOY, one_line_error, run


def test_finetune_prints_a_table_resumes_and_refuses_changes(tmp_path: Path) -> None:
    pretrained, out = tmp_path / "pre", tmp_path / "ft"
    assert run("train", "--import", TOY, "--modality", "toy", "--out", str(pretrained), "train.max_steps=4").returncode == 0
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
