"""Figures (rerankscale.reporting.plots): palette, one function per figure, atomic save with the CSV."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rerankscale.reporting import plots
from rerankscale.scaling import (
    ChinchillaLaw,
    PowerLaw,
    compute_optimal,
    empirical_isoflop,
    equal_compute_comparison,
    fit_law,
    forecast_holdout,
    isoflop_profiles,
    select_rows,
    synthetic_results_table,
)


@pytest.fixture(scope="module")
def table():
    return synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6, 16e6),
        objectives=("pointwise", "listwise"),
        seeds=1,
        n_checkpoints=6,
        seed=3,
    )


@pytest.fixture(scope="module")
def joint_fits(table):
    return {
        o: fit_law(table[table.objective == o], ChinchillaLaw(), y="ndcg@10", grid="coarse")
        for o in ("pointwise", "listwise")
    }


def test_objective_colours_are_seaborns_colorblind_palette():
    sns = pytest.importorskip("seaborn")
    palette = sns.color_palette("colorblind").as_hex()
    assert plots.COLORBLIND == palette
    assert list(plots.OBJECTIVE_COLORS) == [
        "pointwise",
        "pairwise",
        "listwise",
        "lambdaloss",
        "listmle",
    ]
    assert list(plots.OBJECTIVE_COLORS.values()) == palette[:5]
    assert plots.objective_color("bce") == plots.OBJECTIVE_COLORS["pointwise"]
    assert plots.objective_color("custom") == plots.objective_color("custom")
    assert plots.objective_color("custom") not in plots.OBJECTIVE_COLORS.values()
    assert len(plots.size_shades("listwise", 4)) == 4


def _check(fig):
    assert isinstance(fig, Figure)
    assert isinstance(fig.rerankscale_data, pd.DataFrame) and len(fig.rerankscale_data)


def test_f1_size_scaling(table):
    fin = select_rows(table, "final")
    fc, fits = forecast_holdout(
        fin,
        PowerLaw(),
        y="ndcg@10",
        x="n_params",
        holdout=1,
        n_boot=20,
        grid="coarse",
        return_fits=True,
    )
    train = fin[fin.n_params < 16e6]
    f = {o: fits[(o, "synthetic-dev", "ndcg@10")][0] for o in ("pointwise", "listwise")}
    fig = plots.plot_size_scaling(train, f, fc, metric="ndcg@10")
    _check(fig)
    assert {"fit_point", "law", "heldout_actual", "forecast"} <= set(fig.rerankscale_data["kind"])


def test_f2_f3_exposure_and_joint_slices(table, joint_fits):
    _check(plots.plot_exposure_scaling(table, joint_fits, metric="ndcg@10"))
    per_size = {
        ("pointwise", 1e6): fit_law(
            table[(table.objective == "pointwise") & (table.n_params == 1e6)],
            PowerLaw(),
            y="ndcg@10",
            x="pairs_seen",
            grid="coarse",
        )
    }
    _check(plots.plot_exposure_scaling(table, per_size, metric="ndcg@10"))
    fig = plots.plot_joint_slices(table, joint_fits, metric="ndcg@10", heldout_sizes=["16m"])
    _check(fig)
    assert "heldout" in set(fig.rerankscale_data["kind"])


def test_f4_f5_f6(table, joint_fits):
    C = np.geomspace(1e13, 1e16, 4)
    k = 6.0 * 128
    opt = pd.concat([compute_optimal(r, C, k=k).assign(objective=o) for o, r in joint_fits.items()])
    iso = pd.concat(
        [isoflop_profiles(r, C, k=k).assign(objective=o) for o, r in joint_fits.items()]
    )
    emp = empirical_isoflop(table, "ndcg@10", C)
    _check(plots.plot_compute_optimal(opt, iso, empirical=emp, metric="ndcg@10"))
    _check(plots.plot_equal_compute(equal_compute_comparison(table, "ndcg@10")))
    _check(plots.plot_ce_vs_metric(table, metrics=["ndcg@10"]))


def test_diagnostics(joint_fits):
    from rerankscale.scaling import bootstrap_fit

    r = joint_fits["listwise"]
    _check(plots.plot_residuals(r))
    fig = plots.plot_bootstrap_pairs(bootstrap_fit(r, n_boot=15))
    _check(fig)


def test_save_figure_writes_png_pdf_csv_atomically(tmp_path, table):
    fig = plots.plot_ce_vs_metric(table)
    df = pd.DataFrame(dict(a=[1, 2], b=["x", "y"]))
    paths = plots.save_figure(fig, df, tmp_path / "figs", "F6_ce")
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "F6_ce.csv",
        "F6_ce.pdf",
        "F6_ce.png",
    ]
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["pdf"].read_bytes()[:4] == b"%PDF"
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"]), df)
    # without df, the data attached to the figure is written
    plots.save_figure(fig, None, tmp_path, "F6b")
    assert len(pd.read_csv(tmp_path / "F6b.csv")) == len(fig.rerankscale_data)
    with pytest.raises(ValueError, match="data behind"):
        plots.save_figure(Figure(), None, tmp_path, "empty")
