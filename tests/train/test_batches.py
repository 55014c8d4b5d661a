"""Batching: the resumable group stream and how a step is cut into micro-batches and shards."""

from dataclasses import dataclass

import pytest

from rerankscale.training.batches import GroupStream, TrainingDataError, plan_step, validate_group


@dataclass
class Group:
    qid: str
    query: str
    doc_ids: list
    docs: list
    labels: list


def make_group(i: int, k: int = 3) -> Group:
    docs = [f"q{i} pos " + "w " * (i % 5)] + [f"q{i} neg{j} " + "w " * j for j in range(k)]
    return Group(f"q{i}", f"query {i}", [f"d{i}_{j}" for j in range(k + 1)], docs, [1] + [0] * k)


def source(dataset_id, n_negatives, seed=0, start=0, max_queries=None, bm25_k1=0.9, bm25_b=0.4):
    i = start
    while max_queries is None or i < max_queries:
        yield make_group(i + 1000 * seed, n_negatives)
        i += 1


def word_lengths(queries, docs):
    return [len(q.split()) + len(d.split()) + 3 for q, d in zip(queries, docs)]


def test_stream_resumes_from_its_cursor_and_replays_epochs():
    kwargs = dict(dataset_id="x", n_negatives=3, seed=0, max_train_queries=10)
    full = GroupStream(source, **kwargs)
    first = [g.qid for g in full.take(7)]
    cursor = full.cursor
    rest = [g.qid for g in full.take(8)]  # crosses the end of the 10-query epoch
    assert rest == [f"q{i}" for i in (7, 8, 9, 0, 1, 2, 3, 4)]
    assert full.cursor == {"epoch": 1, "offset": 5}
    resumed = GroupStream(source, cursor=cursor, **kwargs)
    assert [g.qid for g in resumed.take(8)] == rest
    assert first == [f"q{i}" for i in range(7)]


def test_empty_stream_is_a_clear_error():
    stream = GroupStream(source, dataset_id="x", n_negatives=3, seed=0, max_train_queries=0)
    with pytest.raises(TrainingDataError, match="yielded no groups"):
        stream.take(1)


def test_group_without_positive_first_is_rejected():
    bad = make_group(3)
    bad.labels = [0, 1, 0, 0]
    with pytest.raises(TrainingDataError, match="query 'q3' has no positive first"):
        validate_group(bad, 3)
    bad.labels = [0, 0, 0, 0]
    with pytest.raises(TrainingDataError, match="no positive"):
        validate_group(bad, 3)
    with pytest.raises(TrainingDataError, match="expected 6 of each"):
        validate_group(make_group(3), 5)


def _all_shards(groups, world, micro, pointwise, lengths=None, step=0):
    out = []
    for rank in range(world):
        shards, units = plan_step(
            groups,
            pointwise=pointwise,
            n_micro=micro,
            world_size=world,
            rank=rank,
            seed=0,
            step=step,
            lengths=lengths,
        )
        out.append((shards, units))
    return out


@pytest.mark.parametrize("pointwise", [False, True])
@pytest.mark.parametrize("world,micro", [(1, 1), (2, 1), (3, 2), (1, 4)])
def test_every_pair_is_scored_exactly_once_with_weights_summing_to_one(pointwise, world, micro):
    groups = [make_group(i) for i in range(10)]
    everything = _all_shards(groups, world, micro, pointwise, lengths=word_lengths)
    units = {u for _, u in everything}
    assert units == {40 if pointwise else 10}
    scored = [
        (q, d)
        for shards, _ in everything
        for s in shards
        if not s.dummy
        for q, d in zip(s.queries, s.docs)
    ]
    expected = [(g.query, d) for g in groups for d in g.docs]
    assert sorted(scored) == sorted(expected)
    assert sum(s.units for shards, _ in everything for s in shards) == units.pop()
    for shards, _ in everything:
        assert len(shards) == micro
        for s in shards:
            if not pointwise:  # groups stay whole: positive first in each row
                assert s.n_groups * s.group_size == s.n_pairs
                assert s.labels[:: s.group_size] == [1.0] * s.n_groups


def test_length_bucketing_sorts_groups_across_shards():
    groups = [make_group(i) for i in (4, 0, 3, 1, 2, 0)]
    shards, _ = plan_step(
        groups,
        pointwise=False,
        n_micro=3,
        world_size=1,
        rank=0,
        seed=0,
        step=0,
        lengths=word_lengths,
    )
    longest = [max(word_lengths(s.queries, s.docs)) for s in shards]
    assert longest == sorted(longest) and longest[0] < longest[-1]


def test_pointwise_shuffle_is_seeded_by_step():
    groups = [make_group(i) for i in range(4)]

    def order(step):
        shards, _ = plan_step(
            groups, pointwise=True, n_micro=1, world_size=1, rank=0, seed=0, step=step
        )
        return shards[0].docs

    assert order(5) == order(5)
    assert order(5) != order(6)
    assert sorted(order(5)) == sorted(d for g in groups for d in g.docs)


def test_fewer_groups_than_shards_gives_weightless_dummies():
    groups = [make_group(0)]
    (shards0, units), (shards1, _) = _all_shards(groups, world=2, micro=1, pointwise=False)
    assert units == 1
    assert shards0[0].units == 1 and not shards0[0].dummy
    assert shards1[0].dummy and shards1[0].units == 0 and shards1[0].n_pairs == 4
