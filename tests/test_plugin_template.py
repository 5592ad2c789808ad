"""examples/plugin_template as a third party uses it: pip-installed from its folder, found through its entry points.

The template is installed once per module, offline (no index, no build isolation, setuptools from
this environment), into a temporary directory. Subprocesses get that directory on PYTHONPATH, where
importlib.metadata finds its .dist-info exactly as for a package in site-packages; this process and
the repository are left untouched.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "plugin_template"
DIST, VERSION = "maskssl-plugin-template", "0.1.0"
COMPONENTS = {
    ("masker", "checkerboard"), ("modality", "signal"), ("encoder", "signal_transformer"), ("decoder", "signal_mixer"),
}  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # pip-installs the template, then runs maskssl and pytest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template built from a copy (no build/ or egg-info in the repository) into a --target directory."""
    work = tmp_path_factory.mktemp("plugin-template")
    source, site = work / "src", work / "site"
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(TEMPLATE, source, ignore=ignore)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return work


def run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python *args`` in ``work`` with the installed template on PYTHONPATH, one thread."""
    path = os.pathsep.join(p for p in (str(work / "site"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "PIP_NO_INDEX": "1"}
    return subprocess.run([sys.executable, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)


def records(run_dir: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_the_distribution_declares_its_entry_points(installed: Path) -> None:
    info = installed / "site" / f"{DIST.replace('-', '_')}-{VERSION}.dist-info"
    entry_points = (info / "entry_points.txt").read_text()
    for group in ("maskssl.maskers", "maskssl.modalities", "maskssl.encoders", "maskssl.decoders"):
        assert f"[{group}]" in entry_points
    requires = [line for line in (info / "METADATA").read_text().splitlines() if line.startswith("Requires-Dist")]
    assert [r for r in requires if "extra ==" not in r] == ["Requires-Dist: maskssl>=0.1", "Requires-Dist: torch>=2.1"]


def test_plugins_list_shows_the_template_components(installed: Path) -> None:
    result = run(installed, "-m", "maskssl", "plugins", "list", "--check")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in result.stdout.splitlines()[1:]}
    for component in COMPONENTS:
        assert rows.get(component) == [DIST, VERSION, "ok"], (component, result.stdout)
    assert rows[("masker", "random")][0] == "maskssl"  # the core's components are listed beside them


def test_the_cli_trains_and_finetunes_the_template_modality(installed: Path) -> None:
    out = installed / "signal-run"
    result = run(installed, "-m", "maskssl", "train", "--modality", "signal", "train.max_steps=3", "--no-progress",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["step"] for r in records(out)] == [3]  # log_every 5 > 3 steps: the final step only
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["modality"] == "signal" and config["masker"]["name"] == "checkerboard"
    assert config["decoder"]["name"] == "signal_mixer" and list((out / "checkpoints").glob("step_*.pt"))
    tuned = run(installed, "-m", "maskssl", "finetune", str(out), "--out", str(installed / "signal-ft"),
                "train.max_steps=2", "--no-progress")
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    assert "4 classes, 512 train samples" in tuned.stdout and "top1" in tuned.stdout  # the template's head


def test_the_template_masker_trains_the_image_modality(installed: Path) -> None:
    out = installed / "image-run"
    result = run(installed, "-m", "maskssl", "train", "--modality", "image", "masker.name=checkerboard",
                 "masker.ratio=0.75", "train.max_steps=3", "train.log_every=1", "train.batch_size=32",
                 "--no-progress", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    logged = records(out)
    assert [r["step"] for r in logged] == [1, 2, 3] and all(math.isfinite(r["loss"]) for r in logged)
    assert yaml.safe_load((out / "config.yaml").read_text())["masker"] == {"name": "checkerboard", "ratio": 0.75}


def test_the_template_tests_pass_against_the_installed_copy(installed: Path) -> None:
    result = run(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(installed / "src" / "tests"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "error" not in result.stdout.lower()
