"""Materialise the synthetic splits: eval files on disk, training chunks in memory.

Evaluation (``dev`` and ``trec``) shares one fixed corpus drawn with the stream
``("eval-corpus", seed)``; its files are written once per config under
``$IR_DATASETS_HOME/rerankscale/synthetic/<config_hash>/`` in the formats ir_datasets reads for
MS MARCO (so the same ``TsvDocs``/``TsvQueries``/``TrecQrels``/``TrecScoredDocs`` classes serve
them)::

    docs.tsv                      doc_id <TAB> text
    dev/queries.tsv, trec/...     query_id <TAB> text
    dev/qrels, trec/qrels         query_id 0 doc_id relevance
    dev/bm25.run, trec/bm25.run   query_id Q0 doc_id rank score rerankscale-bm25   (top first_stage_depth)
    meta.json                     config, counts, generator version (written last: completeness mark)

Training chunk ``c`` of training stream ``s`` is a fresh corpus drawn with
``("train-chunk", seed, s, c)`` plus ``queries_per_chunk`` queries and their BM25 top
``train_candidate_depth``; ids are prefixed ``c{c:06d}-`` (docs ``c000003-D00042``, queries
``c000003-q0007``). A chunk is generated on first use and memoised on disk
(``train/s<stream>/c<chunk>.npz`` under the config folder), so the runs of a sweep share it.
"""

from __future__ import annotations

import io
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...io import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..bm25 import BM25Index, topk_matrix
from ..home import cache_dir
from ..seeding import rng, stable_seed
from .config import GENERATOR_VERSION, SyntheticConfig
from .corpus import Corpus, Query, generate_corpus, related_count, sample_queries, trec_judgments
from .world import World, build_world

RUN_TAG = "rerankscale-bm25"


def first_stage(
    world: World, corpus: Corpus, queries: list[Query], depth: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """BM25 (whole words, fillers dropped) top ``depth`` (doc indices, scores) per query."""
    cfg = world.cfg
    index = BM25Index.build(corpus.doc_ids, world.analyzer(corpus.texts), cfg.bm25_k1, cfg.bm25_b)
    out = []
    batch = 1024
    for start in range(0, len(queries), batch):
        part = queries[start : start + batch]
        scores = index.score(world.analyzer([q.text for q in part]))
        seeds = np.array([stable_seed("bm25-ties", q.qid) for q in part], dtype=np.uint64)
        idx, sc = topk_matrix(scores, depth, seeds)
        out.extend(zip(idx, sc))
    return out


# --------------------------------------------------------------------------- eval splits


@dataclass
class EvalData:
    corpus: Corpus
    dev: list[Query]
    trec: list[Query]
    trec_grades: list[dict[int, int]]
    dev_run: list[tuple[np.ndarray, np.ndarray]]
    trec_run: list[tuple[np.ndarray, np.ndarray]]


def generate_eval(cfg: SyntheticConfig) -> EvalData:
    world = build_world(cfg)
    corpus = generate_corpus(world, rng("eval-corpus", cfg.seed))
    unique = cfg.eval_unique_facts
    dev = sample_queries(
        world, corpus, rng("dev-queries", cfg.seed), cfg.dev_queries, "dev-{:05d}", unique=unique
    )
    trec = sample_queries(
        world,
        corpus,
        rng("trec-queries", cfg.seed),
        cfg.trec_queries,
        "trec-{:04d}",
        unique=unique,
        exclude={(q.entity, q.relation) for q in dev} if unique else None,
        accept=lambda e, rel: related_count(world, corpus, e, rel) >= cfg.trec_min_related,
    )
    judge_rng = rng("trec-judgments", cfg.seed)
    grades = [trec_judgments(world, corpus, q, judge_rng) for q in trec]
    return EvalData(
        corpus,
        dev,
        trec,
        grades,
        first_stage(world, corpus, dev, cfg.first_stage_depth),
        first_stage(world, corpus, trec, cfg.first_stage_depth),
    )


def eval_dir(cfg: SyntheticConfig) -> Path:
    return cache_dir("synthetic", cfg.hash)


def _run_lines(queries: list[Query], run, doc_ids: list[str]) -> str:
    lines = []
    for q, (idx, scores) in zip(queries, run):
        for rank, (i, s) in enumerate(zip(idx.tolist(), scores.tolist()), start=1):
            lines.append(f"{q.qid} Q0 {doc_ids[i]} {rank} {s:.6f} {RUN_TAG}")
    return "\n".join(lines) + "\n"


def ensure_eval_files(cfg: SyntheticConfig) -> Path:
    """Generate the eval files for ``cfg`` unless complete; returns their folder.

    Every file is written atomically and ``meta.json`` last, so a killed generation leaves no
    folder that looks complete; concurrent processes write identical bytes.
    """
    folder = eval_dir(cfg)
    if (folder / "meta.json").is_file():
        return folder
    t0 = time.perf_counter()
    data = generate_eval(cfg)
    ids = data.corpus.doc_ids
    atomic_write_text(
        folder / "docs.tsv", "".join(f"{d}\t{t}\n" for d, t in zip(ids, data.corpus.texts))
    )
    for split, queries, run in (
        ("dev", data.dev, data.dev_run),
        ("trec", data.trec, data.trec_run),
    ):
        atomic_write_text(
            folder / split / "queries.tsv", "".join(f"{q.qid}\t{q.text}\n" for q in queries)
        )
        atomic_write_text(folder / split / "bm25.run", _run_lines(queries, run, ids))
    atomic_write_text(
        folder / "dev" / "qrels",
        "".join(
            f"{q.qid} 0 {ids[data.corpus.fact_doc[(q.entity, q.relation)]]} 1\n" for q in data.dev
        ),
    )
    atomic_write_text(
        folder / "trec" / "qrels",
        "".join(
            f"{q.qid} 0 {ids[d]} {g}\n"
            for q, grades in zip(data.trec, data.trec_grades)
            for d, g in sorted(grades.items())
        ),
    )
    atomic_write_json(
        folder / "meta.json",
        {
            "generator_version": GENERATOR_VERSION,
            "config_hash": cfg.hash,
            "config": cfg.to_dict(),
            "overrides": cfg.overrides(),
            "n_docs": len(ids),
            "n_dev_queries": len(data.dev),
            "n_trec_queries": len(data.trec),
            "n_trec_qrels": sum(len(g) for g in data.trec_grades),
            "generation_seconds": round(time.perf_counter() - t0, 3),
        },
    )
    return folder


# --------------------------------------------------------------------------- training chunks


@dataclass
class TrainChunk:
    index: int
    doc_ids: list[str]
    texts: list[str]
    queries: list[Query]
    positives: list[int]  # query -> relevant doc index
    candidates: np.ndarray  # [n_queries, depth] doc indices, BM25 rank order
    scores: np.ndarray  # [n_queries, depth] BM25 scores


def _make_chunk(cfg: SyntheticConfig, stream: int, chunk: int) -> TrainChunk:
    world = build_world(cfg)
    r = rng("train-chunk", cfg.seed, stream, chunk)
    prefix = f"c{chunk:06d}-"
    corpus = generate_corpus(world, r, id_prefix=prefix)
    queries = sample_queries(world, corpus, r, cfg.queries_per_chunk, prefix + "q{:04d}")
    run = first_stage(world, corpus, queries, cfg.train_candidate_depth)
    depth = min(cfg.train_candidate_depth, len(corpus.doc_ids))
    return TrainChunk(
        index=chunk,
        doc_ids=corpus.doc_ids,
        texts=corpus.texts,
        queries=queries,
        positives=[corpus.fact_doc[(q.entity, q.relation)] for q in queries],
        candidates=np.stack([idx[:depth] for idx, _ in run]),
        scores=np.stack([s[:depth] for _, s in run]),
    )


def chunk_path(cfg: SyntheticConfig, stream: int, chunk: int) -> Path:
    return eval_dir(cfg) / "train" / f"s{stream}" / f"c{chunk:06d}.npz"


def _save_chunk(path: Path, ch: TrainChunk) -> None:
    buf = io.BytesIO()
    np.savez(
        buf,
        docs=np.frombuffer("\n".join(ch.texts).encode(), dtype=np.uint8),
        queries=np.frombuffer("\n".join(q.text for q in ch.queries).encode(), dtype=np.uint8),
        facts=np.array([[q.entity, q.relation] for q in ch.queries], dtype=np.int32),
        positives=np.array(ch.positives, dtype=np.int32),
        candidates=ch.candidates.astype(np.int32),
        scores=ch.scores.astype(np.float32),
    )
    atomic_write_bytes(path, buf.getvalue())


def _load_chunk(path: Path, chunk: int) -> TrainChunk:
    with np.load(path) as z:
        texts = z["docs"].tobytes().decode().split("\n")
        q_texts = z["queries"].tobytes().decode().split("\n")
        facts = z["facts"].tolist()
        prefix = f"c{chunk:06d}-"
        return TrainChunk(
            index=chunk,
            doc_ids=[f"{prefix}D{i:05d}" for i in range(len(texts))],
            texts=texts,
            queries=[
                Query(f"{prefix}q{j:04d}", t, e, r)
                for j, (t, (e, r)) in enumerate(zip(q_texts, facts))
            ],
            positives=z["positives"].tolist(),
            candidates=z["candidates"].astype(np.int64),
            scores=z["scores"],
        )


_CHUNKS: OrderedDict[tuple[str, int, int], TrainChunk] = OrderedDict()
_CHUNK_CACHE_SIZE = 4

# a training stream (``train_chunk``'s ``stream``) no run trains on (runs train on their seed's):
# its chunk 0 is the validation set of the learning-rate sweep (``orchestration.lr_sweep``)
VALIDATION_STREAM = 1_000_003
VALIDATION_NAME = "synthetic-validation"


def train_chunk(cfg: SyntheticConfig, stream: int, chunk: int) -> TrainChunk:
    """Training chunk ``chunk`` of training stream ``stream`` (deterministic).

    Generated once (≈0.4 s on a free core) and memoised on disk
    (``<config folder>/train/s<stream>/c<chunk>.npz``, ≈1 MB) so every run of a sweep that uses
    the same stream loads it (≈20 ms) instead of regenerating it; recent chunks stay in memory.
    """
    key = (cfg.hash, stream, chunk)
    if key in _CHUNKS:
        _CHUNKS.move_to_end(key)
        return _CHUNKS[key]
    path = chunk_path(cfg, stream, chunk)
    value = None
    if path.is_file():
        try:
            value = _load_chunk(path, chunk)
        except (OSError, ValueError, KeyError):  # unreadable cache file: regenerate it
            value = None
    if value is None:
        value = _make_chunk(cfg, stream, chunk)
        _save_chunk(path, value)
    _CHUNKS[key] = value
    while len(_CHUNKS) > _CHUNK_CACHE_SIZE:
        _CHUNKS.popitem(last=False)
    return value


def parse_chunk_id(item_id: str) -> int | None:
    """``"c000003-D00042"`` -> 3; ``None`` if not a training id."""
    if len(item_id) > 8 and item_id[0] == "c" and item_id[7] == "-" and item_id[1:7].isdigit():
        return int(item_id[1:7])
    return None
