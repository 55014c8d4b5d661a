"""Config: size strings, presets, grid expansion, validation errors."""

import csv
from pathlib import Path

import pytest

from rerankscale.config import (
    ConfigError,
    RunConfig,
    TrainConfig,
    format_size,
    load_study,
    parse_size,
    size_name,
)
from rerankscale.schedule import checkpoint_schedule


@pytest.mark.parametrize(
    "text,count",
    [
        ("250k", 250_000),
        ("1.6m", 1_600_000),
        ("50m", 50_000_000),
        ("1b", 10**9),
        ("17M", 17_000_000),
        ("900", 900),
        (" 2.5k ", 2_500),
    ],
)
def test_parse_size(text, count):
    assert parse_size(text) == count


@pytest.mark.parametrize(
    "count,text",
    [
        (250_000, "250k"),
        (1_600_000, "1.6m"),
        (10**9, "1b"),
        (17_000_000, "17m"),
        (123_456, "123k"),
        (999, "999"),
    ],
)
def test_format_size(count, text):
    assert format_size(count) == text
    assert abs(parse_size(format_size(count)) - count) / count < 0.005


@pytest.mark.parametrize("bad", ["", "5x", "m50", "1.2.3m", "-5k", "0.0001"])
def test_malformed_size_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="size"):
        parse_size(bad)


def test_a_size_has_one_name():
    assert size_name("50000") == size_name(50_000) == size_name(" 50K ") == "50k"
    assert size_name("1.60m") == size_name("1600000") == "1.6m"
    assert size_name("1.234m") == "1234000" != size_name("1.23m") == "1.23m"  # never rounded
    with pytest.raises(ConfigError, match="malformed size"):
        size_name("5x")


def test_run_id_names_a_size_one_way():
    """``"50k"`` and ``"50000"`` are one model, so one run directory; the pretraining-seed
    tail stays; an hf size is a registry key and is kept as written."""
    ids = {
        RunConfig.from_dict({"model": {"size": size}}).validate().run_id
        for size in ("50k", "50000", "50.0k", 50_000)
    }
    assert ids == {"scratch-50k-listwise-s0"}
    member = {"family": "suite", "size": "23000", "suite_seed": 2}
    assert RunConfig.from_dict({"model": member}).run_id == "suite-23k-listwise-s0-p2"
    hf = RunConfig.from_dict({"model": {"family": "hf", "size": "17M"}})
    assert hf.run_id == "hf-17M-listwise-s0"
    assert RunConfig.from_dict({"model": {"size": "2x"}}).run_id == "scratch-2x-listwise-s0"


@pytest.mark.parametrize(
    ("preset", "folder"),
    [
        ("cpu", "figures"),
        ("cpu-offgrid", "figures-offgrid"),
        ("cpu-a32", "figures-a32"),
        ("cpu-a32-offgrid", "figures-a32-offgrid"),
        ("cpu-10m", "figures-10m"),
        ("cpu-10m-offgrid", "figures-10m-offgrid"),
    ],
)
def test_the_committed_study_keeps_its_run_ids(preset, folder):
    """``figures/results.csv`` holds exactly the ``cpu`` study's cells (``figures-offgrid/`` the
    ``cpu-offgrid`` study's, and so on for the committed comparison studies), each under the
    run id and config columns (family, size, objective, fine-tuning seed) its config gives
    today."""
    table = Path(__file__).resolve().parents[1] / folder / "results.csv"
    with table.open() as f:
        rows = {
            (r["run_id"], r["family"], r["size"], r["objective"], int(r["seed"]))
            for r in csv.DictReader(f)
        }
    assert rows
    cells = {
        (c.run_id, c.model.family, c.model.size, c.train.objective, c.train.seed)
        for c in load_study(preset).cells()
    }
    assert rows == cells


def test_presets_load_and_expand():
    smoke = load_study("smoke")
    assert smoke.grid() == [
        (s, o, 0) for s in ("20k", "60k") for o in ("pointwise", "pairwise", "listwise")
    ]
    cpu = load_study("cpu")  # the suite study: three seeds at every size, held-out included
    assert cpu.base.model.family == "suite" and len(cpu.seeds) >= 3
    assert sorted(cpu.grid()) == sorted(
        (s, o, seed) for s in cpu.sizes for o in cpu.objectives for seed in cpu.seeds
    )
    assert parse_size(cpu.sizes[-1]) / parse_size(cpu.sizes[0]) >= 64
    assert set(cpu.held_out) == set(cpu.sizes[-2:]) and str(cpu.figures_path) == "figures"
    scratch = load_study("cpu-scratch")
    counts = {}
    for size, _, _ in scratch.grid():
        counts[size] = counts.get(size, 0) + 1
    small = [s for s in scratch.sizes if parse_size(s) <= parse_size(scratch.extra_seeds_up_to)]
    assert all(counts[s] == len(scratch.objectives) * len(scratch.seeds) for s in small)
    assert all(counts[s] == len(scratch.objectives) for s in scratch.sizes if s not in small)
    # only the committed study writes figures/: a quick preset never overwrites it
    assert str(smoke.figures_path) == "runs/smoke/figures"
    assert str(scratch.figures_path) == "runs/cpu-scratch/figures"
    paper = load_study("paper")
    assert paper.held_out == ["400m", "1b"] and paper.base.data.candidate_depth == 100


COMMITTED = {
    "cpu": "figures",
    "cpu-offgrid": "figures-offgrid",
    "cpu-a32": "figures-a32",
    "cpu-a32-offgrid": "figures-a32-offgrid",
    "cpu-10m": "figures-10m",
    "cpu-10m-offgrid": "figures-10m-offgrid",
}


def test_only_the_committed_studies_write_figures():
    """Every shipped preset but the committed ones (``cpu``; ``cpu-offgrid``, whose table
    ``cpu``'s T10 reads; ``cpu-a32``, the stop-35-37 default at aspect ratio 32, ``cpu-10m``,
    the stop-29-34 default on the 10M-token suite, and their off-grid studies) writes its
    artifacts under ``runs/<name>/figures``, so no other preset (the kept comparison studies
    included) can overwrite ``figures/``. ``cpu`` fine-tunes
    ``mixed8k-40m-a27``'s member s of each size with seed s in its 8,000-relation world, as
    ``cpu-offgrid`` its sizes' members; the comparison studies differ from it only in the
    suite, its world, how pretraining seeds are picked and the cells' numerics."""
    import rerankscale

    names = sorted(p.stem for p in (Path(rerankscale.__file__).parent / "presets").glob("*.yaml"))
    assert {"smoke", "cpu", "cpu-10m", "cpu-deep20", "cpu-stream", "cpu-scratch"} <= set(names)
    for name in names:
        want = COMMITTED.get(name, f"runs/{name}/figures")
        assert str(load_study(name).figures_path) == want, name
    cpu = load_study("cpu")
    assert cpu.offgrid_results == "figures-offgrid/results.csv" and cpu.cell_numerics == "native"
    assert (cpu.base.model.suite, cpu.base.model.suite_seed) == ("mixed8k-40m-a27", "paired")
    a32 = load_study("cpu-a32")
    assert a32.offgrid_results == "figures-a32-offgrid/results.csv" and a32.sizes == cpu.sizes
    assert a32.base.model.suite == "mixed8k-40m"
    a32.base.model.suite = cpu.base.model.suite
    assert a32.base.to_dict() == cpu.base.to_dict()  # only the suite (its shape rule) differs
    ten = load_study("cpu-10m")
    assert ten.offgrid_results == "figures-10m-offgrid/results.csv" and ten.sizes == cpu.sizes
    assert (ten.base.model.suite, ten.base.model.suite_seed) == ("mixed8k", "ready")
    assert ten.cell_numerics == "pinned"
    ten.base.model.suite, ten.base.model.suite_seed = "mixed8k-40m-a27", "paired"
    assert ten.base.to_dict() == cpu.base.to_dict()  # only the suite and its seeds differ
    for name, parent, suite in [
        ("cpu-offgrid", "cpu", "mixed8k-40m-a27-offgrid"),
        ("cpu-a32-offgrid", "cpu-a32", "mixed8k-40m-offgrid"),
        ("cpu-10m-offgrid", "cpu-10m", "mixed8k-offgrid"),
    ]:
        offgrid, grid = load_study(name), load_study(parent)
        assert offgrid.offgrid_results is None and offgrid.held_out == []
        assert not set(offgrid.sizes) & set(grid.sizes)
        assert offgrid.base.model.suite == suite and offgrid.cell_numerics == grid.cell_numerics
        offgrid.base.model.suite = grid.base.model.suite
        assert offgrid.base.to_dict() == grid.base.to_dict()  # only sizes and suite
    ten = load_study("cpu-10m").base.to_dict()
    unscreened = load_study("cpu-unscreened")
    assert unscreened.seeds == [0, 1, 2, 3, 4] and unscreened.base.model.suite_seed == "paired"
    unscreened.base.model.suite_seed = "ready"
    assert unscreened.base.to_dict() == ten  # otherwise cpu-unscreened is cpu-10m
    assert ten["model"].pop("suite") == "mixed8k" and ten["model"].pop("suite_seed") == "ready"
    assert ten["data"].pop("synthetic") == {"n_relations": 8000, "zipf_qrel": 1.0}
    for name, suite in [("cpu-deep20", "deep20"), ("cpu-deep10", "deep"), ("cpu-mixed", "mixed")]:
        kept = load_study(name).base.to_dict()
        assert kept["model"].pop("suite") == suite and kept["model"].pop("suite_seed") == "paired"
        assert kept["data"].pop("synthetic") == {"zipf_qrel": 1.0}  # the 400-relation world
        # cpu-deep10 keeps the forward its documented numbers came from (stop 20, before fastpath)
        assert kept["model"]["engine"] == ("hf" if name == "cpu-deep10" else "auto")
        kept["model"]["engine"] = ten["model"]["engine"]
        assert kept == ten, name  # otherwise the studies differ in the suite only
        assert load_study(name).cell_numerics == "pinned", name


def test_run_config_round_trip():
    cfg = load_study("smoke").cells()[0]
    again = RunConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.run_id == "scratch-20k-pointwise-s0"


def test_unknown_keys_and_values_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown key"):
        RunConfig.from_dict({"train": {"max_querys": 5}})
    with pytest.raises(ConfigError, match="objective"):
        RunConfig.from_dict({"train": {"objective": "pointwize"}}).validate()
    with pytest.raises(ConfigError, match="family"):
        RunConfig.from_dict({"model": {"family": "gpt"}}).validate()
    with pytest.raises(ConfigError, match="depth"):
        RunConfig.from_dict({"data": {"candidate_depth": 0}}).validate()
    with pytest.raises(ConfigError, match="unknown pooling 'max'"):
        RunConfig.from_dict({"model": {"pooling": "max"}}).validate()
    with pytest.raises(ConfigError, match=r"model.dropout=1.5: use a probability"):
        RunConfig.from_dict({"model": {"dropout": 1.5}}).validate()
    RunConfig.from_dict({"model": {"pooling": None, "dropout": None}}).validate()  # the model's own
    with pytest.raises(ConfigError, match="no preset"):
        load_study("nonexistent")
    path = tmp_path / "mine.yaml"
    path.write_text("inherit: smoke\nsizes: ['20k']\nheld_out: ['99k']\n")
    with pytest.raises(ConfigError, match="held-out size"):
        load_study(path)


def test_user_yaml_inherits_a_preset(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "inherit: smoke\nname: mine\nsizes: ['30k']\nheld_out: []\n"
        "base:\n  train:\n    max_queries: 2048\n"
    )
    study = load_study(path)
    assert study.name == "mine" and study.sizes == ["30k"]
    assert study.base.train.max_queries == 2048
    assert study.base.data.eval_sets == load_study("smoke").base.data.eval_sets


def test_checkpoint_schedules():
    cfg = RunConfig(train=TrainConfig(max_queries=16384, first_checkpoint=512, n_checkpoints=6))
    points = checkpoint_schedule(cfg)
    assert points[0] == 512 and points[-1] == 16384 and len(points) == 6
    ratios = [b / a for a, b in zip(points, points[1:])]
    assert max(ratios) / min(ratios) < 1.01  # log-spaced
    every = RunConfig(
        train=TrainConfig(max_queries=1000, batch_queries=16, checkpoint_every_steps=10)
    )
    assert checkpoint_schedule(every) == list(range(160, 1001, 160))
    with pytest.raises(ConfigError, match="increasing"):
        RunConfig.from_dict({"train": {"checkpoints": [100, 50]}}).validate()


def test_suite_seed_pairs_pretraining_with_fine_tuning_seeds():
    """``suite_seed: paired`` fine-tunes pretraining seed s with fine-tuning seed s; run ids of
    pretraining seed 0 are the original ones."""
    from rerankscale.config import ConfigError, RunConfig

    base = {"model": {"family": "suite", "size": "10k", "suite_seed": "paired"}}
    cfg = RunConfig.from_dict({**base, "train": {"seed": 2}}).validate()
    assert cfg.member_seed() == 2 and cfg.run_id == "suite-10k-listwise-s2-p2"
    cfg = RunConfig.from_dict({**base, "train": {"seed": 0}}).validate()
    assert cfg.member_seed() == 0 and cfg.run_id == "suite-10k-listwise-s0"
    fixed = RunConfig.from_dict({"model": {"family": "suite", "size": "10k", "suite_seed": 1}})
    assert fixed.validate().run_id == "suite-10k-listwise-s0-p1"
    scratch = RunConfig.from_dict({"model": {"family": "scratch", "suite_seed": "paired"}})
    assert scratch.validate().member_seed() == 0
    for bad in ("first", -1, 1.5):
        with pytest.raises(ConfigError, match="model.suite_seed"):
            RunConfig.from_dict({"model": {"family": "suite", "suite_seed": bad}}).validate()
