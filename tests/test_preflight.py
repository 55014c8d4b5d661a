"""Bad input gives one clear line before any work starts: the sweep's preflight (every
problem at once), invalid cells in ``status``, invalid or empty YAML, empty or header-only
results, overrides passed as a string."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rerankscale import cli
from rerankscale.config import ConfigError, load_study
from rerankscale.evaluation import results
from rerankscale.evaluation.results import ResultsError
from rerankscale.orchestration import sweep
from rerankscale.orchestration.preflight import PreflightError, check, invalid_cells
from rerankscale.orchestration.study import cell_config
from rerankscale.reporting import report
from rerankscale.schedule import checkpoint_points

REPO = Path(__file__).resolve().parents[1]


def study_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(f"inherit: smoke\nname: mine\nruns_dir: {tmp_path / 'runs'}\n" + text)
    return path


def run_cli(*argv: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rerankscale.cli", *argv],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_problem_is_reported_at_once_before_any_cell(tmp_path):
    """A bad size, an unknown objective, an unknown eval set and one that is not available
    offline: the CLI lists all four, one line each with the fix, exits 2, writes nothing.
    The unavailable set is real: a fresh ir_datasets home and a proxy on a closed port."""
    preset = study_file(
        tmp_path,
        (
            "sizes: ['20k', '2x']\nobjectives: [listwise, listwize]\nheld_out: []\n"
            "base:\n  data:\n    eval_sets: [rerankscale/synthetic/dev, beir/scifakt/test,\n"
            "                msmarco-passage/trec-dl-2019/judged]\n"
        ),
    )
    proxy = "http://127.0.0.1:9"
    env = {
        "IR_DATASETS_HOME": str(tmp_path / "irds"),
        "HTTPS_PROXY": proxy,
        "HTTP_PROXY": proxy,
        "https_proxy": proxy,
        "http_proxy": proxy,
        "NO_PROXY": "",
        "no_proxy": "",
        "IR_DATASETS_DL_TRIES": "1",
        "IR_DATASETS_DL_TIMEOUT": "5",
    }
    proc = run_cli("sweep", "--preset", str(preset), cwd=tmp_path, env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0] == (
        "rerankscale: error: 4 problem(s) found before any cell started "
        "(nothing was run or written):"
    )
    problems = lines[1:]
    assert len(problems) == 4, problems
    assert problems[0].startswith("  cell 20k/listwize/s0: unknown objective 'listwize'")
    assert problems[1].startswith("  cells 2x/listwise/s0, 2x/listwize/s0: malformed size")
    assert problems[2].startswith("  dataset beir/scifakt/test: unknown dataset id")
    assert "'beir/scifact/test'" in problems[2]  # the close match is suggested
    assert problems[3].startswith(
        "  dataset msmarco-passage/trec-dl-2019/judged: dataset "
        "'msmarco-passage/trec-dl-2019/judged' is not available"
    )
    assert "To pre-seed the cache" in problems[3]
    assert not (tmp_path / "runs").exists()


def test_a_missing_suite_member_is_found_before_training(tmp_path):
    preset = study_file(
        tmp_path,
        "sizes: ['20k', '77k']\nheld_out: []\nobjectives: [listwise]\n"
        "base:\n  model: {family: suite}\n",
    )
    problems = [str(p) for p in check(load_study(preset))]
    assert any(
        p.startswith("suite member 77k: the pretrained suite has no member '77k'") for p in problems
    ), problems


def test_another_world_or_pretraining_seed_than_the_suite_is_found_before_training(tmp_path):
    preset = study_file(
        tmp_path,
        "sizes: ['10k']\nheld_out: []\nobjectives: [listwise]\nseeds: [0, 1]\n"
        "base:\n  model: {family: suite, suite_seed: paired}\n"
        "  data: {synthetic: {zipf_qrel: 1.0}}\n",
    )
    problems = [str(p) for p in check(load_study(preset))]
    assert any(p.startswith("suite world: the suite in") for p in problems), problems
    assert any(
        p.startswith("suite member 10k-p1: the pretrained suite has no member") for p in problems
    )
    assert not any(p.startswith("suite member 10k:") for p in problems), problems


def test_status_shows_invalid_cells_as_invalid(tmp_path, capsys):
    preset = study_file(
        tmp_path, "sizes: ['20k']\nheld_out: []\nobjectives: [listwise, pointwize]\n"
    )
    assert cli.main(["status", "--preset", str(preset)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["pending", "scratch-20k-listwise-s0"]
    assert out[1].startswith(
        "invalid      invalid-20k-pointwize-s0  unknown objective 'pointwize'; choose one of"
    )
    assert out[-1] == "1 invalid, 1 pending"
    with pytest.raises(PreflightError, match="unknown objective 'pointwize'"):
        sweep.sweep(str(preset), analysis=False)
    assert not (tmp_path / "runs").exists()


def test_invalid_yaml_is_one_line_naming_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nsizes: ['20k'\nobjectives: [listwise]\n")
    with pytest.raises(ConfigError) as err:
        load_study(path)
    assert str(err.value).startswith(f"{path}:3:1: invalid YAML: expected ',' or ']'")
    assert "flow sequence at line 2" in str(err.value)
    path.write_text("name: bad\n  sizes: ['20k']\n")
    assert cli.main(["status", "--preset", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"rerankscale: error: {path}:2:8: invalid YAML: mapping values are not "
        "allowed here; fix that line (indentation, a missing ':' or quote)"
    ]


def test_an_empty_yaml_is_an_error_not_the_default_study(tmp_path, capsys):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    assert cli.main(["sweep", "--preset", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rerankscale: error: {path} is empty")
    assert not (REPO / "runs" / "cpu" / "cell.json").exists()
    path.write_text("- 20k\n- 80k\n")
    with pytest.raises(ConfigError, match="must hold a mapping at top level"):
        load_study(path)


def test_empty_and_header_only_results_are_clear_errors(tmp_path):
    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header.write_text(
        "run_id,dataset,family,size,objective,seed,n_params,n_params_total,step,eval_set,ndcg@10\n"
    )
    with pytest.raises(ResultsError, match=r"empty.csv is empty \(no header, no rows\)"):
        results.load(empty)
    with pytest.raises(ResultsError, match="header.csv has a header but no rows"):
        report.load_analysis("smoke", header)
    for path in (empty, header):
        with pytest.raises(ResultsError) as err:
            report.load_analysis("smoke", path)
        assert "\n" not in str(err.value) and "rerankscale figures" in str(err.value)


def test_overrides_as_a_string_are_parsed_or_hinted():
    as_json = cell_config("smoke", "20k", "listwise", overrides='{"data": {"n_negatives": 3}}')
    assert as_json.data.n_negatives == 3
    as_yaml = cell_config("smoke", "20k", "listwise", overrides="{train: {max_queries: 512}}")
    assert as_yaml.train.max_queries == 512
    assert cell_config("smoke", "20k", "listwise", overrides="") == cell_config(
        "smoke", "20k", "listwise"
    )
    with pytest.raises(ConfigError) as err:
        cell_config("smoke", "20k", "listwise", overrides='{"data": {"n_negatives": 3}')
    message = str(err.value)
    assert "cannot be parsed" in message and '-p overrides \'{"train"' in message
    assert "-y 'overrides: {train: {max_queries: 4096}}'" in message and "\n" not in message
    with pytest.raises(ConfigError, match="overrides must be a mapping, got list"):
        cell_config("smoke", "20k", "listwise", overrides="[1, 2]")


def test_missing_notebooks_are_named_before_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "NOTEBOOKS", tmp_path / "site-packages" / "notebooks")
    assert cli.main(["sweep", "--preset", "smoke", "--runs-dir", str(tmp_path / "runs")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "'02_train.ipynb'" in lines[0] and "pip install -e" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_a_synthetic_knob_typo_is_found_before_training(tmp_path):
    preset = study_file(
        tmp_path,
        "sizes: ['20k']\nheld_out: []\nobjectives: [listwise]\n"
        "base:\n  data: {synthetic: {zipf_qrell: 1.2}}\n",
    )
    problems = [str(p) for p in check(load_study(preset))]
    assert len(problems) == 1, problems
    assert problems[0].startswith("cell 20k/listwise/s0: unknown synthetic knob(s) ['zipf_qrell']")


def test_pointwise_every_n_steps_passes_the_preflight_as_training_accepts_it(tmp_path):
    """``checkpoint_every_steps`` counts optimizer steps for every objective: the preflight
    (which once took a pointwise every-N-steps config for an error) accepts what training
    trains, and the cell's checkpoints are those training takes."""
    preset = study_file(
        tmp_path,
        "sizes: ['20k']\nheld_out: []\nobjectives: [pointwise, listwise]\n"
        "base:\n  train: {max_queries: 1000, batch_pairs: 128, batch_queries: 16,\n"
        "                  checkpoint_every_steps: 10}\n",
    )
    study = load_study(preset)
    assert invalid_cells(study) == {}
    assert not any(str(p).startswith("cell") for p in check(study))
    pointwise = study.cell("20k", "pointwise", 0)
    assert checkpoint_points(pointwise) == [160, 320, 480, 640, 800, 960, 1000]
    negative = study_file(tmp_path, "base:\n  train: {checkpoint_every_steps: -2}\n")
    with pytest.raises(ConfigError, match="checkpoint_every_steps must be positive"):
        load_study(negative)


def test_an_unknown_suite_name_is_found_before_training(tmp_path):
    preset = study_file(
        tmp_path,
        "sizes: ['10k']\nheld_out: []\nobjectives: [listwise]\n"
        "base:\n  model: {family: suite, suite: nope}\n",
    )
    problems = [str(p) for p in check(load_study(preset))]
    assert problems == [
        "model.suite: unknown suite 'nope'; use one of ['deep', 'deep20', 'mixed', 'mixed8k', 'mixed8k-40m', 'mixed8k-40m-a27', 'mixed8k-40m-a27-offgrid', 'mixed8k-40m-offgrid', 'mixed8k-offgrid', 'stream'], or add "
        "a SuiteSpec to rerankscale.models.suite.SUITES"
    ], problems


def ready(study, size: str) -> list[int]:
    """The pretraining seeds the readiness screen keeps at ``size`` in ``study``'s suite."""
    from rerankscale.config import ready_seeds

    return ready_seeds(dataclasses.replace(study.base.model, size=size))


def test_the_default_study_finds_every_member_and_its_world_in_the_shipped_suite():
    """``cpu``: fine-tuning seed s on pretraining seed s of each size of
    ``suite/mixed8k-40m-a27/``
    (all 18 members shipped with their weights), in the suite's 8,000-relation world: nothing
    to fix."""
    study = load_study("cpu")
    for size in study.sizes:
        assert {c.member_seed() for c in study.cells() if c.model.size == size} == {0, 1, 2}
    assert all(c.train.seed == c.member_seed() for c in study.cells())
    assert check(study) == []


@pytest.mark.parametrize(
    ("preset", "name"),
    [
        ("cpu-deep20", "deep20"),
        ("cpu-mixed", "mixed"),
        ("cpu-deep10", "deep"),
        ("cpu-10m-offgrid", "mixed8k-offgrid"),
        ("cpu-offgrid", "mixed8k-40m-a27-offgrid"),
        ("cpu-a32", "mixed8k-40m"),
        ("cpu-a32-offgrid", "mixed8k-40m-offgrid"),
        ("cpu-10m", "mixed8k"),
        ("cpu-unscreened", "mixed8k"),
    ],
)
def test_a_manifest_only_suite_study_names_the_suite_build_when_its_weights_are_absent(
    tmp_path, monkeypatch, preset, name
):
    """``cpu-deep20``, ``cpu-mixed``, ``cpu-deep10``, ``cpu-10m-offgrid``, ``cpu-offgrid``,
    ``cpu-a32``, ``cpu-a32-offgrid``, ``cpu-10m`` and ``cpu-unscreened`` fine-tune
    ``suite/deep20/``, ``suite/mixed/``, ``suite/deep/``, ``suite/mixed8k-offgrid/``,
    ``suite/mixed8k-40m-a27-offgrid/``, ``suite/mixed8k-40m/`` (weights shipped until stop 38),
    ``suite/mixed8k-40m-offgrid/`` and ``suite/mixed8k/`` (until stop 36), which ship their
    manifest only: on a fresh clone every member is one problem naming `make suite
    SUITE=<name>`, before any work; the world the manifest records is the study's. The first
    three and ``cpu-a32`` fine-tune pretraining seeds 0-2 of 6 sizes and the off-grid studies
    of their 3, ``cpu-10m-offgrid`` and ``cpu-10m`` the 3 of 5 their readiness screen keeps at
    each size, ``cpu-unscreened`` all 5."""
    import shutil

    from rerankscale.models import suite

    (tmp_path / name).mkdir()
    shutil.copy(suite.suite_folder(name) / suite.MANIFEST, tmp_path / name / suite.MANIFEST)
    monkeypatch.setattr(suite, "suite_folder", lambda name: tmp_path / name)  # a fresh clone's
    study = load_study(preset)
    per_size = 5 if preset == "cpu-unscreened" else 3
    for size in study.sizes:
        seeds = {c.member_seed() for c in study.cells() if c.model.size == size}
        screened = preset in ("cpu-10m", "cpu-10m-offgrid")
        assert seeds == (set(ready(study, size)) if screened else set(range(per_size)))
    problems = [str(p) for p in check(study)]
    members = {(c.model.size, c.member_seed()) for c in study.cells()}
    assert len(problems) == len(members) == per_size * len(study.sizes), problems  # per member
    assert all(f"`make suite SUITE={name}`" in p and "git checkout" not in p for p in problems)
