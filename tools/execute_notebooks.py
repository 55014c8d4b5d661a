"""Execute the analysis notebooks (01, 04-06) in place on a results table, with their outputs.

    .venv/bin/python tools/execute_notebooks.py                  # notebooks/, figures/results.csv
    .venv/bin/python tools/execute_notebooks.py --out /tmp/nb    # write executed copies elsewhere

``make notebooks`` runs the first form. The notebooks only display (``figures_dir`` stays None:
nothing is written into ``figures/``); each runs in a fresh papermill kernel started as the
sweep starts its kernels (``sweep.execute_notebook``). The slow bootstrap tables come from the
memo the sweep's own analysis filled (``rerankscale.memo``), so the notebooks run in seconds
after a sweep on the same results (cold, without the memo, on two cores: 01 and 06 about 10 s,
04 about 30 s and 05 about 45 s, most of it bootstrap refits; see the README). Commit the executed
notebooks so a reader sees the study. What papermill records about one execution (its paths on
this machine, start and end times of every cell) is removed, so that a re-execution on the same
results changes only what a reader sees (``tests/test_notebooks.py`` checks both).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from rerankscale.orchestration import sweep  # noqa: E402


def strip_run_metadata(path: Path) -> None:
    """Remove papermill's per-execution metadata (paths, timings, empty tag lists) from an
    executed notebook, and give the injected-parameters cell a stable id (papermill draws a
    random one on every execution)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = f"{path.name.split('_')[0]}-injected"
    nbformat.write(nb, path)


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: the kernels. On a
    shared machine the wall time says how busy it was; this says what a notebook costs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
        start, cpu = time.time(), _children_cpu()
        sweep.execute_notebook(
            sweep.NOTEBOOKS / name, out / name, params, cwd=str(ROOT), pinned=True
        )
        strip_run_metadata(out / name)
        wall, cpu = time.time() - start, _children_cpu() - cpu
        print(f"{out / name}: {wall:.0f} s, kernel CPU {cpu:.0f} s", flush=True)


if __name__ == "__main__":
    main()
