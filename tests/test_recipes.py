"""Recipes ship inside the plugins' packages and are found by name, from a clone or from a wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from maskssl.cli import main
from maskssl.config.load import load_config
from maskssl.config.recipes import installed_recipes, resolve_recipe
from maskssl.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PLUGINS = {"image": "maskssl-image", "graph": "maskssl-graph", "pointcloud": "maskssl-pointcloud"}


def test_every_recipe_of_the_clone_resolves_by_name_to_its_file() -> None:
    files = sorted((REPO / "configs").glob("*/**/*.yaml"))
    assert len(files) > 20
    for path in files:
        name = path.relative_to(REPO / "configs").with_suffix("").as_posix()
        assert resolve_recipe(name).resolve() == path.resolve(), name
        assert resolve_recipe(f"configs/{name}.yaml").resolve() == path.resolve()
    assert set(installed_recipes()) == {p.relative_to(REPO / "configs").with_suffix("").as_posix() for p in files}


def test_a_name_loads_the_same_config_as_the_path() -> None:
    by_name = load_config("graph", "graph/cora", ["train.epochs=3"])
    assert by_name == load_config("graph", REPO / "configs/graph/cora.yaml", ["train.epochs=3"])


def test_an_unknown_name_lists_the_recipes_of_its_modality() -> None:
    with pytest.raises(ConfigError, match=r"no installed recipe is named 'graph/corra'.*graph/cora"):
        resolve_recipe("graph/corra")


def test_config_list_prints_each_recipe_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "list"]) == 0
    out = capsys.readouterr().out
    assert "image/digits_umae" in out and "U-MAE (MAE + uniformity" in out and "pointcloud/finetune/modelnet40" in out


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("modality", sorted(PLUGINS))
def test_the_wheel_carries_the_recipes_and_they_resolve_by_name_from_it(modality: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(REPO / "plugins" / PLUGINS[modality], source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    package = f"maskssl_{modality}"
    in_wheel = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith(f"{package}/recipes/")}
    in_clone = {f"{package}/recipes/{p.relative_to(REPO / 'configs' / modality).as_posix()}"
                for p in (REPO / "configs" / modality).rglob("*.yaml")}
    assert in_wheel == in_clone
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)  # the wheel's files, first on the path: as if pip-installed
    name = sorted(in_clone)[0].removeprefix(f"{package}/recipes/").removesuffix(".yaml")
    found = subprocess.run(
        [sys.executable, "-c", f"from maskssl.config.recipes import resolve_recipe; print(resolve_recipe('{modality}/{name}'))"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(installed), "PATH": ""}, timeout=120,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert Path(found.stdout.strip()).is_relative_to(installed)
