"""One writer per run directory, --overwrite removes only what maskssl wrote, a sweep is not replaced unasked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from maskssl.cli import main
from maskssl.engine.run_dir import LOCK_FILE, claim_run_dir
from maskssl.errors import ConfigError
from tests import toy  # noqa: F401  registers the toy modality in this process
from tests.test_reliability import cli_error

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from maskssl.engine.run_dir import claim_run_dir
    with claim_run_dir(Path(sys.argv[1])):
        print("claimed", flush=True)
        time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path: Path):
    """A second process holding a claim on tmp_path / "run" (killed at the end)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "claimed"
    yield process
    process.kill()
    process.wait()


@pytest.mark.slow
@pytest.mark.integration
def test_a_second_writer_is_refused_while_the_first_holds_the_run_directory(
    tmp_path: Path, holder: subprocess.Popen, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match=f"another maskssl process \\(pid {holder.pid}\\) is writing to"):
        with claim_run_dir(tmp_path / "run"):
            pass
    line = cli_error(capsys, "train", "--modality", "toy", "--out", str(tmp_path / "run"), "train.max_steps=1")
    assert f"pid {holder.pid}" in line and "choose another --out" in line
    assert not (tmp_path / "run" / "config.yaml").exists()  # the refused run wrote nothing


@pytest.mark.slow
@pytest.mark.integration
def test_the_lock_does_not_outlive_a_killed_run(tmp_path: Path, holder: subprocess.Popen) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (tmp_path / "run" / LOCK_FILE).exists()  # left behind by the killed process, but no longer locked
    with claim_run_dir(tmp_path / "run"):
        assert (tmp_path / "run" / LOCK_FILE).read_text().strip() == str(os.getpid())
    assert not (tmp_path / "run" / LOCK_FILE).exists()


def test_a_finished_run_leaves_no_lock_file(tmp_path: Path) -> None:
    assert main(["train", "--modality", "toy", "--out", str(tmp_path / "r"), "train.max_steps=1", "--no-progress"]) == 0
    assert not (tmp_path / "r" / LOCK_FILE).exists() and (tmp_path / "r" / "config.yaml").exists()


def test_overwrite_removes_the_old_runs_files_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "r"
    train = ["train", "--modality", "toy", "--out", str(out), "--no-progress"]
    assert main([*train, "train.max_steps=2", "train.ckpt_every=1"]) == 0
    old = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert "step_00000001.pt" in old and "step_00000002.pt.sha256" in old
    (out / "checkpoints" / "my_notes.txt").write_text("mine")
    (out / "checkpoints" / "step_00000001.pt.tmp").write_text("half a checkpoint")  # left by a killed run
    (out / "tensorboard").mkdir(exist_ok=True)
    (out / "tensorboard" / "events.out.tfevents.1.host").write_text("old events")
    (out / "tensorboard" / "my_plot.png").write_text("mine")
    (out / "README.txt").write_text("mine")
    assert main([*train, "--overwrite", "train.max_steps=1"]) == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "my_notes.txt", "step_00000001.pt", "step_00000001.pt.sha256"]
    assert not (out / "tensorboard" / "events.out.tfevents.1.host").exists()
    assert (out / "tensorboard" / "my_plot.png").read_text() == "mine" and (out / "README.txt").read_text() == "mine"


@pytest.mark.slow
def test_a_sweep_is_not_replaced_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    sweep = ["sweep", "--modality", "toy", "--ratios", "0.5", "--out", str(out), "--probe-epochs", "2",
             "train.max_steps=2"]
    assert main(sweep) == 0
    first = (out / "ratio_0.5" / "checkpoints" / "step_00000002.pt").stat().st_mtime_ns
    capsys.readouterr()
    line = cli_error(capsys, *sweep)
    assert f"{out} already holds a sweep (ratio_0.5)" in line and "--resume" in line and "--overwrite" in line
    assert (out / "ratio_0.5" / "checkpoints" / "step_00000002.pt").stat().st_mtime_ns == first
    assert main([*sweep, "--resume"]) == 0  # the finished run is kept, not trained again
    assert (out / "ratio_0.5" / "checkpoints" / "step_00000002.pt").stat().st_mtime_ns == first
    assert json.loads((out / "sweep.json").read_text())[0]["loss"] is not None
    assert "--resume cannot change train.epochs" in cli_error(capsys, *sweep, "--resume", "train.epochs=3")
    assert main([*sweep, "--overwrite"]) == 0
    assert (out / "ratio_0.5" / "checkpoints" / "step_00000002.pt").stat().st_mtime_ns != first
