"""Coverage of the forecast intervals by simulation (``rerankscale.scaling.coverage``).

    python bench/bench_coverage.py [--n-sims 200] [--n-boot 100] [--out bench/results/coverage.json]

Simulates studies from a known saturating size law with a run effect and evaluation noise, in
the paper's design (4 fitted sizes × 1 seed) and the CPU study's (6 sizes × 3 seeds, 4 fitted),
fits the size law on the fitted sizes and checks whether the 95% intervals at the 2 held-out
sizes cover the truth. ``auto`` is what the study reports (run bootstrap when every fitted size
has ≥ 3 runs, else the parametric bootstrap); ``parametric`` forces the parametric bootstrap.
Prints one line per case and writes them, with the Monte-Carlo errors, to JSON after every
case (``complete`` says whether all cases asked for are in). One core: BLAS threads are
pinned to 1. About 1 s per simulation at 100 draws on an idle core.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rerankscale.io import atomic_write_json  # noqa: E402
from rerankscale.scaling.coverage import DESIGNS, simulate_coverage  # noqa: E402

CASES = (
    ("4 sizes x 1 seed", "auto"),
    ("6 sizes x 3 seeds", "auto"),
    ("6 sizes x 3 seeds", "parametric"),
)
TARGET = (0.90, 0.97)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=200)
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "coverage.json"))
    ap.add_argument(
        "--cases",
        default=None,
        help="comma-separated indices into CASES (default: all); each case has its "
        "own random stream, so cases run apart give the same numbers",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cases = []
    chosen = CASES if args.cases is None else [CASES[int(i)] for i in args.cases.split(",")]
    for design, interval in chosen:
        r = simulate_coverage(
            DESIGNS[design],
            n_sims=args.n_sims,
            n_boot=args.n_boot,
            seed=args.seed,
            interval=interval,
        )
        inside = TARGET[0] <= r["coverage_pi"] <= TARGET[1]
        print(
            f"{design:18s} {interval:10s} law interval {r['coverage']:.3f} ± "
            f"{r['coverage_mc_se']:.3f}   prediction interval {r['coverage_pi']:.3f} ± "
            f"{r['coverage_pi_mc_se']:.3f}   valid {r['valid_share']:.0%}   "
            f"width {r['median_width']:.3f}/{r['median_width_pi']:.3f}   "
            f"spread ratio {r['spread_ratio']}/{r['spread_ratio_pi']}   {r['methods']}   "
            f"{r['seconds']:.0f} s   {'PASS' if inside else 'CHECK'} "
            f"(target {TARGET[0]:.2f}-{TARGET[1]:.2f})",
            flush=True,
        )
        cases.append(r)
        out = dict(
            cases=cases,
            complete=len(cases) == len(chosen),
            target=list(TARGET),
            seconds=time.perf_counter() - t0,
            machine=dict(
                python=platform.python_version(),
                platform=platform.platform(),
                processor=platform.processor() or platform.machine(),
            ),
        )
        atomic_write_json(Path(args.out), out)  # after every case: a stopped run keeps them
    print("wrote", args.out)
    return out


if __name__ == "__main__":
    main()
