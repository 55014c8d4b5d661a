"""Orchestration: a study's grid of cells run end to end, locally or on SLURM.

Stage 7 of the pipeline (data → models → training → evaluation → scaling → reporting →
**orchestration**); ``rerankscale.cli`` is its command line. The notebooks import ``study`` as
``from rerankscale import study`` (re-exported lazily by ``rerankscale/__init__.py``). This
``__init__`` imports nothing: import the module you need.

- ``study``: one grid cell as the notebooks and the sweep address it: ``cell_config``, ``run_dir``, ``train_cell``, ``evaluate_cell``;
- ``sweep``: the grid's cells (notebooks 02, 03) and the analysis notebooks with papermill:
  ``sweep``, ``status``, ``run_analysis``, ``execute_notebook``, ``expand``, ``Cell``;
- ``preflight``: every problem of a study found before any cell starts: ``check``,
  ``require_ok``, ``PreflightError``;
- ``slurm``: each cell's SLURM resources and the cluster checks: ``executor_parameters``,
  ``problems``, ``ClusterError``;
- ``kernels``: the kernel manager papermill starts the kernels with: ``QuietKernelManager``.
"""
