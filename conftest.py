"""Fixtures shared by tests/ and plugins/*/tests/: where the real datasets are, and how a test asks for one.

``shared_data``: the folder of the real datasets, $MASKSSL_SHARED_DATA or else ``shared/data`` beside the
repository. ``require_shared_data("images/MNIST/raw/t10k-images-idx3-ubyte.gz")``: that file's path; the
test is skipped with the reason when the file is absent, or fails when MASKSSL_REQUIRE_DATA=1 (as in CI).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of the real datasets: $MASKSSL_SHARED_DATA, else ``shared/data`` beside the repository."""
    return Path(os.environ.get("MASKSSL_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def require_shared_data(shared_data: Path) -> Callable[[str], Path]:
    """A function of a file's path relative to ``shared_data``: the file's full path, else a skip (a failure
    under MASKSSL_REQUIRE_DATA=1) that names the file and the variable to set."""

    def require(relative: str) -> Path:
        path = shared_data / relative
        if path.is_file():
            return path
        message = f"shared data {relative} not found under {shared_data} (set MASKSSL_SHARED_DATA to shared/data)"
        if os.environ.get("MASKSSL_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)

    return require
