"""The training loop end to end on the built-in synthetic task (CPU, one thread).

Fast tests train a 10k-parameter scratch model for a few hundred queries; the resume-after-
SIGKILL and DDP tests start real subprocesses; the learning test (slow) runs ~1–2 minutes.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import rerankscale.data
import rerankscale.training.losses
import rerankscale.training.train as train_module
from rerankscale.config import ConfigError, RunConfig
from rerankscale.io import read_jsonl
from rerankscale.models.crossencoder import build_model, flops_per_token, save_model
from rerankscale.models.encoding import PairEncoder
from rerankscale.training.batches import TrainingDataError
from rerankscale.training.checkpoint import CheckpointError, RunDirMismatchError
from rerankscale.training.train import TrainingDivergedError, list_checkpoints, train

REPO = Path(__file__).resolve().parents[2]
DATASET = "rerankscale/synthetic/train"


def make_cfg(max_queries=256, checkpoints=(64, 256), **train_kw) -> RunConfig:
    cfg = RunConfig()
    cfg.data.eval_sets = ["rerankscale/synthetic/dev"]
    cfg.model.size, cfg.model.vocab_size, cfg.model.max_length = "10k", 1024, 64
    cfg.train.max_queries = max_queries
    cfg.train.checkpoints = list(checkpoints) if checkpoints is not None else None
    cfg.train.batch_queries, cfg.train.num_threads = 16, 1
    for key, value in train_kw.items():
        setattr(cfg.train, key, value)
    return cfg.validate()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_file(checkpoint / "model.safetensors")


def assert_weights_close(a: dict, b: dict) -> None:
    """Weights equal up to float summation order, which Adam amplifies where gradients are
    tiny (atol 1e-4 is ~3 % of one lr-sized step). The classifier bias is skipped: group losses
    are invariant to a shift of all scores, so its gradient is pure rounding noise (~1e-9),
    which Adam normalises into lr-sized steps of random sign."""
    assert a.keys() == b.keys()
    for key in a:
        if key != "classifier.bias":
            torch.testing.assert_close(a[key], b[key], rtol=1e-3, atol=1e-4)


def assert_same_trajectory(a: Path, b: Path) -> None:
    """Same loss and gradient norm at every step (the gradient norm also catches a wrongly
    scaled gradient, to which Adam's update is blind). Step 1 (same weights) agrees to float
    summation order; later steps drift a little as Adam amplifies rounding where gradients are
    near zero (its early updates are ≈ lr·sign(g))."""
    rows_a, rows_b = read_jsonl(a / "train_log.jsonl"), read_jsonl(b / "train_log.jsonl")
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b]
    for key in ("loss", "grad_norm"):
        assert rows_a[0][key] == pytest.approx(rows_b[0][key], rel=1e-5)
        assert [r[key] for r in rows_a] == pytest.approx([r[key] for r in rows_b], rel=2e-3)


def losses_of(run_dir: Path) -> list[float]:
    return [row["loss"] for row in read_jsonl(run_dir / "train_log.jsonl")]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short listwise run shared by several tests, with the in-memory model's scores on a
    probe batch captured at every checkpoint save."""
    run_dir = tmp_path_factory.mktemp("runs") / "a"
    cfg = make_cfg(max_queries=160, checkpoints=[32, 96])
    group = next(rerankscale.data.training_groups(DATASET, 7, seed=99))
    captured: dict[int, torch.Tensor] = {}
    real_save = train_module.save_checkpoint

    def spy(run_dir_, model, tokenizer, exposure, extra):
        batch = PairEncoder(tokenizer, 64).encode([group.query] * 8, group.docs)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            captured[exposure.queries_seen] = model(**batch).logits.squeeze(-1).clone()
        model.train(was_training)
        return real_save(run_dir_, model, tokenizer, exposure, extra)

    train_module.save_checkpoint = spy
    try:
        summary = train(cfg, run_dir, progress=False)
    finally:
        train_module.save_checkpoint = real_save
    return cfg, run_dir, summary, captured, group


# --------------------------------------------------------------------------- the run directory


def test_run_directory_config_log_and_exposure(trained):
    cfg, run_dir, summary, _, group = trained
    info = json.loads((run_dir / "config.json").read_text())
    assert info["run_id"] == cfg.run_id == "scratch-10k-listwise-s0"
    assert info["config"] == json.loads(json.dumps(cfg.to_dict()))
    model, tokenizer = build_model(cfg.model, DATASET, seed=0, progress=False)
    n_params = info["model"]["n_params"]
    assert 5_000 < n_params < 20_000 and info["model"]["n_params_total"] > n_params
    assert info["model"]["shape"]["n_layers"] == 2
    assert {"python", "packages", "git", "hardware"} <= set(info["environment"])
    # the kernels' instruction set: bitwise results hold between machines that share it
    assert info["environment"]["hardware"]["cpu_capability"] == (
        torch.backends.cpu.get_cpu_capability()
    )
    assert info["resolved"]["engine"] == "fast"  # engine "auto" on a ModernBERT: the lean path

    # 160 queries in steps of 16: checkpoints at 32, 96 and the final 160
    assert [p.name for p, _ in list_checkpoints(run_dir)] == [
        "q000000032",
        "q000000096",
        "q000000160",
    ]
    assert summary["finished"] and json.loads((run_dir / "status.json").read_text())["finished"]
    log = read_jsonl(run_dir / "train_log.jsonl")
    assert [r["step"] for r in log] == list(range(1, 11))
    assert [r["queries_seen"] for r in log] == [16 * s for s in range(1, 11)]
    assert all(r["pairs_seen"] == 8 * r["queries_seen"] for r in log)
    assert all(math.isfinite(r["loss"]) and r["grad_norm"] > 0 for r in log)
    # lr: width rule, warmup of round(0.05 * 10) = 0 steps, then linear decay to 0
    lr = min(3e-3, 0.144 / info["model"]["shape"]["d_model"])
    assert [r["lr"] for r in log] == pytest.approx([lr * (10 - s) / 10 for s in range(10)])

    # exposure: tokens are the non-padding tokens of exactly the groups seen; FLOPs from them
    encoder = PairEncoder(tokenizer, 64)
    lengths = []
    for g in itertools.islice(rerankscale.data.training_groups(DATASET, 7, seed=0), 160):
        lengths += encoder.lengths([g.query] * len(g.docs), g.docs)
    shape = info["model"]["shape"]
    last = json.loads((run_dir / "checkpoints" / "q000000160" / "exposure.json").read_text())
    assert last["tokens_seen"] == sum(lengths) == log[-1]["tokens_seen"]
    assert last["dense_flops"] == 6 * n_params * sum(lengths)
    attention = sum(
        flops_per_token(shape, n_params, n, training=True)["attention"] * n for n in lengths
    )
    assert last["attention_flops"] == attention > 0
    assert last["train_flops"] == last["dense_flops"] + last["attention_flops"]
    assert last["step"] == 10 and last["queries_seen"] == 160 and last["seconds"] > 0
    assert last["run_id"] == cfg.run_id and last["scheduled_queries"] == 160


def test_checkpoints_load_by_path_and_score_as_in_memory(trained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    _, run_dir, _, captured, group = trained
    assert sorted(captured) == [32, 96, 160]
    previous = None
    for path, exposure in list_checkpoints(run_dir):
        model = AutoModelForSequenceClassification.from_pretrained(path).eval()
        tokenizer = AutoTokenizer.from_pretrained(path)
        with torch.no_grad():
            scores = model(**PairEncoder(tokenizer, 64).encode([group.query] * 8, group.docs))
        scores = scores.logits.squeeze(-1)
        torch.testing.assert_close(scores, captured[exposure["queries_seen"]], rtol=0, atol=1e-6)
        assert previous is None or not torch.equal(scores, previous)  # training moved the model
        previous = scores


def test_a_finished_run_started_again_does_nothing(trained):
    cfg, run_dir, _, _, _ = trained
    before = snapshot(run_dir)
    summary = train(cfg, run_dir, progress=False)
    assert summary["skipped"] and summary["finished"] and summary["queries_seen"] == 160
    assert snapshot(run_dir) == before


def test_a_run_from_a_rebuilt_suite_member_is_not_resumed_or_skipped(tmp_path, monkeypatch):
    """A suite member rebuilt under its name (new weights, same config) makes the run folder
    fine-tuned from the old weights another run: refused, left untouched."""
    import shutil

    from safetensors.torch import save_file

    from rerankscale.models import suite as suite_module

    copy = tmp_path / "suite"
    copy.mkdir()
    shutil.copytree(REPO / "suite" / "10k", copy / "10k")
    manifest = json.loads((REPO / "suite" / "manifest.json").read_text())
    manifest["members"] = {"10k": manifest["members"]["10k"]}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(suite_module, "SUITE_DIR", copy)
    cfg = make_cfg(max_queries=32, checkpoints=[32])
    cfg.model.family = "suite"
    run_dir = tmp_path / "run"
    train(cfg, run_dir, progress=False)
    info = json.loads((run_dir / "config.json").read_text())
    old = manifest["members"]["10k"]["sha256"]["model.safetensors"]
    assert info["init"] == {"member": "suite/10k", "sha256": old}
    assert train(cfg, run_dir, progress=False)["skipped"]

    rebuilt = {k: v + 1e-3 for k, v in load_file(copy / "10k" / "model.safetensors").items()}
    save_file(rebuilt, copy / "10k" / "model.safetensors", metadata={"format": "pt"})
    new = suite_module.sha256(copy / "10k" / "model.safetensors")
    manifest["members"]["10k"]["sha256"]["model.safetensors"] = new
    (copy / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(run_dir)
    with pytest.raises(RunDirMismatchError, match=f"suite/10k with weights {old[:12]}.*{new[:12]}"):
        train(cfg, run_dir, progress=False)
    assert snapshot(run_dir) == before


# --------------------------------------------------------------------------- bad input


def test_unknown_objective_and_bad_schedule_fail_before_writing(tmp_path):
    cfg = make_cfg()
    cfg.train.objective = "softmax"
    with pytest.raises(ConfigError, match="unknown objective 'softmax'"):
        train(cfg, tmp_path / "x", progress=False)
    cfg = make_cfg()
    cfg.train.checkpoints = [128, 64, 256]
    with pytest.raises(ConfigError, match="strictly increasing"):
        train(cfg, tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


def test_a_folder_of_another_run_is_refused_and_left_untouched(trained, tmp_path):
    cfg, run_dir, _, _, _ = trained
    before = snapshot(run_dir)
    other = make_cfg(max_queries=160, checkpoints=[32, 96])
    other.train.seed = 1
    with pytest.raises(RunDirMismatchError, match="different run.*scratch-10k-listwise-s0"):
        train(other, run_dir, progress=False)
    other = make_cfg(max_queries=160, checkpoints=[32, 96])
    other.train.lr = 1e-3  # same run id, different config
    with pytest.raises(RunDirMismatchError, match=r"train\.lr: None in the folder, 0\.001 now"):
        train(other, run_dir, progress=False)
    checkpoint = run_dir / "checkpoints" / "q000000032"
    with pytest.raises(RunDirMismatchError, match="model checkpoint folder"):
        train(cfg, checkpoint, progress=False)
    assert snapshot(run_dir) == before
    stray = tmp_path / "stray"
    (stray / "checkpoints").mkdir(parents=True)
    with pytest.raises(RunDirMismatchError, match="no run config.json"):
        train(cfg, stray, progress=False)
    assert sorted(p.name for p in stray.iterdir()) == ["checkpoints"]


def test_a_run_written_before_a_config_field_existed_is_the_same_run(trained):
    """A folder whose config.json lacks a field added later (here ``model.suite_seed``) is
    compared with that field at its default: the finished run is kept, not refused."""
    cfg, run_dir, _, _, _ = trained
    path = run_dir / "config.json"
    info = json.loads(path.read_text())
    original = path.read_text()
    del info["config"]["model"]["suite_seed"]
    path.write_text(json.dumps(info))
    try:
        assert train(cfg, run_dir, progress=False)["skipped"]
        other = make_cfg(max_queries=160, checkpoints=[32, 96])
        other.model.suite_seed = 3  # off the default: not the folder's run
        with pytest.raises(RunDirMismatchError, match=r"model\.suite_seed: 0 in the folder, 3"):
            train(other, run_dir, progress=False)
    finally:
        path.write_text(original)


def test_a_suite_member_named_by_its_seed_or_by_paired_is_the_same_run(tmp_path):
    """``model.suite_seed: paired`` fine-tunes the member of the run's own seed: a folder of
    fine-tuning seed 0 written with ``suite_seed: 0`` is that run (a study moving to paired
    pretraining seeds keeps its seed-0 runs); seed 1 of member 0 is not seed 1 of member 1."""
    from rerankscale.training.checkpoint import check_run_dir, write_config

    def suite_cell(seed, suite_seed):
        cfg = make_cfg(max_queries=64, checkpoints=[32, 64])
        cfg.model.family, cfg.model.suite_seed, cfg.train.seed = "suite", suite_seed, seed
        return cfg

    for seed, written in [(0, 0), (2, 2)]:
        folder = tmp_path / f"s{seed}"
        old = suite_cell(seed, written)
        write_config(folder, {"run_id": old.run_id, "config": old.to_dict()})
        new = suite_cell(seed, "paired")
        assert new.run_id == old.run_id
        assert check_run_dir(folder, new.run_id, new.to_dict())
    member0 = suite_cell(1, 0)
    write_config(tmp_path / "m0", {"run_id": member0.run_id, "config": member0.to_dict()})
    paired = suite_cell(1, "paired")
    assert paired.run_id == member0.run_id + "-p1"
    with pytest.raises(RunDirMismatchError, match=r"model\.suite_seed: 0 in the folder, 1 now"):
        check_run_dir(tmp_path / "m0", member0.run_id, paired.to_dict())


def test_a_run_from_the_same_member_bits_under_another_suite_name_is_the_same_run(tmp_path):
    """A member one suite adopted from another (``suite.adopt_members``) has the same weights:
    a run folder fine-tuned from it under the other suite's name is this run; the same names
    over other weights, or another suite with other weights, are not."""
    from rerankscale.training.checkpoint import check_run_dir, write_config

    def cell(suite):
        cfg = make_cfg(max_queries=64, checkpoints=[32, 64])
        cfg.model.family, cfg.model.suite = "suite", suite
        return cfg

    old, new = cell("mixed8k-40m"), cell("mixed8k-40m-a27")
    bits = {"member": "mixed8k-40m/10k", "sha256": "ab" * 32}
    write_config(tmp_path, {"run_id": old.run_id, "config": old.to_dict(), "init": bits})
    same = {"member": "mixed8k-40m-a27/10k", "sha256": "ab" * 32}
    assert check_run_dir(tmp_path, new.run_id, new.to_dict(), same)
    other = {"member": "mixed8k-40m-a27/10k", "sha256": "cd" * 32}
    with pytest.raises(RunDirMismatchError, match=r"model\.suite: 'mixed8k-40m' in the folder"):
        check_run_dir(tmp_path, new.run_id, new.to_dict(), other)
    with pytest.raises(RunDirMismatchError, match="the member was rebuilt"):
        check_run_dir(tmp_path, old.run_id, old.to_dict(), {**bits, "sha256": "cd" * 32})


def test_a_size_spelt_another_way_is_the_same_run(trained):
    """``"10000"`` is ``"10k"``: the same run id and folder, and the finished run is kept."""
    cfg, run_dir, _, _, _ = trained
    before = snapshot(run_dir)
    same = make_cfg(max_queries=160, checkpoints=[32, 96])
    same.model.size = "10000"
    assert same.run_id == cfg.run_id
    assert train(same, run_dir, progress=False)["skipped"]
    assert snapshot(run_dir) == before


def test_a_built_models_default_dropout_and_pooling_spelt_out_are_the_same_run(trained):
    """A folder written when ``model.dropout`` / ``model.pooling`` defaulted to 0.0 / "cls" is
    the run they now give as ``None`` (a model built here gets those values); another pooling
    is another run."""
    cfg, run_dir, _, _, _ = trained
    path = run_dir / "config.json"
    info, original = json.loads(path.read_text()), path.read_text()
    info["config"]["model"].update(dropout=0.0, pooling="cls")
    try:
        path.write_text(json.dumps(info))
        assert cfg.model.dropout is None and cfg.model.pooling is None
        assert train(cfg, run_dir, progress=False)["skipped"]
        other = make_cfg(max_queries=160, checkpoints=[32, 96])
        other.model.pooling = "mean"
        with pytest.raises(RunDirMismatchError, match=r"model\.pooling: 'cls' in the folder"):
            train(other, run_dir, progress=False)
    finally:
        path.write_text(original)


def test_resuming_from_a_checkpoint_of_another_run_is_refused(tmp_path):
    cfg = make_cfg(max_queries=64, checkpoints=[32, 64])
    train(cfg, tmp_path / "a", progress=False)
    other = make_cfg(max_queries=64, checkpoints=[32, 64])
    other.train.seed = 1
    train(other, tmp_path / "b", progress=False)
    # run a looks interrupted, and its last checkpoint was replaced by run b's
    (tmp_path / "a" / "status.json").unlink()
    shutil.rmtree(tmp_path / "a/checkpoints/q000000064")
    shutil.copytree(tmp_path / "b/checkpoints/q000000064", tmp_path / "a/checkpoints/q000000064")
    before = snapshot(tmp_path / "a")
    with pytest.raises(CheckpointError, match="is not this run's.*'scratch-10k-listwise-s1'"):
        train(cfg, tmp_path / "a", progress=False)
    assert snapshot(tmp_path / "a") == before


def test_a_group_without_positive_is_a_clear_error(tmp_path, monkeypatch):
    real = rerankscale.data.training_groups

    def broken(*args, **kwargs):
        for i, group in enumerate(real(*args, **kwargs)):
            if i == 40:
                group.labels = [0] * len(group.labels)
            yield group

    monkeypatch.setattr(rerankscale.data, "training_groups", broken)
    with pytest.raises(TrainingDataError, match="has no positive first"):
        train(make_cfg(max_queries=96, checkpoints=[32, 96]), tmp_path / "r", progress=False)
    # the checkpoint before the bad group is intact; nothing after it was written
    assert [p.name for p, _ in list_checkpoints(tmp_path / "r")] == ["q000000032"]
    assert not (tmp_path / "r" / "status.json").exists()


def test_a_non_finite_loss_stops_with_the_step_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    real = rerankscale.training.losses.make_loss

    def nan_at_step_6(name):
        inner, calls = real(name), [0]

        def loss(scores, labels):
            calls[0] += 1
            out = inner(scores, labels)
            return out * float("nan") if calls[0] == 6 else out

        return loss

    monkeypatch.setattr(rerankscale.training.losses, "make_loss", nan_at_step_6)
    run_dir = tmp_path / "r"
    with pytest.raises(TrainingDivergedError, match=r"non-finite loss at step 6 .*q000000032"):
        train(make_cfg(max_queries=160, checkpoints=[32, 160]), run_dir, progress=False)
    assert [p.name for p, _ in list_checkpoints(run_dir)] == ["q000000032"]
    status = json.loads((run_dir / "status.json").read_text())
    assert not status["finished"] and status["diverged"]["step"] == 6
    assert json.loads((run_dir / "state" / "latest.json").read_text())["state"] == "q000000032"
    assert [r["step"] for r in read_jsonl(run_dir / "train_log.jsonl")] == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- objectives, options


@pytest.mark.parametrize(
    "objective,extra",
    [
        ("pointwise", {"batch_pairs": 64}),  # 8 whole groups per step, flattened into 64 pairs
        ("pairwise", {"bf16": True, "schedule": "wsd"}),
        ("lambdaloss", {"schedule": "constant", "grad_accum": 2, "batch_queries": 8}),
    ],
)
def test_objectives_and_options_train(tmp_path, objective, extra):
    cfg = make_cfg(max_queries=64, checkpoints=[64], objective=objective, **extra)
    summary = train(cfg, tmp_path / "r", progress=False)
    log = read_jsonl(tmp_path / "r" / "train_log.jsonl")
    per_step = 8 if objective == "pointwise" else 16
    assert [r["queries_seen"] for r in log] == list(range(per_step, 65, per_step))
    assert summary["pairs_seen"] == 64 * 8 and math.isfinite(summary["final_loss"])
    config = json.loads((list_checkpoints(tmp_path / "r")[-1][0] / "config.json").read_text())
    activation = "Sigmoid" if objective == "pointwise" else "Identity"
    assert config["sentence_transformers"]["activation_fn"].endswith(activation)


def test_gradient_accumulation_matches_one_large_batch(tmp_path):
    a = train(make_cfg(max_queries=96, checkpoints=[96]), tmp_path / "a", progress=False)
    b = train(
        make_cfg(max_queries=96, checkpoints=[96], batch_queries=8, grad_accum=2),
        tmp_path / "b",
        progress=False,
    )
    assert a["step"] == b["step"] == 6
    assert_same_trajectory(tmp_path / "a", tmp_path / "b")
    assert_weights_close(
        weights(tmp_path / "a/checkpoints/q000000096"),
        weights(tmp_path / "b/checkpoints/q000000096"),
    )


def test_hf_family_trains_a_locally_saved_modernbert(tmp_path):
    cfg = make_cfg(max_queries=48, checkpoints=[48])
    model, tokenizer = build_model(cfg.model, DATASET, seed=3, progress=False)
    save_model(model, tokenizer, tmp_path / "local-modernbert")
    cfg.model.family, cfg.model.name_or_path = "hf", str(tmp_path / "local-modernbert")
    summary = train(cfg, tmp_path / "r", progress=False)
    assert summary["run_id"].startswith("hf-") and summary["queries_seen"] == 48
    before, after = (
        weights(tmp_path / "local-modernbert"),
        weights(tmp_path / "r/checkpoints/q000000048"),
    )
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


# --------------------------------------------------------------------------- processes


def _subprocess_env() -> dict[str, str]:
    env = dict(
        os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false"
    )
    env.pop("WORLD_SIZE", None)
    return env


def test_resume_after_sigkill_reproduces_the_uninterrupted_run(tmp_path):
    cfg = make_cfg(max_queries=1600, checkpoints=[32, 1600])
    (tmp_path / "run.json").write_text(json.dumps(cfg.to_dict()))
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rerankscale.training.train",
            "--config",
            str(tmp_path / "run.json"),
            "--run-dir",
            str(killed),
            "--no-progress",
        ],
        cwd=REPO,
        env=_subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not (killed / "state" / "latest.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert not (killed / "status.json").exists(), "the run finished before it could be killed"

    resumed = train(cfg, killed, progress=False)
    assert resumed["resumed_from"] == "q000000032" and resumed["steps_run"] == 100 - 2
    reference = train(cfg, tmp_path / "uninterrupted", progress=False)
    wa = weights(tmp_path / "uninterrupted/checkpoints/q000001600")
    wb = weights(killed / "checkpoints/q000001600")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)  # bit-identical on the CPU
    assert losses_of(killed) == losses_of(tmp_path / "uninterrupted")
    assert resumed["tokens_seen"] == reference["tokens_seen"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ddp_processes_follow_the_single_process_trajectory(tmp_path):
    cfg = make_cfg(max_queries=128, checkpoints=[64, 128])
    cfg.model.engine = "hf"  # DDP runs the module's own forward; compare like with like
    (tmp_path / "run.json").write_text(json.dumps(cfg.to_dict()))
    ddp = tmp_path / "ddp"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            "-m",
            "rerankscale.training.train",
            "--config",
            str(tmp_path / "run.json"),
            "--run-dir",
            str(ddp),
            "--no-progress",
        ],
        cwd=REPO,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    single = train(cfg, tmp_path / "single", progress=False)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    # each process scored half of each 16-group batch; counts are summed over both
    assert [k for k in summary["checkpoints"]] == ["q000000064", "q000000128"]
    for key in ("queries_seen", "pairs_seen", "tokens_seen", "train_flops"):
        assert summary[key] == single[key]
    assert_same_trajectory(ddp, tmp_path / "single")
    assert_weights_close(
        weights(ddp / "checkpoints/q000000128"), weights(tmp_path / "single/checkpoints/q000000128")
    )
