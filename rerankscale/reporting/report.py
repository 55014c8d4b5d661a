"""The notebooks' one name for the study's tables and figures: ``from rerankscale import report``.

A facade only: it re-exports the notebook-facing functions from the modules that hold them and
has no logic of its own (internal callers import from those modules). Per notebook:

- every notebook: ``report.save`` (a table as CSV, a figure as PNG + PDF + the CSV behind it);
- 04_fit (``reporting.analysis``, ``reporting.fit_tables``): ``load_analysis`` (an
  ``Analysis``), ``t7_regime``, ``t1_final_metrics``, ``t2_laws``, ``f2_exposure``,
  ``f3_joint``, ``f6_contrastive_entropy``;
- 05_forecast (``reporting.forecast_tables``): ``forecasts``, ``forecast_summary``,
  ``backtests``, ``f1_model_size``, ``rollout``, ``rollout_summary``, ``f7_rollout``,
  ``method_comparison``, ``method_comparison_summary``, ``offgrid_forecasts``,
  ``offgrid_summary``, ``offgrid_regime``, ``f8_offgrid``;
- 06_compute (``reporting.compute_tables``): ``t4_allocation``, ``f4_compute_optimal``,
  ``equal_compute``, ``t5_equal_compute``, ``f5_equal_compute``, ``t6_inference_aware``.

The artifact catalogue (``ARTIFACTS``, ``write_figures_readme``) is in ``reporting.catalogue``.
Imports neither torch nor transformers.
"""

from __future__ import annotations

from rerankscale.reporting.analysis import Analysis, load_analysis, save
from rerankscale.reporting.compute_tables import (
    equal_compute,
    f4_compute_optimal,
    f5_equal_compute,
    t4_allocation,
    t5_equal_compute,
    t6_inference_aware,
)
from rerankscale.reporting.fit_tables import (
    f2_exposure,
    f3_joint,
    f6_contrastive_entropy,
    t1_final_metrics,
    t2_laws,
    t7_regime,
)
from rerankscale.reporting.forecast_tables import (
    backtests,
    f1_model_size,
    f7_rollout,
    f8_offgrid,
    forecast_summary,
    forecasts,
    method_comparison,
    method_comparison_summary,
    offgrid_forecasts,
    offgrid_regime,
    offgrid_summary,
    rollout,
    rollout_summary,
)

__all__ = [
    "Analysis",
    "load_analysis",
    "save",
    "t7_regime",
    "t1_final_metrics",
    "t2_laws",
    "f2_exposure",
    "f3_joint",
    "f6_contrastive_entropy",
    "forecasts",
    "forecast_summary",
    "backtests",
    "f1_model_size",
    "rollout",
    "rollout_summary",
    "f7_rollout",
    "f8_offgrid",
    "method_comparison",
    "method_comparison_summary",
    "offgrid_forecasts",
    "offgrid_summary",
    "offgrid_regime",
    "t4_allocation",
    "f4_compute_optimal",
    "equal_compute",
    "t5_equal_compute",
    "f5_equal_compute",
    "t6_inference_aware",
]
