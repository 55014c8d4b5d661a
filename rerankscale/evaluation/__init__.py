"""Evaluation: checkpoints → reranked runs → metrics rows → the results table.

Stage 4 of the pipeline (data → models → training → **evaluation** → scaling → reporting →
orchestration). Only ``rerank`` and ``evaluate`` need torch (lazily, when a model is scored);
``metrics``, ``contrastive``, ``runfile``, ``significance`` and ``results`` are torch-free.
This ``__init__`` imports nothing: import the module you need.

- ``evaluate``: evaluate a run's checkpoints on its eval sets: ``evaluate_run``,
  ``evaluate_model``, ``run_eval_sets`` (re-exports the pieces below, the contract of
  ``docs/architecture.md``);
- ``rerank``: score an eval set's first-stage candidates with a cross-encoder: ``rerank``,
  ``pair_encoder``;
- ``metrics``: ranking metrics through ranx, deterministic tie-breaking, the first stage:
  ``compute_metrics``, ``first_stage_metrics``, ``tie_free_run``;
- ``contrastive``: contrastive entropy CE@k: ``contrastive_entropy``;
- ``runfile``: gzip TREC run files: ``write_trec_run``, ``read_trec_run``;
- ``significance``: paired tests between two rankings: ``paired_tests``, ``compare_runs``;
- ``results``: the results table (one row per run × checkpoint × eval set), its schema,
  validation and ``collect`` from run directories: ``collect``, ``load``, ``save``,
  ``validate_results_table``, ``ResultsError``.
"""
