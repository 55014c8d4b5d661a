"""The fine-tuning lr sweep: its validation set, the best rate per size, the fitted rule, and a
tiny sweep end to end."""

import math

import numpy as np
import pandas as pd
import pytest

from rerankscale.config import ConfigError, RunConfig, load_preset
from rerankscale.orchestration import lr_sweep as L
from rerankscale.schedule import resolve_lr


def test_width_rule_with_a_power():
    train = RunConfig().train
    train.lr_width_const, train.lr_width_power, train.lr_max = 0.5, 1.5, 1.0
    assert resolve_lr(train, 100) == pytest.approx(0.5 / 1000)
    train.lr_width_power = 1.0  # the default: the 1/width rule, as before
    assert resolve_lr(train, 50) == pytest.approx(0.01)


@pytest.mark.parametrize("knob", ["lr_width_power", "lr_width_const", "lr_max"])
def test_a_non_positive_rule_knob_is_a_config_error(knob):
    cfg = RunConfig()
    setattr(cfg.train, knob, 0.0)
    with pytest.raises(ConfigError, match=f"train.{knob}=0.0"):
        cfg.validate()


def test_validation_set_is_a_stream_no_run_trains_on():
    from rerankscale.data import training_groups

    es = L.validation_set({}, n_queries=64, depth=30)
    assert len(es.queries) == len(es.qrels) == 64 and es.name == L.VALIDATION_NAME
    for qid, ranked in es.candidates.items():
        scores = [s for _, s in ranked]
        assert len(ranked) == 30 and scores == sorted(scores, reverse=True)  # BM25 order
        assert list(es.qrels[qid].values()) == [1] and all(d in es.docs for d, _ in ranked)
    # runs train on their seed's stream: none of the first chunk's texts is a validation query
    groups = training_groups("rerankscale/synthetic/train", 7, seed=0, max_queries=64, epochs=1)
    train = {g.query for g in groups}
    assert len(train) > 32
    assert not set(es.queries.values()) & train
    with pytest.raises(ConfigError, match="n_queries=0"):
        L.validation_set({}, n_queries=0, depth=30)


def _table(curves: dict[tuple[int, int, float], list[float]]) -> pd.DataFrame:
    grid = {}
    for n, _, lr in curves:
        grid.setdefault(n, []).append(lr)
    grid = {n: sorted(lrs) for n, lrs in grid.items()}  # the middle rate is the rule's (×1)
    rows = []
    for (n, d, lr), values in curves.items():
        for q, v in zip((256, 512, 1024), values):
            rows.append(
                {
                    "objective": "listwise",
                    "size": f"{n // 1000}k",
                    "n_params": n,
                    "d_model": d,
                    "n_layers": 2,
                    "multiplier": lr / grid[n][1],
                    "lr": lr,
                    "queries_seen": q,
                    "ndcg@10": v,
                }
            )
    return pd.DataFrame(rows)


def test_best_rate_is_the_parabola_vertex_in_log_lr():
    # score(log lr) = 0.8 − (log lr − log 0.002)² at lr = .001, .002, .004 (the middle best):
    # the vertex of the parabola through them is 0.002 exactly; on the edge, the grid point
    def score(lr):
        return 0.8 - (math.log(lr) - math.log(0.002)) ** 2

    curves = {(10_000, 20, lr): [score(lr)] * 3 for lr in (0.001, 0.002, 0.004)}
    curves |= {(50_000, 52, lr): [score(lr / 4)] * 3 for lr in (0.002, 0.004, 0.008)}
    best = L.best_rates(_table(curves)).set_index("size")
    assert best.loc["10k", "lr_star"] == pytest.approx(0.002) and not best.loc["10k", "edge"]
    assert best.loc["50k", "lr_star"] == pytest.approx(0.008) and best.loc["50k", "edge"]
    # an asymmetric grid: the vertex sits between grid points
    curves = {(10_000, 20, lr): [score(lr * 1.3)] * 3 for lr in (0.001, 0.002, 0.004)}
    best = L.best_rates(_table(curves))
    assert best["lr_star"].iloc[0] == pytest.approx(0.002 / 1.3)
    assert best["score@x1"].iloc[0] == pytest.approx(score(0.002 * 1.3))
    assert best["lr_rule"].iloc[0] == pytest.approx(0.002)


def test_fit_rule_recovers_a_power_law():
    d = np.array([20, 32, 52, 76])
    best = pd.DataFrame({"d_model": d, "n_params": d * 500, "lr_star": 0.3 / d**1.4})
    rule = L.fit_rule(best)
    assert rule["c"] == pytest.approx(0.3) and rule["p"] == pytest.approx(1.4)
    with pytest.raises(ConfigError, match="2 distinct d_model"):
        L.fit_rule(best.iloc[:1])


def test_the_sweep_refuses_a_held_out_size():
    with pytest.raises(ConfigError, match="fits no held-out size"):
        L.run_sweep(load_preset("smoke"), sizes=["60k"], progress=False)
    assert L.fitted_sizes(load_preset("cpu")) == ["10k", "23k", "53k", "120k"]


@pytest.mark.slow
def test_a_tiny_sweep_end_to_end(tmp_path):
    study = load_preset("smoke")
    study.base.train.max_queries = 256
    study.base.train.first_checkpoint = 128
    study.base.train.n_checkpoints = 2

    def sweep():
        return L.run_sweep(
            study,
            multipliers=(0.5, 2.0),
            seeds=(0,),
            n_validation=32,
            runs_dir=tmp_path,
            progress=False,
        )

    table = sweep()
    assert len(table) == 4 and set(table["queries_seen"]) == {128, 256}
    lrs = sorted(table["lr"].unique())
    assert lrs[1] == pytest.approx(4 * lrs[0])
    assert table["ndcg@10"].between(0, 1).all() and (table["bm25"] == table["bm25"].iloc[0]).all()
    # resumable: a second call trains and evaluates nothing new and returns the same table
    written = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    again = sweep()
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == written
    pd.testing.assert_frame_equal(table, again)


def test_write_tables_fits_the_rule_on_the_fitted_sizes_only(tmp_path):
    import json

    # listwise optima on the rule 0.3 / d^1.4 at three fitted widths (the middle rate of each
    # grid), and a held-out width whose optimum is far off: it must not move the rule
    def score(lr, best):
        return 0.8 - (math.log(lr) - math.log(best)) ** 2

    curves = {}
    for n, d in ((10_000, 20), (23_000, 32), (53_000, 52), (640_000, 128)):
        best = 0.3 / d**1.4 * (4 if n == 640_000 else 1)
        curves |= {(n, d, best * m): [score(best * m, best)] * 3 for m in (0.5, 1.0, 2.0)}
    folder, best, rules = L.write_tables(_table(curves), tmp_path, ["10k", "23k", "53k"])
    assert rules["listwise"]["c"] == pytest.approx(0.3) and rules["listwise"]["p"] == pytest.approx(
        1.4
    )
    assert json.loads((tmp_path / "lr_rule.json").read_text())["listwise"] == pytest.approx(
        rules["listwise"]
    )
    held = best.set_index("size").loc["640k"]
    assert not held["fitted"] and held["lr_star"] == pytest.approx(4 * held["lr_fitted_rule"])
    saved = pd.read_csv(tmp_path / "lr_best.csv")
    assert list(saved["fitted"]) == [True, True, True, False]
    assert len(pd.read_csv(tmp_path / "lr_sweep.csv")) == 12 * 3
    plotted = pd.read_csv(tmp_path / "lr_sweep_scores.csv")  # the figure's data: size × rate
    assert len(plotted) == 12 and (tmp_path / "lr_sweep_scores.png").stat().st_size > 0
    assert plotted.groupby("size")["lr_star_multiplier"].first().to_dict() == pytest.approx(
        {"10k": 1.0, "23k": 1.0, "53k": 1.0, "640k": 1.0}
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--multipliers", "a,b"], "--multipliers 'a,b': give floats"),
        (["--seeds", ""], "--seeds '': give ints"),
        (["--sizes", "640k"], "fits no held-out size"),
        (["--preset", "nope"], "nope"),
    ],
)
def test_bad_input_is_one_line_before_any_run(argv, message, capsys, tmp_path, monkeypatch):
    from rerankscale import cli

    monkeypatch.chdir(tmp_path)  # nothing may be written: the run folder stays absent
    assert cli.main(["lr-sweep", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rerankscale: error:") and message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("folder", "preset"),
    [("lr_sweep_cpu", "cpu"), ("lr_sweep_cpu-a32", "cpu-a32"), ("lr_sweep_cpu-10m", "cpu-10m")],
)
def test_the_committed_sweep_supports_the_preset_s_rule(folder, preset):
    """The tables under docs/ are the sweeps behind the presets' rule, measured on each
    study's own suite (``cpu``: the 40M-token suite at aspect ratio 27, stop 38; ``cpu-a32``:
    the same at 32, stop 37; ``cpu-10m``: the 10M-token suite, stop 32): each covers every
    fitted size, and at each the preset's rate (×1) scores
    within .01 of the best grid rate."""
    from pathlib import Path

    from rerankscale.paths import PACKAGE_CHECKOUT

    folder = Path(PACKAGE_CHECKOUT) / "docs" / folder
    best = pd.read_csv(folder / "lr_best.csv")
    listwise = best[(best["objective"] == "listwise") & best["fitted"]]
    assert list(listwise["size"]) == L.fitted_sizes(load_preset(preset))
    grid = listwise.filter(like="score@x")
    assert (grid.max(axis=1) - listwise["score@x1"] < 0.01).all()
    table = pd.read_csv(folder / "lr_sweep.csv")
    again = L.best_rates(table)  # the best rates follow from the committed checkpoints
    pd.testing.assert_frame_equal(again, best[again.columns], check_dtype=False, rtol=1e-4)
