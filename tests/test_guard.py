"""The guard: hostile values of every typed option, through the commands that take them. Each run ends in exit 0,
or in exit 1 or 2 with exactly one ``maskssl: error:`` line, no traceback, and no file left that blocks a rerun.

The cases are generated from the config dataclasses (``TrainConfig``, ``EvalConfig``, ``FinetuneSection``) and the
signatures of every installed masker and regularizer: an option added to any of them joins automatically. Encoder
and decoder options need their modality's data: the conformance kit's ``check_option_errors`` covers them.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from maskssl import registry
from maskssl.cli import main
from maskssl.config.evaluation import EvalConfig
from maskssl.config.run import TrainConfig
from maskssl.finetune.config import FinetuneSection
from maskssl.testing.options import hostile_values as hostile, typed_options
from tests import toy  # noqa: F401  registers the toy modality in this process

TRAIN = ["train", "--modality", "toy", "--no-progress", "train.max_steps=2"]
NOT_HERE = {"train.device", "train.compile", "train.init_from", "train.threads", "train.num_workers"}
"""Options whose every value is environment, not a range: a device name, torch.compile's C++ toolchain, a path,
process and thread counts (a huge one would start that many); each is covered by its own tests."""


def option_cases(config_type: type, prefix: str) -> list[tuple[str, str]]:
    """(key, hostile value) of every field of a config dataclass, nested sections included."""
    cases = []
    hints = typing.get_type_hints(config_type)
    for field in dataclasses.fields(config_type):
        key, annotation = f"{prefix}.{field.name}", hints[field.name]
        if dataclasses.is_dataclass(annotation):
            cases += option_cases(annotation, key)
        elif key not in NOT_HERE:
            cases += [(key, value) for value in hostile(annotation)]
    return cases


def component_cases(kind: str, name: str, prefix: str) -> list[tuple[str, str]]:
    """(key, hostile value) of every typed option of a registered component."""
    return [(f"{prefix}.{option}", value)
            for option, annotation in typed_options(kind, name).items() for value in hostile(annotation)]


def assert_clean_end(code: int, err: str, out: Path) -> None:
    """Exit 0, or 1 / 2 with one error line, no traceback, and the run directory free for a rerun."""
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("maskssl: error:")]
    assert "Traceback" not in err, err
    if code == 0:
        return
    assert code in (1, 2) and len(errors) == 1, lines
    assert not (out / "config.yaml").exists(), "a refused or failed run left a config that blocks its rerun"


TRAIN_CASES = [
    *option_cases(TrainConfig, "train"),
    *component_cases("masker", "random", "masker"),
    *component_cases("regularizer", "uniformity", "regularizers.uniformity"),
    *[("regularizers.uniformity.weight", value) for value in hostile(float)],
    *[(key, value) for key in ("views", "online_probe_classes") for value in hostile(int)],
    *[("reconstruction_weight", value) for value in hostile(float)],
]


def test_the_cases_cover_every_typed_option() -> None:
    keys = {key for key, _ in TRAIN_CASES}
    assert {"train.epochs", "train.betas", "train.optimizer", "train.on_unreadable", "masker.ratio",
            "regularizers.uniformity.weight"} <= keys
    assert len(keys) >= len(dataclasses.fields(TrainConfig)) - len(NOT_HERE)


@pytest.mark.parametrize(("key", "value"), TRAIN_CASES, ids=[f"{k}={v}" for k, v in TRAIN_CASES])
def test_train_survives_a_hostile_option(
    key: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main([*TRAIN, "--out", str(out), f"{key}={value}"])
    assert_clean_end(code, capsys.readouterr().err, out)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guard") / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


EVAL_CASES = option_cases(EvalConfig, "eval")


@pytest.mark.parametrize(("key", "value"), EVAL_CASES, ids=[f"{k}={v}" for k, v in EVAL_CASES])
def test_eval_survives_a_hostile_setting(
    key: str, value: str, toy_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = main(["eval", str(toy_run), "--out", str(tmp_path / "eval"), "eval.probe.epochs=1", "eval.logreg.epochs=1",
                 f"{key}={value}"])
    assert_clean_end(code, capsys.readouterr().err, tmp_path / "eval")


SHOW_CASES = [
    (kind, name, key, value)
    for kind, section in (("masker", "masker"), ("regularizer", "regularizers"))
    for name in registry.list_names(kind)
    for key, value in component_cases(kind, name, section if kind == "masker" else f"{section}.{name}")
]


@pytest.mark.parametrize(("kind", "name", "key", "value"), SHOW_CASES,
                         ids=[f"{name}:{key}={value}" for _, name, key, value in SHOW_CASES])
def test_config_show_checks_every_installed_masker_and_regularizer_option(
    kind: str, name: str, key: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every installed masker and regularizer, each typed option: accepted, or refused in one line."""
    choose = [f"masker.name={name}"] if kind == "masker" else [f"regularizers.{name}.weight=1"]
    code = main(["config", "show", "--modality", "toy", *choose, f"{key}={value}"])
    assert_clean_end(code, capsys.readouterr().err, Path("no-run-directory"))


FINETUNE_CASES = [
    *option_cases(FinetuneSection, "finetune"),
    *[(key, value) for key, value in option_cases(TrainConfig, "train") if key != "train.max_steps"],
]


@pytest.mark.parametrize(("key", "value"), FINETUNE_CASES, ids=[f"{k}={v}" for k, v in FINETUNE_CASES])
def test_finetune_survives_a_hostile_option(
    key: str, value: str, toy_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    out = tmp_path / "ft"
    code = main(["finetune", str(toy_run), "--out", str(out), "--no-progress", "train.max_steps=1", f"{key}={value}"])
    assert_clean_end(code, capsys.readouterr().err, out)


def command_cases(run: Path, tmp_path: Path) -> list[list[str]]:
    """Hostile invocations of every command the options above do not reach: wrong kinds, missing paths, bad values."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("train: {epochs: 1}\n")
    missing = str(tmp_path / "missing")
    return [
        ["train", "--modality", "nope"],
        ["train", "--modality", "toy", "--config", missing],
        ["train", "--modality", "toy", "--resume", "--out", missing],
        ["train", "--modality", "toy", "not-a-key-value"],
        ["finetune", missing],
        ["finetune", str(recipe)],
        ["finetune", str(run), "--config", "graph/finetune/tu"],
        ["eval", missing],
        ["eval", str(run), "train.epochs=3"],
        ["eval", str(run), "--device", "tpu"],
        ["sweep", "--modality", "toy", "--ratios", "0.5,1.5", "--out", str(tmp_path / "sweep")],
        ["sweep", "--modality", "toy", "--ratios", "half", "--out", str(tmp_path / "sweep")],
        ["export", missing, "--out", str(tmp_path / "x.safetensors")],
        ["export", str(run), "--format", "onnx", "--out", str(tmp_path / "x.safetensors")],
        ["export", str(recipe), "--out", str(tmp_path / "x.safetensors")],
        ["data", "check", "--modality", "toy", "--workers", "-1"],
        ["data", "check", "--modality", "nope"],
        ["config", "show", "--modality", "toy", "train.epochs=-1"],
        ["config", "show", "--config", str(tmp_path)],
        ["config", "list", "extra"],
        ["plugins", "list", "--bogus"],
        ["plugins"],
    ]


def test_every_command_ends_hostile_input_in_one_line(
    toy_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    for argv in command_cases(toy_run, tmp_path):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code in (1, 2) and "Traceback" not in err, (argv, code, err)
        assert len(lines) == 1 and "error:" in lines[0], (argv, lines)
    covered = {argv[0] if argv[0] not in ("data", "config", "plugins") else " ".join(argv[:2])
               for argv in command_cases(toy_run, tmp_path)}
    assert covered >= {"train", "finetune", "eval", "sweep", "export", "data check", "config show", "config list",
                       "plugins list", "plugins"}
