"""PairEncoder: equal to the tokenizer's own pair encoding, truncation, caching, buckets."""

from __future__ import annotations

import gc
import random
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

import rerankscale.models.encoding
from rerankscale.models.encoding import EncodingError, PairEncoder, TokenCache, length_buckets
from rerankscale.models.tokenizer import train_wordpiece, wordlevel_tokenizer

WORDS = [f"w{i}" for i in range(50)]


def _texts(n: int, lo: int, hi: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))) for _ in range(n)]


@pytest.fixture(scope="module")
def word_tok():
    return wordlevel_tokenizer(WORDS)


@pytest.fixture(scope="module")
def piece_tok():
    rng = random.Random(1)
    corpus = [
        " ".join(
            rng.choice(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
            + rng.choice(["", "s", "ed", "ing"])
            for _ in range(12)
        )
        for _ in range(300)
    ]
    return train_wordpiece(corpus, vocab_size=60)


@pytest.mark.parametrize("which", ["word_tok", "piece_tok"])
def test_encode_equals_the_tokenizers_own_pair_encoding(which, request):
    tok = request.getfixturevalue(which)
    if which == "word_tok":
        queries, docs = _texts(12, 1, 6, 0), _texts(12, 0, 40, 1)
    else:
        queries = ["alphas beta", "gammaing", "zeta deltaed epsilon", "beta"] * 3
        docs = [" ".join(["alphaing zetas gamma delta"] * k) for k in range(12)]
    enc = PairEncoder(tok, max_length=24)
    batch = enc.encode(queries, docs)
    own = tok(
        queries,
        docs,
        truncation="only_second",
        max_length=24,
        padding="longest",
        return_tensors="pt",
    )
    assert set(batch) == {"input_ids", "attention_mask"}
    assert torch.equal(batch["input_ids"], own["input_ids"])  # includes truncated passages
    assert torch.equal(batch["attention_mask"], own["attention_mask"])
    assert enc.lengths(queries, docs) == own["attention_mask"].sum(1).tolist()
    assert batch["input_ids"].shape[1] == max(enc.lengths(queries, docs))  # batch's own longest
    assert batch["input_ids"].dtype == torch.long


def test_token_type_ids_only_when_the_model_uses_them(word_tok):
    import copy

    bert_like = copy.deepcopy(word_tok)
    bert_like.model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    enc = PairEncoder(bert_like, max_length=16)
    q, d = ["w1 w2", "w3"], ["w4 w5 w6", "w7"]
    batch = enc.encode(q, d)
    own = bert_like(q, d, padding="longest", return_tensors="pt")
    assert torch.equal(batch["token_type_ids"], own["token_type_ids"])
    assert batch["token_type_ids"][0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert "token_type_ids" not in PairEncoder(word_tok, 16).encode(q, d)


def test_passage_is_truncated_first_and_the_query_capped_at_half(word_tok):
    enc = PairEncoder(word_tok, max_length=13)  # budget 10 content tokens
    long_q = " ".join(WORDS[:8])
    long_d = " ".join(WORDS[20:35])
    ids = enc.encode([long_q, "w1 w2", long_q], [long_d, long_d, "w40"])["input_ids"].tolist()
    v = word_tok.convert_tokens_to_ids
    cls, sep = 2, 3
    assert ids[0] == [cls, *v(WORDS[:5]), sep, *v(WORDS[20:25]), sep]  # query capped at 10 // 2
    assert ids[1] == [cls, v("w1"), v("w2"), sep, *v(WORDS[20:28]), sep]  # passage fills the rest
    assert ids[2][:13] == [
        cls,
        *v(WORDS[:8]),
        sep,
        v("w40"),
        sep,
        0,
    ]  # short passage: query keeps 8
    assert enc.lengths([long_q, "w1 w2", long_q], [long_d, long_d, "w40"]) == [13, 13, 12]


def test_each_distinct_text_is_tokenized_once(word_tok):
    seen = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, texts, *args, **kwargs):
            seen.extend([texts] if isinstance(texts, str) else texts)
            return self.inner(texts, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    enc = PairEncoder(Counting(word_tok), max_length=32)
    seen.clear()  # the constructor's template probe
    enc.encode(["w1 w2"] * 4, ["w3", "w4", "w3", "w5"])
    enc.encode(["w1 w2", "w9"], ["w5", "w3"])
    assert sorted(seen) == sorted(["w1 w2", "w3", "w4", "w5", "w9"])
    assert enc.cache_size == 5
    enc.clear_cache()
    assert enc.cache_size == 0


def test_token_cache_returns_exactly_what_the_tokenizer_returns():
    """Real text (this package's source lines, unicode included), a WordPiece tokenizer; texts
    repeated within and across calls, new texts after the arrays have grown, empty texts."""
    lines = [
        " ".join(x.split())
        for x in Path(rerankscale.models.encoding.__file__).read_text().split("\n")
    ]
    tok = train_wordpiece(lines, vocab_size=300)
    enc = PairEncoder(tok, max_length=32)
    calls = [lines[:120] + lines[:40], lines[80:200] + ["", lines[5]], lines[150:] + lines[::7]]
    for texts in calls:
        expected = [list(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
        assert enc.token_ids(texts) == expected  # ids, order and lengths
        starts, lengths = enc._cache.spans(texts, enc._tokenize)
        assert lengths.tolist() == [len(e) for e in expected]
        assert [enc._cache.ids[s : s + n].tolist() for s, n in zip(starts, lengths)] == expected
    distinct = set(lines)
    assert enc.cache_size == len(distinct)
    assert enc._cache.n_tokens == sum(
        len(tok(t, add_special_tokens=False)["input_ids"]) for t in distinct
    )
    assert enc._cache.ids.dtype == np.uint16


def test_token_cache_widens_for_ids_beyond_uint16():
    def tokenize(texts):
        return [[int(w) for w in t.split()] for t in texts]

    cache = TokenCache()
    assert cache.get(["1 2 3", "65535"], tokenize) == [[1, 2, 3], [65535]]
    assert cache.ids.dtype == np.uint16
    big = ["70000 5", str(2**40)]
    assert cache.get(big + ["1 2 3"], tokenize) == [[70000, 5], [2**40], [1, 2, 3]]
    assert cache.get(["65535", "70000 5"], tokenize) == [[65535], [70000, 5]]
    assert cache.ids.dtype == np.uint64


def test_token_cache_bytes_per_token(word_tok):
    """``nbytes`` (the docstring's formula) matches what tracemalloc sees the cache retain, and
    is ≤ 8 B per token for passage-like texts (10–30 tokens) filled step by step."""
    texts = _texts(3000, 10, 30, seed=3)
    enc = PairEncoder(word_tok, max_length=64)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(0, len(texts), 100):
            enc.encode(texts[i : i + 100], texts[i : i + 100])
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    cache = enc._cache
    assert cache.nbytes == pytest.approx(retained, rel=0.1)
    assert cache.nbytes / cache.n_tokens <= 8


def test_length_buckets_sorted_and_deterministic():
    lengths = [5, 17, 3, 17, 9, 1, 12]
    buckets = length_buckets(lengths, 3)
    assert buckets == [[1, 3, 6], [4, 0, 2], [5]]
    assert sorted(i for b in buckets for i in b) == list(range(7))
    assert length_buckets(lengths, 3) == buckets
    assert length_buckets([], 4) == []


def test_bad_input_is_a_clear_error(word_tok):
    from tokenizers import processors

    enc = PairEncoder(word_tok, 16)
    with pytest.raises(EncodingError, match="2 queries but 1 passages"):
        enc.encode(["w1", "w2"], ["w3"])
    with pytest.raises(EncodingError, match="lists"):
        enc.encode("w1", "w2")
    with pytest.raises(EncodingError, match="no pairs"):
        enc.encode([], [])
    with pytest.raises(EncodingError, match="strings"):
        enc.encode([None], ["w1"])
    with pytest.raises(EncodingError, match="max_length=3"):
        PairEncoder(word_tok, 3)
    with pytest.raises(EncodingError, match="batch_size"):
        length_buckets([1, 2], 0)
    roberta_like = wordlevel_tokenizer(WORDS)
    roberta_like.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    with pytest.raises(EncodingError, match=r"not \[CLS\] q \[SEP\] d \[SEP\]"):
        PairEncoder(roberta_like, 16)
