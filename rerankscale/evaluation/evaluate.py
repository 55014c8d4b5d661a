"""Evaluate cross-encoder checkpoints: rerank, metrics, contrastive entropy, metrics rows.

The pieces live in small modules and are re-exported here (the contract of
``docs/architecture.md``):

- ``rerank``        scoring with cached token ids and length-sorted batches (``rerank.py``);
- ``compute_metrics``, ``first_stage_metrics`` (``metrics.py``), ``contrastive_entropy``
  (``contrastive.py``);
- TREC run files (``runfile.py``), paired significance tests (``significance.py``).

This module adds ``evaluate_model`` (one model in memory on one eval set) and
``evaluate_run`` (every checkpoint of a run directory on every eval set of its config).

Run directory outputs::

    run_dir/eval/metrics.jsonl                    one row per (checkpoint, eval set)
    run_dir/eval/<eval_set>/q<queries:09d>.run.gz TREC run of that checkpoint (tie-free)
    run_dir/eval/<eval_set>/first_stage.run.gz    the candidate ranking itself (all judged queries)

Every file is written atomically (``rerankscale.io``): the run file first, then the metrics row,
so a killed evaluation leaves complete lines and files only and a restart evaluates exactly the
(checkpoint, eval set) pairs that have no row yet. A lock file serialises evaluations of one run.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from rerankscale.caches import LRU, file_lock
from rerankscale.config import ConfigError, EvalConfig, RunConfig
from rerankscale.evaluation.contrastive import contrastive_entropy, stable_hash
from rerankscale.evaluation.metrics import (
    METRICS,
    EvalError,
    EvalSetError,
    QueryMismatchError,
    RunFileError,
    compute_metrics,
    first_stage_metrics,
    first_stage_run,
    frozen_metrics,
    judged_queries,
    rel_threshold_of,
    tie_free_run,
    validate_eval_set,
)
from rerankscale.evaluation.rerank import RerankError, clear_encoder_cache, pair_encoder, rerank
from rerankscale.evaluation.results import CHECKPOINT_COLUMNS
from rerankscale.evaluation.runfile import read_trec_run, write_trec_run
from rerankscale.evaluation.significance import compare_run_files, compare_runs, paired_tests
from rerankscale.io import append_jsonl, read_jsonl

__all__ = [
    "METRICS",
    "EvalError",
    "EvalSetError",
    "QueryMismatchError",
    "RerankError",
    "RunFileError",
    "EvalResult",
    "rerank",
    "compute_metrics",
    "contrastive_entropy",
    "first_stage_metrics",
    "first_stage_run",
    "frozen_metrics",
    "tie_free_run",
    "evaluate_model",
    "evaluate_run",
    "get_eval_set",
    "run_eval_sets",
    "clear_eval_set_cache",
    "clear_encoder_cache",
    "pair_encoder",
    "subset_queries",
    "read_trec_run",
    "write_trec_run",
    "paired_tests",
    "compare_runs",
    "compare_run_files",
]


# ----------------------------------------------------------------------------- one model


@dataclass
class EvalResult:
    """What ``evaluate_model`` returns.

    ``metrics``: aggregate metrics plus ``ce@k``; ``per_query``: DataFrame (index qid) with the
    same columns (``ce@k`` is NaN for the queries CE excludes); ``run``: raw logits per query in
    first-stage order; ``ce``: CE bookkeeping (counts of excluded queries)."""

    metrics: dict[str, float | None]
    per_query: pd.DataFrame
    frozen_metrics: list[str]
    n_queries: int
    ce: dict[str, Any]
    run: dict[str, dict[str, float]]
    pairs: int
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


def evaluate_model(
    model: Any,
    tokenizer: Any,
    eval_set: Any,
    cfg: EvalConfig | None = None,
    qids: Sequence[str] | None = None,
    max_length: int = 128,
    encoder: Any = None,
    progress: bool = False,
    engine: str = "auto",
) -> EvalResult:
    """Rerank ``eval_set`` (its top ``cfg.depth`` candidates) with a model in memory and score it.

    ``qids`` restricts the evaluation to those judged queries (default: all judged queries).
    Metrics follow ``metrics.compute_metrics`` with the binary threshold ``cfg.rel_threshold``
    or the eval set's own; CE@k (``cfg.ce_k`` negatives, ``cfg.seed``) follows
    ``contrastive.contrastive_entropy`` on the raw logits."""
    cfg = cfg or EvalConfig()
    validate_eval_set(eval_set)
    depth = min(cfg.depth, eval_set.depth or cfg.depth)  # lists are never longer than either
    threshold = rel_threshold_of(eval_set, cfg.rel_threshold)
    judged = set(judged_queries(eval_set))
    qids = sorted(judged) if qids is None else sorted(set(qids))
    unjudged = [q for q in qids if q not in judged]
    if unjudged:
        raise QueryMismatchError(
            f"{len(unjudged)} requested queries have no relevance judgments in eval set "
            f"{eval_set.name!r} (e.g. {unjudged[0]!r}); evaluate judged queries only"
        )
    if not qids:
        raise EvalSetError(f"no query to evaluate in eval set {eval_set.name!r}")
    start = time.perf_counter()
    run = rerank(
        model,
        tokenizer,
        eval_set,
        batch_size=cfg.batch_size,
        bf16=cfg.bf16,
        max_length=max_length,
        qids=qids,
        depth=depth,
        encoder=encoder,
        progress=progress,
        engine=engine,
    )
    seconds = time.perf_counter() - start
    qrels = {q: eval_set.qrels[q] for q in qids}
    aggregate, per_query = compute_metrics(qrels, run, depth, threshold)
    candidates = {q: list(eval_set.candidates.get(q, []))[:depth] for q in qids}
    ce = contrastive_entropy(run, qrels, candidates, cfg.ce_k, cfg.seed, threshold)
    name = f"ce@{cfg.ce_k}"
    per_query[name] = pd.Series(ce.pop("per_query"), dtype="float64").reindex(per_query.index)
    aggregate[name] = ce[name]
    pairs = sum(len(docs) for docs in run.values())
    return EvalResult(
        metrics=aggregate,
        per_query=per_query,
        frozen_metrics=frozen_metrics(depth),
        n_queries=len(qids),
        ce=ce,
        run=run,
        pairs=pairs,
        seconds=seconds,
        info={
            "depth": depth,
            "rel_threshold": threshold,
            "ce_k": cfg.ce_k,
            "seed": cfg.seed,
            "bf16": cfg.bf16,
            "batch_size": cfg.batch_size,
            "max_length": max_length,
        },
    )


# ----------------------------------------------------------------------------- eval sets

_EVAL_SETS = LRU(8)


def get_eval_set(
    dataset_id: str,
    depth: int,
    max_queries: int | None = None,
    seed: int = 0,
    bm25_k1: float = 0.9,
    bm25_b: float = 0.4,
    synthetic: dict | None = None,
    progress: bool = False,
) -> Any:
    """``data.load_eval_set`` behind a process-wide cache (8 most recent sets), so the
    checkpoints of a run — and the runs of a sweep in one process — load each set once.
    ``synthetic`` is ``DataConfig.synthetic`` (task overrides; part of the cache key)."""
    key = (
        dataset_id,
        int(depth),
        max_queries,
        int(seed),
        float(bm25_k1),
        float(bm25_b),
        json.dumps(synthetic or {}, sort_keys=True, default=str),
    )
    from rerankscale.data import load_eval_set  # noqa: PLC0415

    return _EVAL_SETS.get(
        key,
        lambda: load_eval_set(
            dataset_id,
            depth=depth,
            max_queries=max_queries,
            seed=seed,
            bm25_k1=bm25_k1,
            bm25_b=bm25_b,
            synthetic=synthetic or None,
            progress=progress,
        ),
    )


def clear_eval_set_cache() -> None:
    _EVAL_SETS.clear()


def subset_queries(eval_set: Any, n: int | None, seed: int = 0) -> list[str]:
    """A fixed, seeded subset of ``n`` judged queries (sorted), or all of them when ``n`` is
    None or not smaller. Queries are ranked by ``stable_hash(seed, "subset", qid)``, so the
    subset is the same in every process and the subset of n is contained in that of n' > n."""
    qids = judged_queries(eval_set)
    if n is None or n >= len(qids):
        return qids
    if n <= 0:
        raise ConfigError(f"eval.subset_queries must be positive or null, got {n}")
    return sorted(sorted(qids, key=lambda q: (stable_hash(seed, "subset", q), q))[:n])


def _at_depth(eval_set: Any, depth: int) -> Any:
    """The eval set with every candidate list cut to ``depth`` (a shallow copy if needed)."""
    if all(len(c) <= depth for c in eval_set.candidates.values()) and eval_set.depth <= depth:
        return eval_set
    view = copy.copy(eval_set)
    view.candidates = {q: list(c)[:depth] for q, c in eval_set.candidates.items()}
    view.depth = min(eval_set.depth, depth)
    return view


def _dir_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "eval_set"


# ----------------------------------------------------------------------------- a run directory


def read_run_config(run_dir: Path) -> tuple[str, RunConfig]:
    """A run directory's ``(run_id, RunConfig)`` from its ``config.json``; ``EvalError`` when
    the folder is not a run directory."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise EvalError(
            f"{run_dir} has no config.json: it is not a run directory (train it first "
            "with rerankscale.training.train.train)"
        )
    try:
        info = json.loads(path.read_text())
        cfg = RunConfig.from_dict(info["config"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise EvalError(
            f"{path} is not a run config ({err!r}); it must hold "
            '{"run_id": ..., "config": RunConfig.to_dict()}'
        ) from err
    return info.get("run_id") or cfg.run_id, cfg


def run_eval_sets(
    cfg: RunConfig, eval_sets: Iterable[Any] | None = None, progress: bool = False
) -> list[Any]:
    """The eval sets exactly as a run of ``cfg`` is evaluated on: ``eval_sets`` (dataset ids or
    ``EvalSet`` objects; default ``cfg.data.eval_sets``) loaded through the eval-set cache with
    the run's depth, query cap, seed, BM25 and synthetic settings, cut to ``cfg.eval.depth``
    and validated. Short names must be distinct (they name run-file folders)."""
    items = list(cfg.data.eval_sets if eval_sets is None else eval_sets)
    if not items:
        raise EvalSetError("no eval set to evaluate on: set data.eval_sets in the run config")
    out = []
    for item in items:
        if isinstance(item, str):
            item = get_eval_set(
                item,
                depth=cfg.eval.depth,
                max_queries=cfg.data.max_eval_queries,
                seed=cfg.eval.seed,
                bm25_k1=cfg.data.bm25_k1,
                bm25_b=cfg.data.bm25_b,
                synthetic=cfg.data.synthetic,
                progress=progress,
            )
        validate_eval_set(item)
        out.append(_at_depth(item, cfg.eval.depth))
    dirs = [_dir_name(e.name) for e in out]
    dup = sorted({e.name for e, d in zip(out, dirs) if dirs.count(d) > 1})
    if dup:
        raise EvalSetError(
            f"eval sets share the short name(s) {dup}; their rows and run files "
            "would collide — give each eval set a distinct name"
        )
    return out


def _full_checkpoints(
    checkpoints: list[tuple[Path, dict]], cfg: RunConfig, finished: bool
) -> set[int]:
    """queries_seen of the checkpoints evaluated on the full set (the rest get the subset)."""
    if cfg.eval.full_eval not in ("last", "all"):
        raise ConfigError(f"eval.full_eval={cfg.eval.full_eval!r}; choose 'last' or 'all'")
    seen = [exp["queries_seen"] for _, exp in checkpoints]
    if cfg.eval.full_eval == "all":
        return set(seen)
    full = {q for q in seen if q >= cfg.train.max_queries}
    if finished and seen:
        full.add(max(seen))
    return full


@contextlib.contextmanager
def _locked(eval_dir: Path):
    with file_lock(eval_dir / ".lock"):  # a second evaluation of this run waits here
        for stale in eval_dir.rglob(".*.tmp"):  # left by a killed writer; safe under the lock
            stale.unlink(missing_ok=True)
        yield


def _scalar(value: Any) -> Any:
    return None if value is None or value != value else float(value)  # NaN → None (valid JSON)


def _row(
    run_id: str,
    ckpt: Path,
    exposure: dict,
    eval_set: Any,
    subset: bool,
    result: EvalResult,
    first_stage: dict,
    run_file: Path,
    run_dir: Path,
) -> dict[str, Any]:
    ce = result.ce
    return {
        "run_id": run_id,
        "checkpoint": ckpt.name,
        **{c: exposure.get(c) for c in CHECKPOINT_COLUMNS},
        "eval_set": eval_set.name,
        "dataset_id": eval_set.dataset_id,
        "subset": subset,
        "n_queries": result.n_queries,
        **{m: _scalar(v) for m, v in result.metrics.items()},
        "frozen_metrics": result.frozen_metrics,
        "ce_excluded": ce["n_no_positive"] + ce["n_no_negative"],
        "seconds": round(result.seconds, 3),
        "first_stage": {m: _scalar(v) for m, v in first_stage.items()},
        "eval": {
            **result.info,
            "pairs": result.pairs,
            "pairs_per_second": round(result.pairs / max(result.seconds, 1e-9), 1),
            "ce_n_queries": ce["n_queries"],
            "ce_n_no_positive": ce["n_no_positive"],
            "ce_n_no_negative": ce["n_no_negative"],
            "ce_n_short": ce["n_short"],
            "run_file": str(run_file.relative_to(run_dir)),
        },
    }


def evaluate_run(
    run_dir: str | Path,
    eval_sets: Iterable[Any] | None = None,
    progress: bool = True,
    device: str | None = None,
) -> pd.DataFrame:
    """Evaluate every checkpoint of a run on every eval set; append rows to ``eval/metrics.jsonl``.

    Args:
        run_dir: a run directory (``config.json`` with ``{"run_id", "config"}`` and
            ``checkpoints/q<queries:09d>/`` holding a model, tokenizer and ``exposure.json``).
        eval_sets: dataset ids or ``EvalSet`` objects; default ``config.data.eval_sets``,
            loaded at ``eval.depth`` through the eval-set cache.
        device: where to run the model (default: ``cuda`` when available, else ``cpu``).

    Intermediate checkpoints are evaluated on the seeded subset of ``eval.subset_queries``
    judged queries; the final checkpoint (``queries_seen ≥ train.max_queries``, or the last one
    of a finished run) — or every checkpoint when ``eval.full_eval == "all"`` — on all of them.
    A (checkpoint, eval set) that already has a row is skipped. Each row holds ``run_id``,
    ``checkpoint``, the exposure columns, ``eval_set``, ``subset``, ``n_queries``, every metric
    and ``ce@k``, ``frozen_metrics``, ``ce_excluded``, ``seconds``, ``first_stage`` (the same
    metrics of the candidate ranking on the same queries) and ``eval`` (settings, throughput).

    Returns every row of the run's ``metrics.jsonl`` (old and new) as a DataFrame.
    """
    import torch  # noqa: PLC0415

    from rerankscale.models.crossencoder import load_model  # noqa: PLC0415
    from rerankscale.training.checkpoint import list_checkpoints, read_status  # noqa: PLC0415

    run_dir = Path(run_dir)
    run_id, cfg = read_run_config(run_dir)
    eval_cfg = cfg.eval
    sets = run_eval_sets(cfg, eval_sets, progress)
    checkpoints = list_checkpoints(run_dir)
    full = _full_checkpoints(checkpoints, cfg, bool(read_status(run_dir).get("finished")))
    eval_dir = run_dir / "eval"
    metrics_path = eval_dir / "metrics.jsonl"
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    threads = torch.get_num_threads()
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    try:
        with _locked(eval_dir):
            done = {(r.get("queries_seen"), r.get("eval_set")) for r in read_jsonl(metrics_path)}
            todo = [
                (path, exp, es)
                for path, exp in checkpoints
                for es in sets
                if (exp["queries_seen"], es.name) not in done
            ]
            baseline_cache: dict[tuple[str, bool], dict] = {}
            for es in sets:
                path = eval_dir / _dir_name(es.name) / "first_stage.run.gz"
                if not path.exists():
                    write_trec_run(path, first_stage_run(es), tag="first_stage")
            current, model, tokenizer = None, None, None
            for path, exposure, es in tqdm(
                todo, desc=f"evaluate {run_id}", unit="eval", disable=not progress
            ):
                if path != current:
                    model = tokenizer = None  # free the previous checkpoint first
                    model, tokenizer = load_model(path)
                    model, current = model.to(device), path
                is_full = exposure["queries_seen"] in full
                qids = subset_queries(
                    es, None if is_full else eval_cfg.subset_queries, eval_cfg.seed
                )
                subset = len(qids) < len(judged_queries(es))
                result = evaluate_model(
                    model,
                    tokenizer,
                    es,
                    eval_cfg,
                    qids=qids,
                    max_length=cfg.model.max_length,
                    progress=progress,
                    engine=cfg.model.engine,
                )
                key = (es.name, subset)
                if key not in baseline_cache:
                    baseline_cache[key] = first_stage_metrics(
                        es,
                        qids=qids,
                        rel_threshold=eval_cfg.rel_threshold,
                        depth=min(eval_cfg.depth, es.depth),
                    )["metrics"]
                run_file = eval_dir / _dir_name(es.name) / f"{path.name}.run.gz"
                write_trec_run(run_file, result.run, tag=f"{run_id}.{path.name}")
                append_jsonl(
                    metrics_path,
                    [
                        _row(
                            run_id,
                            path,
                            exposure,
                            es,
                            subset,
                            result,
                            baseline_cache[key],
                            run_file,
                            run_dir,
                        )
                    ],
                )
    finally:
        torch.set_num_threads(threads)
    return pd.DataFrame(read_jsonl(metrics_path))
