"""``maskssl config show``: the resolved config as YAML that loads back, each value with its origin."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from maskssl.build import build_modality
from maskssl.cli import main
from maskssl.config.load import load_config
from maskssl.config.yaml_files import deep_merge
from tests import toy  # noqa: F401  registers the toy modality in this process


def test_config_show_prints_the_resolved_config_and_where_each_value_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("modality: toy\ntrain: {epochs: 7, betas: [0.8, 0.9]}\nmasker: {ratio: 0.5}\n")
    assert main(["config", "show", "--config", str(recipe), "train.epochs=3", "regularizers.uniformity.weight=0.1"]) == 0
    out = capsys.readouterr().out
    expected = load_config(None, recipe, ["train.epochs=3", "regularizers.uniformity.weight=0.1"]).to_dict()
    expected["train"]["betas"] = list(expected["train"]["betas"])
    shown = yaml.safe_load(out)
    assert deep_merge(shown, expected) == shown  # every resolved value, as resolved, plus the plugin defaults
    lines = out.splitlines()
    assert "  epochs: 3  # override" in lines
    assert f"  betas: [0.8, 0.9]  # file {recipe}" in lines
    assert f"  ratio: 0.5  # file {recipe}" in lines
    assert "  name: random  # toy recipe" in lines  # the masker's name: set by the modality's recipe
    assert "    weight: 0.1  # override" in lines
    assert "  max_steps: null  # default" in lines


def test_config_show_completes_the_config_with_the_plugins_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show", "--modality", "toy", "encoder.embed_dim=8"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "  samples: 64  # toy plugin default" in lines  # a field of the modality's data_config
    assert "  embed_dim: 8  # override" in lines
    assert "  hidden_dim: 16  # decoder 'toy_mlp' default" in lines  # an option of the named component
    assert not any(line.strip().startswith(("token_dim:", "num_tokens:")) for line in lines)  # the modality's
    shown = tmp_path / "shown.yaml"
    shown.write_text(out)
    again, original = load_config(None, shown), load_config("toy", None, ["encoder.embed_dim=8"])
    assert build_modality(again).data == build_modality(original).data
    assert (again.encoder, again.decoder["hidden_dim"]) == ({**original.encoder, "embed_dim": 8}, 16)


def test_config_show_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--modality", "toy", "train.epoch=3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Did you mean 'train.epochs'" in err[0]
