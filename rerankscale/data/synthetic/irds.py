"""Register the synthetic task with ir_datasets.

Ids (the active ``SyntheticConfig`` decides the content; see ``config.py``):

* ``rerankscale/synthetic`` — the fixed evaluation corpus (docs only);
* ``rerankscale/synthetic/dev`` — docs, queries, qrels (one relevant passage per query, rel 1),
  scoreddocs (BM25 top ``first_stage_depth``, real scores);
* ``rerankscale/synthetic/trec`` — the same corpus, TREC-DL-style graded qrels 0/1/2 with more
  judged passages per query, scoreddocs; its documented official measures say ``rel=2``;
* ``rerankscale/synthetic/train`` — ``train_chunks`` fresh corpora of ``queries_per_chunk``
  queries each (training stream 0), with docs (and a docstore that regenerates a chunk from a
  doc id), queries, qrels and scoreddocs (BM25 top ``train_candidate_depth``).

The eval splits are served by ir_datasets' own ``TsvDocs``/``TsvQueries``/``TrecQrels``/
``TrecScoredDocs`` over files generated on first access, exactly as MS MARCO's are.
"""

from __future__ import annotations

import contextlib
import threading

import ir_datasets
from ir_datasets.datasets.base import Dataset
from ir_datasets.formats import (
    BaseDocs,
    BaseQrels,
    BaseQueries,
    BaseScoredDocs,
    GenericDoc,
    GenericQuery,
    GenericScoredDoc,
    TrecQrel,
    TrecQrels,
    TrecScoredDocs,
    TsvDocs,
    TsvQueries,
)
from ir_datasets.indices import Docstore

from ..bm25 import register_analyzer
from .config import active_config
from .corpus import docs_per_entity
from .generate import ensure_eval_files, eval_dir, parse_chunk_id, train_chunk
from .world import build_world

PREFIX = "rerankscale/synthetic"
DEV_QRELS = {1: "The passage states the asked fact."}
TREC_QRELS = {
    2: "Highly relevant: the passage states the asked (entity, relation) fact.",
    1: "Related: the passage states a fact of the entity whose relation is in the asked "
    "relation's latent family.",
    0: "Irrelevant: another passage of the entity, or another entity's passage with the relation.",
}
_lock = threading.Lock()


class SyntheticFile:
    """A generated eval file of the active config (an ir_datasets "dlc": ``path``/``stream``)."""

    def __init__(self, relative: str):
        self.relative = relative

    def path(self, force: bool = True) -> str:
        cfg = active_config()
        folder = ensure_eval_files(cfg) if force else eval_dir(cfg)
        return str(folder / self.relative)

    @contextlib.contextmanager
    def stream(self):
        with open(self.path(), "rb") as f:
            yield f


class _Meta:
    """Extra constituents: documentation (official measures) and the cache fingerprint."""

    def __init__(self, name: str, desc: str, measures: list[str]):
        self._doc = {"pretty_name": name, "desc": desc, "official_measures": measures}

    def documentation(self) -> dict:
        return dict(self._doc)

    def rerankscale_fingerprint(self) -> str:
        return active_config().hash


# --------------------------------------------------------------------------- train split


def _train_chunks():
    cfg = active_config()
    for c in range(cfg.train_chunks):
        yield train_chunk(cfg, 0, c)


class _TrainDocstore(Docstore):
    def __init__(self):
        super().__init__(GenericDoc, "doc_id")

    def get_many_iter(self, doc_ids):
        cfg = active_config()
        by_chunk: dict[int, list[str]] = {}
        for did in doc_ids:
            c = parse_chunk_id(did)
            if c is not None and c < cfg.train_chunks:
                by_chunk.setdefault(c, []).append(did)
        for c, ids in sorted(by_chunk.items()):
            chunk = train_chunk(cfg, 0, c)
            for did in ids:
                try:
                    i = int(did.split("-D", 1)[1])
                except (IndexError, ValueError):
                    continue
                if 0 <= i < len(chunk.doc_ids) and chunk.doc_ids[i] == did:
                    yield GenericDoc(did, chunk.texts[i])


class TrainDocs(BaseDocs):
    def docs_iter(self):
        for chunk in _train_chunks():
            for did, text in zip(chunk.doc_ids, chunk.texts):
                yield GenericDoc(did, text)

    def docs_count(self):
        cfg = active_config()
        return int(docs_per_entity(cfg).sum()) * cfg.train_chunks

    def docs_store(self, field="doc_id"):
        return _TrainDocstore()

    def docs_cls(self):
        return GenericDoc

    def docs_lang(self):
        return None


class TrainQueries(BaseQueries):
    def queries_iter(self):
        for chunk in _train_chunks():
            for q in chunk.queries:
                yield GenericQuery(q.qid, q.text)

    def queries_cls(self):
        return GenericQuery


class TrainQrels(BaseQrels):
    def qrels_iter(self):
        for chunk in _train_chunks():
            for q, d in zip(chunk.queries, chunk.positives):
                yield TrecQrel(q.qid, chunk.doc_ids[d], 1, "0")

    def qrels_cls(self):
        return TrecQrel

    def qrels_defs(self):
        return dict(DEV_QRELS)


class TrainScoredDocs(BaseScoredDocs):
    def scoreddocs_iter(self):
        for chunk in _train_chunks():
            for q, idx, sc in zip(chunk.queries, chunk.candidates, chunk.scores):
                for i, s in zip(idx.tolist(), sc.tolist()):
                    yield GenericScoredDoc(q.qid, chunk.doc_ids[i], float(s))

    def scoreddocs_cls(self):
        return GenericScoredDoc


# --------------------------------------------------------------------------- registration


def _analyzer(dataset_id: str):
    return build_world(active_config()).analyzer


def register_synthetic() -> None:
    """Register the synthetic ids with ir_datasets (idempotent, thread-safe)."""
    with _lock:
        if PREFIX in ir_datasets.registry:
            return
        docs = TsvDocs(SyntheticFile("docs.tsv"), namespace="rerankscale-synthetic")
        measures_dev = ["RR@10", "nDCG@10"]
        measures_trec = ["nDCG@10", "RR(rel=2)", "AP(rel=2)"]
        base = Dataset(
            docs,
            _Meta(
                "rerankscale synthetic (eval corpus)",
                "Fixed evaluation corpus of the synthetic task.",
                measures_dev,
            ),
        )
        datasets = {
            PREFIX: base,
            f"{PREFIX}/dev": Dataset(
                docs,
                TsvQueries(SyntheticFile("dev/queries.tsv"), namespace="rerankscale-synthetic"),
                TrecQrels(SyntheticFile("dev/qrels"), DEV_QRELS),
                TrecScoredDocs(SyntheticFile("dev/bm25.run")),
                _Meta("rerankscale synthetic dev", "One relevant passage per query.", measures_dev),
            ),
            f"{PREFIX}/trec": Dataset(
                docs,
                TsvQueries(SyntheticFile("trec/queries.tsv"), namespace="rerankscale-synthetic"),
                TrecQrels(SyntheticFile("trec/qrels"), TREC_QRELS),
                TrecScoredDocs(SyntheticFile("trec/bm25.run")),
                _Meta(
                    "rerankscale synthetic trec", "TREC-DL-style graded judgments.", measures_trec
                ),
            ),
            f"{PREFIX}/train": Dataset(
                TrainDocs(),
                TrainQueries(),
                TrainQrels(),
                TrainScoredDocs(),
                _Meta(
                    "rerankscale synthetic train",
                    "Fresh corpora of training queries.",
                    measures_dev,
                ),
            ),
        }
        for name, ds in datasets.items():
            ir_datasets.registry.register(name, ds)
        register_analyzer(PREFIX, "synthetic-words", _analyzer)
