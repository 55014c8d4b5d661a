"""Benchmark: memory of the token-id cache, the old dict of ``list[int]`` vs ``TokenCache``.

Both storages are filled with the same texts in the same batches, through the same tokenizer
call as ``PairEncoder`` makes (``tokenizer(texts, add_special_tokens=False)["input_ids"]``):

- ``synthetic``: the first ``--groups`` groups (1 query + 7 negatives + 1 positive) of the CPU
  study's training stream ``rerankscale/synthetic/train`` (``data.training_groups``, seed 0),
  ``--groups-per-step`` groups per call as the trainer sends them (queries, then passages),
  with the dataset's word-level tokenizer;
- ``scifact``: BEIR SciFact's corpus (title + abstract) and queries (the project's registry, the
  cache seeded from ``../shared/data/scifact``; skipped when that folder is absent), 256 texts
  per call, with a WordPiece tokenizer trained on it (30,522 entries requested, BERT's size).

Measured with ``tracemalloc``: the bytes still allocated once a storage is built (after
``gc.collect()``) minus those before; the texts are created before tracing starts, so they are
not counted. Median of ``--repeats`` builds of each storage, alternating. Three accountings per
token (``T`` = tokens of the distinct texts, the same for both storages):

- ``no_dict``: the ids and the per-text entries (old: the lists and their int objects; new: the
  ``ids`` array and the span ints) = ``all`` minus the text -> entry dict's own table
  (``sys.getsizeof``): the cost without the text keys;
- ``all``: everything the cache holds beyond the texts (the ≤ 8 B target is judged on this one);
- ``+texts``: ``all`` plus ``sys.getsizeof`` of the distinct texts, the cost when the cache is the
  texts' only holder (the training stream drops each step's groups; the cache's keys keep them).

``TokenCache.nbytes`` (its docstring's formula) is reported next to the measured ``all``.

    .venv/bin/python bench/bench_tokens.py                  # ≈ 1–2 min on a 2-core CPU
    .venv/bin/python bench/bench_tokens.py --groups 512 --repeats 1   # quick

Writes ``bench/results/bench_tokens.json``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# the checkout first, and not bench/ itself: a module there could shadow an installed package
# (a bench/coverage.py once shadowed the coverage package numba imports)
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

from rerankscale.io import atomic_write_json  # noqa: E402
from rerankscale.models.encoding import TokenCache  # noqa: E402
from rerankscale.provenance import environment_info  # noqa: E402

SYNTHETIC = "rerankscale/synthetic/train"
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
N_NEGATIVES = 7


class ListCache:
    """The storage before issue 10 (``PairEncoder._cache`` up to commit 704e9b2): a dict text ->
    ``list[int]``, each list a copy of the tokenizer's output."""

    def __init__(self):
        self.rows: dict[str, list[int]] = {}

    def get(self, texts, tokenize):
        new = list(dict.fromkeys(t for t in texts if t not in self.rows))
        if new:
            self.rows.update(zip(new, (list(e) for e in tokenize(new))))
        return [self.rows[t] for t in texts]


def dict_bytes(cache) -> int:
    """The text -> entry dict's own table (``sys.getsizeof``: slots, hash index; not the entries)."""
    return sys.getsizeof(cache.rows if isinstance(cache, ListCache) else cache._spans)


# --------------------------------------------------------------------------- workloads


def synthetic_batches(n_groups: int, groups_per_step: int):
    """The trainer's calls for the first ``n_groups`` training groups, and the tokenizer."""
    from rerankscale.data import training_groups
    from rerankscale.data.texts import dataset_vocabulary
    from rerankscale.models.tokenizer import wordlevel_tokenizer

    groups = list(itertools.islice(training_groups(SYNTHETIC, N_NEGATIVES, seed=0), n_groups))
    batches = []
    for first in range(0, len(groups), groups_per_step):
        step = groups[first : first + groups_per_step]
        batches.append([g.query for g in step for _ in g.docs])
        batches.append([d for g in step for d in g.docs])
    return batches, wordlevel_tokenizer(dataset_vocabulary(SYNTHETIC))


def scifact_batches(vocab_size: int, per_call: int = 256):
    """SciFact's corpus and queries in calls of ``per_call`` texts, and a WordPiece tokenizer."""
    from rerankscale.data import load_dataset, seed_beir_cache
    from rerankscale.data.registry import iter_docs, iter_queries
    from rerankscale.models.tokenizer import train_wordpiece

    seed_beir_cache("scifact", SCIFACT)
    ds = load_dataset("beir/scifact")
    texts = [t for _, t in iter_docs("beir/scifact", ds)]
    texts += [t for _, t in iter_queries("beir/scifact", ds)]
    batches = [texts[i : i + per_call] for i in range(0, len(texts), per_call)]
    return batches, train_wordpiece(texts, vocab_size)


# --------------------------------------------------------------------------- measurement


def build(make: Callable, batches: list[list[str]], tokenize) -> tuple[object, int]:
    """A storage filled with ``batches``, and the bytes it retains (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = make()
        for texts in batches:
            cache.get(texts, tokenize)
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return cache, retained


def bench_workload(name: str, batches: list[list[str]], tokenizer, repeats: int) -> dict:
    def tokenize(texts):
        return tokenizer(texts, add_special_tokens=False)["input_ids"]

    distinct = list(dict.fromkeys(itertools.chain.from_iterable(batches)))
    lengths = [len(ids) for ids in tokenize(distinct)]
    n_tokens, text_bytes = sum(lengths), sum(sys.getsizeof(t) for t in distinct)
    runs: dict[str, list[dict]] = {"old_lists": [], "new_arrays": []}
    for _ in range(repeats):  # alternate the storages
        for label, make in (("old_lists", ListCache), ("new_arrays", TokenCache)):
            cache, retained = build(make, batches, tokenize)
            run = {"retained_bytes": retained, "dict_bytes": dict_bytes(cache)}
            if isinstance(cache, TokenCache):
                assert cache.n_tokens == n_tokens, (cache.n_tokens, n_tokens)
                run.update(nbytes=cache.nbytes, ids_dtype=str(cache.ids.dtype))
            assert cache.get(distinct[:200], tokenize) == [
                list(e) for e in tokenize(distinct[:200])
            ]
            runs[label].append(run)
            del cache
    row = {
        "workload": name,
        "vocab_size": len(tokenizer),
        "calls": len(batches),
        "texts": len(distinct),
        "tokens": n_tokens,
        "tokens_per_text": round(n_tokens / len(distinct), 2),
        "text_bytes": text_bytes,
        "repeats": repeats,
    }
    for label, rs in runs.items():
        total = statistics.median(r["retained_bytes"] for r in rs)
        table = statistics.median(r["dict_bytes"] for r in rs)
        row[label] = {
            "retained_bytes": total,
            "bytes_per_token_no_dict": (total - table) / n_tokens,
            "bytes_per_token_all": total / n_tokens,
            "bytes_per_token_with_texts": (total + text_bytes) / n_tokens,
            "runs": rs,
        }
    new = row["new_arrays"]
    new["nbytes_per_token"] = statistics.median(r["nbytes"] for r in rs) / n_tokens
    new["ids_dtype"] = rs[0]["ids_dtype"]
    row["ratio_all"] = row["old_lists"]["bytes_per_token_all"] / new["bytes_per_token_all"]
    return row


def workloads(args) -> Iterator[tuple[str, list[list[str]], object]]:
    print(f"synthetic: generating {args.groups} training groups ...", flush=True)
    yield "synthetic", *synthetic_batches(args.groups, args.groups_per_step)
    if not (SCIFACT / "corpus.jsonl").is_file():
        print(f"skipping scifact: {SCIFACT} not found", flush=True)
        return
    print("scifact: loading the corpus, training a WordPiece tokenizer ...", flush=True)
    yield "scifact", *scifact_batches(args.vocab_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=4096, help="synthetic training groups")
    parser.add_argument("--groups-per-step", type=int, default=16)
    parser.add_argument("--vocab-size", type=int, default=30522, help="SciFact WordPiece size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "bench_tokens.json"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = []
    for name, batches, tokenizer in workloads(args):
        rows.append(bench_workload(name, batches, tokenizer, args.repeats))
        print(json.dumps({k: v for k, v in rows[-1].items() if not isinstance(v, dict)}))
    report = {
        "method": "tracemalloc: bytes retained after building each storage (texts excluded), "
        "median of repeats; no_dict = all - sys.getsizeof(the text -> entry dict)",
        "target_bytes_per_token": 8,
        "target_judged_on": "bytes_per_token_all",
        "results": rows,
        "total_seconds": round(time.perf_counter() - started, 1),
        "environment": environment_info(),
    }
    atomic_write_json(args.out, report)
    print_table(report)
    print(f"wrote {args.out}")
    return 0


def print_table(report: dict) -> None:
    print(
        f"\n{'workload':>10} {'storage':>10} {'texts':>7} {'tokens':>9} {'tok/text':>8}   "
        f"bytes/token: {'no dict':>7} {'all':>6} {'+texts':>6} {'nbytes':>6}"
    )
    for r in report["results"]:
        for label in ("old_lists", "new_arrays"):
            x = r[label]
            formula = x.get("nbytes_per_token")
            print(
                f"{r['workload']:>10} {label:>10} {r['texts']:>7,} {r['tokens']:>9,} "
                f"{r['tokens_per_text']:>8.1f}   {'':>12} {x['bytes_per_token_no_dict']:>7.2f} "
                f"{x['bytes_per_token_all']:>6.2f} {x['bytes_per_token_with_texts']:>6.2f} "
                + (f"{formula:>6.2f}" if formula else f"{'':>6}")
            )
    print(
        f"(tracemalloc, median of {report['results'][0]['repeats']}; the ≤ "
        f"{report['target_bytes_per_token']} B target is judged on 'all'; nbytes: "
        "TokenCache.nbytes, its docstring's formula)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
