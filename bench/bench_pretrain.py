"""Benchmark: rerankscale's MLM pretraining loop vs Hugging Face ``Trainer`` +
``DataCollatorForLanguageModeling``.

Both pretrain the *same* ``ModernBertForMaskedLM`` (built from one config under one seed:
identical initial weights) on the *same* rows (the synthetic world's pretraining collection, the
suite's tokenizer, documents joined with ``[SEP]`` and cut into ``[CLS]`` + 63-token rows by
``pretrain.pack``, no padding) with the same masking scheme (30 % of the non-special tokens;
80 % ``[MASK]``, 10 % random, 10 % kept: the collator's scheme, so whole-word masking is off
here), batch (32 rows × 64 tokens), optimizer (AdamW, betas (0.9, 0.98), weight decay 0.01),
learning rate (the width rule), schedule (linear warm-up over 5 % of the steps, then linear
decay) and clipping (1.0). They differ in how a step is computed:

* ours (``pretrain.pretrain_mlm``, ``engine="fast"``): masks a batch of pre-built rows with
  tensor operations and runs the lean forward (``models.fastpath.masked_logits``): the last
  layer's attention output, MLP, prediction head and decoder only at the masked positions;
* Hugging Face: ``Trainer`` with the collator (which masks each batch from Python lists) and
  the model's default dense prediction (head and decoder at every position,
  ``sparse_prediction=False``), the set-up of ``run_mlm.py``.

Each (size, system) run is its own spawned process (one torch thread), so peak memory is that
process's maximum resident set; ``seconds`` is the training loop alone (ours: ``pretrain.json``'s
``seconds``, Hugging Face: ``train_runtime``). Reported per size: tokens/s, achieved FLOP/s of the
encoder (``6·N_non-emb + attention`` per token, ``models.flops_per_token``: the same useful work
for both, so the decoder work Hugging Face spends on unmasked positions counts as overhead), MFU
against the measured one-thread fp32 matmul rate, peak RSS, the speed ratio (median over
``--repeats`` paired runs, the two systems alternating) and the held-out MLM loss of both final
models on the same fixed held-out masks (equal exposure should give an equal model).

    .venv/bin/python bench/bench_pretrain.py                       # every suite size + 1m
    .venv/bin/python bench/bench_pretrain.py --suite deep          # stop 25's shapes and world
    .venv/bin/python bench/bench_pretrain.py --sizes 10k 53k --repeats 1 --tokens 65536

Writes ``bench/results/bench_pretrain.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rerankscale.io import atomic_write_json  # noqa: E402
from rerankscale.models.suite import SUITES  # noqa: E402
from rerankscale.provenance import environment_info  # noqa: E402

SIZES = ("10k", "23k", "53k", "120k", "280k", "640k", "1m")  # the suites' sizes + one ≥ 1m
SUITE = "mixed8k"  # the cpu study's suite: its shapes, world and corpus (--suite)
SYSTEMS = ("ours", "huggingface")
OUT = REPO / "bench" / "results" / "bench_pretrain.json"


def spec_of(size: str, tokens: int, name: str = SUITE):
    """Suite ``name``'s shape, tokenizer, recipe (stream packing, token masking: what the
    Hugging Face collator does) and corpus."""
    from rerankscale.models import suite

    spec = SUITES[name]
    recipe = dataclasses.replace(
        spec.recipe, tokens=tokens, packing="stream", whole_word=False, engine="fast"
    )
    texts = suite.pretraining_texts(spec.world_config(), corpus_cfg=spec.corpus)
    return spec.shape(size), suite.suite_tokenizer(spec), recipe, texts


def setup(size: str, tokens: int, name: str = SUITE):
    """``spec_of``'s shape, tokenizer and recipe, and the packed training and held-out rows."""
    from rerankscale.models.pretrain import pack, read_corpus

    shape, tokenizer, recipe, texts = spec_of(size, tokens, name)
    train_docs, held_docs, _ = read_corpus(texts, tokenizer, recipe, tokens)
    ids = [tokenizer.convert_tokens_to_ids(t) for t in ("[CLS]", "[SEP]")]
    train = pack(train_docs, recipe.seq_len, *ids)
    held = pack(held_docs, recipe.seq_len, *ids)[: recipe.heldout_sequences]
    return shape, tokenizer, recipe, train, held


def held_batches(recipe, tokenizer, held):
    """The fixed held-out masks ``pretrain_mlm`` draws (same generator, same order)."""
    import torch

    from rerankscale.models.pretrain import mask_tokens
    from rerankscale.models.tokenizer import SPECIAL_TOKENS

    gen = torch.Generator().manual_seed(recipe.seed + 1)
    mask_id = tokenizer.convert_tokens_to_ids("[MASK]")
    return [
        mask_tokens(
            held[i : i + recipe.batch_size],
            recipe.mask_prob,
            mask_id,
            len(SPECIAL_TOKENS),
            len(tokenizer),
            gen,
            None,
        )
        for i in range(0, len(held), recipe.batch_size)
    ]


def run_ours(size: str, tokens: int, name: str = SUITE) -> dict:
    from rerankscale.models.pretrain import pretrain_mlm

    shape, tokenizer, recipe, texts = spec_of(size, tokens, name)
    _, log = pretrain_mlm(shape, tokenizer, texts, recipe, progress=False)
    return {
        "seconds": log["seconds"],
        "tokens": log["tokens_seen"],
        "steps": log["steps"],
        "heldout_loss": log["heldout_loss_final"],
    }


def run_huggingface(size: str, tokens: int, name: str = SUITE) -> dict:
    import torch
    from datasets import Dataset
    from transformers import (
        DataCollatorForLanguageModeling,
        ModernBertForMaskedLM,
        PrinterCallback,
        Trainer,
        TrainingArguments,
    )

    from rerankscale.config import ModelConfig
    from rerankscale.models.modernbert import modernbert_config, quiet_transformers, seeded
    from rerankscale.models.pretrain import heldout_loss
    from rerankscale.schedule import resolve_lr

    shape, tokenizer, recipe, train, held = setup(size, tokens, name)
    steps = max(1, math.ceil(tokens / (recipe.batch_size * recipe.seq_len)))
    config = modernbert_config(shape, tokenizer, ModelConfig(dropout=0.0))
    with seeded(recipe.seed):
        model = ModernBertForMaskedLM(config)
    data = Dataset.from_dict({"input_ids": train.tolist()})
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=recipe.mask_prob)
    with tempfile.TemporaryDirectory() as out, quiet_transformers():
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=recipe.batch_size,
            max_steps=steps,
            learning_rate=resolve_lr(recipe, shape.d_model),
            weight_decay=recipe.weight_decay,
            adam_beta1=recipe.betas[0],
            adam_beta2=recipe.betas[1],
            warmup_steps=math.ceil(recipe.warmup_fraction * steps),
            lr_scheduler_type="linear",
            max_grad_norm=recipe.grad_clip,
            logging_steps=10**9,
            save_strategy="no",
            report_to=[],
            dataloader_num_workers=0,
            use_cpu=True,
            seed=recipe.seed,
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator)
        trainer.remove_callback(PrinterCallback)  # no per-run log line on stdout
        metrics = trainer.train().metrics
    torch.set_num_threads(1)
    return {
        "seconds": metrics["train_runtime"],
        "tokens": steps * recipe.batch_size * recipe.seq_len,
        "steps": steps,
        "heldout_loss": heldout_loss(model, held_batches(recipe, tokenizer, held)),
    }


def trial(system: str, size: str, tokens: int, name: str = SUITE) -> dict:
    """One run in this (spawned) process, one torch thread; adds the peak RSS."""
    import resource

    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run = (run_ours if system == "ours" else run_huggingface)(size, tokens, name)
    run["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return run


def in_subprocess(system: str, size: str, tokens: int, name: str = SUITE) -> dict:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(trial, (system, size, tokens, name))


def matmul_rate() -> float:
    """Best-of-5 one-thread fp32 FLOP/s of a 1024² matmul (the MFU reference)."""
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(8):
            a @ b
        best = max(best, 2 * 1024**3 * 8 / (time.perf_counter() - start))
    return best


def bench_size(size: str, tokens: int, repeats: int, reference: float, name: str = SUITE) -> dict:
    from rerankscale.models.shapes import flops_per_token

    shape = SUITES[name].shape(size)
    n = shape.non_embedding_params()
    per_token = flops_per_token(shape, n, seq_len=64, training=True)["total"]
    runs = {s: [] for s in SYSTEMS}
    for r in range(repeats):  # alternate which system goes first
        for system in SYSTEMS if r % 2 == 0 else SYSTEMS[::-1]:
            runs[system].append(in_subprocess(system, size, tokens, name))
    row = {
        "suite": name,
        "size": size,
        "shape": shape.to_dict(),
        "n_params": n,
        "flops_per_token": per_token,
    }
    for system, trials in runs.items():
        seconds = statistics.median(t["seconds"] for t in trials)
        done = trials[0]["tokens"]
        row[system] = {
            "seconds_all": [round(t["seconds"], 3) for t in trials],
            "seconds": round(seconds, 3),
            "tokens": done,
            "tokens_per_s": done / seconds,
            "flop_per_s": per_token * done / seconds,
            "mfu": per_token * done / seconds / reference,
            "peak_rss_mb": round(max(t["peak_rss_mb"] for t in trials), 1),
            "heldout_loss": trials[0]["heldout_loss"],
        }
    ratios = [h["seconds"] / o["seconds"] for o, h in zip(runs["ours"], runs["huggingface"])]
    row["speedup_paired"] = [round(x, 3) for x in ratios]
    row["speedup_median"] = statistics.median(ratios)
    row["heldout_gap"] = row["ours"]["heldout_loss"] - row["huggingface"]["heldout_loss"]
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=list(SIZES))
    p.add_argument("--tokens", type=int, default=4096 * 64, help="pretraining tokens per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--suite",
        default=SUITE,
        choices=sorted(SUITES),
        help="whose shapes, world and corpus (deep: stop 25)",
    )
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    start, load = time.time(), os.getloadavg()
    reference = matmul_rate()
    rows = []
    for size in a.sizes:
        row = bench_size(size, a.tokens, a.repeats, reference, a.suite)
        rows.append(row)
        o, h = row["ours"], row["huggingface"]
        print(
            f"{size:>5}  ours {o['tokens_per_s']:>8.0f} tok/s (MFU {o['mfu']:.1%}, "
            f"{o['peak_rss_mb']:.0f} MB)  HF {h['tokens_per_s']:>8.0f} tok/s (MFU {h['mfu']:.1%}, "
            f"{h['peak_rss_mb']:.0f} MB)  ×{row['speedup_median']:.2f} "
            f"{row['speedup_paired']}  held-out loss {o['heldout_loss']:.4f} vs "
            f"{h['heldout_loss']:.4f}",
            flush=True,
        )
    report = {
        "benchmark": "MLM pretraining: rerankscale.models.pretrain vs transformers Trainer + "
        "DataCollatorForLanguageModeling",
        "suite": a.suite,
        "tokens_per_run": a.tokens,
        "repeats": a.repeats,
        "threads": 1,
        "reference_fp32_matmul_flop_per_s": reference,
        "results": rows,
        "load_average_at_start": load,
        "load_average_at_end": os.getloadavg(),
        "total_seconds": round(time.time() - start, 1),
        "environment": environment_info(),
    }
    atomic_write_json(Path(a.out), report)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
