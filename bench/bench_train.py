"""Benchmark: rerankscale's training loop vs sentence-transformers' ``CrossEncoderTrainer``.

Both train the *same* model (one from-scratch ModernBERT, saved once, loaded by both: identical
initial weights) on the *same* data (synthetic training groups, generated once) with the same
objective (pointwise BCE), batches, optimizer (fused AdamW, betas (0.9, 0.98), weight decay 0.01
on matrices, clipping 1.0), lr (the width rule) and schedule (linear decay, no warmup). The
sentence-transformers dataset is laid out in this loop's step order (each step's 16 groups
flattened into 128 pairs, shuffled as the loop does) and read sequentially, so both see the same
batches in the same order and should reach the same loss: a correctness check on top of speed.

Reported per size: pairs/s, tokens/s (non-padding), achieved FLOP/s (training FLOPs of the
actual tokens: 6·N_non-emb·tokens + attention, ``models.flops_per_token``), MFU against the
machine's measured fp32 matmul FLOP/s (same thread count), the speed ratio, and held-out
BCE / MRR after the same exposure. Data generation and model building are outside the timings;
this loop's time is its training-loop wall time (tokenization included), sentence-transformers'
is ``TrainOutput.metrics["train_runtime"]`` (tokenization in its collator included).

On CUDA (when present) it also trains a 150M-parameter ModernBERT shape (Ettin-150m-like:
22 layers × 768, built from a config) with bf16 on longer synthetic pairs and reports tokens/s
and MFU against the GPU's nominal dense bf16 peak (and the measured bf16 matmul rate).

    .venv/bin/pip install -e '.[bench]'        # sentence-transformers[train]
    .venv/bin/python bench/bench_train.py      # ≈ 3–5 min on a 2-core CPU
    .venv/bin/python bench/bench_train.py --sizes 50k --queries 512 --threads 1   # quick

Writes ``bench/results/bench_train.json``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rerankscale.config import ModelConfig, RunConfig  # noqa: E402
from rerankscale.io import atomic_write_json  # noqa: E402
from rerankscale.models.encoding import PairEncoder  # noqa: E402
from rerankscale.models.suite import SUITES  # noqa: E402
from rerankscale.provenance import environment_info  # noqa: E402

DATASET = "rerankscale/synthetic/train"
N_NEGATIVES = 7
BATCH_PAIRS = 128  # = 16 groups of 1 + 7
# nominal dense bf16 peaks (FLOP/s) for MFU on GPUs; unknown GPUs use the measured matmul rate
GPU_BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


# --------------------------------------------------------------------------- measurements


def matmul_flops(n: int = 1024, dtype=torch.float32, device: str = "cpu", reps: int = 5) -> float:
    """Best-of-``reps`` FLOP/s of an ``n×n`` matmul (the reference for MFU)."""
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    inner = 8 if device == "cpu" else 200
    best = 0.0
    for _ in range(reps):
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(inner):
            a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 * inner / (time.perf_counter() - start))
    return best


def generate_groups(n: int, seed: int = 0) -> list:
    """The first ``n`` groups of the synthetic training stream ``seed`` (fresh corpora)."""
    import itertools

    from rerankscale.data import training_groups

    return list(itertools.islice(training_groups(DATASET, N_NEGATIVES, seed=seed), n))


def replay(groups: list):
    """A ``training_groups`` stand-in that replays pre-generated groups (so neither trainer pays
    for data generation inside its timing)."""

    def source(dataset_id, n_negatives, seed=0, start=0, max_queries=None, **_):
        stop = len(groups) if max_queries is None else min(max_queries, len(groups))
        yield from groups[start:stop]

    return source


def step_ordered_pairs(groups: list, groups_per_step: int, seed: int = 0) -> list[tuple]:
    """The loop's pointwise pair order: per step, flatten its groups and shuffle by (seed, step)
    (as ``batches.plan_step`` does)."""
    out = []
    for step, first in enumerate(range(0, len(groups), groups_per_step)):
        pairs = [
            (g.query, d, float(lab))
            for g in groups[first : first + groups_per_step]
            for d, lab in zip(g.docs, g.labels)
        ]
        order = np.random.default_rng([seed, step]).permutation(len(pairs))
        out += [pairs[i] for i in order]
    return out


def training_flops(encoder: PairEncoder, pairs: list[tuple], shape: dict, n_params: int):
    from rerankscale.models.crossencoder import flops_per_token

    lengths = encoder.lengths([p[0] for p in pairs], [p[1] for p in pairs])
    flops = 0.0
    for length in lengths:
        f = flops_per_token(shape, n_params, seq_len=length, training=True)
        flops += (f["dense"] + f["attention"]) * length
    return sum(lengths), flops


@torch.no_grad()
def heldout(model, tokenizer, groups: list, max_length: int, device: str = "cpu") -> dict:
    """BCE over all held-out pairs and MRR of the positive among its group's passages."""
    model.to(device).eval()
    encoder = PairEncoder(tokenizer, max_length)
    bce, rr = [], []
    for g in groups:
        batch = {
            k: v.to(device) for k, v in encoder.encode([g.query] * len(g.docs), g.docs).items()
        }
        scores = model(**batch).logits.squeeze(-1).float().cpu()
        labels = (torch.tensor(g.labels) > 0).float()
        bce.append(torch.nn.functional.binary_cross_entropy_with_logits(scores, labels).item())
        rr.append(1.0 / (1 + int((scores[1:] >= scores[0]).sum())))
    return {"bce": float(np.mean(bce)), "mrr": float(np.mean(rr))}


# --------------------------------------------------------------------------- the two trainers


def build_and_save(
    size: str, max_length: int, out: Path, shape_override=None, pooling: str = "cls"
):
    """Build the model once and save it; both trainers load this folder. ``shape_override``
    (tokenizer -> model) replaces the size rule's model (the tokenizer is the dataset's)."""
    from rerankscale.models.crossencoder import (
        build_model,
        model_shape,
        parameter_counts,
        save_model,
    )

    mcfg = ModelConfig(
        family="scratch",
        size="50k" if shape_override else size,
        vocab_size=1024,
        max_length=max_length,
        pooling=pooling,
    )
    model, tokenizer = build_model(mcfg, DATASET, seed=0, progress=False)
    if shape_override is not None:
        model = shape_override(tokenizer)
    save_model(model, tokenizer, out)
    counts = parameter_counts(model)
    return model_shape(model), counts


def run_ours(
    model_dir: Path,
    groups: list,
    max_length: int,
    lr: float | None,
    threads: int,
    bf16: bool = False,
    objective: str = "pointwise",
) -> dict:
    import rerankscale.data
    from rerankscale.training.train import train

    cfg = RunConfig()
    cfg.model = ModelConfig(
        family="hf", size="bench", name_or_path=str(model_dir), max_length=max_length
    )
    cfg.data.n_negatives = N_NEGATIVES
    t = cfg.train
    t.objective, t.max_queries, t.batch_pairs = objective, len(groups), BATCH_PAIRS
    t.lr, t.schedule, t.warmup_fraction, t.bf16 = lr, "linear", 0.0, bf16
    t.checkpoints, t.num_threads = [len(groups)], threads
    original = rerankscale.data.training_groups
    rerankscale.data.training_groups = replay(groups)
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            start = time.perf_counter()
            summary = train(cfg, run_dir, progress=False)
            wall = time.perf_counter() - start
            from rerankscale.models.crossencoder import load_model

            model, tokenizer = load_model(
                Path(run_dir) / "checkpoints" / summary["checkpoints"][-1]
            )
    finally:
        rerankscale.data.training_groups = original
    return {
        "seconds": summary["seconds"],
        "wall_with_setup": wall,
        "pairs": summary["pairs_seen"],
        "tokens": summary["tokens_seen"],
        "flops": summary["train_flops"],
        "lr": summary["lr"],
        "model": model,
        "tokenizer": tokenizer,
    }


def run_st(
    model_dir: Path, groups: list, max_length: int, lr: float, threads: int, bf16: bool = False
) -> dict:
    from datasets import Dataset
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from torch.utils.data import SequentialSampler

    torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    pairs = step_ordered_pairs(groups, BATCH_PAIRS // (1 + N_NEGATIVES))
    data = Dataset.from_dict(
        {
            "query": [p[0] for p in pairs],
            "passage": [p[1] for p in pairs],
            "label": [p[2] for p in pairs],
        }
    )
    model = CrossEncoder(str(model_dir), num_labels=1, max_length=max_length, device=device)
    with tempfile.TemporaryDirectory() as out:
        args = CrossEncoderTrainingArguments(
            output_dir=out,
            per_device_train_batch_size=BATCH_PAIRS,
            num_train_epochs=1,
            learning_rate=lr,
            lr_scheduler_type="linear",
            warmup_steps=0,
            weight_decay=0.01,
            adam_beta1=0.9,
            adam_beta2=0.98,
            max_grad_norm=1.0,
            optim="adamw_torch_fused",
            logging_strategy="no",
            save_strategy="no",
            eval_strategy="no",
            report_to="none",
            dataloader_num_workers=0,
            use_cpu=device == "cpu",
            bf16=bf16,
            seed=0,
            disable_tqdm=True,
            batch_sampler=lambda dataset, **kw: DefaultBatchSampler(
                SequentialSampler(dataset), **kw
            ),
        )
        trainer = CrossEncoderTrainer(
            model=model, args=args, train_dataset=data, loss=BinaryCrossEntropyLoss(model)
        )
        output = trainer.train()
    return {
        "seconds": output.metrics["train_runtime"],
        "pairs": len(pairs),
        "model": model.model,
        "tokenizer": model.tokenizer,
    }


# --------------------------------------------------------------------------- the benchmark


def rates(run: dict, tokens: int, flops: float, reference: float) -> dict:
    s = run["seconds"]
    return {
        "seconds": round(s, 3),
        "pairs_per_s": run["pairs"] / s,
        "tokens_per_s": tokens / s,
        "flop_per_s": flops / s,
        "mfu": flops / s / reference,
    }


def lengthen(groups: list, copies: int) -> list:
    """Longer passages for the GPU benchmark: each passage followed by ``copies`` passages of
    other groups (deterministic), so pairs are ~``copies + 1`` times longer."""
    import dataclasses

    pool = [d for g in groups for d in g.docs]
    out = []
    for i, g in enumerate(groups):
        docs = [
            " ".join(
                [d]
                + [
                    pool[(7919 * (i * 8 + j) + 104729 * c) % len(pool)]
                    for c in range(1, copies + 1)
                ]
            )
            for j, d in enumerate(g.docs)
        ]
        out.append(dataclasses.replace(g, docs=docs))
    return out


def bench_size(
    size: str,
    n_queries: int,
    threads: int,
    max_length: int,
    reference: float,
    eval_groups: list,
    device: str = "cpu",
    bf16: bool = False,
    shape_override=None,
    copies: int = 0,
    repeats: int = 1,
    pooling: str = "cls",
    shapes: str = "size rule",
) -> dict:
    print(f"[{size}] generating {n_queries} training groups ...", flush=True)
    groups = generate_groups(n_queries)
    if copies:
        groups, eval_groups = lengthen(groups, copies), lengthen(eval_groups, copies)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        shape, counts = build_and_save(size, max_length, model_dir, shape_override, pooling)
        from safetensors.torch import load_file

        initial = {k: v.float() for k, v in load_file(model_dir / "model.safetensors").items()}
        print(f"[{size}] shape {shape}, N non-emb {counts['non_embedding']:,}", flush=True)
        ours_runs, st_runs = [], []
        for _ in range(repeats):  # alternate the trainers (paired runs); rates from the fastest
            ours_runs.append(run_ours(model_dir, groups, max_length, None, threads, bf16))
            print(f"[{size}] ours: {ours_runs[-1]['seconds']:.1f} s", flush=True)
            st_runs.append(
                run_st(model_dir, groups, max_length, ours_runs[-1]["lr"], threads, bf16)
            )
            print(f"[{size}] sentence-transformers: {st_runs[-1]['seconds']:.1f} s", flush=True)
        ours = min(ours_runs, key=lambda r: r["seconds"])
        st = min(st_runs, key=lambda r: r["seconds"])
        encoder = PairEncoder(ours["tokenizer"], max_length)
        pairs = step_ordered_pairs(groups, BATCH_PAIRS // (1 + N_NEGATIVES))
        tokens, flops = training_flops(encoder, pairs, shape, counts["non_embedding"])
        assert tokens == ours["tokens"], (tokens, ours["tokens"])  # both score the same tokens
        result = {
            "size": size,
            "shape": shape,
            "n_params": counts["non_embedding"],
            "n_params_total": counts["total"],
            "queries": n_queries,
            "pairs": len(pairs),
            "tokens": tokens,
            "train_flops": flops,
            "lr": ours["lr"],
            "threads": threads,
            "device": device,
            "bf16": bf16,
            "pooling": pooling,
            "shapes": shapes,
            "repeats": repeats,
            "all_seconds": {
                "ours": [round(r["seconds"], 3) for r in ours_runs],
                "sentence_transformers": [round(r["seconds"], 3) for r in st_runs],
            },
            "ours": {
                **rates(ours, tokens, flops, reference),
                "wall_with_setup": round(ours["wall_with_setup"], 3),
                "heldout": heldout(
                    ours["model"], ours["tokenizer"], eval_groups, max_length, device
                ),
            },
            "sentence_transformers": {
                **rates(st, tokens, flops, reference),
                "heldout": heldout(st["model"], st["tokenizer"], eval_groups, max_length, device),
            },
        }
    # headline: the median of the paired runs' ratios (each repeat runs both, alternating)
    paired = [b["seconds"] / a["seconds"] for a, b in zip(ours_runs, st_runs)]
    result["speedup_paired"] = [round(r, 3) for r in paired]
    result["speedup"] = float(np.median(paired))
    result["speedup_best_vs_best"] = (
        result["ours"]["pairs_per_s"] / result["sentence_transformers"]["pairs_per_s"]
    )
    result["weights"] = compare_weights(ours["model"], st["model"], initial)
    return result


def compare_weights(ours, st, initial: dict) -> dict:
    """How far apart the two trained models are, and how far each moved from the start."""
    a = {k: v.float().cpu() for k, v in ours.state_dict().items()}
    b = {k: v.float().cpu() for k, v in st.state_dict().items()}
    keys = sorted(set(a) & set(b) & set(initial))

    def gap(x, y):
        return max(float((x[k] - y[k]).abs().max()) for k in keys)

    return {
        "max_abs_diff_ours_vs_st": gap(a, b),
        "moved_ours": gap(a, initial),
        "moved_st": gap(b, initial),
        "n_tensors": len(keys),
    }


def suite_shape(size: str, pooling: str, suite: str = "mixed8k"):
    """A ``shape_override``: the suite ``suite``'s member shape for ``size`` (``mixed8k``: the
    committed study's members; ``deep20``: depth growing faster with N), initialised from
    scratch with ``pooling``."""

    def build(tokenizer):
        from rerankscale.models.crossencoder import scratch_model

        mcfg = ModelConfig(pooling=pooling, max_length=64)
        return scratch_model(SUITES[suite].shape(size), tokenizer, mcfg, seed=0)

    return build


def ettin_150m_like(tokenizer):
    """A ModernBERT with Ettin-150m's shape (22 layers, 768 wide, 12 heads, GLU 1152, vocab
    50368), built from a config with random weights."""
    from transformers import ModernBertForSequenceClassification

    from rerankscale.models.crossencoder import modernbert_config
    from rerankscale.models.shapes import Shape

    config = modernbert_config(
        Shape(n_layers=22, d_model=768, n_heads=12, d_ff=1152),
        tokenizer,
        ModelConfig(max_length=256),
    )
    config.vocab_size = 50368
    torch.manual_seed(0)
    return ModernBertForSequenceClassification(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["10k", "1m"])
    parser.add_argument(
        "--queries",
        type=int,
        nargs="+",
        default=[2048, 512],
        help="training queries per size (one value = same for all)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--shapes",
        choices=["rule", "suite"],
        default="rule",
        help="the size rule's 2-3-layer shapes, or the shapes of --suite's members",
    )
    parser.add_argument(
        "--suite",
        default="mixed8k",
        choices=sorted(SUITES),
        help="the suite whose shapes --shapes suite takes (mixed8k: the cpu study's; deep20)",
    )
    parser.add_argument("--pooling", choices=["cls", "mean"], default="cls")
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs per trainer (alternating); the fastest counts"
    )
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--eval-queries", type=int, default=200)
    parser.add_argument("--gpu-queries", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bench_train.json")
    args = parser.parse_args()
    queries = args.queries * len(args.sizes) if len(args.queries) == 1 else args.queries
    if len(queries) != len(args.sizes):
        parser.error("--queries takes one value or one per size")

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    load = os.getloadavg()
    reference = matmul_flops()
    print(
        f"fp32 matmul reference ({args.threads} thread(s)): {reference / 1e9:.1f} GFLOP/s; "
        f"load average {load[0]:.2f}",
        flush=True,
    )
    eval_groups = generate_groups(args.eval_queries, seed=1)  # another stream: unseen corpora
    results = [
        bench_size(
            s,
            q,
            args.threads,
            args.max_length,
            reference,
            eval_groups,
            shape_override=(
                suite_shape(s, args.pooling, args.suite) if args.shapes == "suite" else None
            ),
            shapes=f"{args.suite} suite" if args.shapes == "suite" else "size rule",
            repeats=args.repeats,
            pooling=args.pooling,
        )
        for s, q in zip(args.sizes, queries)
    ]

    gpu = None
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        peak = next((v for k, v in GPU_BF16_PEAK.items() if k in name), None)
        measured = matmul_flops(4096, torch.bfloat16, "cuda")
        gpu = bench_size(
            "150m",
            args.gpu_queries,
            args.threads,
            256,
            peak or measured,
            eval_groups,
            device="cuda",
            bf16=True,
            shape_override=ettin_150m_like,
            shapes="Ettin-150m-like",
            copies=10,
            repeats=args.repeats,
        )
        gpu.update({"gpu": name, "bf16_peak_nominal": peak, "bf16_matmul_measured": measured})

    report = {
        "reference_fp32_matmul_flop_per_s": reference,
        "threads": args.threads,
        "load_average_at_start": load,
        "load_average_at_end": os.getloadavg(),
        "total_seconds": round(time.perf_counter() - started, 1),
        "cpu": results,
        "gpu": gpu,
        "environment": environment_info(),
    }
    atomic_write_json(args.out, report)
    print_table(report)
    print(f"wrote {args.out}")
    return 0


def print_table(report: dict) -> None:
    rows = report["cpu"] + ([report["gpu"]] if report["gpu"] else [])
    print(
        f"\n{'size':>6} {'N':>10} {'trainer':>22} {'pairs/s':>9} {'tokens/s':>10} "
        f"{'GFLOP/s':>8} {'MFU':>6} {'heldout BCE':>11} {'MRR':>6}"
    )
    for r in rows:
        for key, label in (
            ("ours", "rerankscale"),
            ("sentence_transformers", "sentence-transformers"),
        ):
            x = r[key]
            print(
                f"{r['size']:>6} {r['n_params']:>10,} {label:>22} {x['pairs_per_s']:>9.0f} "
                f"{x['tokens_per_s']:>10.0f} {x['flop_per_s'] / 1e9:>8.2f} {x['mfu']:>6.1%} "
                f"{x['heldout']['bce']:>11.4f} {x['heldout']['mrr']:>6.3f}"
            )
        print(
            f"{'':>6} {'':>10} {'speedup':>22} {r['speedup']:>9.2f}x   (max |Δw| ours vs ST "
            f"{r['weights']['max_abs_diff_ours_vs_st']:.1e}; each moved ≥ "
            f"{min(r['weights']['moved_ours'], r['weights']['moved_st']):.1e})"
        )
    print(
        f"(MFU vs measured fp32 matmul {report['reference_fp32_matmul_flop_per_s'] / 1e9:.1f} "
        f"GFLOP/s on {report['threads']} thread(s); load average "
        f"{report['load_average_at_start'][0]:.2f} → {report['load_average_at_end'][0]:.2f})"
    )
    if not math.isfinite(rows[0]["speedup"]):
        print("warning: non-finite speedup")


if __name__ == "__main__":
    raise SystemExit(main())
