"""Dataset statistics and the first-stage baseline of a study (notebook 01, T0 and T1).

The baseline is the first-stage ranking itself scored with the reranker's metrics on the same
query set, so every table can show the reranker's gain over it.
"""

from __future__ import annotations

import statistics
from itertools import islice
from pathlib import Path

import pandas as pd

from rerankscale.config import RunConfig, StudyConfig, load_preset
from rerankscale.io import atomic_write_text
from rerankscale.reporting.artifacts import writable

__all__ = [
    "load_preset",
    "dataset_statistics",
    "example_records",
    "first_stage_table",
    "first_stage_by_eval_set",
    "save_first_stage",
    "summarize",
    "SUMMARY_COLUMNS",
]

SUMMARY_COLUMNS = [
    "eval_set",
    "step",
    "queries_seen",
    "subset",
    "n_queries",
    "ndcg@10",
    "mrr@10",
    "map",
    "recall@10",
]
FIRST_STAGE_FILE = "T0_first_stage.csv"


def _eval_set(cfg: RunConfig, dataset_id: str):
    """The eval set exactly as a run of ``cfg`` is evaluated on (same queries and depth)."""
    from rerankscale.evaluation.evaluate import run_eval_sets

    return run_eval_sets(cfg, [dataset_id])[0]


def _words(text: str) -> int:
    return len(text.split())


def dataset_statistics(study: StudyConfig, n_train_groups: int = 200) -> pd.DataFrame:
    """One row per dataset of the study: queries, judgments, candidates and lengths (words)."""
    from rerankscale.data import training_groups

    cfg = study.base
    rows = []
    groups = list(
        islice(
            training_groups(
                cfg.data.train_dataset, cfg.data.n_negatives, seed=0, max_queries=n_train_groups
            ),
            n_train_groups,
        )
    )
    rows.append(
        {
            "dataset": cfg.data.train_dataset,
            "role": "train",
            "queries": f"{len(groups)} sampled",
            "docs_per_query": statistics.mean(len(g.docs) for g in groups),
            "relevant_per_query": statistics.mean(
                sum(1 for x in g.labels if x > 0) for g in groups
            ),
            "query_words": statistics.mean(_words(g.query) for g in groups),
            "passage_words": statistics.mean(_words(d) for g in groups for d in g.docs),
        }
    )
    for dataset_id in cfg.data.eval_sets:
        es = _eval_set(cfg, dataset_id)
        judged = [len(j) for j in es.qrels.values()]
        relevant = [sum(1 for r in j.values() if r >= es.rel_threshold) for j in es.qrels.values()]
        grades = pd.Series([r for j in es.qrels.values() for r in j.values()]).value_counts()
        docs = {d for c in es.candidates.values() for d, _ in c}
        rows.append(
            {
                "dataset": dataset_id,
                "role": f"eval ({es.name})",
                "queries": len(es.queries),
                "docs_per_query": statistics.mean(len(c) for c in es.candidates.values()),
                "judged_per_query": statistics.mean(judged),
                "relevant_per_query": statistics.mean(relevant),
                "grades": ", ".join(f"{g}:{n}" for g, n in sorted(grades.items())),
                "rel_threshold": es.rel_threshold,
                "query_words": statistics.mean(_words(q) for q in es.queries.values()),
                "passage_words": statistics.mean(_words(es.docs[d]) for d in docs),
            }
        )
    return pd.DataFrame(rows)


def example_records(study: StudyConfig, n: int = 3) -> pd.DataFrame:
    """The first ``n`` training groups: query, positive and one hard negative."""
    from rerankscale.data import training_groups

    cfg = study.base
    groups = islice(training_groups(cfg.data.train_dataset, cfg.data.n_negatives, seed=0), n)
    return pd.DataFrame(
        [
            {"qid": g.qid, "query": g.query, "positive": g.docs[0], "negative": g.docs[1]}
            for g in groups
        ]
    )


def first_stage_table(study: StudyConfig) -> pd.DataFrame:
    """First-stage metrics per eval set, on the query set the rerankers are evaluated on."""
    from rerankscale.evaluation.evaluate import first_stage_metrics

    rows = []
    for dataset_id in study.base.data.eval_sets:
        es = _eval_set(study.base, dataset_id)
        result = first_stage_metrics(es)
        rows.append(
            {
                "eval_set": es.name,
                "dataset": dataset_id,
                "n_queries": result["n_queries"],
                **result["metrics"],
            }
        )
    return pd.DataFrame(rows)


def first_stage_by_eval_set(cfg: RunConfig) -> dict[str, dict[str, float]]:
    """{eval set name: {metric: first-stage value}} for a run's eval sets."""
    from rerankscale.evaluation.evaluate import first_stage_metrics

    out = {}
    for dataset_id in cfg.data.eval_sets:
        es = _eval_set(cfg, dataset_id)
        out[es.name] = first_stage_metrics(es)["metrics"]
    return out


def save_first_stage(table: pd.DataFrame, figures_dir: str | Path | None) -> Path | None:
    """Write ``T0_first_stage.csv`` to ``figures_dir`` (nothing when it is None)."""
    if figures_dir is None:
        return None
    path = writable(figures_dir) / FIRST_STAGE_FILE
    atomic_write_text(path, table.to_csv(index=False, float_format="%.6g"))
    return path


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """The headline columns of a run's metrics (plus its contrastive entropy column)."""
    ce = [c for c in metrics.columns if c.startswith("ce@")]
    return metrics[[c for c in SUMMARY_COLUMNS + ce if c in metrics]]
