"""Reporting: the study's tables and figures, for the notebooks (torch-free).

Stage 6 of the pipeline (data → models → training → evaluation → scaling → **reporting** →
orchestration). The notebooks import these modules as ``from rerankscale import report,
overview, runplots, suite_report`` (re-exported lazily by ``rerankscale/__init__.py``). This
``__init__`` imports nothing: import the module you need.

- ``report``: T1–T9 and F1–F7 from a results table (notebooks 04–06): ``load_analysis``,
  ``Analysis``, ``save``, ``write_figures_readme``;
- ``overview``: dataset statistics and the first-stage baseline (notebook 01, T0/T1):
  ``dataset_statistics``, ``first_stage_table``, ``summarize``;
- ``runplots``: one run's training curves and metrics against exposure (notebooks 02, 03):
  ``training_curves``, ``metrics_vs_exposure``;
- ``suite_report``: the pretrained suite's own scaling (T0s, F0): ``suite_table``,
  ``f0_suite_scaling``;
- ``plots``: the figures as functions of DataFrames and fits: ``plot_size_scaling``,
  ``plot_exposure_scaling``, ``save_figure``, ``OBJECTIVE_COLORS``;
- ``rollout_plots``: F7, rollout validation: ``plot_rollout``;
- ``artifacts``: artifact sets published whole (``figures/``, manifest, checksums):
  ``staging_dir``, ``publish``, ``verify``, ``writable``, ``ArtifactError``.
"""
