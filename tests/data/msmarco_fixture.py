"""A tiny local dataset family of MS MARCO's *form*, registered with ir_datasets' own classes.

Like MS MARCO passage it has: a TSV collection; ``train/triples-small`` docpairs (query,
positive, negative) whose lines are NOT grouped by query; ``train/judged`` (queries + qrels, no
docpairs); ``dev/small`` with binary qrels and a 2-column ``qid<TAB>docid`` run (all scores 0)
sorted by doc id, as ir_datasets' ``ms.run``; ``trec-dl-2019/judged`` with graded 0–3 qrels and
documented ``rel=2`` measures; ``eval/small`` with queries only (no qrels).

Passages describe subjects (``coffee``, ``volcano``...) by attributes (origin, colour...); a query
asks one attribute of one subject, so BM25 is meaningful: the subject's passages share its name,
the relevant one also shares the attribute word.
"""

from __future__ import annotations

import random
from pathlib import Path

PREFIX = "rerankscale-test/msmarco-form"
SUBJECTS = ["coffee", "volcano", "glacier", "piano", "satellite", "honeybee", "copper", "tornado"]
ATTRIBUTES = {
    "origin": "The {s} has its origin in a distant {v} region according to historians.",
    "colour": "Most observers describe the colour of a {s} as a deep {v} shade.",
    "weight": "A typical {s} has a weight comparable to a {v} and varies by season.",
    "lifespan": "The usual lifespan of a {s} is longer than a {v} in most records.",
    "price": "Buyers say the price of a {s} rose like the price of {v} last year.",
    "sound": "The sound of a {s} is often compared with a distant {v} at night.",
}
VALUES = ["northern", "crimson", "elephant", "river", "silver", "thunder", "mountain", "garden"]


class _Doc:
    """A documentation constituent (official measures), as ir_datasets' YAML docs provide."""

    def __init__(self, measures):
        self._measures = measures

    def documentation(self):
        return {"official_measures": list(self._measures)}


def build(folder: Path) -> dict[str, dict]:
    """Write the files; return {split: facts} for the assertions."""
    folder.mkdir(parents=True, exist_ok=True)
    r = random.Random(7)
    docs, fact_doc = [], {}
    i = 0
    for s in SUBJECTS:
        for a, template in ATTRIBUTES.items():
            did = f"{1000 + i * 7}"  # numeric ids like MS MARCO's
            docs.append((did, template.format(s=s, v=VALUES[(i * 3) % len(VALUES)])))
            fact_doc[(s, a)] = did
            i += 1
    (folder / "collection.tsv").write_text("".join(f"{d}\t{t}\n" for d, t in docs))
    facts = [(s, a) for s in SUBJECTS for a in ATTRIBUTES]
    r.shuffle(facts)
    train, dev, trec = facts[:24], facts[24:36], facts[36:44]
    qtext = {f: f"what is the {f[1]} of a {f[0]}" for f in facts}
    qid = {f: str(500 + k) for k, f in enumerate(facts)}

    def queries(fs):
        return "".join(f"{qid[f]}\t{qtext[f]}\n" for f in fs)

    (folder / "queries.train.tsv").write_text(queries(train))
    (folder / "qrels.train").write_text("".join(f"{qid[f]} 0 {fact_doc[f]} 1\n" for f in train))
    # docpairs: each train query gets negatives from its subject's other passages and 2 random
    # ones; 0–2 queries get too few pairs; lines shuffled across queries (not grouped)
    pairs = []
    all_ids = [d for d, _ in docs]
    for k, f in enumerate(train):
        same = [fact_doc[(f[0], a)] for a in ATTRIBUTES if a != f[1]]
        negs = same + r.sample([d for d in all_ids if d not in same and d != fact_doc[f]], 2)
        if k < 2:
            negs = negs[:3]  # too few for 5 negatives: these queries must be dropped
        pairs += [(qid[f], fact_doc[f], n) for n in negs]
    r.shuffle(pairs)
    (folder / "triples.small.tsv").write_text("".join(f"{q}\t{p}\t{n}\n" for q, p, n in pairs))
    (folder / "queries.dev.small.tsv").write_text(queries(dev))
    (folder / "qrels.dev.small").write_text("".join(f"{qid[f]} 0 {fact_doc[f]} 1\n" for f in dev))
    # dev run: top-"1000" = the subject's passages + 8 others, in doc-id order, no scores
    run = []
    for f in dev:
        cands = {fact_doc[(f[0], a)] for a in ATTRIBUTES}
        cands |= set(r.sample(all_ids, 8))
        run += [(qid[f], d) for d in sorted(cands)]
    run.sort(key=lambda x: (x[1], x[0]))  # ir_datasets' ms.run is sorted by doc id
    (folder / "dev.ms.run").write_text("".join(f"{q}\t{d}\n" for q, d in run))
    # TREC-DL-style graded qrels: 3 relevant fact, 1 same-subject passages, 0 others; the last
    # query has no passage graded >= 2 (judged but without a relevant passage)
    lines = []
    for k, f in enumerate(trec):
        for a in ATTRIBUTES:
            grade = 3 if a == f[1] and k < len(trec) - 1 else (1 if a != f[1] else 0)
            lines.append(f"{qid[f]} Q0 {fact_doc[(f[0], a)]} {grade}\n")
    (folder / "queries.dl19.tsv").write_text(queries(trec))
    (folder / "qrels.dl19").write_text("".join(lines))
    trec_run = [(qid[f], fact_doc[(f[0], a)]) for f in trec for a in ATTRIBUTES]
    (folder / "dl19.ms.run").write_text("".join(f"{q}\t{d}\n" for q, d in sorted(trec_run)))
    (folder / "queries.eval.small.tsv").write_text(queries(facts[44:]))
    return {
        "fact_doc": fact_doc,
        "qid": qid,
        "train": train,
        "dev": dev,
        "trec": trec,
        "qtext": qtext,
    }


def register(folder: Path) -> dict:
    """Build the files and register the ids (once per process)."""
    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecQrels, TrecScoredDocs, TsvDocPairs, TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    facts = build(folder)
    if f"{PREFIX}/dev/small" in ir_datasets.registry:
        return facts
    f = folder
    docs = TsvDocs(LocalDownload(f / "collection.tsv"), namespace="msmarco-form")
    train_q = TsvQueries(LocalDownload(f / "queries.train.tsv"))
    train_qrels = TrecQrels(LocalDownload(f / "qrels.train"), {1: "relevant"})
    datasets = {
        PREFIX: Dataset(docs),
        f"{PREFIX}/train/triples-small": Dataset(
            docs, train_q, train_qrels, TsvDocPairs(LocalDownload(f / "triples.small.tsv"))
        ),
        f"{PREFIX}/train/judged": Dataset(docs, train_q, train_qrels),
        f"{PREFIX}/dev/small": Dataset(
            docs,
            TsvQueries(LocalDownload(f / "queries.dev.small.tsv")),
            TrecQrels(LocalDownload(f / "qrels.dev.small"), {1: "relevant"}),
            TrecScoredDocs(LocalDownload(f / "dev.ms.run")),
            _Doc(["RR@10"]),
        ),
        f"{PREFIX}/trec-dl-2019/judged": Dataset(
            docs,
            TsvQueries(LocalDownload(f / "queries.dl19.tsv")),
            TrecQrels(
                LocalDownload(f / "qrels.dl19"),
                {3: "perfect", 2: "high", 1: "related", 0: "irrelevant"},
            ),
            TrecScoredDocs(LocalDownload(f / "dl19.ms.run")),
            _Doc(["nDCG@10", "RR(rel=2)", "AP(rel=2)"]),
        ),
        f"{PREFIX}/eval/small": Dataset(
            docs, TsvQueries(LocalDownload(f / "queries.eval.small.tsv"))
        ),
    }
    for name, ds in datasets.items():
        ir_datasets.registry.register(name, ds)
    return facts
