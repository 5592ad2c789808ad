"""A resumed run is the same run: recorded imports are repeated, and a name that resolves to other code stops it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from maskssl import registry
from maskssl.errors import CheckpointError
from maskssl.registry import provenance
from tests.test_cli import TOY, run

USER_RANDOM = """
import torch
from maskssl import Masker, register_masker
@register_masker('random')  # overrides the built-in name
class FirstTokens(Masker):
    def __call__(self, tokens, generator=None):
        with open('calls.txt', 'a') as log:
            log.write('x')
        mask = torch.zeros(tokens.batch_size, tokens.num_tokens, dtype=torch.bool, device=tokens.device)
        mask[:, : self.num_hidden(tokens.num_tokens)] = True
        return mask
"""


def last_error_line(result: subprocess.CompletedProcess) -> str:
    """The error of a run whose stderr also notes the imports it repeats (one line each)."""
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    *notes, line = result.stderr.strip().splitlines()
    assert all(note.startswith("maskssl: ") for note in notes) and line.startswith("maskssl: error: "), result.stderr
    return line


@pytest.mark.slow
@pytest.mark.integration
def test_resume_without_import_repeats_it_and_refuses_changed_or_missing_code(tmp_path: Path) -> None:
    masks = tmp_path / "mymasks.py"
    masks.write_text(USER_RANDOM)
    first = run("train", "--import", TOY, "--import", "mymasks.py", "--modality", "toy", "--out", "r",
                "masker.name=random", "train.max_steps=2", "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    recorded = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert recorded["imports"][1]["file"] == str(masks)
    assert recorded["components"]["masker:random"]["target"] == "mymasks:FirstTokens"
    assert len((tmp_path / "calls.txt").read_text()) == 2

    resumed = run("train", "--out", "r", "--resume", "train.max_steps=4", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"importing {masks}, as the run in r did" in resumed.stderr
    assert len((tmp_path / "calls.txt").read_text()) == 4  # the user's masker, not the built-in one

    masks.write_text(USER_RANDOM.replace("True", "True  # edited"))
    line = last_error_line(run("train", "--out", "r", "--resume", "train.max_steps=6", "--no-progress", cwd=tmp_path))
    assert f"the code of masker 'random' in {masks} changed since the run in r started" in line
    masks.unlink()
    line = last_error_line(run("train", "--out", "r", "--resume", "train.max_steps=6", "--no-progress", cwd=tmp_path))
    assert f"started with --import {masks}, which no longer exists" in line


def test_a_name_that_now_resolves_to_the_built_in_component_is_refused() -> None:
    config = {"modality": "toy", "masker": {"name": "random"}, "regularizers": {"uniformity": {}}}
    with pytest.warns(UserWarning, match="overrides"):
        registry.register("masker", "random")(type("Mine", (), {"__module__": __name__}))
    try:
        saved = provenance.describe(config)
    finally:
        registry.unregister("masker", "random")
    assert saved["components"]["masker:random"]["file"] == __file__
    assert saved["components"]["regularizer:uniformity"]["distribution"] == "maskssl"
    with pytest.raises(CheckpointError, match=r"masker 'random' now resolves to .* from maskssl .* but the run in "
                                              r"runs/x was trained with .*Mine.* pass --import"):
        provenance.check_same_code(saved, config, Path("runs/x"))
    provenance.check_same_code(provenance.describe(config), config, Path("runs/x"))  # unchanged: no error


def test_component_names_of_pretraining_and_finetuning_configs() -> None:
    assert provenance.component_names(
        {"modality": "image", "masker": {"name": "block"}, "encoder": {"name": "vit"}, "decoder": {"name": "vit"},
         "regularizers": {"uniformity": {"weight": 0.01}}}
    ) == [("modality", "image"), ("masker", "block"), ("encoder", "vit"), ("decoder", "vit"),
          ("regularizer", "uniformity")]
    assert provenance.component_names({"modality": "graph", "encoder": {"name": "gat"}, "finetune": {}}) == [
        ("modality", "graph"), ("encoder", "gat")]
