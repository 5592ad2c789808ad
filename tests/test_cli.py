"""The ``maskssl`` command end to end, in subprocesses, with the toy modality imported by path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY = str(REPO / "tests" / "toy.py")

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # every test runs `python -m maskssl` or torchrun


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maskssl", *args], capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_train_end_to_end_writes_run_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run("train", "--import", TOY, "--modality", "toy", "--out", str(out), "train.max_steps=5")
    assert result.returncode == 0, result.stderr
    assert f"run written to {out}" in result.stdout
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5] and all("loss" in r and "lr" in r for r in records)
    assert "max_steps: 5" in (out / "config.yaml").read_text()


def test_resume_continues_and_refuses_config_changes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run("train", "--import", TOY, "--modality", "toy", "--out", str(out), "train.max_steps=3").returncode == 0
    again = run("train", "--import", TOY, "--modality", "toy", "--out", str(out))
    assert "already holds a run" in one_line_error(again)
    changed = run("train", "--import", TOY, "--out", str(out), "--resume", "train.lr=0.5")
    assert "cannot change train.lr" in one_line_error(changed)
    resumed = run("train", "--import", TOY, "--out", str(out), "--resume", "train.max_steps=6")
    assert resumed.returncode == 0, resumed.stderr
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--modality", "toy", "train.epoch=3"], "unknown config key 'train.epoch'.*Did you mean 'train.epochs'"),
        (["train", "--modality", "toy", "masker.ratio=1.5"], "mask ratio must be in \\(0, 1\\)"),
        (["train", "--modality", "toy", "masker.name=rnadom"], "unknown masker 'rnadom'.*Did you mean 'random'"),
        (["train", "--modality", "toy", "train.batch_size=big"], "train.batch_size='big' has the wrong type"),
        (["train", "--modality", "toy", "epochs5"], "not of the form key=value"),
        (["train", "--modality", "nope"], "unknown modality 'nope'"),
        (["train", "--modality", "toy", "--config", "missing.yaml"], "does not exist"),
        (["train", "--frobnicate"], "unrecognized arguments"),
        (["train", "--modality", "toy", "--resume"], "--resume needs --out"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    import re

    line = one_line_error(run(*args[:1], "--import", TOY, *args[1:], cwd=tmp_path))
    assert re.search(message, line), line


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("train:\n  epochs: 3\n  batch_size: [1,\n")
    line = one_line_error(run("train", "--import", TOY, "--config", str(recipe), cwd=tmp_path))
    assert "not valid YAML at line" in line


def test_user_masker_registered_in_a_module_is_usable_by_name(tmp_path: Path) -> None:
    (tmp_path / "mymasks.py").write_text(
        "import torch\n"
        "from maskssl import Masker, register_masker\n"
        "@register_masker('first_tokens')\n"
        "class FirstTokens(Masker):\n"
        "    calls = 0\n"
        "    def __call__(self, tokens, generator=None):\n"
        "        mask = torch.zeros(tokens.batch_size, tokens.num_tokens, dtype=torch.bool, device=tokens.device)\n"
        "        mask[:, : self.num_hidden(tokens.num_tokens)] = True\n"
        "        return mask\n"
    )
    out = tmp_path / "run"
    result = run(
        "train", "--import", TOY, "--import", "mymasks", "--modality", "toy", "--out", str(out),
        "masker.name=first_tokens", "train.max_steps=2", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "name: first_tokens" in (out / "config.yaml").read_text()


def test_plugins_list_shows_core_components_and_check_imports_them() -> None:
    listed = run("plugins", "list", "-X")
    assert listed.returncode == 2  # unknown option
    for option, status in (([], "installed"), (["--check"], "ok")):
        result = run("plugins", "list", *option)
        assert result.returncode == 0, result.stderr
        rows = [line.split() for line in result.stdout.splitlines()]
        assert rows[0] == ["KIND", "NAME", "DISTRIBUTION", "VERSION", "STATUS"]
        assert ["masker", "random", "maskssl", "0.1.0", status] in rows
        assert ["regularizer", "uniformity", "maskssl", "0.1.0", status] in rows


def test_help_and_plugins_list_do_not_import_torch() -> None:
    code = "import sys; from maskssl.cli import main; main(['plugins', 'list']); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "False", result.stderr


def test_torchrun_two_processes_train_with_gloo(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "maskssl",
         "train", "--import", TOY, "--modality", "toy", "--out", str(out), "regularizers.uniformity.weight=0.1",
         "train.max_steps=4"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # rank 0 alone writes
    assert result.stdout.count("run written to") == 1


SIGTERM_RANK0_AFTER_STEP_3 = """
import os, signal
from maskssl.engine import metrics
_log = metrics.MetricsLog.log
def log(self, record):
    _log(self, record)
    if os.environ.get("RANK") == "0" and record.get("step") == 3 and "loss" in record:
        os.kill(os.getpid(), signal.SIGTERM)  # after the step's stop vote: rank 1 has not seen it
metrics.MetricsLog.log = log
"""


def test_sigterm_to_one_torchrun_rank_stops_both_at_one_step_and_resumes_exactly(tmp_path: Path) -> None:
    """A signal reaching rank 0 between two steps' stop votes: both ranks stop after the next step together."""

    def torchrun(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "maskssl",
             "train", "--import", TOY, "--no-progress", *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )

    (tmp_path / "sigterm_rank0.py").write_text(SIGTERM_RANK0_AFTER_STEP_3)
    common = ["regularizers.uniformity.weight=0.1", "train.epochs=3", "train.ckpt_every=100"]
    full = torchrun("--modality", "toy", "--out", str(tmp_path / "full"), *common)
    assert full.returncode == 0, full.stderr[-3000:]
    cut = torchrun("--import", "sigterm_rank0.py", "--modality", "toy", "--out", str(tmp_path / "cut"), *common)
    assert cut.returncode != 0 and "stopped by SIGTERM after step 4" in cut.stderr, cut.stderr[-3000:]
    assert "stopped by a signal to another process after step 4" in cut.stderr, cut.stderr[-3000:]
    resumed = torchrun("--out", str(tmp_path / "cut"), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    def losses(run_dir: Path) -> list[tuple[int, float]]:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
        return [(r["step"], r["loss"]) for r in map(json.loads, lines)]

    assert losses(tmp_path / "cut") == losses(tmp_path / "full") and len(losses(tmp_path / "full")) == 12


def test_one_process_with_batch_2b_logs_the_losses_of_two_processes_with_b(tmp_path: Path) -> None:
    """Masks are drawn per sample from (seed, step, global position), not per process."""
    common = ["--import", TOY, "--modality", "toy", "--no-progress", "regularizers.uniformity.weight=0.1",
              "train.epochs=2", "train.log_every=1"]
    one = run("train", *common, "--out", str(tmp_path / "one"), "train.batch_size=16")
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "maskssl",
         "train", *common, "--out", str(tmp_path / "two"), "train.batch_size=8"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert two.returncode == 0, two.stderr[-3000:]

    def losses(run_dir: Path) -> list[float]:
        return [r["loss"] for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())]

    assert len(losses(tmp_path / "one")) == 8
    assert losses(tmp_path / "one") == pytest.approx(losses(tmp_path / "two"), rel=1e-5)
