"""Wrong-kind arguments are named for what they are, a run that failed before its first checkpoint does not block
its own rerun, and a single-class data set is warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from maskssl.cli import main
from maskssl.errors import DataError
from maskssl.registry import register_modality, unregister
from tests.test_reliability import cli_error
from tests.toy import ToyModality


class _Unreadable(Dataset):
    """The toy samples, those in ``unreadable`` failing while ``broken`` (truncated files, in a real data set)."""

    broken = True

    def __init__(self, samples: TensorDataset, unreadable: range | frozenset[int] = frozenset({3})) -> None:
        self.samples, self.unreadable = samples, unreadable

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        if _Unreadable.broken and index in self.unreadable:
            raise DataError(f"cannot read sample {index} (truncated); replace or remove its file")
        return self.samples[index]


@pytest.fixture
def toy_unreadable():
    @register_modality("toy_unreadable")
    class WithUnreadable(ToyModality):
        name = "toy_unreadable"

        def build_dataset(self, split: str) -> Dataset:
            return _Unreadable(super().build_dataset(split))

    yield
    unregister("modality", "toy_unreadable")
    _Unreadable.broken = True


def test_a_run_that_failed_on_bad_data_before_its_first_checkpoint_does_not_block_its_rerun(
    tmp_path: Path, toy_unreadable: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    train = ["train", "--modality", "toy_unreadable", "--out", str(out), "train.max_steps=2", "--no-progress"]
    assert "cannot read sample 3" in cli_error(capsys, *train)
    assert not out.exists()  # the config and provenance it wrote are gone with it
    _Unreadable.broken = False  # the data are fixed
    assert main(train) == 0 and (out / "config.yaml").exists()


def test_a_yaml_file_given_as_pretrained_is_named_a_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("train: {epochs: 1}\n")
    line = cli_error(capsys, "finetune", str(recipe), "--out", str(tmp_path / "ft"))
    assert "recipe.yaml is a YAML config, not pretrained weights" in line and "--config" in line


def test_a_folder_given_as_config_is_named_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = cli_error(capsys, "train", "--modality", "toy", "--config", str(tmp_path), "--out", str(tmp_path / "r"))
    assert f"config file '{tmp_path}' is a directory" in line


def test_resuming_a_run_with_the_other_command_names_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    finetuned, pretrained = tmp_path / "ft", tmp_path / "pre"
    finetuned.mkdir()
    (finetuned / "config.yaml").write_text("modality: toy\npretrained: runs/pre\nfinetune: {}\n")
    pretrained.mkdir()
    (pretrained / "config.yaml").write_text("modality: toy\n")
    line = cli_error(capsys, "train", "--resume", "--out", str(finetuned))
    assert "is a fine-tuning run; continue it with maskssl finetune runs/pre --resume" in line
    line = cli_error(capsys, "finetune", str(tmp_path / "x"), "--resume", "--out", str(pretrained))
    assert "is a pretraining run; continue it with maskssl train --resume" in line


def test_a_single_class_is_warned_about_when_fine_tuning(tmp_path: Path) -> None:
    @register_modality("toy_one_class")
    class OneClass(ToyModality):
        name = "toy_one_class"

        def build_dataset(self, split: str) -> TensorDataset:
            x, labels = super().build_dataset(split).tensors
            return TensorDataset(x, torch.zeros_like(labels))

    try:
        run = tmp_path / "pre"
        assert main(["train", "--modality", "toy_one_class", "--out", str(run), "train.max_steps=1", "--no-progress"]) == 0
        with pytest.warns(UserWarning, match=r"the fine-tuning train split has a single class \(0\): its accuracies"):
            assert main(["finetune", str(run), "--out", str(tmp_path / "ft"), "train.max_steps=1", "--no-progress"]) == 0
    finally:
        unregister("modality", "toy_one_class")


@pytest.mark.parametrize("command", [
    ["train", "--modality", "toy"], ["finetune", "runs/x"], ["eval", "runs/x"], ["sweep", "--modality", "toy"],
    ["export", "runs/x"],
])
def test_an_output_name_too_long_for_the_file_system_is_a_usage_error(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--out", str(tmp_path / ("x" * 300) / "run")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(lines) == 1, lines
    assert "argument --out: 'xxxxxxxxxxxxxxxxxxxxxxxx...' is 300 bytes long, more than the 255" in lines[0]


def test_config_show_runs_the_maskers_and_regularizers_option_checks(capsys: pytest.CaptureFixture[str]) -> None:
    line = cli_error(capsys, "config", "show", "--modality", "toy", "masker.ratio=1.5")
    assert "ratio" in line and "1.5" in line


def test_a_fine_tuning_recipe_of_another_modality_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "pre"
    assert main(["train", "--modality", "toy", "--out", str(run), "train.max_steps=1", "--no-progress"]) == 0
    capsys.readouterr()
    line = cli_error(capsys, "finetune", str(run), "--config", "graph/finetune/tu", "--out", str(tmp_path / "ft"))
    assert "graph/finetune/tu is a fine-tuning recipe for the graph modality, but" in line and "a toy run" in line


def test_skipping_unreadable_samples_when_every_sample_is_unreadable_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    @register_modality("toy_all_unreadable")
    class AllUnreadable(ToyModality):
        name = "toy_all_unreadable"

        def build_dataset(self, split: str) -> Dataset:
            samples = super().build_dataset(split)
            return _Unreadable(samples, unreadable=range(len(samples)))

    try:
        line = cli_error(capsys, "train", "--modality", "toy_all_unreadable", "--out", str(tmp_path / "r"),
                         "train.on_unreadable=skip")
        assert "every one of the 64 samples of the train split is unreadable (sample 0: DataError: cannot read" in line
        assert "batch" not in line
    finally:
        unregister("modality", "toy_all_unreadable")
