"""Word-level and WordPiece tokenizers: vocabulary sizes after save/load, pair template, cache."""

from __future__ import annotations

import pytest

from rerankscale.models.tokenizer import (
    TokenizerError,
    get_tokenizer,
    save_and_check,
    train_wordpiece,
    wordlevel_tokenizer,
)

from .conftest import pseudo_vocabulary


def test_wordlevel_vocabulary_size_survives_save_and_autotokenizer_load(tmp_path):
    from transformers import AutoTokenizer

    tok = wordlevel_tokenizer(pseudo_vocabulary() + ["e1", "[SEP]"])  # duplicates dropped
    assert len(tok) == 5 + 122
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert len(loaded) == 127  # not the 5-token vocabulary of the transformers-5 trap
    assert loaded.convert_ids_to_tokens([0, 1, 2, 3, 4, 5]) == [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "e0",
    ]
    enc = loaded("e0 r1 zzz", "v2 f3")
    assert enc["input_ids"] == [2, 5, 60 + 5 + 1, 1, 3, 72 + 5 + 2, 112 + 5 + 3, 3]
    assert "token_type_ids" not in enc  # ModernBERT takes no token types
    assert loaded.pad_token_id == 0 and loaded.mask_token_id == 4


def test_wordpiece_trained_locally_keeps_its_size_and_special_ids(tmp_path, corpus):
    from transformers import AutoTokenizer

    tok = train_wordpiece(corpus[:1000], vocab_size=150)
    assert 100 < len(tok) <= 150
    save_and_check(tok, tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert len(loaded) == len(tok)
    assert [
        loaded.convert_tokens_to_ids(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    ] == [0, 1, 2, 3, 4]
    ids = loaded("E12 r3", "v7 f1")["input_ids"]
    assert ids[0] == 2 and ids[-1] == 3 and ids.count(3) == 2
    assert loaded.tokenize("E12 r3") == loaded.tokenize("e12 r3")  # lower-cased


def test_bad_vocabularies_are_clear_errors():
    with pytest.raises(TokenizerError, match="without whitespace"):
        wordlevel_tokenizer(["ok", "two words"])
    with pytest.raises(TokenizerError, match="empty"):
        wordlevel_tokenizer(["[PAD]"])
    with pytest.raises(TokenizerError, match="corpus is empty"):
        train_wordpiece([], vocab_size=100)


def test_get_tokenizer_picks_the_kind_and_caches_on_disk(tmp_path, fake_data, monkeypatch):
    import rerankscale.models.tokenizer as tokmod

    trained = []
    real_train = tokmod.train_wordpiece
    monkeypatch.setattr(
        tokmod, "train_wordpiece", lambda *a, **k: trained.append(a[1]) or real_train(*a, **k)
    )
    words = get_tokenizer("toy/words", vocab_size=999, cache_dir=tmp_path)
    assert len(words) == 127 and words.tokenize("e5 v7") == ["e5", "v7"]
    assert type(words.backend_tokenizer.model).__name__ == "WordLevel"
    pieces = get_tokenizer("toy/text", vocab_size=150, cache_dir=tmp_path, progress=False)
    assert len(pieces) <= 150 and trained == [150]
    assert type(pieces.backend_tokenizer.model).__name__ == "WordPiece"
    folders = sorted(
        p.name for p in (tmp_path / "tokenizers").iterdir() if not p.name.startswith(".")
    )
    assert len(folders) == 2
    assert any(f.startswith("toy_words-wordlevel-") for f in folders)
    assert any(f.startswith("toy_text-wordpiece150-") for f in folders)
    assert not [p for p in (tmp_path / "tokenizers").iterdir() if ".tmp-" in p.name]
    again = get_tokenizer("toy/text", vocab_size=150, cache_dir=tmp_path)
    assert trained == [150]  # loaded from the cache, not retrained
    assert again.get_vocab() == pieces.get_vocab()
    other = get_tokenizer("toy/text", vocab_size=120, cache_dir=tmp_path, progress=False)
    assert trained == [150, 120] and len(other) <= 120  # another key


def test_tokenizer_cache_key_follows_the_corpus_content(tmp_path, fake_data, monkeypatch, corpus):
    import rerankscale.models.tokenizer as tokmod

    first = tokmod.tokenizer_key(tokmod.tokenizer_spec("toy/text", 150))
    monkeypatch.setattr(tokmod, "corpus_texts", lambda d, limit=None: iter(corpus[1:][:limit]))
    assert tokmod.tokenizer_key(tokmod.tokenizer_spec("toy/text", 150)) != first


def test_a_failed_build_leaves_no_cache_entry(tmp_path, fake_data, monkeypatch):
    import rerankscale.models.tokenizer as tokmod

    def broken(dataset_id, limit=None):
        for i in range(limit or 10**6):
            if i == 150:  # after the fingerprint, during training
                raise OSError("disk gone")
            yield f"some text {i}"

    monkeypatch.setattr(tokmod, "corpus_texts", broken)
    with pytest.raises(OSError, match="disk gone"):
        get_tokenizer("toy/text", vocab_size=100, cache_dir=tmp_path)
    assert [
        p.name for p in (tmp_path / "tokenizers").iterdir() if not p.name.endswith(".lock")
    ] == []
