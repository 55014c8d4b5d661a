"""Step arithmetic: batch sizes per objective, step counts, checkpoint points, lr schedules."""

import pytest

from rerankscale.config import ConfigError, RunConfig
from rerankscale.schedule import (
    LRSchedule,
    checkpoint_points,
    checkpoint_steps,
    groups_per_micro_batch,
    queries_per_step,
    resolve_lr,
    step_queries,
    total_steps,
)


def cfg(**train) -> RunConfig:
    c = RunConfig()
    for key, value in train.items():
        setattr(c.train, key, value)
    return c


def test_pointwise_consumes_whole_groups():
    c = cfg(objective="pointwise", batch_pairs=128)
    assert groups_per_micro_batch(c) == 16  # 128 pairs / (1 + 7) per group
    c.data.n_negatives = 10
    assert groups_per_micro_batch(c) == 12  # ceil(128 / 11): 132 pairs per micro-batch
    assert groups_per_micro_batch(cfg(objective="listwise", batch_queries=16)) == 16


def test_steps_and_partial_last_step():
    c = cfg(objective="listwise", batch_queries=16, grad_accum=2, max_queries=1000)
    assert queries_per_step(c) == 32
    assert total_steps(c) == 32  # 31 full steps + one of 8 queries
    assert [step_queries(c, s) for s in (0, 30, 31)] == [32, 32, 8]
    assert sum(step_queries(c, s) for s in range(total_steps(c))) == 1000


def test_log_spaced_checkpoints_end_at_max_and_map_to_steps():
    c = cfg(max_queries=16384, first_checkpoint=512, n_checkpoints=8, batch_queries=16)
    points = checkpoint_points(c)
    assert points[0] == 512 and points[-1] == 16384 and len(points) == 8
    assert all(b > a for a, b in zip(points, points[1:]))
    due = checkpoint_steps(c)
    # each checkpoint is taken at the first step whose queries-seen count reaches the point
    for step, point in due.items():
        assert step * 16 >= point > (step - 1) * 16
    assert max(due) == 1024


def test_every_n_steps_works_for_pointwise_too():
    c = cfg(objective="pointwise", batch_pairs=128, max_queries=1000, checkpoint_every_steps=10)
    assert checkpoint_points(c) == [160, 320, 480, 640, 800, 960, 1000]
    assert list(checkpoint_steps(c)) == [10, 20, 30, 40, 50, 60, 63]


@pytest.mark.parametrize("points", [[512, 256, 1024], [256, 256], [0, 100], []])
def test_bad_checkpoint_schedule_is_a_config_error(points):
    with pytest.raises(ConfigError, match="strictly increasing"):
        checkpoint_points(cfg(checkpoints=points, max_queries=1024))


def test_checkpoint_beyond_max_queries_is_a_config_error():
    with pytest.raises(ConfigError, match="beyond train.max_queries"):
        checkpoint_points(cfg(checkpoints=[256, 2048], max_queries=1024))


def test_width_rule_lr():
    c = cfg()
    assert resolve_lr(c.train, 48) == pytest.approx(0.003)
    assert resolve_lr(c.train, 32) == pytest.approx(0.003)  # capped at lr_max
    assert resolve_lr(c.train, 192) == pytest.approx(7.5e-4)
    c.train.lr = 2e-5
    assert resolve_lr(c.train, 768) == 2e-5


def test_linear_schedule_warms_up_then_decays_to_zero():
    s = LRSchedule("linear", total=100, warmup_fraction=0.1, decay_fraction=0.2)
    assert [s(i) for i in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert s(9) == pytest.approx(1.0) and s(10) == pytest.approx(1.0)
    assert s(55) == pytest.approx(0.5)
    assert s(99) == pytest.approx(1 / 90) and s(100) == 0.0


def test_constant_and_wsd_schedules():
    const = LRSchedule("constant", total=100, warmup_fraction=0.05, decay_fraction=0.2)
    assert const(4) == 1.0 and const(99) == 1.0 and const(0) == pytest.approx(0.2)
    wsd = LRSchedule("wsd", total=100, warmup_fraction=0.05, decay_fraction=0.2)
    assert wsd(50) == 1.0 and wsd(79) == 1.0
    assert wsd(80) == pytest.approx(1.0) and wsd(90) == pytest.approx(0.5)
    assert wsd(99) == pytest.approx(0.05)
    with pytest.raises(ConfigError, match="unknown lr schedule"):
        LRSchedule("cosine", 10, 0.1, 0.2)


def test_weight_decay_applies_to_matrices_only():
    import torch

    from rerankscale.schedule import make_optimizer

    model = torch.nn.Sequential(
        torch.nn.Embedding(10, 4), torch.nn.Linear(4, 4), torch.nn.LayerNorm(4)
    )
    opt = make_optimizer(model, cfg(weight_decay=0.1, betas=(0.9, 0.98)).train, 1e-3, "cpu")
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert {p.shape for p in decay["params"]} == {torch.Size([10, 4]), torch.Size([4, 4])}
    assert [p.ndim for p in no_decay["params"]] == [1, 1, 1]  # linear bias, norm weight + bias
    assert decay["betas"] == (0.9, 0.98) and decay["fused"]
