"""The tests run against the installed distribution, as your users get it: ``pip install -e ".[test]"`` first.

When it is not installed (e.g. these tests are run from a checkout of maskssl, where this template
lives under examples/), it is built here, offline (no index, no build isolation), into a temporary
directory that is put on sys.path for this session: its entry points are then found exactly as for
a real install. You may delete this file in your own plugin.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DISTRIBUTION = "maskssl-plugin-template"
ROOT = Path(__file__).resolve().parents[1]


def _install_for_this_session() -> None:
    work = Path(tempfile.mkdtemp(prefix="maskssl-plugin-template-"))
    atexit.register(shutil.rmtree, work, True)
    source, site = work / "src", work / "site"
    ignore = shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=ignore)  # build from a copy: no build/ or egg-info in the source tree
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"could not install {DISTRIBUTION} for the tests:\n{result.stderr}")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()


try:
    importlib.metadata.distribution(DISTRIBUTION)
except importlib.metadata.PackageNotFoundError:
    _install_for_this_session()
