"""Execute the analysis notebooks (01, 04-06) in place on a results table, with their outputs.

    .venv/bin/python tools/execute_notebooks.py                  # notebooks/, figures/results.csv
    .venv/bin/python tools/execute_notebooks.py --out /tmp/nb    # write executed copies elsewhere

``make notebooks`` runs the first form. The notebooks only display (``figures_dir`` stays None:
nothing is written into ``figures/``); each runs in a fresh papermill kernel started as the
sweep starts its kernels (``sweep.execute_notebook``). The slow bootstrap tables come from the
memo the sweep's own analysis filled (``rerankscale.memo``), so the notebooks run in seconds
after a sweep on the same results. Commit the executed notebooks so a reader sees the study.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rerankscale import sweep  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", help="the preset the results come from")
    parser.add_argument("--results", default="figures/results.csv", help="the results table")
    parser.add_argument(
        "--out",
        default=None,
        help="folder for the executed notebooks (default: notebooks/, in place)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out).resolve() if args.out else sweep.NOTEBOOKS
    out.mkdir(parents=True, exist_ok=True)
    # as given, not made absolute: the injected values are committed and rerun by nbval in
    # other checkouts (relative paths resolve against the project directory, paths.resolve)
    params = {"preset": args.preset, "results_path": args.results, "figures_dir": None}
    for name in sweep.ANALYSIS_NOTEBOOKS:
        start = time.time()
        sweep.execute_notebook(sweep.NOTEBOOKS / name, out / name, params, cwd=str(ROOT))
        print(f"{out / name}: {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
