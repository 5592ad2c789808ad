"""Faults and bad input: nothing half-written is left behind, nothing is lost, and each error is one line."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from types import SimpleNamespace
from typing import IO

import pytest
import torch

from maskssl.checkpoints import io as checkpoint_io
from maskssl.checkpoints.io import list_checkpoints, load_checkpoint, save_checkpoint
from maskssl.cli import main
from maskssl.engine.metrics import MetricsLog
from maskssl.errors import WriteError
from maskssl.utils.files import write_text_atomic
from tests import toy  # noqa: F401  registers the toy modality in this process
from tests.test_cli import TOY


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 2) -> str:
    """Run ``maskssl argv`` in this process; its stderr must be one ``maskssl: error:`` line."""
    assert main(list(argv)) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maskssl: error: "), lines
    return lines[0]


def full_disk_after(size: int):
    def write(state: object, handle: IO[bytes]) -> None:
        handle.write(b"x" * size)
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_a_checkpoint_write_on_a_full_disk_leaves_no_temporary_file_and_says_what_it_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {"model": {"w": torch.zeros(1024, 256)}, "step": 1}
    save_checkpoint(state, tmp_path, 1, keep=2)
    monkeypatch.setattr(checkpoint_io.torch, "save", full_disk_after(100))
    with pytest.raises(WriteError, match=r"step_00000002\.pt: no space left on device \(1\.0 MB needed\).*are kept"):
        save_checkpoint(state, tmp_path, 2, keep=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000001.pt", "step_00000001.pt.sha256"]
    assert load_checkpoint(list_checkpoints(tmp_path)[0])["step"] == 1


def test_an_atomic_text_write_that_fails_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "eval.json"
    path.write_text("old")
    (tmp_path / "eval.json.tmp").mkdir()  # the temporary file cannot be created
    with pytest.raises(WriteError, match="cannot write .*eval.json"):
        write_text_atomic(path, "new")
    assert path.read_text() == "old"


def test_non_finite_metrics_are_written_as_null(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path, enabled=True)
    log.log({"step": 1, "loss": float("nan"), "lr": float("inf"), "samples_per_s": 3.0})
    record = json.loads((tmp_path / "metrics.jsonl").read_text(), parse_constant=pytest.fail)
    assert record == {"step": 1, "loss": None, "lr": None, "samples_per_s": 3.0}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def broken(:\n", r"failed: SyntaxError: .* \(bad_import\.py, line 1\)"),
        ("import no_such_dependency_xyz\n", r"failed: ModuleNotFoundError: No module named 'no_such_dependency_xyz' "
                                            r"\(bad_import\.py, line 1\); install the missing package"),
        ("x = 1\nraise RuntimeError('boom')\n", r"failed: RuntimeError: boom \(bad_import\.py, line 2\)"),
    ],
)
def test_an_import_that_fails_is_one_line_naming_the_file_and_line(
    source: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad_import.py"
    bad.write_text(source)
    line = cli_error(capsys, "train", "--import", str(bad), "--modality", "toy", "--out", str(tmp_path / "r"))
    assert f"--import {bad} failed" in line
    import re

    assert re.search(message, line), line


def test_a_run_that_fails_validation_writes_nothing_and_the_fixed_rerun_needs_no_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    line = cli_error(capsys, "train", "--modality", "toy", "--out", str(out), "train.accum_steps=100")
    assert "accum_steps=100 is more than the 8 batches per epoch" in line
    assert not out.exists()
    assert main(["train", "--modality", "toy", "--out", str(out), "train.max_steps=1", "--no-progress"]) == 0


def test_overwrite_removes_every_file_of_the_old_run(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert main(["train", "--modality", "toy", "--out", str(out), "train.max_steps=2", "--no-progress"]) == 0
    for name in ("eval.json", "eval_random_init.json", "spectrum.png", "results.json"):
        (out / name).write_text("from the old run")
    (out / "notes.txt").write_text("the user's")
    assert main(["train", "--modality", "toy", "--out", str(out), "train.max_steps=1", "--overwrite",
                 "--no-progress"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoints", "config.yaml", "metrics.jsonl", "notes.txt", "provenance.json"], names
    assert [p.name for p in list_checkpoints(out)] == ["step_00000001.pt"]


def test_output_paths_that_cannot_be_written_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "--out " + str(a_file) + " is a file; choose a directory" in cli_error(
        capsys, "train", "--modality", "toy", "--out", str(a_file))
    assert "holds no run (no config.yaml there); start the run without --resume" in cli_error(
        capsys, "train", "--out", str(tmp_path / "nowhere"), "--resume")
    run = tmp_path / "run"
    assert main(["train", "--modality", "toy", "--out", str(run), "train.max_steps=1", "--no-progress"]) == 0
    capsys.readouterr()
    line = cli_error(capsys, "export", str(run), "--out", str(a_file / "encoder.safetensors"), code=1)
    assert f"cannot write {a_file}: " in line and "pass another --out" in line


def test_config_that_is_not_utf8_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "latin1.yaml"
    recipe.write_bytes("train:\n  epochs: 3  # r\xe9glage\n".encode("latin-1"))
    assert "is not UTF-8 text (line 2: byte b'\\xe9'); save it as UTF-8" in cli_error(
        capsys, "train", "--modality", "toy", "--config", str(recipe))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr=nan", "train.lr='nan' is not a finite number"),
        ("train.lr=-0.1", "train.lr=-0.1 must be positive"),
        ("train.warmup_epochs=.nan", "train.warmup_epochs=nan is not a finite number"),
        ("train.blr=.inf", "train.blr=inf is not a finite number"),
        ("regularizers.uniformity.weight=nan", "regularizers.uniformity.weight='nan' is not a finite number"),
        ("regularizers.uniformity.weight=-1", "regularizers.uniformity.weight=-1 cannot be negative"),
        ("train.betas=[0.9,1.5]", r"train.betas=\[0.9, 1.5\] must both be in \[0, 1\)"),
        ("masker.ratio=nan", "masker.ratio='nan' is not a finite number"),
    ],
)
def test_non_finite_and_out_of_range_numbers_are_config_errors(
    override: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import re

    line = cli_error(capsys, "train", "--modality", "toy", "--out", str(tmp_path / "r"), override)
    assert re.search(message, line), line
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
@pytest.mark.integration
def test_an_error_on_rank_0_alone_ends_every_torchrun_rank_with_the_same_line(tmp_path: Path) -> None:
    """The run-directory check runs on rank 0 only; rank 1 must not be left in a barrier (a gloo traceback)."""
    import subprocess
    import sys

    a_file = tmp_path / "file"
    a_file.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "maskssl",
         "train", "--import", TOY, "--modality", "toy", "--out", str(a_file)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode != 0
    line = f"maskssl: error: --out {a_file} is a file; choose a directory"
    assert result.stderr.count(line) == 2, result.stderr[-3000:]
    assert "gloo" not in result.stderr.lower() and "Connection closed" not in result.stderr, result.stderr[-3000:]


def test_check_finite_names_the_rows_and_ignores_integer_arrays() -> None:
    import numpy as np

    from maskssl.data.checks import check_finite
    from maskssl.errors import DataError

    values = torch.zeros(8, 3)
    check_finite(values, "features", "x.npz")
    values[[1, 6], 2] = float("nan")
    with pytest.raises(DataError, match=r"x\.npz: features hold NaN or infinite values in 2 of 8 nodes \(node 1, 6\)"):
        check_finite(values, "features", "x.npz", unit="node")
    check_finite(np.arange(5), "labels", "x.npz")  # integers cannot be NaN


def test_resume_drops_a_metrics_line_a_killed_run_left_half_written(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.9}\n{"step": 3, "lo')
    MetricsLog(tmp_path, enabled=True, resume_step=2).close()
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.9}\n'


def test_torchs_zip_writer_failing_on_a_full_disk_is_one_line_saying_what_was_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def torch_writer_fails(state: object, handle: IO[bytes]) -> None:
        handle.write(b"x" * 64)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    state = {"model": {"w": torch.zeros(2**18)}, "step": 1}  # 1 MiB of tensors
    monkeypatch.setattr(checkpoint_io.torch, "save", torch_writer_fails)
    monkeypatch.setattr(checkpoint_io.shutil, "disk_usage", lambda path: SimpleNamespace(free=1000))
    with pytest.raises(WriteError, match=r"no space left on device \(1.0 MB needed\); free space on that disk; the "):
        save_checkpoint(state, tmp_path, 1, keep=2)
    assert not list((tmp_path / "checkpoints").iterdir())
    monkeypatch.setattr(checkpoint_io.shutil, "disk_usage", lambda path: SimpleNamespace(free=2**40))
    with pytest.raises(WriteError, match=r"torch's checkpoint writer failed \(\[enforce fail at inline_container"):
        save_checkpoint(state, tmp_path, 1, keep=2)

