"""Where a reranker's quality comes from: per-query metrics binned by the popularity of the
query's relation in the synthetic world.

A synthetic query asks for one (entity, relation) fact, and relation ``r`` (0 = the most
popular) is asked, and stated in the pretraining collection, with probability
``∝ (r + 1)^−zipf_qrel``. A reranker ranks a query well only if it knows the mapping from the
query's wording of its relation to the passages' (BM25 cannot match them: the two registers
share no word), and it learns that mapping from how often the relation occurs. Binning
per-query NDCG@10 by ``r`` therefore shows where a model's knowledge ends: the head is solved,
a band near the frontier separates models, and beyond it a reranker is at BM25's level
(``docs/calibration.md``, stops 31 and 33).

    relations = query_relations(eval_set, study.base.data.synthetic)
    band_table({"BM25": first_stage_path, "640k": checkpoint_path}, eval_set, relations)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rerankscale.config import ConfigError

# relation-rank bands [lo, hi) (hi None: to the last relation), about half a decade each
BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 10),
    (10, 30),
    (30, 100),
    (100, 300),
    (300, 1000),
    (1000, None),
)
SYNTHETIC_SETS = ("synthetic-dev", "synthetic-trec", "synthetic-validation")


def band_label(lo: int, hi: int | None) -> str:
    """``"30-99"`` for [30, 100), ``"1000+"`` for [1000, ∞)."""
    return f"{lo}+" if hi is None else f"{lo}-{hi - 1}"


def query_relations(eval_set, synthetic: Mapping | None = None) -> dict[str, int]:
    """``{qid: relation rank}`` of the queries a synthetic ``EvalSet`` (``SYNTHETIC_SETS``; the
    validation set's stream chunk from its ``info``) draws from the world ``synthetic`` (a
    ``DataConfig.synthetic`` override dict; None: the default world)."""
    from rerankscale.data.synthetic.config import synthetic_config
    from rerankscale.data.synthetic.generate import (
        VALIDATION_NAME,
        VALIDATION_STREAM,
        generate_eval,
        train_chunk,
    )

    name = eval_set.name
    if name not in SYNTHETIC_SETS:
        raise ConfigError(
            f"relation bands need a synthetic eval set, not {name!r}; choose one of "
            f"{', '.join(SYNTHETIC_SETS)}"
        )
    with synthetic_config(dict(synthetic or {})) as cfg:
        if name == VALIDATION_NAME:
            chunk = eval_set.info.get("chunk", 0)
            queries = train_chunk(cfg, VALIDATION_STREAM, chunk).queries
        else:
            data = generate_eval(cfg)
            queries = data.dev if name == "synthetic-dev" else data.trec
    return {q.qid: int(q.relation) for q in queries}


def band_table(
    runs: Mapping[str, str | Path | Mapping[str, Mapping[str, float]]],
    eval_set,
    relations: Mapping[str, int],
    metric: str = "ndcg@10",
    bands: Sequence[tuple[int, int | None]] = BANDS,
) -> pd.DataFrame:
    """Mean ``metric`` per relation band, one row per run.

    Args:
        runs: ``{label: run}``, a run being a TREC run file (``run_dir/eval/<set>/*.run.gz``)
            or ``{qid: {docid: score}}``; each is scored on the queries it ranks.
        eval_set: the ``EvalSet`` the runs rank (qrels, depth, relevance threshold).
        relations: ``query_relations(eval_set, …)``; every scored query must have one.
        metric: a metric name of ``evaluation.metrics``.
        bands: ``[lo, hi)`` relation ranks (hi None: unbounded).

    Returns:
        A DataFrame indexed by label with columns ``all`` and one per band (``band_label``); a
        band no scored query falls in is NaN. ``attrs["queries"]`` holds the first run's
        query count per column.
    """
    from rerankscale.evaluation.metrics import compute_metrics, rel_threshold_of
    from rerankscale.evaluation.runfile import read_trec_run

    threshold = rel_threshold_of(eval_set)
    rows, counts = {}, None
    for label, run in runs.items():
        if not isinstance(run, Mapping):
            run = read_trec_run(run, eval_set.queries)
        qrels = {q: eval_set.qrels[q] for q in run if q in eval_set.qrels}
        missing = sorted(set(qrels) - set(relations))
        if missing:
            raise ConfigError(
                f"run {label!r}: {len(missing)} queries (e.g. {missing[0]}) have no relation "
                "rank; build relations with query_relations(<this eval set>, <the study's "
                "synthetic world>)"
            )
        _, per_query = compute_metrics(qrels, run, eval_set.depth, threshold, [metric])
        values = per_query[metric]
        ranks = np.array([relations[q] for q in values.index])
        row = {"all": float(values.mean())}
        column_counts = {"all": len(values)}
        for lo, hi in bands:
            inside = (ranks >= lo) & (ranks < (hi if hi is not None else np.inf))
            name = band_label(lo, hi)
            row[name] = float(values[inside].mean()) if inside.any() else float("nan")
            column_counts[name] = int(inside.sum())
        rows[label] = row
        counts = counts or column_counts
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "run"
    table.attrs["queries"] = counts
    return table


__all__ = ["BANDS", "SYNTHETIC_SETS", "band_label", "band_table", "query_relations"]
