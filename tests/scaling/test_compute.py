"""Compute (rerankscale.scaling.compute): FLOPs, compute-optimal allocation, equal-compute."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import (
    FitResult,
    allocation_exponents,
    compute_optimal,
    empirical_isoflop,
    equal_compute_comparison,
    fitted_allocation_exponents,
    inference_aware_optimum,
    isoflop_profiles,
    serving_flops,
    training_flops,
)

CHIN = FitResult.from_params("chinchilla", dict(E=1.69, A=406.4, alpha=0.34, B=410.7, beta=0.28))
SAT = FitResult.from_params("joint_saturating", dict(a=0.6, b=-10.0, c=-0.3, d=-2.0, e=-0.45))
KAP = FitResult.from_params("kaplan", dict(E=0.3, N_c=1e5, alpha=0.3, D_c=100.0, beta=0.4))
C = np.geomspace(1e18, 1e24, 7)


def test_training_and_serving_flops():
    f = training_flops(1e8, 1e9)
    assert f.dense == 6e17 and f.attention == 0 and f.total == 6e17
    f = training_flops(np.array([1e8]), np.array([1e9]), n_layers=12, d_model=768, seq_len=128)
    assert f.attention[0] == pytest.approx(6 * 12 * 128 * 768 * 1e9)
    assert f.total[0] == pytest.approx(f.dense[0] + f.attention[0])
    with pytest.raises(ValueError, match="n_layers, d_model and seq_len"):
        training_flops(1e8, 1e9, n_layers=12)
    assert serving_flops(1e8, queries=1e6, depth=100, tokens_per_pair=128) == pytest.approx(
        2 * 1e8 * 128 * 100 * 1e6
    )


def test_chinchilla_closed_form_by_hand():
    opt = compute_optimal(CHIN, [1e21], k=6.0)
    p = CHIN.params
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    n_star = G * (1e21 / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))
    assert opt.loc[0, "N_opt"] == pytest.approx(n_star, rel=1e-12)
    assert opt.loc[0, "D_opt"] == pytest.approx(1e21 / 6 / n_star, rel=1e-12)
    e = allocation_exponents(CHIN)
    assert e["a"] == pytest.approx(0.28 / 0.62) and e["b"] == pytest.approx(0.34 / 0.62)


@pytest.mark.parametrize(
    "result", [CHIN, SAT, KAP], ids=["chinchilla", "joint_saturating", "kaplan"]
)
def test_closed_form_matches_numeric_optimisation(result):
    closed = compute_optimal(result, C, k=6.0 * 128, method="closed")
    numeric = compute_optimal(result, C, k=6.0 * 128, method="numeric")
    assert (closed["method"] == "closed").all() and (numeric["method"] == "numeric").all()
    np.testing.assert_allclose(numeric["N_opt"], closed["N_opt"], rtol=1e-5)
    np.testing.assert_allclose(numeric["D_opt"], closed["D_opt"], rtol=1e-5)
    exps = allocation_exponents(result)
    fitted = fitted_allocation_exponents(numeric)
    assert fitted["a"] == pytest.approx(exps["a"], abs=1e-6)
    assert fitted["b"] == pytest.approx(exps["b"], abs=1e-6)
    assert exps["a"] + exps["b"] == pytest.approx(1.0)


def test_numeric_only_laws_and_errors():
    with pytest.raises(ValueError, match="joint law"):
        compute_optimal(FitResult.from_params("power", dict(E=1, A=1, alpha=1)), [1e20])
    with pytest.raises(ValueError, match="method"):
        compute_optimal(CHIN, [1e20], method="exact")


def test_isoflop_profiles_bottom_out_at_the_optimum():
    iso = isoflop_profiles(CHIN, [1e20, 1e22], k=6.0)
    for c, g in iso.groupby("C"):
        i = int(np.argmin(g["prediction"].to_numpy()))
        assert g["N"].iloc[i] == pytest.approx(g["N_opt"].iloc[0], rel=0.2)
        np.testing.assert_allclose(6.0 * g["N"] * g["D"], c)
    sat = isoflop_profiles(SAT, [1e20], k=6.0)
    i = int(np.argmax(sat["prediction"].to_numpy()))  # metric laws are maximised
    assert sat["N"].iloc[i] == pytest.approx(sat["N_opt"].iloc[0], rel=0.2)


def test_inference_aware_allocation():
    kw = dict(depth=100, tokens_per_pair=128, k=6.0 * 128)
    free = inference_aware_optimum(CHIN, [1e21], queries=1e-6, **kw)
    assert free.loc[0, "N_opt"] == pytest.approx(free.loc[0, "N_train_only"], rel=1e-3)
    heavy = inference_aware_optimum(CHIN, [1e21], queries=1e8, **kw)
    row = heavy.iloc[0]
    assert row["N_opt"] < 0.8 * row["N_train_only"]  # serving cost pushes to smaller models
    assert row["train_flops"] + row["serve_flops"] == pytest.approx(1e21)
    assert row["prediction"] == pytest.approx(CHIN.predict([row["N_opt"]], [row["D_opt"]])[0])


def _hand_table():
    """Two sizes, two seeds (±0.01 around the listed values), FLOPs per checkpoint:
    small (1m): 1e12, 1e13, 1e14 with NDCG 0.20, 0.30, 0.40
    large (10m): 1e13, 10^13.5, 1e14, 1e15 with NDCG 0.25, 0.35, 0.45, 0.50"""
    rows = []
    spec = {
        1e6: ([1e12, 1e13, 1e14], [0.20, 0.30, 0.40]),
        1e7: ([1e13, 10**13.5, 1e14, 1e15], [0.25, 0.35, 0.45, 0.50]),
    }
    for n, (flops, nd) in spec.items():
        for seed, shift in ((0, -0.01), (1, 0.01)):
            for step, (f, v) in enumerate(zip(flops, nd), start=1):
                rows.append(
                    dict(
                        objective="listwise",
                        eval_set="dev",
                        run_id=f"{n:g}-{seed}",
                        seed=seed,
                        size="1m" if n == 1e6 else "10m",
                        n_params=n,
                        step=step,
                        train_flops=f,
                        **{"ndcg@10": v + shift, "ce@64": 3.0 - (v + shift)},
                    )
                )
    return pd.DataFrame(rows)


def test_equal_compute_pairs_match_the_hand_computation():
    eq = equal_compute_comparison(_hand_table(), ["ndcg@10", "ce@64"], tie_tol=1e-9)
    nd = eq[eq.metric == "ndcg@10"].sort_values(["anchor", "train_flops"])
    got = [
        (
            r.anchor,
            round(np.log10(r.train_flops), 3),
            round(r.metric_small, 6),
            round(r.metric_large, 6),
            r.winner,
        )
        for r in nd.itertuples()
    ]
    assert got == [
        ("large", 13.0, 0.30, 0.25, "small"),  # small interpolated at its own checkpoint
        ("large", 13.5, 0.35, 0.35, "tie"),  # small: halfway in log FLOPs between 0.30 and 0.40
        ("large", 14.0, 0.40, 0.45, "large"),
        ("small", 13.0, 0.30, 0.25, "small"),  # 1e12 (outside the overlap) left out
        ("small", 14.0, 0.40, 0.45, "large"),
    ]
    assert (nd["size_small"] == "1m").all() and (nd["size_large"] == "10m").all()
    np.testing.assert_allclose(nd["difference"], nd["metric_large"] - nd["metric_small"])
    ce = eq[eq.metric == "ce@64"].sort_values(["anchor", "train_flops"])
    assert list(ce["winner"]) == list(nd["winner"])  # lower CE wins: same verdicts here


def test_empirical_isoflop_interpolates_inside_ranges_only():
    iso = empirical_isoflop(_hand_table(), "ndcg@10", [10**12.5, 10**13.5, 1e15])
    got = {(r.size, round(np.log10(r.C), 2)): round(r._asdict()["_6"], 6) for r in iso.itertuples()}
    assert got == {("1m", 12.5): 0.25, ("1m", 13.5): 0.35, ("10m", 13.5): 0.35, ("10m", 15.0): 0.50}
