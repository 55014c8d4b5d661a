"""The built-in synthetic task: pinned counts and records, determinism across processes, the
text/vocabulary contract, task structure, BM25 figures, config overrides, training groups."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import itertools
import json
import math

import ir_datasets
import pytest
from conftest import run_python

from rerankscale.data import (
    DataValueError,
    SyntheticConfig,
    SyntheticConfigError,
    corpus_texts,
    dataset_vocabulary,
    default_rel_threshold,
    load_dataset,
    load_eval_set,
    synthetic_config,
    training_groups,
)
from rerankscale.data.synthetic.generate import ensure_eval_files, generate_eval
from rerankscale.data.synthetic.world import build_world

DEV, TREC, TRAIN = (f"rerankscale/synthetic/{s}" for s in ("dev", "trec", "train"))

FINGERPRINT = """
import hashlib, itertools, json
from rerankscale.data import training_groups, dataset_vocabulary
from rerankscale.data.synthetic import SyntheticConfig
from rerankscale.data.synthetic.generate import ensure_eval_files
folder = ensure_eval_files(SyntheticConfig())
files = {p: hashlib.sha256((folder / p).read_bytes()).hexdigest()
         for p in ("docs.tsv", "dev/queries.tsv", "dev/qrels", "dev/bm25.run",
                   "trec/queries.tsv", "trec/qrels", "trec/bm25.run")}
groups = [[g.qid, g.doc_ids, g.docs[0]] for g in
          itertools.islice(training_groups("rerankscale/synthetic/train", 7, seed=1, start=2040), 16)]
print(json.dumps({"files": files, "groups": groups,
                  "vocab": hashlib.sha256(" ".join(dataset_vocabulary("rerankscale/synthetic/dev")).encode()).hexdigest()}))
"""


def test_counts_and_first_records_are_pinned():
    corpus = load_dataset("rerankscale/synthetic")
    docs = list(corpus.docs_iter())
    assert len(docs) == 4293
    assert docs[0] == (
        "D00000",
        "nim_ vab tuz_ div li_ gak ovo aze nim_ vab kog_ mel ifo evu bus_ bug aze",
    )
    assert (
        corpus.docs_store().get("D04292").text
        == "bof_ gak ofi ata ovu bof_ gak abi ore zaz_ fok guv_ geg di_ muv som_ sum"
    )
    dev = load_dataset(DEV)
    queries, qrels, run = (
        list(dev.queries_iter()),
        list(dev.qrels_iter()),
        list(dev.scoreddocs_iter()),
    )
    assert (len(queries), len(qrels), len(run)) == (1000, 1000, 100_000)
    assert queries[0] == ("dev-00000", "vum_ nud ovo ese geg_ fap uzo")
    assert queries[-1] == ("dev-00999", "ore dog_ lad far_ mi ore olo")
    assert tuple(qrels[0]) == ("dev-00000", "D03274", 1, "0")
    assert tuple(run[0]) == ("dev-00000", "D04248", pytest.approx(4.264283))
    trec = load_dataset(TREC)
    queries, qrels, run = (
        list(trec.queries_iter()),
        list(trec.qrels_iter()),
        list(trec.scoreddocs_iter()),
    )
    assert (len(queries), len(qrels), len(run)) == (200, 4986, 20_000)
    assert queries[0] == ("trec-0000", "ubu uvi kob_ sum raf_ vuz")
    assert collections.Counter(r.relevance for r in qrels) == {0: 4573, 1: 213, 2: 200}
    train = load_dataset(TRAIN)
    assert train.docs_count() == 4293 * 64
    assert next(iter(train.queries_iter())) == ("c000000-q0000", "ovu mug_ sez nos_ kub")
    assert tuple(next(iter(train.qrels_iter()))) == ("c000000-q0000", "c000000-D02788", 1, "0")
    assert (
        train.docs_store().get("c000001-D00007").text
        == "sog_ zon iti gav_ bun ura top_ kab sog_ zon adi age ba_ giz"
    )
    assert ir_datasets.docs_parent_id(TREC) == "rerankscale/synthetic"


def test_identical_across_processes(tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(FINGERPRINT, {})
    here = json.loads(out.getvalue())
    there = json.loads(
        run_python(
            FINGERPRINT,
            env={"IR_DATASETS_HOME": str(tmp_path / "other"), "PYTHONHASHSEED": "12345"},
        )
    )
    assert here == there
    assert here["groups"][8][0] == "c000001-q0000"  # chunk 1 starts at group 2048


def test_whitespace_tokens_are_exactly_vocabulary_items():
    from tokenizers.pre_tokenizers import Whitespace, WhitespaceSplit

    vocab = dataset_vocabulary(DEV)
    assert len(vocab) == 630 == len(set(vocab))  # 30 fillers + 300 pieces × {final, continued}
    assert dataset_vocabulary(TRAIN) == vocab
    items = set(vocab)
    texts = list(corpus_texts(DEV)) + list(corpus_texts(TRAIN, limit=4293))
    texts += [
        q.text
        for q in itertools.chain(
            load_dataset(DEV).queries_iter(), load_dataset(TREC).queries_iter()
        )
    ]
    assert all(tok in items for text in texts for tok in text.split())
    for pre in (Whitespace(), WhitespaceSplit()):
        for text in texts[:50]:
            assert [t for t, _ in pre.pre_tokenize_str(text)] == text.split()
    assert dataset_vocabulary("beir/scifact/test") is None


def test_structure_of_the_task():
    cfg = SyntheticConfig()
    world = build_world(cfg)
    data = generate_eval(cfg)
    corpus = data.corpus
    doc_words = {w for text in corpus.texts for w in world.bm25_terms(text)}
    fillers = set(world.fillers)
    for q in data.dev[:200]:
        relevant = corpus.texts[corpus.fact_doc[(q.entity, q.relation)]]
        q_terms = world.bm25_terms(q.text)
        assert len(q_terms) == 2
        # the entity name occurs in the relevant passage; the query's relation paraphrase never
        # occurs in any passage (query-side and passage-side paraphrases are disjoint)
        name = world.entity_forms[q.entity][0].replace("_ ", "_")
        assert name in q_terms and name in world.bm25_terms(relevant)
        assert (set(q_terms) - {name}).isdisjoint(doc_words)
        # passages: the name twice, 3–4 facts, fillers excluded from BM25 terms
        terms = world.bm25_terms(relevant)
        assert 2 + 3 <= len(terms) <= 2 + 4 and not set(terms) & fillers
    # trec: exactly one grade-2 passage per query; grade 1 = same entity, same relation family
    for q, grades in zip(data.trec, data.trec_grades):
        assert list(grades.values()).count(2) == 1
        for d, g in grades.items():
            same_family = any(
                world.family[f] == world.family[q.relation] for f in corpus.doc_facts[d]
            )
            if g == 1:
                assert corpus.doc_entity[d] == q.entity and same_family
    # popularity: relation 0 is the head of the query distribution
    top = collections.Counter(q.relation for q in data.dev).most_common(1)[0]
    assert top[0] == 0 and top[1] > 150


def _figures(es):
    ndcg, rr, recall = [], [], []
    for qid, cands in es.candidates.items():
        rels = es.qrels[qid]
        ids = [d for d, _ in cands]
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ids[:10]))
        ideal = sorted(rels.values(), reverse=True)[:10]
        ndcg.append(dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal)))
        first = next(
            (i for i, d in enumerate(ids[:10]) if rels.get(d, 0) >= es.rel_threshold), None
        )
        rr.append(0.0 if first is None else 1 / (first + 1))
        relevant = {d for d, g in rels.items() if g >= es.rel_threshold}
        recall.append(len(relevant & set(ids)) / len(relevant))
    return [round(sum(x) / len(x), 4) for x in (ndcg, rr, recall)]


def test_bm25_first_stage_is_meaningful_but_beatable():
    dev = load_eval_set(DEV, depth=50, progress=False)
    trec = load_eval_set(TREC, depth=50, progress=False)
    assert (
        (dev.rel_threshold, trec.rel_threshold)
        == (1, 2)
        == (default_rel_threshold(DEV), default_rel_threshold(TREC))
    )
    assert dev.first_stage == trec.first_stage == "scoreddocs" and dev.name == "synthetic-dev"
    # NDCG@10, MRR@10, recall@50 (pinned; measured once, identical in every process)
    assert _figures(dev) == [0.3838, 0.2924, 1.0]
    assert _figures(trec) == [0.4229, 0.2892, 1.0]
    # the built-in first stage equals bm25s retrieval through the generic path
    generic = load_eval_set(DEV, depth=50, max_queries=50, first_stage="bm25", progress=False)
    for qid, cands in generic.candidates.items():
        assert [d for d, _ in cands] == [d for d, _ in dev.candidates[qid]]
        assert [s for _, s in cands] == pytest.approx([s for _, s in dev.candidates[qid]], abs=1e-5)


def test_seeded_query_subset():
    a = load_eval_set(DEV, depth=20, max_queries=100, seed=3, progress=False)
    b = load_eval_set(DEV, depth=20, max_queries=100, seed=3, progress=False)
    c = load_eval_set(DEV, depth=20, max_queries=100, seed=4, progress=False)
    assert list(a.queries) == list(b.queries) and set(a.queries) != set(c.queries)
    assert len(a.queries) == 100 and a.subset and a.n_queries_total == 1000
    assert all(len(v) == 20 for v in a.candidates.values())
    assert set(a.docs) == {d for v in a.candidates.values() for d, _ in v}


def test_config_override_serves_same_ids_from_its_own_cache():
    default_folder = ensure_eval_files(SyntheticConfig())
    small = {"n_entities": 300, "dev_queries": 200, "trec_queries": 40, "zipf_qrel": 1.15}
    with synthetic_config(small) as cfg:
        assert cfg.hash != SyntheticConfig().hash and cfg.overrides() == small
        ds = load_dataset(DEV)
        assert sum(1 for _ in ds.queries_iter()) == 200
        assert sum(1 for _ in ds.docs_iter()) == int(
            sum(2 + math.floor(30 * r**-0.7) for r in range(1, 301))
        )
        folder = ensure_eval_files(cfg)
        assert folder != default_folder and folder.name == cfg.hash
        es = load_eval_set(DEV, depth=10, max_queries=20, progress=False)
        assert all(d in es.docs for v in es.candidates.values() for d, _ in v)
    assert sum(1 for _ in load_dataset(DEV).queries_iter()) == 1000  # default restored
    explicit = load_eval_set(DEV, depth=10, max_queries=20, synthetic=small, progress=False)
    assert explicit.queries == es.queries


def test_bad_synthetic_config_is_a_clear_error():
    with pytest.raises(SyntheticConfigError, match=r"unknown synthetic knob\(s\) \['n_entites'\]"):
        SyntheticConfig.from_overrides({"n_entites": 10})
    with pytest.raises(SyntheticConfigError, match="'zipf_qrel' must be float"):
        SyntheticConfig.from_overrides({"zipf_qrel": "steep"})
    with pytest.raises(SyntheticConfigError, match="distinct relations"):
        SyntheticConfig.from_overrides({"n_relations": 50})


def test_bad_environment_config_is_a_clear_error(monkeypatch):
    from rerankscale.data.synthetic.config import active_config

    monkeypatch.setenv("RERANKSCALE_SYNTHETIC", "{oops")
    with pytest.raises(SyntheticConfigError, match="RERANKSCALE_SYNTHETIC must hold a JSON object"):
        active_config()
    monkeypatch.setenv("RERANKSCALE_SYNTHETIC", '{"n_entities": 500}')
    assert active_config().n_entities == 500


def test_training_groups_synthetic_stream():
    groups = list(itertools.islice(training_groups(TRAIN, 7, seed=0), 2100))
    assert [g.qid for g in groups[:3]] == ["c000000-q0000", "c000000-q0001", "c000000-q0002"]
    assert groups[2048].qid == "c000001-q0000" and groups[2048].doc_ids[0].startswith("c000001-")
    chunk_docs = {g.doc_ids[0] for g in groups[:2048]}
    assert not chunk_docs & {d for g in groups[2048:] for d in g.doc_ids}  # fresh corpus
    scoreddocs = collections.defaultdict(list)
    for sd in itertools.islice(load_dataset(TRAIN).scoreddocs_iter(), 50 * 100):
        scoreddocs[sd.query_id].append(sd.doc_id)
    for g in groups[:100]:
        assert g.labels == [1] + [0] * 7 and len(set(g.doc_ids)) == 8
        assert set(g.doc_ids[1:]) <= set(scoreddocs[g.qid]) - {g.doc_ids[0]}
        name = g.query.split()  # the positive names the entity the query names
        assert any(w in g.docs[0].split() for w in name)
    resumed = list(itertools.islice(training_groups(TRAIN, 7, seed=0, start=2047), 3))
    assert [g.doc_ids for g in resumed] == [g.doc_ids for g in groups[2047:2050]]
    other = next(training_groups(TRAIN, 7, seed=1))
    assert other.qid == "c000000-q0000" and other.query != groups[0].query  # another stream
    capped = list(itertools.islice(training_groups(TRAIN, 7, max_queries=5), 10))
    assert [g.qid for g in capped[5:]] == [g.qid for g in capped[:5]]
    assert [g.doc_ids[0] for g in capped[5:]] == [g.doc_ids[0] for g in capped[:5]]
    assert [g.doc_ids[1:] for g in capped[5:]] != [g.doc_ids[1:] for g in capped[:5]]
    assert len(list(training_groups(TRAIN, 7, max_queries=5, epochs=2))) == 10
    with pytest.raises(DataValueError, match="n_negatives=60 exceeds the 49 negatives"):
        training_groups(TRAIN, 60)
    with pytest.raises(DataValueError, match="epochs needs max_queries"):
        training_groups(TRAIN, 7, epochs=1)


def test_vocabulary_hash_is_stable():
    text = " ".join(dataset_vocabulary(DEV))
    assert hashlib.sha256(text.encode()).hexdigest()[:12] == VOCAB_SHA


VOCAB_SHA = "a82bb0e47364"


def test_training_chunk_disk_cache_round_trips():
    from rerankscale.data.synthetic import generate

    cfg = SyntheticConfig()
    cached = generate.train_chunk(cfg, 0, 0)
    assert generate.chunk_path(cfg, 0, 0).is_file()
    generate._CHUNKS.clear()
    loaded = generate.train_chunk(cfg, 0, 0)
    fresh = generate._make_chunk(cfg, 0, 0)
    for chunk in (cached, loaded):
        assert chunk.doc_ids == fresh.doc_ids and chunk.texts == fresh.texts
        assert chunk.queries == fresh.queries and chunk.positives == fresh.positives
        assert (chunk.candidates == fresh.candidates).all() and (chunk.scores == fresh.scores).all()
