"""Bit-reproducible analysis (issue 9, item 4): the study's tables, regenerated from a small
committed results table, equal the stored expected tables to 1e-9.

Data (``tests/data/repro/``): ``results.csv`` is a slice of a committed CPU study (the 10M
study's, ``figures-10m/results.csv`` since stop 35: listwise, synthetic-dev, sizes 10k–280k × 3 seeds, the last four
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
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "repro"
EXPECTED = DATA / "expected"
REFRESH = "RERANKSCALE_REFRESH_EXPECTED"
N_BOOT = 8
RTOL, ATOL = 1e-9, 1e-12


def tables(folder: Path, n_boot: int = N_BOOT) -> dict[str, pd.DataFrame]:
    """Every table of notebooks 04-06 and the data behind every figure, from ``folder``'s
    results (the notebooks' calls, with ``n_boot`` draws and one metric where a table takes a
    list: the same code paths at a fraction of the fits)."""
    from rerankscale.reporting import report

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


def regenerate(
    out: Path, before: dict | None = None, after: dict | None = None, cpus: int | None = None
) -> None:
    """``tables`` of ``DATA`` written to ``out`` by a pinned interpreter (this file as a
    script). To emulate another machine: ``before`` is what that machine (or its user) sets in
    the environment, under the pin; ``after`` what the pin cannot override, on top of it
    (what the hardware lacks); ``cpus`` the CPUs the process may run on."""
    from rerankscale import memo, numerics

    env = numerics.pinned_env({**os.environ, **(before or {})})
    env.update(after or {})
    env[memo.ENV_OFF] = "1"
    done = subprocess.run(
        [sys.executable, __file__, str(DATA), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=(lambda: os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cpus]))
        if cpus
        else None,
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


def assert_as_expected(folder: Path) -> None:
    """The tables in ``folder`` are the expected ones (to RTOL); a failure names each table
    and column that moved."""
    got = {p.stem: p for p in sorted(folder.glob("*.csv"))}
    assert len(got) == 20, sorted(got)
    want = {p.stem: p for p in sorted(EXPECTED.glob("*.csv"))}
    assert sorted(got) == sorted(want), f"refresh with {REFRESH}=1 (see the module docstring)"
    report = {}
    for name in want:
        diff = differences(pd.read_csv(got[name]), pd.read_csv(want[name]))
        if diff:
            report[name] = diff
    assert not report, "\n".join(f"{k}: {'; '.join(v)}" for k, v in report.items())


def test_tables_regenerate_identically(tmp_path):
    """~30 s on an idle core: the full fits (Chinchilla's 72 starts) dominate."""
    regenerate(tmp_path)
    if os.environ.get(REFRESH):
        EXPECTED.mkdir(exist_ok=True)
        for stale in EXPECTED.glob("*.csv"):
            stale.unlink()
        for path in tmp_path.glob("*.csv"):
            (EXPECTED / path.name).write_bytes(path.read_bytes())
    assert_as_expected(tmp_path)


# Other machines, emulated on this one (docs/forecasting.md, "Bit-reproducible analysis").
# What a machine sets and the pin overrides: another CPU's BLAS kernel (SkylakeX: an AVX-512
# CPU's, which this one could not even run unpinned), as many BLAS/OpenMP threads as cores,
# libm's native variants. What the pin cannot override, emulated on top of it: an older CPU
# (no AVX2, no FMA: numpy's X86_V3 group off; glibc without its AVX/AVX2/FMA variants) with
# one core.
MACHINES = {
    "avx512-16-cores": dict(
        before={
            "OPENBLAS_CORETYPE": "SkylakeX",
            "OPENBLAS_NUM_THREADS": "16",
            "OMP_NUM_THREADS": "16",
            "MKL_NUM_THREADS": "16",
        }
    ),
    "pre-avx2-1-core": dict(
        after={
            "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR AVX2 FMA3",
            "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX",
        },
        cpus=1,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_tables_are_the_same_on_other_machines(tmp_path, machine):
    """~30 s per machine on an idle core."""
    regenerate(tmp_path, **MACHINES[machine])
    assert_as_expected(tmp_path)


if __name__ == "__main__":  # the pinned interpreter of ``regenerate``
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    for name, table in tables(source).items():
        table.to_csv(target / f"{name}.csv", index=False, float_format="%.17g")
