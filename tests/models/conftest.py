"""Fixtures for the model tests: a structured pseudo-text corpus and local tokenizers."""

from __future__ import annotations

import random

import pytest
import torch

N_ENTITIES, N_RELATIONS, N_VALUES, N_FILLERS = 60, 12, 40, 10


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine is shared: one torch thread for every model test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pseudo_vocabulary() -> list[str]:
    return (
        [f"e{i}" for i in range(N_ENTITIES)]
        + [f"r{i}" for i in range(N_RELATIONS)]
        + [f"v{i}" for i in range(N_VALUES)]
        + [f"f{i}" for i in range(N_FILLERS)]
    )


def pseudo_corpus(n_docs: int = 4000, seed: int = 0) -> list[str]:
    """Documents of facts ``e<entity> r<relation> v<value> f<filler>`` where the value is a
    fixed function of (entity, relation): a model that memorises more facts predicts masked
    values better, so MLM loss falls with training and with size."""
    rng = random.Random(seed)
    world = random.Random(12345)
    facts = {
        (e, r): world.randrange(N_VALUES) for e in range(N_ENTITIES) for r in range(N_RELATIONS)
    }
    docs = []
    for _ in range(n_docs):
        e = rng.randrange(N_ENTITIES)
        words = []
        for r in rng.sample(range(N_RELATIONS), 3):
            words += [f"e{e}", f"r{r}", f"v{facts[e, r]}", f"f{rng.randrange(N_FILLERS)}"]
        docs.append(" ".join(words))
    return docs


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return pseudo_corpus()


@pytest.fixture(scope="session")
def word_tokenizer():
    from rerankscale.models.tokenizer import wordlevel_tokenizer

    return wordlevel_tokenizer(pseudo_vocabulary())


@pytest.fixture
def fake_data(monkeypatch, corpus):
    """Stand-ins for ``rerankscale.data.corpus_texts`` / ``dataset_vocabulary``: dataset
    ``toy/words`` has a fixed vocabulary, ``toy/text`` has none. Records every call."""
    import rerankscale.models.tokenizer as tok

    calls = {"corpus_texts": 0, "dataset_vocabulary": 0, "limits": []}

    def corpus_texts(dataset_id, limit=None):
        calls["corpus_texts"] += 1
        calls["limits"].append(limit)
        return iter(corpus[:limit])

    def dataset_vocabulary(dataset_id):
        calls["dataset_vocabulary"] += 1
        return pseudo_vocabulary() if dataset_id == "toy/words" else None

    monkeypatch.setattr(tok, "corpus_texts", corpus_texts)
    monkeypatch.setattr(tok, "dataset_vocabulary", dataset_vocabulary)
    return calls
