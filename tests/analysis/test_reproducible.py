"""Bit-reproducible analysis (issue 9, item 4): the study's tables, regenerated from a small
committed results table, equal the stored expected tables to 1e-9.

Data (``tests/data/repro/``): ``results.csv`` is a slice of the committed CPU study
(``figures/results.csv``: listwise, synthetic-dev, sizes 10k–280k × 3 seeds, the last four
checkpoints; 280k is the preset's held-out size), ``T0_first_stage.csv`` its first-stage
baseline. ``expected/<artifact>.csv`` hold every T table and the data behind every F figure
that ``rerankscale figures`` derives from a results table (T1–T9, F1–F7), computed with few
bootstrap draws (``N_BOOT``) and written at full precision (``%.17g``).

The tables are computed in a fresh interpreter started with the pinned floating-point
environment (``rerankscale.numerics.pinned_env``: one BLAS kernel and thread, numpy's AVX-512
targets off, glibc's SSE2 libm), as the analysis kernels of ``rerankscale figures`` are, and
with the memo off,
so the expected files hold on any x86-64 machine, not only the one that wrote them. A failure
names each table and column that moved and by how much.

Refreshing the expected files is for a deliberate change of the analysis (a new table, another
estimator or seed), never to make an unexplained difference go away:

    RERANKSCALE_REFRESH_EXPECTED=1 .venv/bin/pytest tests/analysis/test_reproducible.py

rewrites ``tests/data/repro/expected/`` (and passes); review ``git diff tests/data/repro`` and
commit the files with the change that moved them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "repro"
EXPECTED = DATA / "expected"
REFRESH = "RERANKSCALE_REFRESH_EXPECTED"
N_BOOT = 8
RTOL, ATOL = 1e-9, 1e-12


def tables(folder: Path, n_boot: int = N_BOOT) -> dict[str, pd.DataFrame]:
    """Every table of notebooks 04-06 and the data behind every figure, from ``folder``'s
    results (the notebooks' calls, with ``n_boot`` draws and one metric where a table takes a
    list: the same code paths at a fraction of the fits)."""
    from rerankscale import report

    a = report.load_analysis("cpu", folder / "results.csv")
    one = ["ndcg@10"]
    out = {
        "T1_final_metrics": report.t1_final_metrics(a),
        "T7_regime": report.t7_regime(a),
        "T2_laws": report.t2_laws(a, metrics=one, n_boot=n_boot),
        "F2_exposure_scaling": report.f2_exposure(a).rerankscale_data,
        "F3_joint_law": report.f3_joint(a).rerankscale_data,
        "F6_contrastive_entropy": report.f6_contrastive_entropy(a).rerankscale_data,
        "T3_forecasts": report.forecasts(a, metrics=one, n_boot=n_boot),
        "T3_backtests": report.backtests(a, n_boot=n_boot),
        "T8_rollout": report.rollout(a, n_boot=n_boot),
        "T9_method_forecasts": report.method_comparison(a, n_boot=n_boot),
        "T4_allocation": report.t4_allocation(a, n_boot=n_boot),
        "F4_compute_optimal": report.f4_compute_optimal(a).rerankscale_data,
        "T6_inference_aware": report.t6_inference_aware(a),
    }
    out["T3_forecast_summary"] = report.forecast_summary(out["T3_forecasts"])
    out["F1_model_size"] = report.f1_model_size(a, out["T3_forecasts"]).rerankscale_data
    out["T8_rollout_summary"] = report.rollout_summary(out["T8_rollout"])
    out["F7_rollout"] = report.f7_rollout(out["T8_rollout"]).rerankscale_data
    out["T9_method_comparison"] = report.method_comparison_summary(out["T9_method_forecasts"])
    eq = report.equal_compute(a)
    out["T5_equal_compute"] = report.t5_equal_compute(eq)
    out["F5_equal_compute"] = report.f5_equal_compute(eq).rerankscale_data
    return out


def regenerate(out: Path) -> None:
    """``tables`` of ``DATA`` written to ``out`` by a pinned interpreter (this file as a
    script)."""
    from rerankscale import memo, numerics

    env = numerics.pinned_env()
    env[memo.ENV_OFF] = "1"
    done = subprocess.run(
        [sys.executable, __file__, str(DATA), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def differences(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    """What differs between two tables: columns, rows, strings, numbers beyond RTOL/ATOL."""
    if list(got.columns) != list(want.columns):
        return [f"columns {list(got.columns)} != {list(want.columns)}"]
    if len(got) != len(want):
        return [f"{len(got)} rows != {len(want)}"]
    out = []
    for c in want.columns:
        a, b = got[c], want[c]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            u, v = a.to_numpy(float), b.to_numpy(float)
            same = np.isclose(u, v, rtol=RTOL, atol=ATOL) | (np.isnan(u) & np.isnan(v))
            if not same.all():
                bad = np.flatnonzero(~same)
                worst = bad[np.argmax(np.abs(u - v)[bad])]
                out.append(
                    f"{c}: {len(bad)} values, worst row {worst}: {u[worst]!r} != {v[worst]!r}"
                )
        else:
            bad = np.flatnonzero(a.fillna("<NA>").astype(str) != b.fillna("<NA>").astype(str))
            if len(bad):
                out.append(f"{c}: {len(bad)} values, row {bad[0]}: {a[bad[0]]!r} != {b[bad[0]]!r}")
    return out


def test_tables_regenerate_identically(tmp_path):
    """~30 s on an idle core: the full fits (Chinchilla's 72 starts) dominate."""
    regenerate(tmp_path)
    got = {p.stem: p for p in sorted(tmp_path.glob("*.csv"))}
    assert len(got) == 20, sorted(got)
    if os.environ.get(REFRESH):
        EXPECTED.mkdir(exist_ok=True)
        for stale in EXPECTED.glob("*.csv"):
            stale.unlink()
        for path in got.values():
            (EXPECTED / path.name).write_bytes(path.read_bytes())
    want = {p.stem: p for p in sorted(EXPECTED.glob("*.csv"))}
    assert sorted(got) == sorted(want), f"refresh with {REFRESH}=1 (see the module docstring)"
    report = {}
    for name in want:
        diff = differences(pd.read_csv(got[name]), pd.read_csv(want[name]))
        if diff:
            report[name] = diff
    assert not report, "\n".join(f"{k}: {'; '.join(v)}" for k, v in report.items())


if __name__ == "__main__":  # the pinned interpreter of ``regenerate``
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    for name, table in tables(source).items():
        table.to_csv(target / f"{name}.csv", index=False, float_format="%.17g")
