"""Tokenizers for the locally built encoders (``scratch`` and ``suite`` families).

Two kinds, both wrapped as a transformers ``PreTrainedTokenizerFast`` that saves and loads with
``AutoTokenizer`` and encodes a pair as ``[CLS] q [SEP] d [SEP]``:

- **word-level**, when the dataset has a fixed vocabulary (``rerankscale.data.dataset_vocabulary``
  returns a list, as the synthetic task does): every whitespace-separated word is one token;
- **WordPiece** (Wu et al. 2016; BERT's tokenizer), otherwise: trained with the ``tokenizers``
  library on the dataset's documents (``rerankscale.data.corpus_texts``), lower-cased, with the
  vocabulary size of ``ModelConfig.vocab_size``.

Special tokens and their ids: ``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4``.

Tokenizers are cached under ``<cache>/tokenizers/<key>`` (``<cache>`` = ``<project>/.cache`` or
``$RERANKSCALE_CACHE``), keyed by the dataset id and the vocabulary recipe; a cache entry is
built in a temporary folder and renamed into place, under a file lock, so concurrent workers
never see (or both build) a half-written tokenizer.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from rerankscale.caches import cache_root, file_lock
from rerankscale.io import atomic_write_json
from rerankscale.paths import suite_dir

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TOKENIZER_RECIPE = 1  # bump when the way tokenizers are built changes (invalidates the cache)
MAX_TRAIN_TEXTS = 1_000_000  # documents read to train a WordPiece vocabulary
FINGERPRINT_DOCS = 100  # documents hashed to tell two corpora with the same id apart
META_FILE = "rerankscale_tokenizer.json"
SUITE_DIR = (
    suite_dir()
)  # the shipped pretrained mini-suite (rerankscale.models.suite; rule in paths)


class TokenizerError(RuntimeError):
    """A tokenizer cannot be built or loaded; the message names the problem and the fix."""


# --------------------------------------------------------------------------- data access


def corpus_texts(dataset_id: str, limit: int | None = None) -> Iterator[str]:
    """``rerankscale.data.corpus_texts`` (looked up at call time, so tests can substitute it)."""
    try:
        from rerankscale.data import corpus_texts as _corpus_texts
    except ImportError as err:
        raise TokenizerError(
            f"cannot read the documents of {dataset_id!r}: rerankscale.data.corpus_texts is not "
            f"available ({err}); install the data package or pass a tokenizer explicitly"
        ) from err
    return _corpus_texts(dataset_id, limit=limit)


def dataset_vocabulary(dataset_id: str) -> list[str] | None:
    """``rerankscale.data.dataset_vocabulary`` (looked up at call time)."""
    try:
        from rerankscale.data import dataset_vocabulary as _dataset_vocabulary
    except ImportError as err:
        raise TokenizerError(
            f"cannot ask {dataset_id!r} for a fixed vocabulary: rerankscale.data."
            f"dataset_vocabulary is not available ({err}); install the data package or pass a "
            "tokenizer explicitly"
        ) from err
    return _dataset_vocabulary(dataset_id)


def corpus_fingerprint(texts: Iterable[str]) -> str:
    """A short hash of (the first ``FINGERPRINT_DOCS`` of) ``texts``; part of the cache keys of
    corpus-trained artefacts, since one dataset id can name different corpora (the synthetic
    task's documents change with its knobs)."""
    digest = hashlib.sha256()
    for text in itertools.islice(texts, FINGERPRINT_DOCS):
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- cache folders


def build_directory(final: Path, build: Callable[[Path], None], done_marker: str) -> Path:
    """Create the folder ``final`` atomically: ``build(tmp)`` fills a temporary sibling folder,
    which is then renamed to ``final``. Under a lock, so a second process waits and reuses the
    first one's result. ``final/done_marker`` must exist for a folder to count as complete."""
    final = Path(final)
    if (final / done_marker).exists():
        return final
    with file_lock(final.parent / f".{final.name}.lock"):
        if (final / done_marker).exists():
            return final
        if final.exists():  # incomplete leftover (a crash before this code's rename)
            shutil.rmtree(final)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
        try:
            build(tmp)
            if not (tmp / done_marker).exists():
                raise TokenizerError(f"building {final} did not write {done_marker}")
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def slug(text: str) -> str:
    """A file-name-safe version of ``text``: ``rerankscale/synthetic/train`` →
    ``rerankscale_synthetic_train``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


# --------------------------------------------------------------------------- building


def _wrap(backend, model_max_length: int = 512):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "attention_mask"],
        model_max_length=model_max_length,
    )


def _pair_template(backend) -> None:
    from tokenizers import processors

    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )


def wordlevel_tokenizer(vocabulary: Sequence[str]):
    """A word-level tokenizer over a fixed vocabulary: whitespace pre-tokenizer, special tokens
    ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0–4), then the vocabulary in order (duplicates and
    special tokens dropped); unknown words map to ``[UNK]``.

    >>> tok = wordlevel_tokenizer(["the", "cat"])
    >>> len(tok), tok("the cat", "dog")["input_ids"]
    (7, [2, 5, 6, 3, 1, 3])
    """
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = list(dict.fromkeys(w for w in vocabulary if w not in SPECIAL_TOKENS))
    bad = [w for w in words if not isinstance(w, str) or not w or any(c.isspace() for c in w)]
    if bad:
        raise TokenizerError(
            f"vocabulary entries must be non-empty strings without whitespace; got {bad[:5]!r}"
        )
    if not words:
        raise TokenizerError("the fixed vocabulary is empty; a word-level tokenizer needs words")
    vocab = {tok: i for i, tok in enumerate([*SPECIAL_TOKENS, *words])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    _pair_template(backend)
    return _wrap(backend)


def train_wordpiece(texts: Iterable[str], vocab_size: int, progress: bool = False):
    """A lower-cased BERT-style WordPiece tokenizer trained on ``texts`` (``tokenizers``'
    ``WordPieceTrainer``, ``min_frequency=2``). The vocabulary has at most ``vocab_size`` tokens
    (fewer when the corpus has fewer distinct pieces), special tokens first (ids 0–4)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if vocab_size < len(SPECIAL_TOKENS) + 1:
        raise TokenizerError(f"vocab_size={vocab_size} is too small; use at least a few hundred")
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=progress,
    )
    n_seen = 0

    def counted():
        nonlocal n_seen
        for text in texts:
            n_seen += 1
            yield text

    backend.train_from_iterator(counted(), trainer=trainer)
    if n_seen == 0:
        raise TokenizerError("no texts to train a WordPiece vocabulary on (the corpus is empty)")
    for i, token in enumerate(SPECIAL_TOKENS):
        if backend.token_to_id(token) != i:
            raise TokenizerError(f"special token {token} did not get id {i} (tokenizers changed?)")
    _pair_template(backend)
    return _wrap(backend)


def save_and_check(tokenizer, path: str | Path) -> None:
    """Save with ``save_pretrained`` and reload with ``AutoTokenizer``; raise if the vocabulary
    size changed on the way (the transformers-5 trap that silently yields 5 tokens)."""
    from transformers import AutoTokenizer

    tokenizer.save_pretrained(str(path))
    reloaded = AutoTokenizer.from_pretrained(str(path))
    if len(reloaded) != len(tokenizer):
        raise TokenizerError(
            f"tokenizer saved to {path} reloads with {len(reloaded)} tokens instead of "
            f"{len(tokenizer)}; the saved files are broken"
        )


# --------------------------------------------------------------------------- cached access


def tokenizer_spec(dataset_id: str, vocab_size: int) -> dict:
    """What identifies a dataset's tokenizer: the kind, and the fixed vocabulary's hash or the
    WordPiece recipe."""
    words = dataset_vocabulary(dataset_id)
    if words is not None:
        digest = hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]
        return {
            "dataset_id": dataset_id,
            "kind": "wordlevel",
            "vocabulary_sha": digest,
            "recipe": TOKENIZER_RECIPE,
        }
    return {
        "dataset_id": dataset_id,
        "corpus_fingerprint": corpus_fingerprint(corpus_texts(dataset_id, limit=FINGERPRINT_DOCS)),
        "kind": "wordpiece",
        "vocab_size": int(vocab_size),
        "max_texts": MAX_TRAIN_TEXTS,
        "lowercase": True,
        "recipe": TOKENIZER_RECIPE,
    }


def tokenizer_key(spec: dict) -> str:
    """``<dataset slug>-<kind>-<hash of the spec>``, the cache folder name."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    kind = spec["kind"] + (str(spec["vocab_size"]) if spec["kind"] == "wordpiece" else "")
    return f"{slug(spec['dataset_id'])}-{kind}-{digest}"


def get_tokenizer(
    dataset_id: str, vocab_size: int, cache_dir: str | Path | None = None, progress: bool = True
):
    """The tokenizer for ``dataset_id``: word-level over the dataset's fixed vocabulary if it has
    one, else WordPiece trained on its documents; built on first use, then loaded from
    ``<cache>/tokenizers/<key>``. Returns a ``PreTrainedTokenizerFast`` whose
    ``init_kwargs["name_or_path"]`` is the cache folder."""
    from transformers import AutoTokenizer

    spec = tokenizer_spec(dataset_id, vocab_size)
    final = cache_root(cache_dir) / "tokenizers" / tokenizer_key(spec)

    def build(tmp: Path) -> None:
        if spec["kind"] == "wordlevel":
            tokenizer = wordlevel_tokenizer(dataset_vocabulary(dataset_id))
        else:
            texts = corpus_texts(dataset_id, limit=MAX_TRAIN_TEXTS)
            tokenizer = train_wordpiece(texts, vocab_size, progress=progress)
        save_and_check(tokenizer, tmp)
        atomic_write_json(tmp / META_FILE, {**spec, "n_tokens": len(tokenizer)})

    build_directory(final, build, META_FILE)
    tokenizer = AutoTokenizer.from_pretrained(str(final))
    expected = json.loads((final / META_FILE).read_text())["n_tokens"]
    if len(tokenizer) != expected:
        raise TokenizerError(
            f"cached tokenizer {final} has {len(tokenizer)} tokens, its record says {expected}; "
            "delete the folder to rebuild it"
        )
    return tokenizer
