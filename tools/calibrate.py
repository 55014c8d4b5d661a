"""Calibrate the cpu preset: train and evaluate a few cells, print NDCG@10 vs exposure by size.

    .venv/bin/python tools/calibrate.py --sizes 5k 20k 80k --objective listwise \
        --max-queries 16384 --out /tmp/cal --workers 2 [--set train.lr_max=0.002]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd


def run(args):
    size, objective, seed, out, overrides = args
    from rerankscale.orchestration.study import cell_config, evaluate_cell, run_dir, train_cell

    cfg = cell_config("cpu", size, objective, seed, overrides=overrides)
    t = time.time()
    train_cell(cfg, out, progress=False)
    t_train = time.time() - t
    metrics = evaluate_cell(run_dir(out, cfg), progress=False)
    metrics["size"], metrics["objective"], metrics["seed"] = size, objective, seed
    metrics["train_s"], metrics["total_s"] = t_train, time.time() - t
    return metrics


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", nargs="+", required=True)
    p.add_argument("--objective", nargs="+", default=["listwise"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--max-queries", type=int, default=16384)
    p.add_argument("--out", default="/tmp/cal")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--set", nargs="*", default=[], help="block.key=json_value overrides")
    a = p.parse_args()
    overrides: dict = {"train": {"max_queries": a.max_queries}}
    for item in a.set:
        key, value = item.split("=", 1)
        block, name = key.split(".", 1)
        overrides.setdefault(block, {})[name] = json.loads(value)
    jobs = [
        (s, o, seed, a.out, overrides) for s in a.sizes for o in a.objective for seed in a.seeds
    ]
    with ProcessPoolExecutor(a.workers) as pool:
        frames = list(pool.map(run, jobs))
    table = pd.concat(frames)
    for metric in ("ndcg@10",):
        pivot = table.pivot_table(
            index=["eval_set", "objective", "size", "seed"], columns="queries_seen", values=metric
        )
        print(metric)
        print(pivot.round(3).to_string())
    print(table.groupby(["size", "objective", "seed"])[["train_s", "total_s"]].first().round(0))


if __name__ == "__main__":
    main()
