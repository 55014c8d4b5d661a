"""Train one cross-encoder run: one size × objective × seed, checkpointed on an exposure schedule.

The same loop runs on the CPU, one GPU, or several GPUs / nodes (DDP) through Hugging Face
Accelerate::

    python -m rerankscale.training.train --config run.json --run-dir runs/x        # one process
    torchrun --nproc_per_node 2 -m rerankscale.training.train --config ...         # DDP (CPU: gloo)
    accelerate launch --multi_gpu --num_processes 8 -m rerankscale.training.train --config ...  # GPUs

(``accelerate launch --cpu`` starts one process; several CPU processes need torchrun or MPI.)
Every process reads the same deterministic group stream and scores its share of each batch.

Reading order: ``train`` sets up (run directory, model, optimizer, resume state), then each
optimizer step takes the next groups from the stream (``batches``), cuts them into
micro-batches and per-process shards, runs forward/backward on this process's shards, clips,
steps, counts exposure (summed over processes) and checkpoints when the schedule
(``schedule``) says so; the run directory layout is in ``checkpoint``.

Batch sizes are global (summed over processes): ``batch_queries`` groups per micro-batch for
group objectives, ``ceil(batch_pairs / (1 + k))`` groups flattened into pairs for pointwise,
``grad_accum`` micro-batches per optimizer step. Exposure (queries, pairs, non-padding tokens,
FLOPs) is counted from what was actually scored. Resume is exact on the CPU: a run killed at
any point and started again ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from rerankscale.config import ConfigError, RunConfig
from rerankscale.io import append_jsonl
from rerankscale.provenance import environment_info
from rerankscale.schedule import (
    LRSchedule,
    checkpoint_steps,
    groups_per_micro_batch,
    make_optimizer,
    resolve_lr,
    step_queries,
    total_steps,
)
from rerankscale.training.batches import (
    GroupStream,
    PreparedStep,
    TrainingDataError,
    plan_step,
)
from rerankscale.training.checkpoint import (
    LOG,
    CheckpointError,
    Exposure,
    RunDirMismatchError,
    begin_state,
    check_run_dir,
    checkpoint_name,
    commit_state,
    discard_after,
    list_checkpoints,
    load_state,
    load_torch,
    load_weights,
    read_status,
    save_checkpoint,
    save_rng,
    set_rng_state,
    state_tmp_dir,
    write_config,
    write_status,
)

__all__ = [
    "train",
    "list_checkpoints",
    "main",
    "TrainingDivergedError",
    "RunDirMismatchError",
    "CheckpointError",
    "TrainingDataError",
    "ConfigError",
]

LOG_FLUSH_SECONDS = 30.0  # the log is also flushed at every checkpoint
ENCODER_CACHE_TEXTS = 500_000  # tokenized texts kept in the PairEncoder cache


def score_activation(objective: str) -> str:
    """The activation sentence-transformers' ``CrossEncoder`` applies to the logit, written
    into each checkpoint's ``config.json`` (``sentence_transformers.activation_fn``): a sigmoid
    for the pointwise (BCE) objective, whose logit is a log-odds, and the identity for ranking
    objectives, whose logits are unbounded scores (a sigmoid would saturate them into ties)."""
    if objective == "pointwise":
        return "torch.nn.modules.activation.Sigmoid"
    return "torch.nn.modules.linear.Identity"


class TrainingDivergedError(RuntimeError):
    """The loss (or gradient norm) became non-finite; the run stops at the last good checkpoint."""


def train(cfg: RunConfig, run_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train (or resume, or skip when finished) one run in ``run_dir``; returns a summary.

    Raises ``ConfigError`` for an invalid config, ``RunDirMismatchError`` when ``run_dir``
    belongs to another run, ``TrainingDataError`` for a malformed training group and
    ``TrainingDivergedError`` for a non-finite loss; in each case nothing already on disk is
    overwritten.
    """
    cfg = RunConfig.from_dict(cfg.to_dict()).validate()  # a private, validated copy
    run_dir = Path(run_dir)
    due = checkpoint_steps(cfg)  # raises ConfigError on a bad schedule, before any disk write
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(), mixed_precision="bf16" if cfg.train.bf16 else "no"
    )
    from rerankscale.data import synthetic_config

    threads = torch.get_num_threads()
    try:
        with synthetic_config(cfg.data.synthetic):  # the run's synthetic-task knobs, if any
            return _train(cfg, run_dir, due, accelerator, progress)
    finally:
        torch.set_num_threads(threads)  # train.num_threads applies to the run only
        if accelerator.num_processes == 1:  # let the next in-process run pick its own precision
            AcceleratorState._reset_state(reset_partial_state=True)


def _train(cfg, run_dir, due, accelerator, progress) -> dict[str, Any]:
    from rerankscale.data import training_groups
    from rerankscale.models.crossencoder import (
        build_model,
        initial_weights,
        model_shape,
        parameter_counts,
    )
    from rerankscale.models.encoding import PairEncoder
    from rerankscale.models.fastpath import pair_scorer, resolve_engine
    from rerankscale.training.losses import make_loss

    main, rank, world = (
        accelerator.is_main_process,
        accelerator.process_index,
        accelerator.num_processes,
    )
    init = initial_weights(cfg.model, cfg.data.train_dataset, cfg.train.seed)
    existing = check_run_dir(run_dir, cfg.run_id, cfg.to_dict(), init)
    if existing and read_status(run_dir).get("finished"):
        return {**read_status(run_dir), "skipped": True}
    loss_fn = make_loss(cfg.train.objective)
    pointwise = cfg.train.objective == "pointwise"
    if cfg.train.num_threads and accelerator.device.type == "cpu":
        torch.set_num_threads(cfg.train.num_threads)

    # ---- model, run directory
    set_seed(cfg.train.seed)
    model, tokenizer = build_model(
        cfg.model, cfg.data.train_dataset, seed=cfg.train.seed, progress=progress and main
    )
    model.config.sentence_transformers = {"activation_fn": score_activation(cfg.train.objective)}
    counts, shape = parameter_counts(model), model_shape(model)
    n_steps = total_steps(cfg)
    lr = resolve_lr(cfg.train, shape["d_model"])
    if world > 1 and cfg.model.engine == "fast":
        raise ConfigError(
            f"engine 'fast' runs in one process, not under DDP ({world} processes): the "
            "wrapped module's own forward keeps DDP's gradient hooks; use engine 'auto' or 'hf'"
        )
    try:  # one process runs the lean forward; DDP ("auto") keeps the wrapped module's own
        engine = resolve_engine(model, cfg.model.engine if world == 1 else "hf")
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if main and not existing:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(
            run_dir,
            {
                "run_id": cfg.run_id,
                "config": cfg.to_dict(),
                **({"init": init} if init is not None else {}),
                "model": {
                    "n_params": counts["non_embedding"],
                    "n_params_total": counts["total"],
                    "shape": shape,
                },
                "resolved": {
                    "lr": lr,
                    "total_steps": n_steps,
                    "groups_per_micro_batch": groups_per_micro_batch(cfg),
                    "engine": engine,
                    "checkpoint_steps": {str(k): v for k, v in due.items()},
                },
                "environment": environment_info(),
            },
        )
    accelerator.wait_for_everyone()

    # ---- optimizer: AdamW, weight decay on matrices only; lr schedule per optimizer step
    optimizer = make_optimizer(model, cfg.train, lr, accelerator.device.type)
    schedule = LRSchedule(
        cfg.train.schedule, n_steps, cfg.train.warmup_fraction, cfg.train.decay_fraction
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    # ---- resume from the last committed state, or start fresh
    state = load_state(run_dir, cfg.run_id)
    exposure, cursor, resumed_from = Exposure(), None, None
    if state is not None:
        load_weights(model, state["checkpoint"])
        optimizer.load_state_dict(load_torch(state["folder"] / "optimizer.pt"))
        scheduler.load_state_dict(load_torch(state["folder"] / "scheduler.pt"))
        exposure = Exposure.from_dict(state["exposure"])
        cursor, resumed_from = state["cursor"], state["checkpoint"].name
    if main:
        discard_after(run_dir, exposure.step, exposure.queries_seen)
    accelerator.wait_for_everyone()
    if state is not None:
        rng_file = state["folder"] / f"rng_rank{rank}.pt"
        if rng_file.exists():
            set_rng_state(load_torch(rng_file))

    model, optimizer = accelerator.prepare(model, optimizer)
    score = pair_scorer(model, engine)
    encoder = PairEncoder(tokenizer, cfg.model.max_length)
    stream = GroupStream(
        training_groups,
        dataset_id=cfg.data.train_dataset,
        n_negatives=cfg.data.n_negatives,
        seed=cfg.train.seed,
        max_train_queries=cfg.data.max_train_queries,
        bm25_k1=cfg.data.bm25_k1,
        bm25_b=cfg.data.bm25_b,
        cursor=cursor,
    )
    flops = _FlopCounter(shape, counts["non_embedding"])
    log: list[dict[str, Any]] = []
    saved = [p.name for p, _ in list_checkpoints(run_dir)] if main else []
    bar = tqdm(
        total=cfg.train.max_queries,
        initial=exposure.queries_seen,
        unit="q",
        desc=cfg.run_id,
        disable=not (progress and main),
        dynamic_ncols=True,
    )
    model.train()
    start, seconds_before, last_flush = time.perf_counter(), exposure.seconds, time.perf_counter()
    loss_value, steps_run = math.nan, 0

    def prepare(step: int) -> PreparedStep:
        """This step's groups, cut into micro-batches × processes and tokenized. (A prefetch
        thread running this one step ahead was measured 10-20 % *slower* on the 2-core CPU:
        data generation and the model's Python code compete for the GIL.)"""
        if encoder.cache_size > ENCODER_CACHE_TEXTS:  # bound memory on long runs
            encoder.clear_cache()
        groups = stream.take(step_queries(cfg, step))
        shards, step_units = plan_step(
            groups,
            pointwise=pointwise,
            n_micro=cfg.train.grad_accum,
            world_size=world,
            rank=rank,
            seed=cfg.train.seed,
            step=step,
            lengths=encoder.lengths,
        )
        inputs = [encoder.encode(shard.queries, shard.docs) for shard in shards]
        return PreparedStep(step, len(groups), shards, inputs, step_units, stream.cursor)

    for step in range(exposure.step, n_steps):
        prepared = prepare(step)
        # ---- forward / backward / clip; loss and exposure summed over processes
        totals, grad_norm = _forward_backward(
            prepared, model, score, loss_fn, accelerator, flops, pointwise, cfg.train.grad_clip
        )
        loss_value = totals[0] / world
        if not (math.isfinite(loss_value) and math.isfinite(grad_norm)):
            _diverged(run_dir, main, log, step + 1, exposure, loss_value, grad_norm, saved)
        step_lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        # ---- exposure, log, progress
        exposure.step = step + 1
        exposure.queries_seen += prepared.n_groups
        exposure.pairs_seen += int(totals[1])
        exposure.tokens_seen += int(totals[2])
        exposure.dense_flops += totals[3]
        exposure.attention_flops += totals[4]
        exposure.seconds = seconds_before + time.perf_counter() - start
        log.append(
            {**exposure.to_dict(), "loss": loss_value, "lr": step_lr, "grad_norm": grad_norm}
        )
        steps_run += 1
        bar.update(prepared.n_groups)
        bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{step_lr:.2e}", refresh=False)

        # ---- checkpoint on the exposure schedule (+ resume state), or flush the log
        if exposure.step in due:
            _checkpoint(
                accelerator,
                run_dir,
                model,
                tokenizer,
                optimizer,
                scheduler,
                exposure,
                prepared.cursor,
                log,
                cfg.run_id,
                due[exposure.step],
            )
            saved.append(checkpoint_name(exposure.queries_seen))
            last_flush = time.perf_counter()
        elif main and time.perf_counter() - last_flush > LOG_FLUSH_SECONDS:
            _flush(run_dir, log)
            last_flush = time.perf_counter()
    bar.close()

    summary = {
        "run_id": cfg.run_id,
        "run_dir": str(run_dir),
        "finished": True,
        **exposure.to_dict(),
        "final_loss": loss_value if steps_run else None,
        "lr": lr,
        "n_params": counts["non_embedding"],
        "n_params_total": counts["total"],
        "checkpoints": saved,
        "resumed_from": resumed_from,
        "steps_run": steps_run,
    }
    if main:
        write_status(run_dir, summary)
    accelerator.wait_for_everyone()
    return {**summary, "skipped": False}


# --------------------------------------------------------------------------- helpers


def _forward_backward(
    prepared, model, score, loss_fn, accelerator, flops, pointwise: bool, grad_clip: float | None
) -> tuple[list[float], float]:
    """Forward (``score(batch)``: logits) and backward over this process's shards of one step
    (gradients synchronised on the last one), then clip. Returns ``([loss, pairs, tokens, dense, attention], norm)``
    summed over processes, and the global gradient norm before clipping."""
    world = accelerator.num_processes
    loss_sum = torch.zeros((), device=accelerator.device)
    counts = torch.zeros(4, dtype=torch.float64)  # pairs, tokens, dense FLOPs, attention FLOPs
    for i, (shard, encoded) in enumerate(zip(prepared.shards, prepared.inputs)):
        if not shard.dummy:  # exposure from the non-padding tokens actually scored
            lengths = encoded["attention_mask"].sum(-1).tolist()
            counts += torch.tensor(
                [len(lengths), sum(lengths), *flops.pairs(lengths)], dtype=torch.float64
            )
        last = i == len(prepared.shards) - 1
        with nullcontext() if last else accelerator.no_sync(model):
            batch = {k: v.to(accelerator.device) for k, v in encoded.items()}
            scores = score(batch).squeeze(-1).float()
            labels = torch.tensor(shard.labels, dtype=torch.float32, device=scores.device)
            if not pointwise:
                scores = scores.view(shard.n_groups, shard.group_size)
                labels = labels.view(shard.n_groups, shard.group_size)
            # weight = this shard's share of the step's units (× world: DDP averages gradients)
            loss = loss_fn(scores, labels) * (shard.units * world / prepared.step_units)
            accelerator.backward(loss)
        loss_sum += loss.detach()
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), grad_clip or math.inf)
    local = torch.cat([loss_sum.double().view(1).cpu(), counts])
    totals = accelerator.reduce(local.to(accelerator.device), reduction="sum").cpu()
    return totals.tolist(), float(grad_norm)


class _FlopCounter:
    """Training FLOPs of pairs from their actual lengths, via ``models.flops_per_token``."""

    def __init__(self, shape: dict, n_non_embedding: int):
        from rerankscale.models.crossencoder import flops_per_token

        self.shape, self.n, self.per_token, self.cache = shape, n_non_embedding, flops_per_token, {}

    def pairs(self, lengths: list[int]) -> tuple[float, float]:
        dense = attention = 0.0
        for length in lengths:
            if length not in self.cache:
                f = self.per_token(self.shape, self.n, seq_len=length, training=True)
                self.cache[length] = (f["dense"] * length, f["attention"] * length)
            dense += self.cache[length][0]
            attention += self.cache[length][1]
        return dense, attention


def _flush(run_dir: Path, log: list[dict]) -> None:
    if log:
        append_jsonl(Path(run_dir) / LOG, log)
        log.clear()


def _checkpoint(
    accelerator,
    run_dir,
    model,
    tokenizer,
    optimizer,
    scheduler,
    exposure,
    cursor,
    log,
    run_id,
    point,
) -> None:
    """Save the model checkpoint, flush the log, then commit the resume state (in this order,
    so the committed state never points past what is on disk)."""
    name = checkpoint_name(exposure.queries_seen)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_checkpoint(
            run_dir,
            accelerator.unwrap_model(model),
            tokenizer,
            exposure,
            {"run_id": run_id, "scheduled_queries": point},
        )
        _flush(run_dir, log)
        begin_state(run_dir, name)
    accelerator.wait_for_everyone()
    save_rng(state_tmp_dir(run_dir, name), accelerator.process_index)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        commit_state(
            run_dir,
            name,
            optimizer,
            scheduler,
            {
                "exposure": exposure.to_dict(),
                "cursor": cursor,
                "checkpoint": name,
                "world_size": accelerator.num_processes,
            },
        )
    accelerator.wait_for_everyone()


def _diverged(run_dir, main, log, step, exposure, loss_value, grad_norm, saved) -> None:
    last = saved[-1] if saved else None
    what = "loss" if not math.isfinite(loss_value) else "gradient norm"
    if main:
        _flush(run_dir, log)
        write_status(
            run_dir,
            {
                "finished": False,
                "diverged": {"step": step, "loss": repr(loss_value), "grad_norm": repr(grad_norm)},
                "last_checkpoint": last,
            },
        )
    raise TrainingDivergedError(
        f"non-finite {what} at step {step} (queries_seen {exposure.queries_seen} before it; "
        f"loss={loss_value}, grad_norm={grad_norm}). The last good checkpoint is "
        f"{last or 'none (diverged before the first checkpoint)'} in {run_dir}/checkpoints. "
        "Lower train.lr, keep train.grad_clip on, or check the training data."
    )


# --------------------------------------------------------------------------- entry point


def _read_config(path: Path) -> RunConfig:
    text = Path(path).read_text()
    if Path(path).suffix in (".yaml", ".yml"):
        import yaml

        raw = yaml.safe_load(text)
    else:
        raw = json.loads(text)
    if isinstance(raw, dict) and "config" in raw and "run_id" in raw:
        raw = raw["config"]  # a run directory's config.json
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a RunConfig mapping (data/model/train/eval blocks)")
    return RunConfig.from_dict(raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rerankscale.training.train",
        description="Train one run (works under `accelerate launch` and `torchrun`).",
    )
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        help="RunConfig as JSON/YAML, or a run directory's config.json",
    )
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    summary = train(_read_config(args.config), args.run_dir, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
