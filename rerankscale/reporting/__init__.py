"""Reporting: the study's tables and figures, for the notebooks (torch-free).

Stage 6 of the pipeline (data → models → training → evaluation → scaling → **reporting** →
orchestration). The notebooks import these modules as ``from rerankscale import report,
overview, runplots, suite_report`` (re-exported lazily by ``rerankscale/__init__.py``). This
``__init__`` imports nothing: import the module you need.

- ``report``: the notebooks' one name for T1–T9 and F1–F7 (notebooks 04–06), a facade with no
  logic that re-exports ``load_analysis``, ``Analysis``, ``save`` and every table and figure
  function below;
- ``analysis``: the results table and what the analysis needs to know about the study:
  ``Analysis``, ``load_analysis``, ``save``, ``first_stage``, ``first_stage_values``;
- ``fit_tables``: notebook 04: ``t7_regime``, ``t1_final_metrics``, ``t2_laws``,
  ``f2_exposure``, ``f3_joint``, ``f6_contrastive_entropy`` and the fits behind them
  (``size_fits``, ``exposure_fits``, ``joint_fits``, ``one_input_law``);
- ``forecast_tables``: notebook 05: ``forecasts``, ``forecast_summary``, ``backtests``,
  ``rollout``, ``rollout_summary``, ``f7_rollout``, ``method_comparison``,
  ``method_comparison_summary``, ``f1_model_size``;
- ``compute_tables``: notebook 06: ``compute_fits``, ``t4_allocation``, ``f4_compute_optimal``,
  ``equal_compute``, ``t5_equal_compute``, ``f5_equal_compute``, ``t6_inference_aware``;
- ``catalogue``: the artifact catalogue: ``ARTIFACTS``, ``write_figures_readme``;
- ``overview``: dataset statistics and the first-stage baseline (notebook 01, T0/T1):
  ``dataset_statistics``, ``first_stage_table``, ``summarize``;
- ``runplots``: one run's training curves and metrics against exposure (notebooks 02, 03):
  ``training_curves``, ``metrics_vs_exposure``;
- ``suite_report``: the pretrained suite's own scaling (T0s, F0): ``suite_table``,
  ``f0_suite_scaling``;
- ``plots``: pure drawing, each a function of DataFrames and fits returning a Figure with the
  data it drew as ``fig.rerankscale_data`` (F1–F7 and diagnostics): ``plot_size_scaling``,
  ``plot_exposure_scaling``, ``plot_joint_slices``, ``plot_compute_optimal``,
  ``plot_equal_compute``, ``plot_ce_vs_metric``, ``plot_rollout``, ``save_figure``,
  ``OBJECTIVE_COLORS``;
- ``artifacts``: artifact sets published whole (``figures/``, manifest, checksums):
  ``staging_dir``, ``publish``, ``verify``, ``writable``, ``ArtifactError``.
"""
