"""Fixtures for the evaluation tests: hand-built eval sets and a tiny saved cross-encoder."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

WORDS = [f"w{i}" for i in range(60)]
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


try:  # the real dataclass once rerankscale.data provides it
    from rerankscale.data import EvalSet
except ImportError:  # pragma: no cover - stand-in with the documented fields

    @dataclass
    class EvalSet:  # type: ignore[no-redef]
        dataset_id: str
        name: str
        queries: dict
        qrels: dict
        candidates: dict
        docs: dict
        rel_threshold: int
        depth: int


def make_eval_set(
    n_queries: int = 12,
    n_cands: int = 20,
    graded: bool = False,
    seed: int = 0,
    name: str = "toy",
    depth: int | None = None,
) -> EvalSet:
    """A deterministic toy eval set: word queries and passages, BM25-like scores with ties,
    binary (0/1) or graded (0/1/2, threshold 2) judgments, one query without a relevant
    candidate."""
    rng = random.Random(seed)
    queries, qrels, candidates, docs = {}, {}, {}, {}
    for qi in range(n_queries):
        qid = f"q{qi}"
        queries[qid] = " ".join(rng.sample(WORDS, rng.randint(2, 5)))
        cands = []
        score = 20.0
        for di in range(n_cands):
            docid = f"d{qi}_{di}"
            docs[docid] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
            if rng.random() > 0.3:  # ~30 % ties with the previous score
                score -= rng.random()
            cands.append((docid, round(score, 3)))
        candidates[qid] = cands
        judged = rng.sample([d for d, _ in cands], 5)
        grades = {}
        for j, docid in enumerate(judged):
            grades[docid] = rng.choice([0, 1, 2]) if graded else int(j < 2)
        if qi == 0:  # no relevant candidate: a relevant document outside the candidates
            grades = {judged[0]: 0, f"missing{qi}": 2 if graded else 1}
            docs[f"missing{qi}"] = "not retrieved"
        if graded and qi == 1:
            grades[judged[0]] = 2  # ensure at least one grade-2 positive
        qrels[qid] = grades
    return EvalSet(
        dataset_id=f"test/{name}",
        name=name,
        queries=queries,
        qrels=qrels,
        candidates=candidates,
        docs=docs,
        rel_threshold=2 if graded else 1,
        depth=depth or n_cands,
    )


@pytest.fixture
def toy_set() -> EvalSet:
    return make_eval_set()


@pytest.fixture
def graded_set() -> EvalSet:
    return make_eval_set(graded=True, seed=1, name="toy-graded")


def build_tiny_model(seed: int = 0):
    """A ~22k-parameter ModernBERT cross-encoder over WORDS (the project's own builders)."""
    import torch

    from rerankscale.config import ModelConfig
    from rerankscale.models.crossencoder import build_model
    from rerankscale.models.tokenizer import wordlevel_tokenizer

    torch.set_num_threads(1)
    tokenizer = wordlevel_tokenizer(WORDS + ["not", "retrieved"])
    model, tokenizer = build_model(
        ModelConfig(family="scratch", size="20k", max_length=64),
        None,
        seed=seed,
        tokenizer=tokenizer,
        progress=False,
    )
    with torch.no_grad():  # spread the scores: random init logits are nearly constant
        model.classifier.weight.mul_(50.0)
    return model.eval(), tokenizer


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from rerankscale.models.crossencoder import save_model

    model, tokenizer = build_tiny_model()
    return save_model(model, tokenizer, tmp_path_factory.mktemp("model") / "tiny")


def make_run_dir(
    root: Path,
    checkpoints: list[int],
    max_queries: int,
    eval_overrides=None,
    finished: bool = True,
    seed: int = 0,
) -> Path:
    """A run directory in the documented layout with one tiny model per checkpoint."""
    from rerankscale.config import RunConfig
    from rerankscale.models.crossencoder import save_model

    cfg = RunConfig()
    cfg.model.max_length = 64
    cfg.train.max_queries = max_queries
    cfg.train.checkpoints = checkpoints
    for key, value in (eval_overrides or {}).items():
        setattr(cfg.eval, key, value)
    run_dir = root / cfg.run_id
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(
        json.dumps({"run_id": cfg.run_id, "config": cfg.to_dict()})
    )
    for i, queries_seen in enumerate(checkpoints):
        model, tokenizer = build_tiny_model(seed=seed + i)
        exposure = {
            "step": (i + 1) * 10,
            "queries_seen": queries_seen,
            "pairs_seen": queries_seen * 8,
            "tokens_seen": queries_seen * 400,
            "train_flops": 1e9 * (i + 1),
            "attention_flops": 1e7 * (i + 1),
            "dense_flops": 1e9 * (i + 1) - 1e7 * (i + 1),
            "seconds": 1.0,
        }
        save_model(
            model,
            tokenizer,
            run_dir / "checkpoints" / f"q{queries_seen:09d}",
            extra_json={"exposure.json": exposure},
        )
    (run_dir / "status.json").write_text(json.dumps({"finished": finished}))
    return run_dir
