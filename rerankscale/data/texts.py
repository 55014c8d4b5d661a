"""Corpus texts (for tokenizer / MLM training) and fixed vocabularies."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from .errors import DataValueError
from .registry import SYNTHETIC_PREFIX, iter_docs, load_dataset, require


def _is_synthetic(dataset_id: str) -> bool:
    return dataset_id == SYNTHETIC_PREFIX or dataset_id.startswith(SYNTHETIC_PREFIX + "/")


def corpus_texts(
    dataset_id: str, limit: int | None = None, *, synthetic: dict | None = None
) -> Iterator[str]:
    """Doc texts of a dataset's collection in collection order (the first ``limit``).

    For ``rerankscale/synthetic/train`` these are the training chunks' passages (chunk 0 first),
    for the other synthetic ids the evaluation corpus.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise DataValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    if _is_synthetic(dataset_id):
        return _synthetic_texts(dataset_id, limit, synthetic)
    ds = load_dataset(dataset_id)
    require(dataset_id, ds, "docs", "corpus_texts")
    return (text for _, text in itertools.islice(iter_docs(dataset_id, ds), limit))


def _synthetic_texts(dataset_id: str, limit: int | None, synthetic) -> Iterator[str]:
    from .synthetic.config import SyntheticConfig, active_config
    from .synthetic.generate import ensure_eval_files, train_chunk

    load_dataset(dataset_id)  # validates the id
    cfg = SyntheticConfig.from_overrides(synthetic) if synthetic is not None else active_config()

    def texts() -> Iterator[str]:
        if dataset_id.endswith("/train"):
            for c in range(cfg.train_chunks):
                yield from train_chunk(cfg, 0, c).texts
        else:
            with (ensure_eval_files(cfg) / "docs.tsv").open() as f:
                for line in f:
                    yield line.rstrip("\n").split("\t", 1)[1]

    return itertools.islice(texts(), limit)


def dataset_vocabulary(dataset_id: str, *, synthetic: dict | None = None) -> list[str] | None:
    """The fixed vocabulary of a dataset, or None when it has none (natural-language data).

    For the synthetic ids: fillers, final pieces (``lom``) and continuation pieces (``ka_``); a
    whitespace pre-tokenizer splits every synthetic query and passage into exactly these items,
    so a word-level tokenizer over them never produces an unknown token.
    """
    if not _is_synthetic(dataset_id):
        load_dataset(dataset_id)  # a clear error for unknown ids
        return None
    from .synthetic.config import SyntheticConfig, active_config
    from .synthetic.world import build_world

    load_dataset(dataset_id)
    cfg = SyntheticConfig.from_overrides(synthetic) if synthetic is not None else active_config()
    return build_world(cfg).vocabulary()
