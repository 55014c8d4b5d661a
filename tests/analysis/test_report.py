"""The study's artifacts (T1-T9, F1-F7) built from a results table drawn from known laws."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from rerankscale import scaling as sc
from rerankscale.evaluation import results
from rerankscale.reporting import catalogue, report
from rerankscale.reporting.analysis import FIRST_STAGE
from rerankscale.reporting.fit_tables import joint_fits

SIZES = (10e3, 20e3, 40e3, 80e3, 160e3, 320e3)
OFFGRID = (28e3, 113e3, 226e3)  # between grid sizes: nothing is fitted on them


def law_table(sizes, seed: int) -> pd.DataFrame:
    """A results table drawn from known laws, sizes labelled ``<n // 1000>k``."""
    table = sc.synthetic_results_table(
        sizes=sizes,
        seeds=2,
        n_checkpoints=6,
        objectives=("pointwise", "listwise"),
        eval_sets=("synthetic-dev", "synthetic-trec"),
        queries=(500, 16000),
        seed=seed,
        laws={
            "ndcg@10": dict(E=0.2, A=0.02, alpha=0.4, B=0.4, beta=0.35),
            "ce@32": dict(E=1.0, A=0.1, alpha=0.3, B=1.5, beta=0.3),
        },
    )
    labels = {n: f"{int(n // 1000)}k" for n in sizes}
    return table.assign(
        size=table["n_params"].map(labels), attention_flops=0.05 * table["train_flops"]
    )


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    table = law_table(SIZES, seed=3)
    results.save(table, folder / "results")
    pd.DataFrame(
        [
            {"eval_set": e, "ndcg@10": 0.38, "ce@32": 3.0}
            for e in ("synthetic-dev", "synthetic-trec")
        ]
    ).to_csv(folder / "T0_first_stage.csv", index=False)
    a = report.load_analysis("cpu", folder / "results.csv")
    a.held_out = ["160k", "320k"]
    return a, folder


def test_load_analysis(analysis):
    a, _ = analysis
    assert a.primary == "synthetic-dev" and a.ce == "ce@32"
    assert a.metrics == ["ndcg@10", "ce@32"]
    assert set(a.fitted_rows()["size"]) == {"10k", "20k", "40k", "80k"}


def test_t1_has_baseline_and_seed_means(analysis):
    a, _ = analysis
    t1 = report.t1_final_metrics(a)
    base = t1[t1["objective"] == FIRST_STAGE]
    assert len(base) == 2 and (base["ndcg@10"] == 0.38).all()
    row = t1[
        (t1.objective == "listwise") & (t1["size"] == "80k") & (t1.eval_set == "synthetic-dev")
    ]
    final = sc.final_checkpoints(a.table)
    expect = final[
        (final.objective == "listwise")
        & (final["size"] == "80k")
        & (final.eval_set == "synthetic-dev")
    ]["ndcg@10"].mean()
    assert row["ndcg@10"].item() == pytest.approx(expect) and row["n_seeds"].item() == 2


def test_joint_fit_recovers_exponents_and_t2(analysis):
    a, _ = analysis
    fits = joint_fits(a, "ndcg@10")
    for r in fits.values():
        assert r.params["beta"] == pytest.approx(0.35, rel=0.25)
    t2 = report.t2_laws(a, metrics=["ndcg@10"], n_boot=20)
    beta = t2[(t2.kind == "joint") & (t2.param == "beta")]
    assert len(beta) == 4 and (beta["lo"] <= beta["hi"]).all()


def test_forecasts_and_figures_are_written(analysis):
    a, folder = analysis
    fc = report.forecasts(a, metrics=["ndcg@10"], n_boot=20)
    assert set(fc["size"]) == {"160k", "320k"}
    assert set(fc["kind"]) == {"size law, final checkpoint", "joint law, final checkpoint"}
    joint = fc[fc.kind.str.startswith("joint")]
    assert np.all(joint["abs_error"] < 0.05)  # data drawn from the law: forecasts close
    # 2 runs per size: the run bootstrap cannot serve, the parametric one does and is named
    assert set(fc["interval_method"]) == {"parametric bootstrap"}
    assert fc["interval_note"].str.contains("run").all()
    assert set(report.forecast_summary(fc)["interval_method"]) == {"parametric bootstrap"}
    paths = report.save(report.f1_model_size(a, fc), folder, "F1_model_size")
    assert {p.suffix for p in paths.values()} == {".png", ".pdf", ".csv"}
    assert report.save(fc, None, "T3") == {}


def test_compute_artifacts(analysis):
    a, folder = analysis
    t4 = report.t4_allocation(a, n_boot=10)
    assert set(t4["objective"]) == {"pointwise", "listwise"}
    assert np.allclose(t4["a"] + t4["b"], 1.0)
    eq = report.equal_compute(a)
    t5 = report.t5_equal_compute(eq)
    assert (t5["matched"] > 0).all() and t5["larger_wins"].between(0, 1).all()
    t6 = report.t6_inference_aware(a)
    assert (t6["N_opt"] <= t6["N_train_only"] * (1 + 1e-6)).all()
    report.save(report.f4_compute_optimal(a), folder, "F4_compute_optimal")
    report.save(report.f5_equal_compute(eq), folder, "F5_equal_compute")
    assert (folder / "F4_compute_optimal.png").exists()


def test_rollout_table_and_figure(analysis):
    a, folder = analysis
    ro = report.rollout(a, n_boot=10)
    assert set(ro["axis"]) == {"size", "exposure"}
    size = ro[ro.axis == "size"]
    # 6 sizes: origins 3, 4, 5 forecast 3 + 2 + 1 larger sizes, per objective and eval set
    assert len(size) == 6 * 2 * 2 and set(size["origin"]) == {3, 4, 5}
    expo = ro[ro.axis == "exposure"]
    assert set(expo["origin"]) == {3} and set(expo["horizon"]) == {1, 2, 3}
    assert (ro["log_distance"] > 0).all() and ro["interval_method"].notna().all()
    summary = report.rollout_summary(ro)
    assert {"mae", "bias", "mare", "coverage_pi", "mean_log_distance", "interval_method"} <= set(
        summary.columns
    )
    paths = report.save(report.f7_rollout(ro), folder, "F7_rollout")
    assert {p.suffix for p in paths.values()} == {".png", ".pdf", ".csv"}


def test_method_comparison_table(analysis):
    a, _ = analysis
    a = dataclasses.replace(a, table=a.table[a.table.objective == "listwise"], fits={})
    mc = report.method_comparison(a, n_boot=6)
    assert set(mc["method"]) == {"saturating", "error", "log", "two-stage"}
    hold = mc[mc.evaluation == "holdout"]
    # per method: 2 held-out sizes x 2 eval sets, final checkpoint
    assert hold.groupby("method").size().eq(4).all() and set(hold["size"]) == {"160k", "320k"}
    roll = mc[mc.evaluation == "rollout"]
    assert roll.groupby("method").size().eq(6 * 2).all()  # origins 3, 4, 5: 3 + 2 + 1
    two = mc[mc.method == "two-stage"]
    assert (two["target"] == "ce@32 → ndcg@10").all() and two["link_status"].notna().all()
    t9 = report.method_comparison_summary(mc)
    assert list(t9["eval_set"][:4]) == ["all"] * 4 and len(t9) == 2 * 3 * 4
    assert {"mae", "bias", "coverage", "coverage_pi", "rank", "formula"} <= set(t9.columns)
    assert t9["mae"].notna().all()
    assert (
        "T9_method_comparison" in catalogue.ARTIFACTS
        and "T9_method_forecasts" in catalogue.ARTIFACTS
    )


def test_offgrid_sizes_are_forecast_by_the_laws_of_the_grid(analysis):
    a, folder = analysis
    off = law_table(OFFGRID, seed=4)
    a = dataclasses.replace(a, offgrid=off.assign(dense_flops=0.95 * off["train_flops"]), fits={})
    t10 = report.offgrid_forecasts(a, metrics=["ndcg@10"], n_boot=20)
    assert set(t10["size"]) == {"28k", "113k", "226k"}
    fits = t10.groupby("fit_on")["fit_sizes"].unique().map(list).to_dict()
    assert fits == {
        "every grid size": ["10k,20k,40k,80k,160k,320k"],
        "the fitted sizes": ["10k,20k,40k,80k"],
    }
    # per fit: 3 sizes x 2 objectives x 2 eval sets x (size law, joint law)
    assert t10.groupby("fit_on").size().eq(24).all()
    actual = sc.final_checkpoints(off)
    row = t10[(t10["size"] == "113k") & (t10.objective == "listwise")].iloc[0]
    expect = actual[
        (actual["size"] == "113k")
        & (actual.objective == "listwise")
        & (actual.eval_set == row["eval_set"])
    ]["ndcg@10"].mean()
    assert row["actual"] == pytest.approx(expect)
    joint = t10[t10.kind.str.startswith("joint")]
    assert np.all(joint["abs_error"] < 0.05)  # drawn from the law the grid was: close
    summary = report.offgrid_summary(t10)
    assert len(summary) == 2 * 2 * 2 * 2 and (summary["n"] == 3).all()
    r10 = report.offgrid_regime(a).set_index("check")["units"].to_dict()
    # 9 sizes x 2 objectives x 2 eval sets; the order over 9 sizes at 3 of 6 checkpoints
    assert r10 == {
        "above first stage from checkpoint 2": 36,
        "power-law regime (R² ≥ 0.9, not convex, span ≥ 16×)": 36,
        "strictly increasing in N from mid-training": 12,
    }
    paths = report.save(report.f8_offgrid(a, t10), folder, "F8_offgrid")
    assert {p.suffix for p in paths.values()} == {".png", ".pdf", ".csv"}


def test_offgrid_table_is_validated_before_any_fit(analysis, tmp_path):
    a, _ = analysis
    none = dataclasses.replace(a, study=dataclasses.replace(a.study, offgrid_results=None))
    assert report.offgrid_forecasts(none).empty
    assert report.offgrid_summary(report.offgrid_forecasts(none)).empty
    assert report.offgrid_regime(none).empty
    missing = dataclasses.replace(
        a, study=dataclasses.replace(a.study, offgrid_results=str(tmp_path / "nope.csv"))
    )
    with pytest.raises(results.ResultsError, match="does not exist.*--preset cpu-offgrid"):
        report.offgrid_forecasts(missing)
    results.save(law_table((40e3, 113e3), seed=5), tmp_path / "overlap")
    overlap = dataclasses.replace(
        a, study=dataclasses.replace(a.study, offgrid_results=str(tmp_path / "overlap.csv"))
    )
    with pytest.raises(results.ResultsError, match=r"sizes of the study's own grid \['40k'\]"):
        report.offgrid_forecasts(overlap)
    results.save(law_table((113e3,), seed=5).assign(objective="pairwise"), tmp_path / "other")
    other = dataclasses.replace(
        a, study=dataclasses.replace(a.study, offgrid_results=str(tmp_path / "other.csv"))
    )
    with pytest.raises(results.ResultsError, match="no rows for objective"):
        report.offgrid_forecasts(other)
