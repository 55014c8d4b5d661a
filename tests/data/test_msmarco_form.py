"""MS MARCO-form datasets (docpairs, unscored scoreddocs, graded qrels) through the same code
as the real ids; the paper preset's real ids are wired; bad input gives clear errors."""

from __future__ import annotations

import itertools
import math

import pytest
from msmarco_fixture import PREFIX, register

from rerankscale.data import (
    DataValueError,
    MissingDataError,
    default_rel_threshold,
    load_dataset,
    load_eval_set,
    training_groups,
)
from rerankscale.data.candidates import bm25_candidates


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    return register(tmp_path_factory.mktemp("msmarco-form"))


def test_dev_small_unscored_run_is_ordered_by_bm25_within_the_official_set(facts):
    es = load_eval_set(f"{PREFIX}/dev/small", depth=5, progress=False)
    assert es.first_stage == "scoreddocs+bm25-order"
    assert es.rel_threshold == 1 and es.name == "rerankscale-test-msmarco-form-dev-small"
    assert len(es.queries) == 12 and es.n_unjudged == 0
    run = {}
    with open(load_dataset(f"{PREFIX}/dev/small").scoreddocs_path()) as f:
        for line in f:
            q, d = line.split()
            run.setdefault(q, []).append(d)
    hits = 0
    for qid, cands in es.candidates.items():
        ids = [d for d, _ in cands]
        scores = [s for _, s in cands]
        assert len(ids) == 5 and set(ids) <= set(run[qid])
        assert scores == sorted(scores, reverse=True) and scores[0] > 0  # BM25 scores
        assert ids != run[qid][:5]  # not the doc-id file order
        hits += next(iter(es.qrels[qid])) in ids[:1]
        assert all(d in es.docs for d in ids)
    # the query names the subject and the attribute: BM25 puts the relevant passage first
    assert hits == 12


def test_scoreddocs_and_bm25_agree_on_the_candidate_order(facts):
    via_run = load_eval_set(f"{PREFIX}/dev/small", depth=3, progress=False)
    via_bm25 = load_eval_set(f"{PREFIX}/dev/small", depth=3, first_stage="bm25", progress=False)
    assert via_bm25.first_stage == "bm25"
    for qid in via_run.queries:
        # the official set contains the subject's passages, BM25's top-3 are among them
        assert [d for d, _ in via_run.candidates[qid]] == [d for d, _ in via_bm25.candidates[qid]]


def test_trec_dl_form_graded_qrels_and_threshold(facts):
    es = load_eval_set(f"{PREFIX}/trec-dl-2019/judged", depth=100, progress=False)
    assert es.rel_threshold == 2
    assert es.n_unjudged == 1 and len(es.queries) == 7  # the query without a grade ≥ 2 is dropped
    for qid, rels in es.qrels.items():
        assert sorted(set(rels.values())) == [1, 3]
        assert len(es.candidates[qid]) == 6  # every scoreddoc kept (depth 100 > 6)


def test_triples_small_groups_stream_ungrouped_docpairs(facts):
    groups = list(training_groups(f"{PREFIX}/train/triples-small", 5, seed=0, epochs=1))
    # 24 train queries, 2 of them with only 3 distinct negatives: dropped
    assert len(groups) == 22
    fact_doc, qid_of = facts["fact_doc"], facts["qid"]
    by_qid = {qid_of[f]: f for f in facts["train"]}
    for g in groups:
        subject, attribute = by_qid[g.qid]
        assert g.doc_ids[0] == fact_doc[(subject, attribute)] and g.labels == [1, 0, 0, 0, 0, 0]
        assert len(set(g.doc_ids)) == 6 and g.query == facts["qtext"][(subject, attribute)]
        assert g.docs[0].startswith(("The", "Most", "A", "Buyers")) and subject in g.docs[0]
    again = list(training_groups(f"{PREFIX}/train/triples-small", 5, seed=0, epochs=1))
    other = list(training_groups(f"{PREFIX}/train/triples-small", 5, seed=1, epochs=1))
    assert [g.qid for g in again] == [g.qid for g in groups]
    assert [g.qid for g in other] != [g.qid for g in groups]
    assert sorted(g.qid for g in other) == sorted(g.qid for g in groups)
    resumed = list(training_groups(f"{PREFIX}/train/triples-small", 5, seed=0, start=7, epochs=1))
    assert [g.doc_ids for g in resumed] == [g.doc_ids for g in groups[7:]]
    capped = list(training_groups(f"{PREFIX}/train/triples-small", 5, max_queries=4, epochs=2))
    assert len(capped) == 8 and sorted(g.qid for g in capped[:4]) == sorted(
        g.qid for g in capped[4:]
    )


def test_judged_training_split_takes_negatives_from_bm25(facts):
    groups = list(
        itertools.islice(training_groups(f"{PREFIX}/train/judged", 4, seed=3, depth=10), 48)
    )
    first_epoch = groups[:24]
    assert sorted(g.qid for g in first_epoch) == sorted(facts["qid"][f] for f in facts["train"])
    assert sorted(g.qid for g in groups[24:]) == sorted(g.qid for g in first_epoch)
    subjects = {facts["qid"][f]: f[0] for f in facts["train"]}
    queries = {g.qid: g.query for g in groups}
    top10 = bm25_candidates(f"{PREFIX}/train/judged", queries, 10, progress=False)
    kinds = {"subject": 0, "attribute": 0}
    for g in groups:
        subject, attribute = subjects[g.qid], g.query.split()[3]
        assert g.labels == [1, 0, 0, 0, 0] and len(set(g.doc_ids)) == 5
        assert g.doc_ids[0] == facts["fact_doc"][(subject, attribute)]
        assert set(g.doc_ids[1:]) <= {d for d, _ in top10[g.qid]} - {g.doc_ids[0]}
        for doc in g.docs[1:]:
            # hard negatives: they share the subject or the attribute with the query
            kind = "subject" if subject in doc else "attribute"
            assert kind == "subject" or attribute in doc
            kinds[kind] += 1
    assert min(kinds.values()) > 40
    same = list(
        itertools.islice(
            training_groups(f"{PREFIX}/train/judged", 4, seed=3, depth=10, start=30), 5
        )
    )
    assert [g.doc_ids for g in same] == [g.doc_ids for g in groups[30:35]]


def test_paper_preset_ids_are_wired_without_download():
    for dataset_id in (
        "msmarco-passage/train/triples-small",
        "msmarco-passage/train/judged",
        "msmarco-passage/dev/small",
        "msmarco-passage/trec-dl-2019/judged",
        "msmarco-passage/trec-dl-2020/judged",
    ):
        load_dataset(dataset_id)
    assert load_dataset("msmarco-passage/train/triples-small").has("docpairs")
    assert load_dataset("msmarco-passage/dev/small").has("scoreddocs")
    assert default_rel_threshold("msmarco-passage/dev/small") == 1
    assert default_rel_threshold("msmarco-passage/trec-dl-2019/judged") == 2
    assert default_rel_threshold("msmarco-passage/trec-dl-2020/judged") == 2
    assert default_rel_threshold("beir/scifact/test") == 1


@pytest.mark.parametrize("depth", [0, -5, 2.5, True])
def test_bad_depth_is_a_clear_error(facts, depth):
    with pytest.raises(DataValueError, match="candidate depth must be a positive integer"):
        load_eval_set(f"{PREFIX}/dev/small", depth=depth)


def test_split_without_qrels_is_a_clear_error(facts):
    with pytest.raises(MissingDataError, match=r"has no qrels .*provides: docs, queries"):
        load_eval_set(f"{PREFIX}/eval/small", depth=10)
    with pytest.raises(MissingDataError, match="neither docpairs nor qrels"):
        training_groups(f"{PREFIX}/eval/small", 3)


def test_bad_training_arguments_are_clear_errors(facts):
    with pytest.raises(DataValueError, match="n_negatives must be an integer ≥ 1"):
        training_groups(f"{PREFIX}/train/judged", 0)
    with pytest.raises(DataValueError, match="start must be an integer ≥ 0"):
        training_groups(f"{PREFIX}/train/judged", 2, start=-1)
    with pytest.raises(DataValueError, match="only .* non-relevant candidates"):
        training_groups(f"{PREFIX}/train/judged", 9, depth=5)


def test_training_query_without_positive_is_a_clear_error(tmp_path, facts):
    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecQrels, TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    name = f"{PREFIX}/train/with-unjudged"
    if name not in ir_datasets.registry:
        base = load_dataset(f"{PREFIX}/train/judged")
        queries = tmp_path / "queries.tsv"
        queries.write_text(open(base.queries_path()).read() + "999\twhat is the shape of a comet\n")
        ir_datasets.registry.register(
            name,
            Dataset(
                TsvDocs(LocalDownload(base.docs_path())),
                TsvQueries(LocalDownload(queries)),
                TrecQrels(LocalDownload(base.qrels_path()), {}),
            ),
        )
    with pytest.raises(MissingDataError, match=r"1 training query .* has no positive .*'999'"):
        training_groups(name, 3)


def test_ndcg_of_the_fixture_first_stage_is_perfect(facts):
    es = load_eval_set(f"{PREFIX}/dev/small", depth=10, progress=False)
    ndcg = []
    for qid, cands in es.candidates.items():
        gains = [es.qrels[qid].get(d, 0) for d, _ in cands[:10]]
        ndcg.append(sum(g / math.log2(i + 2) for i, g in enumerate(gains)))
    assert ndcg == [1.0] * 12
