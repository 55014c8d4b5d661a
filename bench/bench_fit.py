"""Benchmark the scaling-law fitter: one joint-law fit with the full start grid, and 1,000
cluster-bootstrap refits, on a synthetic table of 6 sizes × 3 seeds × 20 checkpoints.

    python bench/bench_fit.py [--n-boot 1000] [--law chinchilla] [--out bench/results/bench_fit.json]

Prints the wall times and writes them (with the fit's diagnostics and the machine) to JSON.
Target: the whole bootstrap under 60 s on 2 cores. BLAS threads are pinned to 1 (the
problems are tiny; a threaded BLAS only burns a second core spinning).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rerankscale.io import atomic_write_json  # noqa: E402
from rerankscale.scaling import bootstrap_fit, fit_law, get_law, synthetic_results_table  # noqa: E402

TARGET_S = 60.0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--law", default="chinchilla")
    ap.add_argument("--grid", default="full", choices=("full", "coarse"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_fit.json"))
    args = ap.parse_args(argv)

    df = synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6, 16e6, 32e6), seeds=3, n_checkpoints=20, seed=0
    )
    law = get_law(args.law)

    t0 = time.perf_counter()
    result = fit_law(df, law, y="ndcg@10", n="n_params", d="pairs_seen", grid=args.grid)
    t_fit = time.perf_counter() - t0
    print(
        f"joint fit ({law.name}, {len(df)} points, {result.n_starts} starts, grid={args.grid}): "
        f"{t_fit:.2f} s  status={result.status}  starts at best={result.n_at_best}"
    )

    t0 = time.perf_counter()
    boot = bootstrap_fit(result, groups="run_id", n_boot=args.n_boot, seed=0)
    t_boot = time.perf_counter() - t0
    per = 1e3 * t_boot / args.n_boot
    ok = t_boot < TARGET_S
    print(
        f"bootstrap ({args.n_boot} refits over {boot.n_units} runs, warm-started): {t_boot:.2f} s "
        f"({per:.1f} ms/refit)  statuses={boot.status_counts()}  "
        f"{'PASS' if ok else 'FAIL'} (target < {TARGET_S:.0f} s)"
    )
    intervals = boot.param_intervals().set_index("param")[["estimate", "lo", "hi"]]
    print(intervals.to_string())

    record = dict(
        law=law.name,
        n_points=len(df),
        sizes=6,
        seeds=3,
        checkpoints=20,
        grid=args.grid,
        n_starts=result.n_starts,
        n_at_best=result.n_at_best,
        fit_status=result.status,
        fit_seconds=round(t_fit, 3),
        n_boot=args.n_boot,
        bootstrap_seconds=round(t_boot, 3),
        ms_per_refit=round(per, 2),
        bootstrap_statuses=boot.status_counts(),
        target_seconds=TARGET_S,
        bootstrap_within_target=ok,
        params=result.params,
        intervals=intervals.to_dict(orient="index"),
        machine=dict(
            python=platform.python_version(),
            numpy=np.__version__,
            scipy=scipy.__version__,
            processor=platform.processor() or platform.machine(),
            cpus=os.cpu_count(),
            blas_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
            load_average_1min=round(os.getloadavg()[0], 2),
        ),
    )
    atomic_write_json(args.out, record)
    print(f"wrote {args.out}")
    return record


if __name__ == "__main__":
    main()
