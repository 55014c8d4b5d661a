"""Command line: ``rerankscale sweep | status | figures | suite | lr-sweep | readiness | screen``.

    rerankscale sweep --preset cpu --workers 2            # the whole study, resumable
    rerankscale sweep --preset paper --executor slurm     # job arrays through submitit
    rerankscale status --preset cpu                       # done/failed/pending/invalid per cell
                                                          # (a failed SLURM cell: its log)
    rerankscale figures --preset cpu                      # rebuild figures/ from runs/cpu
    rerankscale figures --preset cpu --results figures/results.csv
                                                          # ... from the saved (committed) table
    rerankscale suite                                     # build/verify the pretrained suite
    rerankscale lr-sweep --preset cpu --workers 2         # the fine-tuning lr rule's sweep
    rerankscale readiness suite/deep20/53k --synthetic '{"zipf_qrel": 1.0}'
                                                          # a frozen encoder's ranking readiness

Errors in the user's input (an unknown preset, invalid YAML, a bad size, an unavailable
dataset, a missing or empty results table) are printed as one line naming the problem and the
fix, with exit status 2; ``sweep`` finds them all before any cell starts
(``rerankscale.orchestration.preflight``), one line each.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from rerankscale.config import DEFAULT_PRESET, ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerankscale", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sweep", help="train and evaluate every cell, then build the figures")
    p.add_argument(
        "--preset", default=DEFAULT_PRESET, help="preset name (smoke, cpu, paper) or YAML path"
    )
    p.add_argument("--workers", type=int, default=1, help="cells run at once")
    p.add_argument("--executor", default="local", help="local | slurm | submitit-local")
    p.add_argument("--runs-dir", default=None, help="where run directories go")
    p.add_argument(
        "--figures-dir",
        default=None,
        help="where tables and figures go (default: the preset's figures_dir)",
    )
    p.add_argument("--no-analysis", action="store_true", help="skip notebooks 04-06")

    p = sub.add_parser("status", help="the state of every cell of a study")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--runs-dir", default=None)

    p = sub.add_parser(
        "figures",
        help="collect results and rerun the analysis notebooks",
        description="Rebuild a study's artifact set (tables, figures, results table, README, "
        "manifest) with notebooks 01 and 04-06, swapped in whole when they have finished. "
        "The results come from the preset's runs, or with --results from a saved table: "
        "on a fresh clone, `rerankscale figures --preset cpu --results figures/results.csv` "
        "rebuilds the committed figures/ from its committed table.",
    )
    p.add_argument("--preset", default=DEFAULT_PRESET)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--runs-dir", default=None, help="collect the results of these runs")
    source.add_argument(
        "--results",
        default=None,
        metavar="TABLE",
        help="analyse this saved results table (.csv or .parquet, e.g. figures/results.csv) "
        "instead of collecting runs; every run in it must be a cell of --preset",
    )
    p.add_argument(
        "--figures-dir",
        default=None,
        help="where tables and figures go (default: the preset's figures_dir; a quick "
        "preset's is runs/<name>/figures, never figures/)",
    )

    p = sub.add_parser("suite", help="build (or verify) the pretrained mini-suite in suite/")
    p.add_argument("--workers", type=int, default=2, help="members pretrained at once")
    p.add_argument(
        "--suite",
        default="mixed8k-40m-a27",
        help="which suite (rerankscale.models.suite.SUITES): 'mixed8k-40m-a27' "
        "(suite/mixed8k-40m-a27/, the cpu study's: 40M tokens per member, depth growing from "
        "120k; default), 'mixed8k' (suite/mixed8k/, the cpu-10m "
        "preset's: 10M tokens, five seeds per size), 'deep20' (suite/deep20/, the cpu-deep20 "
        "preset's), 'stream' (suite/, the cpu-stream preset's), or, with only their manifest "
        "committed, 'deep' (suite/deep/, the cpu-deep10 preset's), 'mixed' (suite/mixed/, the "
        "cpu-mixed preset's), 'mixed8k-40m' (suite/mixed8k-40m/, the cpu-a32 preset's), "
        "'mixed8k-40m-a27-offgrid', 'mixed8k-40m-offgrid' and 'mixed8k-offgrid' (the off-grid "
        "sizes of the cpu-offgrid, cpu-a32-offgrid and cpu-10m-offgrid presets)",
    )

    p = sub.add_parser(
        "lr-sweep",
        help="the fine-tuning lr sweep on the study's fitted sizes (validation set of the "
        "training distribution) and the width rule fitted to it",
        description="Fine-tune each fitted size (the preset's sizes minus held_out) at "
        "multiples of its rule rate and score every checkpoint on a validation set drawn from "
        "a training stream no run uses; prints the best rate per size and the fitted rule "
        "lr = c / d_model^p, and writes the tables beside the runs (runs/<study>-lr/). "
        "Resumable (rerankscale.orchestration.lr_sweep).",
    )
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--objective", default="listwise")
    p.add_argument(
        "--multipliers", default="0.5,1,2", help="comma-separated multiples of the rule's lr"
    )
    p.add_argument("--seeds", default="0,1", help="comma-separated study seeds (seed indices)")
    p.add_argument("--sizes", default=None, help="comma-separated sizes (default: fitted sizes)")
    p.add_argument("--validation-queries", type=int, default=512)
    p.add_argument(
        "--check-held-out",
        action="store_true",
        help="also run held-out sizes (given with --sizes): the fitted rule's out-of-sample "
        "check; never fitted on",
    )
    p.add_argument("--workers", type=int, default=2, help="runs at once")

    p = sub.add_parser(
        "readiness",
        help="how well a frozen encoder's states rank a task's training groups (linear probe)",
    )
    p.add_argument("model", help="a model folder (suite member, checkpoint) or a hub id")
    p.add_argument(
        "--dataset",
        default=None,
        help="ir_datasets id of a training split with qrels (default: the synthetic task)",
    )
    p.add_argument(
        "--synthetic",
        default="{}",
        help="the synthetic world's overrides as JSON (as data.synthetic), e.g. '{\"zipf_qrel\": "
        "1.0}' for the deep suites",
    )
    p.add_argument("--max-length", type=int, default=128, help="query + passage tokens")

    p = sub.add_parser(
        "screen",
        help="pretrain a few members of a candidate suite design and report whether their "
        "readiness rises with size (before a suite or a study is spent on it)",
    )
    p.add_argument(
        "--world",
        default=None,
        help="the synthetic world's overrides as JSON (default: the deep suites' world)",
    )
    # defaults (None): the screen's design, rerankscale.models.screen.SIZES, SEEDS, ...
    p.add_argument("--sizes", default=None, help="comma-separated sizes (default 23k..640k)")
    p.add_argument("--seeds", default=None, help="comma-separated pretraining seeds (default 0,1)")
    p.add_argument("--tokens", type=int, default=None, help="pretraining tokens (default 10M)")
    p.add_argument("--aspect-ratio", type=int, default=None, help="d_model / n_layers (default 32)")
    p.add_argument(
        "--lr-width-const",
        type=float,
        default=None,
        help="pretraining lr = min(lr_max, C / d_model); default: the deep suites' C",
    )
    p.add_argument("--lr-max", type=float, default=None, help="the lr rule's cap (default 0.01)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="sequences per pretraining step (default 16; the token budget is kept)",
    )
    p.add_argument(
        "--word-swap",
        type=float,
        default=None,
        help="share of masked words replaced by another word of the batch (default 0)",
    )
    p.add_argument(
        "--mixed-registers",
        type=float,
        default=None,
        help="probability that a pretraining question or answer words its relation with "
        "either register's paraphrase (default 0)",
    )
    p.add_argument(
        "--engine",
        default=None,
        help="pretraining forward: hf (default, the shipped suites') or fast (the lean one)",
    )
    p.add_argument("--workers", type=int, default=2, help="members pretrained at once")
    p.add_argument("--out", default=None, help="folder (default runs/screens/<design digest>)")
    return parser


def _json_object(text: str, option: str, example: str, error: type[Exception]) -> dict:
    """``text`` parsed as a JSON object, else ``error`` naming ``option`` and an example."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{option} is not JSON ({err}); e.g. '{example}'") from None
    if not isinstance(value, dict):
        raise error(f"{option} must be a JSON object, got {text!r}")
    return value


def _screen(args) -> None:
    from rerankscale.models.screen import ScreenError, format_summary, run_screen, screen_spec

    world = (
        None
        if args.world is None
        else _json_object(args.world, "--world", '{"n_relations": 2000}', ScreenError)
    )
    try:
        seeds = None if args.seeds is None else tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        raise ScreenError(
            f"--seeds {args.seeds!r}: give integers separated by commas, e.g. 0,1"
        ) from None
    spec = screen_spec(
        world,
        None if args.sizes is None else tuple(s.strip() for s in args.sizes.split(",")),
        seeds,
        args.tokens,
        args.aspect_ratio,
        args.lr_width_const,
        engine=args.engine,
        batch_size=args.batch_size,
        lr_max=args.lr_max,
        word_swap=args.word_swap,
        mixed_registers=args.mixed_registers,
    )
    summary = run_screen(spec, args.out, workers=args.workers)
    print(format_summary(summary))
    print(f"screen in {summary['folder']}")


def _readiness(args) -> None:
    from rerankscale.models.crossencoder import load_encoder
    from rerankscale.models.readiness import ReadinessError, probe_groups, readiness_probe

    synthetic = _json_object(args.synthetic, "--synthetic", '{"zipf_qrel": 1.0}', ReadinessError)
    if args.max_length < 8:
        raise ReadinessError(f"--max-length {args.max_length}: use at least 8 tokens (default 128)")
    groups = probe_groups(args.dataset, synthetic)  # a bad dataset fails before the model loads
    encoder, tokenizer = load_encoder(args.model)
    result = readiness_probe(encoder, tokenizer, max_length=args.max_length, groups=groups)
    layers = "  ".join(f"{i}:{v:.3f}" for i, v in enumerate(result["mrr_by_layer"]))
    print(f"readiness of {args.model} (MRR@8 of the positive, chance {result['chance']:.3f})")
    print(f"  by layer (0 = embeddings)  {layers}")
    print(
        f"  last layer {result['mrr_last']:.3f}, best layer {result['best_layer']} "
        f"{result['mrr_best']:.3f}; {result['groups'][0]} groups fit, {result['groups'][1]} scored"
    )


def _numbers(text: str, option: str, kind: type) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise ConfigError(f"{option} {text!r}: give {kind.__name__}s separated by commas")
    return values


def _lr_sweep(args) -> None:
    from rerankscale.config import load_preset
    from rerankscale.orchestration import lr_sweep

    study = load_preset(args.preset)
    sizes = None if args.sizes is None else [s.strip() for s in args.sizes.split(",")]
    table = lr_sweep.run_sweep(
        study,
        sizes=sizes,
        multipliers=_numbers(args.multipliers, "--multipliers", float),
        seeds=_numbers(args.seeds, "--seeds", int),
        objective=args.objective,
        n_validation=args.validation_queries,
        workers=args.workers,
        check_held_out=args.check_held_out,
    )
    folder, best, rule = lr_sweep.write_tables(
        table, f"{study.runs_path}-lr", lr_sweep.fitted_sizes(study)
    )
    print(best.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for objective, fitted in rule.items():
        print(f"{objective}: lr = {fitted['c']:.4g} / d_model^{fitted['p']:.3f}")
    print(f"tables in {folder}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from rerankscale.data.errors import DataError
    from rerankscale.evaluation.results import ResultsError
    from rerankscale.models.crossencoder import ModelLoadError
    from rerankscale.orchestration import sweep as sw
    from rerankscale.reporting.artifacts import ArtifactError

    try:
        if args.command == "sweep":
            summary = sw.sweep(
                args.preset,
                args.workers,
                args.executor,
                args.runs_dir,
                args.figures_dir,
                analysis=not args.no_analysis,
            )
            print(json.dumps(summary, indent=2))
            return 1 if summary["failed"] else 0
        if args.command == "status":
            rows = sw.status(args.preset, args.runs_dir)
            for row in rows:
                extra = f"  {row['error']}" if row.get("error") else ""
                if row.get("log") and row["status"] == "failed":
                    extra += f"  (log: {row['log']})"
                print(f"{row['status']:<12} {row['run_id']}{extra}")
            counts = Counter(r["status"] for r in rows)
            print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
            return 0
        if args.command == "figures":
            from rerankscale.config import load_preset
            from rerankscale.paths import resolve

            study = load_preset(args.preset)
            runs = resolve(args.runs_dir or study.runs_path)
            target = args.figures_dir or study.figures_path
            print(sw.run_analysis(args.preset, runs, target, table_path=args.results))
            return 0
        if args.command == "lr-sweep":
            _lr_sweep(args)
            return 0
        if args.command == "readiness":
            _readiness(args)
            return 0
        if args.command == "screen":
            _screen(args)
            return 0
        if args.command == "suite":
            import time

            from rerankscale.models.suite import build_suite, suite_folder, suite_spec

            spec, folder = suite_spec(args.suite), suite_folder(args.suite)
            started = time.time()
            manifest = build_suite(spec, folder, workers=args.workers)
            for name, entry in manifest["members"].items():
                print(
                    f"{name:>6}  N={entry['n_params_non_embedding']:>8,}  held-out MLM loss "
                    f"{entry['heldout_loss_final']:.3f}  probe (query-weighted) "
                    f"{entry['probe']['query_weighted']:.3f}  readiness "
                    f"{entry['readiness']['mrr_last']:.3f}  {entry['seconds']:.0f} s"
                )
            print(
                f"suite in {folder}: {len(manifest['members'])} members, "
                f"{time.time() - started:.0f} s"
            )
            return 0
    except (ConfigError, ResultsError, ArtifactError, DataError, ModelLoadError) as error:
        print(f"rerankscale: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if type(error).__name__ != "PapermillExecutionError":
            raise
        print(
            f"rerankscale: error: a notebook failed: {error.ename}: {error.evalue} "
            "(the executed notebook is in the runs folder's _analysis/ or the cell's run "
            "directory; the previous figures are left as they were)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
