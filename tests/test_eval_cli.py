"""``maskssl eval`` and ``maskssl sweep`` end to end on tiny toy runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import TOY, one_line_error, run

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "run"
    result = run("train", "--import", TOY, "--modality", "toy", "--out", str(out), "train.epochs=4")
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
@pytest.mark.integration
def test_eval_prints_probes_and_writes_report_and_spectrum(toy_run: Path) -> None:
    result = run("eval", str(toy_run), "--import", TOY, "--probe-epochs", "20", "--knn-k", "5")
    assert result.returncode == 0, result.stderr
    for row in ("linear probe, train accuracy", "linear probe, test accuracy", "kNN accuracy (%), k=5",
                "effective rank", "alignment", "uniformity"):
        assert row in result.stdout
    report = json.loads((toy_run / "eval.json").read_text())
    assert report["step"] == 32 and not report["random_init"]
    assert report["linear_probe"]["test_accuracy"] > 90  # four well-separated prototypes
    assert report["knn"]["accuracy"] > 90 and report["knn"]["k"] == 5
    assert 1.0 <= report["effective_rank"] <= report["feature_dim"]
    assert -1.0 <= report["alignment"] <= 1.0 and 0.0 <= report["uniformity"] <= 1.0
    assert (toy_run / "spectrum.png").read_bytes()[:8] == PNG


@pytest.mark.slow
@pytest.mark.integration
def test_eval_random_init_writes_its_own_report(toy_run: Path) -> None:
    result = run("eval", str(toy_run), "--import", TOY, "--random-init", "--probe-epochs", "5")
    assert result.returncode == 0, result.stderr
    report = json.loads((toy_run / "eval_random_init.json").read_text())
    assert report["random_init"] and report["step"] == 0
    assert (toy_run / "spectrum_random_init.png").exists()


@pytest.mark.slow
@pytest.mark.integration
def test_eval_of_a_checkpoint_file(toy_run: Path) -> None:
    checkpoint = sorted((toy_run / "checkpoints").glob("step_*.pt"))[0]
    result = run("eval", str(checkpoint), "--import", TOY, "--probe-epochs", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads((toy_run / "eval.json").read_text())["step"] == int(checkpoint.stem.split("_")[1])


@pytest.mark.slow
@pytest.mark.integration
def test_eval_of_a_missing_run_is_a_one_line_error(tmp_path: Path) -> None:
    assert "neither a run directory nor a checkpoint" in one_line_error(run("eval", str(tmp_path / "nope")))


@pytest.mark.slow
@pytest.mark.integration
def test_sweep_trains_and_evaluates_each_ratio(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = run(
        "sweep", "--import", TOY, "--modality", "toy", "--ratios", "0.25,0.75", "--out", str(out),
        "--probe-epochs", "5", "train.epochs=1",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads((out / "sweep.json").read_text())
    assert [r["ratio"] for r in rows] == [0.25, 0.75]
    assert all(r["linear_probe"] is not None and r["alignment"] is not None for r in rows)
    assert (out / "ratio_0.25" / "eval.json").exists() and (out / "sweep.png").read_bytes()[:8] == PNG
    assert all(r["separation"] is None for r in rows)  # views masked at each run's own ratio: not comparable


@pytest.mark.slow
@pytest.mark.integration
def test_label_free_selection_masks_every_runs_views_at_one_ratio_and_picks_the_largest_separation(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sweep"
    result = run(
        "sweep", "--import", TOY, "--modality", "toy", "--ratios", "0.25,0.75", "--out", str(out),
        "--select", "label-free", "--probe-epochs", "5", "train.epochs=1",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads((out / "sweep.json").read_text())
    reports = [json.loads((out / f"ratio_{r}" / "eval.json").read_text()) for r in ("0.25", "0.75")]
    assert [report["alignment_mask_ratio"] for report in reports] == [0.75, 0.75]
    choice = json.loads((out / "label_free.json").read_text())
    best = max(rows, key=lambda r: (1 - r["uniformity"]) / (1 - r["alignment"]))
    assert choice["ratio"] == best["ratio"] and f"label-free choice: mask ratio {best['ratio']:g}" in result.stdout


def test_separation_prefers_spread_inputs_with_close_views_and_scores_collapse_zero() -> None:
    from maskssl.eval.ratio_choice import choose_label_free, separation

    assert separation(alignment=0.9, uniformity=0.1) == pytest.approx(9.0)
    assert separation(alignment=1.0, uniformity=1.0) == 0.0  # collapsed: every input alike
    rows = [{"ratio": 0.5, "alignment": 0.8, "uniformity": 0.2}, {"ratio": 0.9, "alignment": 0.95, "uniformity": 0.6}]
    assert choose_label_free(rows)["ratio"] == 0.9  # 0.4 / 0.05 = 8 beats 0.8 / 0.2 = 4


def test_a_choice_whose_features_look_partly_collapsed_is_warned_about_but_kept() -> None:
    from maskssl.eval.ratio_choice import choose_label_free

    rows = [{"ratio": 0.5, "alignment": 0.8, "uniformity": 0.2, "effective_rank": 63.0},
            {"ratio": 0.75, "alignment": 0.95, "uniformity": 0.6, "effective_rank": 14.0}]
    choice = choose_label_free(rows)
    assert choice["ratio"] == 0.75 and "effective rank 14.0, under 0.5 of the 63.0 at 0.5" in choice["warning"]
    rows[1]["effective_rank"] = 40.0  # over half the widest: no warning
    assert choose_label_free(rows)["warning"] is None
    assert choose_label_free([{k: v for k, v in r.items() if k != "effective_rank"} for r in rows])["warning"] is None


@pytest.mark.slow
@pytest.mark.integration
def test_sweep_rejects_bad_ratios(tmp_path: Path) -> None:
    line = one_line_error(run("sweep", "--modality", "toy", "--ratios", "0.5,1.2", "--out", str(tmp_path)))
    assert "mask ratios must be in (0, 1)" in line


@pytest.mark.slow
@pytest.mark.integration
def test_export_writes_safetensors_that_load_back_into_the_encoder(toy_run: Path, tmp_path: Path) -> None:
    import torch

    import tests.toy  # noqa: F401  (the toy modality must be registered to rebuild the encoder)
    from maskssl.checkpoints.export import load_encoder
    from maskssl.checkpoints.pretrained import load_pretrained

    result = run("export", str(toy_run), "--import", TOY, "--out", str(tmp_path / "enc.safetensors"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "enc.safetensors").read_bytes()[8:9] == b"{"  # safetensors: u64 header size, then JSON
    meta = json.loads((tmp_path / "enc.json").read_text())
    assert meta["modality"] == "toy" and meta["step"] == 32
    encoder = load_encoder(tmp_path / "enc.safetensors")
    original = load_pretrained(toy_run, torch.device("cpu")).model.encoder
    for name, tensor in original.state_dict().items():
        assert torch.equal(encoder.state_dict()[name], tensor), name


@pytest.mark.slow
@pytest.mark.integration
def test_eval_prints_its_table_before_writing_and_says_where_it_could_not_write(toy_run: Path, tmp_path: Path) -> None:
    import shutil

    run_copy = tmp_path / "run"
    shutil.copytree(toy_run, run_copy)
    for name in ("eval.json", "eval_random_init.json"):
        (run_copy / name).unlink(missing_ok=True)
    (run_copy / "eval.json").mkdir()  # the report cannot be written there
    failed = run("eval", str(run_copy), "--import", TOY, "--probe-epochs", "2")
    assert "linear probe, test accuracy" in failed.stdout  # the result is not lost
    assert f"cannot write {run_copy / 'eval.json'}" in one_line_error(failed, code=1)
    assert "pass --out DIR to write the report and the plot elsewhere" in failed.stderr
    elsewhere = run("eval", str(run_copy), "--import", TOY, "--probe-epochs", "2", "--out", str(tmp_path / "reports"))
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert json.loads((tmp_path / "reports" / "eval.json").read_text())["step"] == 32


@pytest.mark.slow
@pytest.mark.integration
def test_a_checkpoint_of_another_model_inside_a_run_is_refused(toy_run: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "other"
    assert run("train", "--import", TOY, "--modality", "toy", "--out", str(other), "encoder.embed_dim=8",
               "train.max_steps=1").returncode == 0
    shutil.copy(toy_run / "config.yaml", other / "config.yaml")  # the run says embed_dim 16, its checkpoint holds 8
    line = one_line_error(run("eval", str(other), "--import", TOY))
    assert f"holds a different model than {other / 'config.yaml'} builds: tensors with another shape" in line
    (other / "config.yaml").write_text((toy_run / "config.yaml").read_text().replace("modality: toy", "modality: image"))
    line = one_line_error(run("eval", str(other), "--import", TOY))
    assert "is a 'toy' checkpoint, but its run's" in line and "is 'image': it belongs to another run" in line


@pytest.mark.slow
@pytest.mark.integration
def test_eval_settings_come_from_the_run_and_eval_overrides_change_them(toy_run: Path, tmp_path: Path) -> None:
    result = run("eval", str(toy_run), "--import", TOY, "--out", str(tmp_path), "eval.knn.k=3", "eval.probe.epochs=2",
                 "eval.probe.weight_decay=0.001")
    assert result.returncode == 0, result.stderr
    settings = json.loads((tmp_path / "eval.json").read_text())["settings"]
    assert settings["knn"]["k"] == 3 and settings["probe"] == {"epochs": 2, "batch_size": 256, "base_lr": 0.1,
                                                               "weight_decay": 0.001}
    assert "kNN accuracy (%), k=3, T=0.07" in result.stdout
    import re

    assert re.search(r"linear probe, settings +2 epochs, batch 256, base lr 0.1, weight decay 0.001", result.stdout)
    assert "only eval.* settings can be given here, not train" in one_line_error(
        run("eval", str(toy_run), "--import", TOY, "train.epochs=3"))
    assert "eval.knn.k=0 must be at least 1" in one_line_error(run("eval", str(toy_run), "--import", TOY, "eval.knn.k=0"))
