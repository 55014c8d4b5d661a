"""Benchmark: a study cell's training step in the kernel the sweep starts, pinned or not.

The sweep runs every cell through notebooks 02/03 in a papermill kernel
(``orchestration.sweep.execute_notebook``). Up to stop 33 every kernel started in the
analysis's pinned floating-point environment (``numerics.pinned_env``), whose
``MKL_CBWR=COMPATIBLE`` holds MKL, torch's CPU GEMM, to its SSE2 code path. Since stop 34 the
analysis kernels are pinned (``kernels.PinnedKernelManager``) and the cells' kernels follow the
study's ``cell_numerics``: the machine's own environment (``kernels.QuietKernelManager``, the
default) or, for a study trained pinned (the committed ``cpu``), the pinned one.

This script trains the same cell (preset, size, objective, seed; ``--queries`` queries, one
checkpoint) in a fresh kernel of each kind, alternating, ``--repeats`` times, and reports the
seconds per step over the last half of the steps (the first steps include warm-up and the
model's load), the median ratio pinned / native, and each run's final training loss (the two
environments compute the GEMMs with different kernels, so the losses agree to rounding, not in
every bit).

    .venv/bin/python bench/bench_cell_kernel.py                         # cpu, 640k, listwise
    .venv/bin/python bench/bench_cell_kernel.py --size 53k --repeats 3

Writes ``bench/results/bench_cell_kernel.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rerankscale.io import atomic_write_json  # noqa: E402
from rerankscale.orchestration.sweep import execute_notebook  # noqa: E402
from rerankscale.provenance import environment_info  # noqa: E402

OUT = REPO / "bench" / "results" / "bench_cell_kernel.json"
KINDS = {"native": False, "pinned": True}  # kernel kind → execute_notebook's ``pinned``

CELL = """
import json, tempfile
from pathlib import Path
from rerankscale.orchestration import study
overrides = {"train": {"max_queries": queries, "n_checkpoints": 1, "first_checkpoint": queries}}
cfg = study.cell_config(preset, size, objective, seed, None, overrides)
out = Path(tempfile.mkdtemp())
study.train_cell(cfg, out, progress=False)
log = [json.loads(line) for line in open(study.run_dir(out, cfg) / "train_log.jsonl")]
half = len(log) // 2
print("RESULT " + json.dumps({
    "steps": len(log),
    "seconds_per_step": (log[-1]["seconds"] - log[half - 1]["seconds"]) / (len(log) - half),
    "final_loss": log[-1]["loss"],
}))
"""


def run_once(kind: str, params: dict, folder: Path) -> dict:
    """Train the cell once in a fresh kernel of ``kind``; its RESULT line."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items()) + "\n" + CELL
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    path = folder / f"{kind}.ipynb"
    nbformat.write(notebook, path)
    execute_notebook(path, folder / f"{kind}-out.ipynb", {}, pinned=KINDS[kind])
    executed = json.loads((folder / f"{kind}-out.ipynb").read_text())
    for output in executed["cells"][0]["outputs"]:
        text = output.get("text", "")
        for line in ("".join(text) if isinstance(text, list) else text).splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"the {kind} kernel printed no RESULT line")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--size", default="640k")
    parser.add_argument("--objective", default="listwise")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=512, help="training queries (16 a step)")
    parser.add_argument("--repeats", type=int, default=3, help="paired runs (median ratio)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    params = {
        "preset": args.preset,
        "size": args.size,
        "objective": args.objective,
        "seed": args.seed,
        "queries": args.queries,
    }
    runs = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for kind in KINDS:
                result = run_once(kind, params, Path(tmp))
                runs[kind].append(result)
                print(
                    f"repeat {repeat} {kind}: {result['seconds_per_step'] * 1e3:.0f} ms/step, "
                    f"final loss {result['final_loss']:.6f}",
                    flush=True,
                )
    ratios = [
        p["seconds_per_step"] / n["seconds_per_step"]
        for p, n in zip(runs["pinned"], runs["native"])
    ]
    report = {
        "benchmark": "cell training step, pinned vs native kernel",
        "cell": params,
        "runs": runs,
        "ms_per_step_median": {
            kind: 1e3 * statistics.median(r["seconds_per_step"] for r in rs)
            for kind, rs in runs.items()
        },
        "ratio_pinned_over_native": ratios,
        "ratio_median": statistics.median(ratios),
        "final_loss_max_abs_diff": max(
            abs(p["final_loss"] - n["final_loss"]) for p, n in zip(runs["pinned"], runs["native"])
        ),
        "environment": environment_info(),
    }
    atomic_write_json(Path(args.out), report)
    print(
        f"{args.size} {args.objective}: native {report['ms_per_step_median']['native']:.0f} ms/step, "
        f"pinned {report['ms_per_step_median']['pinned']:.0f} ms/step, "
        f"pinned/native {report['ratio_median']:.2f}x (median of {args.repeats}); "
        f"final loss within {report['final_loss_max_abs_diff']:.2e}; wrote {args.out}"
    )
    return report


if __name__ == "__main__":
    main()
