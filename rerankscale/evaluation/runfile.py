"""TREC run files (``qid Q0 docid rank score tag``), gzip-compressed, written atomically.

Written runs are tie-free: each query's lines are in rank order and the scores strictly
decrease in float32 (``metrics.tie_free_scores``; trec_eval keeps scores as C ``float``), so
trec_eval / ir_measures / ranx all read the same ranking back. Each score is written as the
shortest decimal that reads back as the same float32. The gzip header carries no timestamp:
the same run gives the same bytes.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from rerankscale.evaluation.metrics import QueryMismatchError, RunFileError, tie_free_run
from rerankscale.io import atomic_write_bytes


def format_trec_run(run: Mapping[str, Mapping[str, float]], tag: str = "rerankscale") -> str:
    """TREC run text: queries sorted by qid, each in deterministic rank order (ties by the
    run's insertion order, made strict)."""
    if not tag or any(c.isspace() for c in tag):
        raise RunFileError(f"run tag {tag!r} must be a non-empty string without whitespace")
    lines = []
    for qid in sorted(run):
        for rank, (docid, score) in enumerate(tie_free_run({qid: run[qid]})[qid].items(), 1):
            if any(c.isspace() for c in qid + docid) or not qid or not docid:
                raise RunFileError(
                    f"query id {qid!r} / doc id {docid!r} is empty or contains whitespace; TREC "
                    "run files are whitespace-separated, so ids must not contain spaces"
                )
            lines.append(f"{qid} Q0 {docid} {rank} {np.float32(score)} {tag}\n")
    return "".join(lines)


def write_trec_run(
    path: str | Path, run: Mapping[str, Mapping[str, float]], tag: str = "rerankscale"
) -> Path:
    """Write ``run`` to ``path`` atomically; gzip-compressed when the name ends in ``.gz``."""
    path = Path(path)
    data = format_trec_run(run, tag).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return atomic_write_bytes(path, data)


def read_trec_run(
    path: str | Path, queries: Iterable[str] | None = None
) -> dict[str, dict[str, float]]:
    """Read a TREC run (plain or ``.gz``) into ``{qid: {docid: score}}`` in rank order.

    Each query is ordered by score (descending), ties by the rank column. ``queries``, when
    given, is the set of known qids: a run naming any other query is a ``QueryMismatchError``.
    A malformed line or a repeated (qid, docid) is a ``RunFileError`` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"run file {path} does not exist; evaluate the checkpoint first")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise RunFileError(
                f"{path} is a truncated or corrupt gzip file ({err}); delete it and re-evaluate"
            ) from err
    rows: dict[str, list[tuple[float, int, str]]] = {}
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            raise RunFileError(
                f"{path}:{number}: expected 6 columns 'qid Q0 docid rank score tag',"
                f" got {len(parts)}: {line!r}"
            )
        qid, _, docid, rank, score, _ = parts
        try:
            rank_value, score_value = int(rank), float(score)
        except ValueError as err:
            raise RunFileError(
                f"{path}:{number}: rank must be an integer and score a number: {line!r}"
            ) from err
        if (qid, docid) in seen:
            raise RunFileError(
                f"{path}:{number}: document {docid!r} is listed twice for query "
                f"{qid!r}; a run ranks each document once"
            )
        seen.add((qid, docid))
        rows.setdefault(qid, []).append((score_value, rank_value, docid))
    if queries is not None:
        known = set(queries)
        unknown = sorted(set(rows) - known)
        if unknown:
            raise QueryMismatchError(
                f"{path} names {len(unknown)} queries not in the eval set (e.g. {unknown[0]!r}); "
                "it belongs to another eval set or split — evaluate it against that one"
            )
    return {
        qid: {d: s for s, _, d in sorted(items, key=lambda x: (-x[0], x[1]))}
        for qid, items in rows.items()
    }
