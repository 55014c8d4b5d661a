"""The fine-tuning learning-rate sweep: a per-size rule fitted on the fitted sizes only.

A study's fine-tuning rate is ``lr = min(lr_max, c / d_model**p)`` (``schedule.resolve_lr``).
This module measures, for each *fitted* size of a study (its ``sizes`` minus ``held_out``), how
a grid of multipliers ``m`` of the current rule's rate does on a **validation set drawn from the
training distribution** — a training stream no run trains on (``VALIDATION_STREAM``), reranked
at the study's eval depth — and never looks at the study's eval sets or held-out sizes:

1. each (size, m, seed) cell fine-tunes the study's member at ``m · lr(size)`` with the study's
   own recipe (objective ``listwise`` unless told; exposure, checkpoints and batches as the
   study), and every checkpoint is scored on the validation set (NDCG@10);
2. a size's score at ``m`` is the mean validation NDCG@10 over its checkpoints and seeds: the
   area under the learning curve in log exposure (the checkpoints double), so a rate is judged
   on the whole curve the laws are fitted to, not on its last point;
3. the best rate per size, ``lr*``, is the vertex of a parabola through the best grid point and
   its two neighbours in ``log m`` (the grid point itself when it lies on the grid's edge);
4. the rule ``log lr* = log c − p · log d_model`` is fitted by least squares over the fitted
   sizes (``fit_rule``); a preset adopts it (``train.lr_width_const`` = c,
   ``train.lr_width_power`` = p) where it beats the preset's rule, so the held-out sizes, and
   any size outside the grid, get their rate from a rule, as a forecast must;
5. ``check_held_out`` runs the same cells at held-out sizes: the rule's out-of-sample test,
   never fitted on. The ``cpu-10m`` preset's sweep and check: ``docs/lr_sweep_cpu-10m/``
   (``docs/calibration.md``, stop 32: its rule is at the validation optimum at all six sizes
   and stays); the ``cpu`` preset's, on its 40M-token suite: ``docs/lr_sweep_cpu/`` (stop 37:
   the same rule is the best grid rate at every fitted size).

Runs go to ``runs/<study>-lr/`` (resumable: training resumes, evaluated checkpoints are
skipped); ``sweep_table`` gathers every evaluated checkpoint into one table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rerankscale.config import ConfigError, StudyConfig, parse_size, size_name
from rerankscale.data.synthetic.generate import VALIDATION_NAME, VALIDATION_STREAM

MULTIPLIERS = (0.5, 1.0, 2.0)
METRIC = "ndcg@10"
MIN_WIDTHS = 3  # fitted widths an objective needs before write_tables fits its rule


def validation_set(synthetic: dict | None, n_queries: int, depth: int, chunk: int = 0):
    """An ``EvalSet`` of ``n_queries`` training-distribution queries: chunk ``chunk`` of the
    validation stream, each query's BM25 top ``depth`` of that chunk's own fresh corpus, its
    one positive judged 1 (as ``synthetic/dev``). No run trains on this stream."""
    from rerankscale.data.evalsets import EvalSet
    from rerankscale.data.synthetic.config import synthetic_config
    from rerankscale.data.synthetic.generate import train_chunk

    with synthetic_config(synthetic) as cfg:
        data = train_chunk(cfg, VALIDATION_STREAM, chunk)
    if not 0 < n_queries <= len(data.queries):
        raise ConfigError(
            f"validation n_queries={n_queries}: a chunk holds {len(data.queries)} queries; "
            f"choose 1-{len(data.queries)}"
        )
    queries, qrels, candidates, docs = {}, {}, {}, {}
    for j, query in enumerate(data.queries[:n_queries]):
        queries[query.qid] = query.text
        qrels[query.qid] = {data.doc_ids[data.positives[j]]: 1}
        ranked = data.candidates[j][:depth]
        candidates[query.qid] = [
            (data.doc_ids[d], float(s)) for d, s in zip(ranked, data.scores[j][:depth])
        ]
        docs.update((data.doc_ids[d], data.texts[d]) for d in ranked)
    return EvalSet(
        dataset_id="rerankscale/synthetic/train",
        name=VALIDATION_NAME,
        queries=queries,
        qrels=qrels,
        candidates=candidates,
        docs=docs,
        rel_threshold=1,
        depth=depth,
        first_stage="bm25",
        n_queries_total=n_queries,
        info={"stream": VALIDATION_STREAM, "chunk": chunk},
    )


@dataclass(frozen=True)
class SweepCell:
    """One (size, multiplier, seed) fine-tuning run of the sweep."""

    size: str
    multiplier: float
    seed: int  # the study's seed index (``StudyConfig.cell``)

    def run_name(self, run_id: str) -> str:
        return f"{run_id}-lrx{self.multiplier:g}"


def fitted_sizes(study: StudyConfig) -> list[str]:
    """The sizes the study fits its laws on: ``sizes`` minus ``held_out``."""
    held = {size_name(s) for s in study.held_out}
    return [s for s in study.sizes if size_name(s) not in held]


def cell_config(study: StudyConfig, cell: SweepCell, objective: str):
    """The study's run config of ``cell`` with ``train.lr = multiplier · lr(size)``."""
    from rerankscale.schedule import resolve_lr

    cfg = study.cell(cell.size, objective, cell.seed)
    base = resolve_lr(cfg.train, run_shape(cfg).d_model)
    cfg.train.lr = cell.multiplier * base
    return cfg


def run_shape(cfg):
    """The shape a run of family ``scratch`` or ``suite`` builds (from its size)."""
    from rerankscale.models.shapes import shape_for
    from rerankscale.models.suite import suite_spec

    if cfg.model.family == "suite":
        return suite_spec(cfg.model.suite).shape(cfg.model.size)
    if cfg.model.family == "scratch":
        return shape_for(cfg.model.size)
    raise ConfigError(
        f"the lr sweep needs a model built from its size (family scratch or suite), not "
        f"{cfg.model.family!r}: sweep train.lr directly for a pretrained checkpoint"
    )


def _run_cell(study: StudyConfig, cell: SweepCell, objective: str, runs: str, n_val: int) -> Path:
    from rerankscale.evaluation.evaluate import evaluate_run
    from rerankscale.training.train import train

    cfg = cell_config(study, cell, objective)
    run_dir = Path(runs) / cell.run_name(cfg.run_id)
    train(cfg, run_dir, progress=False)
    es = validation_set(cfg.data.synthetic, n_val, cfg.eval.depth)
    evaluate_run(run_dir, [es], progress=False)
    return run_dir


def run_sweep(
    study: StudyConfig,
    sizes: Sequence[str] | None = None,
    multipliers: Sequence[float] = MULTIPLIERS,
    seeds: Sequence[int] = (0, 1),
    objective: str = "listwise",
    n_validation: int = 512,
    workers: int = 1,
    runs_dir: str | Path | None = None,
    progress: bool = True,
    check_held_out: bool = False,
) -> pd.DataFrame:
    """Run (or resume) every (size, multiplier, seed) cell; returns ``sweep_table``.
    ``sizes`` defaults to the study's fitted sizes. A held-out size is refused unless
    ``check_held_out``: the out-of-sample check of the fitted rule (is the rate it forecasts
    for a size it never saw the best one there?), which ``write_tables`` never fits on."""
    from tqdm.auto import tqdm

    sizes = list(sizes or fitted_sizes(study))
    held = {size_name(s) for s in study.held_out}
    if not check_held_out and any(size_name(s) in held for s in sizes):
        raise ConfigError(
            f"the lr sweep fits no held-out size ({sorted(held)}): their rate comes from the "
            "rule fitted on the other sizes; pass check_held_out (--check-held-out) to test "
            "that rule on them"
        )
    runs = Path(runs_dir or f"{study.runs_path}-lr")
    cells = [SweepCell(s, float(m), int(k)) for s in sizes for m in multipliers for k in seeds]
    cells.sort(key=lambda c: -parse_size(c.size))  # longest first
    for cell in cells:  # every config is valid before any run starts
        cell_config(study, cell, objective)
    bar = tqdm(total=len(cells), desc="lr sweep", unit="run", disable=not progress)
    if workers <= 1:
        for cell in cells:
            _run_cell(study, cell, objective, str(runs), n_validation)
            bar.update(1)
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [
                pool.submit(_run_cell, study, c, objective, str(runs), n_validation) for c in cells
            ]
            for future in as_completed(futures):
                future.result()
                bar.update(1)
    bar.close()
    return sweep_table(runs)


def sweep_table(runs_dir: str | Path) -> pd.DataFrame:
    """One row per evaluated checkpoint of the sweep's runs: size, d_model, n_layers,
    objective, seed, multiplier, lr, queries_seen and the validation metric."""
    from rerankscale.evaluation.evaluate import read_run_config
    from rerankscale.io import read_jsonl

    rows = []
    for run_dir in sorted(Path(runs_dir).glob("*-lrx*")):
        if not (run_dir / "eval" / "metrics.jsonl").exists():
            continue
        _, cfg = read_run_config(run_dir)
        shape = run_shape(cfg)
        multiplier = float(run_dir.name.rsplit("-lrx", 1)[1])
        for row in read_jsonl(run_dir / "eval" / "metrics.jsonl"):
            if row.get("eval_set") != VALIDATION_NAME:
                continue
            rows.append(
                {
                    "size": size_name(cfg.model.size),
                    "n_params": parse_size(cfg.model.size),
                    "d_model": shape.d_model,
                    "n_layers": shape.n_layers,
                    "objective": cfg.train.objective,
                    "seed": cfg.train.seed,
                    "multiplier": multiplier,
                    "lr": cfg.train.lr,
                    "queries_seen": row["queries_seen"],
                    METRIC: row[METRIC],
                    "bm25": row["first_stage"][METRIC],
                }
            )
    columns = ["size", "n_params", "d_model", "n_layers", "objective", "seed", "multiplier"]
    return pd.DataFrame(rows).sort_values([*columns, "queries_seen"], ignore_index=True)


def best_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Per (objective, size): the score (mean validation NDCG@10 over checkpoints and seeds) at
    each rate of the grid, and ``lr*``: the vertex of the parabola in ``log lr`` through the
    best grid point and its neighbours (the best grid point when it is on the grid's edge:
    ``edge`` True, and ``lr*`` is a bound, not a maximum)."""
    out = []
    for (objective, size), group in table.groupby(["objective", "n_params"], sort=True):
        scores = group.groupby("multiplier")[METRIC].mean().sort_index()
        lrs = group.groupby("multiplier")["lr"].first().loc[scores.index]
        x, values = np.log(lrs.to_numpy(float)), scores.to_numpy(float)
        i = int(np.argmax(values))
        edge = i in (0, len(values) - 1)
        log_best = x[i] if edge else _vertex(x[i - 1 : i + 2], values[i - 1 : i + 2])
        first = group.iloc[0]
        out.append(
            {
                "objective": objective,
                "size": first["size"],
                "n_params": int(size),
                "d_model": int(first["d_model"]),
                "n_layers": int(first["n_layers"]),
                "lr_rule": float(lrs.loc[1.0]) if 1.0 in lrs.index else float("nan"),
                **{f"score@x{m:g}": v for m, v in scores.items()},
                "lr_grid_best": float(lrs.iloc[i]),
                "lr_star": float(math.exp(log_best)),
                "edge": bool(edge),
            }
        )
    return pd.DataFrame(out)


def _vertex(x: np.ndarray, y: np.ndarray) -> float:
    """The maximiser of the parabola through three points (x ascending, the middle highest)."""
    a, b, _ = np.polyfit(x, y, 2)
    return float(-b / (2 * a)) if a < 0 else float(x[1])


def fit_rule(best: pd.DataFrame, by: str = "d_model") -> dict[str, float]:
    """Least squares of ``log lr* = log c − p · log x`` over the sizes (``x = d_model`` or
    ``n_params``): returns ``{"c": c, "p": p}``."""
    x, y = np.log(best[by].to_numpy(float)), np.log(best["lr_star"].to_numpy(float))
    if len(np.unique(x)) < 2:
        raise ConfigError(f"the lr rule needs ≥ 2 distinct {by} values, got {len(np.unique(x))}")
    slope, intercept = np.polyfit(x, y, 1)
    return {"c": float(math.exp(intercept)), "p": float(-slope)}


def write_tables(
    table: pd.DataFrame, folder: str | Path, fit_sizes: Sequence[str]
) -> tuple[Path, pd.DataFrame, dict]:
    """Write ``lr_sweep.csv`` (every checkpoint), ``lr_best.csv`` (``best_rates``, with
    ``fitted``: whether the size is one of ``fit_sizes``, and ``lr_fitted_rule``: the fitted
    rule's rate at its width) and ``lr_rule.json`` (``fit_rule`` per objective swept at
    ≥ ``MIN_WIDTHS`` fitted widths: two points fix a line but do not test it) and
    ``lr_sweep_scores.png``/``.pdf``/``.csv`` (``plots.plot_lr_sweep``) into ``folder``;
    returns the folder, the best rates and the rules."""
    from rerankscale.io import atomic_write_json
    from rerankscale.reporting.plots import plot_lr_sweep, save_figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    best = best_rates(table)
    best["fitted"] = best["size"].isin({size_name(s) for s in fit_sizes})
    rules = {
        objective: fit_rule(group[group["fitted"]])
        for objective, group in best.groupby("objective")
        if group.loc[group["fitted"], "d_model"].nunique() >= MIN_WIDTHS
    }
    best["lr_fitted_rule"] = [
        rules[o]["c"] / d ** rules[o]["p"] if o in rules else float("nan")
        for o, d in zip(best["objective"], best["d_model"])
    ]
    table.to_csv(folder / "lr_sweep.csv", index=False)  # full precision: rebuilds ``best``
    best.to_csv(folder / "lr_best.csv", index=False, float_format="%.6g")
    atomic_write_json(folder / "lr_rule.json", rules)
    save_figure(plot_lr_sweep(best, rules.get("listwise")), None, folder, "lr_sweep_scores")
    return folder, best, rules
