"""Scaling-law analysis on a results table: laws, robust fits, cluster bootstrap, forecasts,
compute allocation. Imports neither torch nor transformers.

Typical use::

    from rerankscale import scaling as sc
    sc.validate_results_table(df)
    r = sc.fit_law(df[df.objective == "listwise"], sc.ChinchillaLaw(), y="ndcg@10",
                   n="n_params", d="pairs_seen")          # fits 1 − ndcg@10
    b = sc.bootstrap_fit(r, groups="run_id", n_boot=1000)      # resample whole runs
    p = sc.parametric_bootstrap(r, n_boot=200)                 # simulate around the law
    fc = sc.forecast_holdout(df, sc.ChinchillaLaw(), y="ndcg@10", holdout=2)
    sc.compute_optimal(r, C=[1e15, 1e16], k=6 * tokens_per_pair)
    fc = sc.compare_methods(df, sc.forecast_methods("ndcg@10", via="ce@24"), y="ndcg@10")
    sc.summarize_methods(fc)                                   # MAE, bias, coverage per method

Stage 5 of the pipeline (data → models → training → evaluation → **scaling** → reporting →
orchestration). ``regime`` (T7: is a study in the paper's regime? above BM25, power-law
exposure curves, larger is better) is built on these fits and is imported on its own:
``from rerankscale.scaling import regime``.
"""

from .bootstrap import BootstrapResult, bootstrap_fit
from .compute import (
    TrainingFlops,
    allocation_exponents,
    compute_optimal,
    empirical_isoflop,
    equal_compute_comparison,
    fitted_allocation_exponents,
    inference_aware_optimum,
    isoflop_profiles,
    serving_flops,
    training_flops,
)
from .fit import STATUSES, FitResult, fit, fit_law, fit_table, refit
from .forecast import (
    choose_interval,
    compare_laws,
    forecast_holdout,
    forecast_split,
    rolling_backtest,
    select_rows,
    summarize_forecasts,
)
from .laws import (
    LAWS,
    ChinchillaLaw,
    JointSaturatingLaw,
    KaplanLaw,
    Law,
    LogisticLink,
    PowerLaw,
    SaturatingLaw,
    get_law,
)
from .methods import Method, compare_methods, forecast_methods, summarize_methods
from .parametric import (
    NoiseModel,
    NoiseNotEstimable,
    ParametricBootstrapResult,
    estimate_noise,
    parametric_bootstrap,
)
from .rollout import rollout_exposure, rollout_sizes, summarize_rollout
from .table import (
    EXPOSURE_COLUMNS,
    KEY_COLUMNS,
    REQUIRED_COLUMNS,
    ErrorTransform,
    LogErrorTransform,
    ResultsError,
    ResultsTableError,
    final_checkpoints,
    from_error,
    is_error_metric,
    is_ranking_metric,
    metric_columns,
    seed_average,
    synthetic_results_table,
    synthetic_truth,
    to_error,
    validate_results_table,
)
from .twostage import two_stage_split

__all__ = [
    "BootstrapResult",
    "bootstrap_fit",
    "TrainingFlops",
    "allocation_exponents",
    "compute_optimal",
    "empirical_isoflop",
    "equal_compute_comparison",
    "fitted_allocation_exponents",
    "inference_aware_optimum",
    "isoflop_profiles",
    "serving_flops",
    "training_flops",
    "STATUSES",
    "FitResult",
    "fit",
    "fit_law",
    "fit_table",
    "refit",
    "choose_interval",
    "compare_laws",
    "forecast_holdout",
    "forecast_split",
    "rolling_backtest",
    "select_rows",
    "summarize_forecasts",
    "Method",
    "compare_methods",
    "forecast_methods",
    "summarize_methods",
    "two_stage_split",
    "NoiseModel",
    "NoiseNotEstimable",
    "ParametricBootstrapResult",
    "estimate_noise",
    "parametric_bootstrap",
    "rollout_exposure",
    "rollout_sizes",
    "summarize_rollout",
    "LAWS",
    "ChinchillaLaw",
    "JointSaturatingLaw",
    "KaplanLaw",
    "Law",
    "LogisticLink",
    "PowerLaw",
    "SaturatingLaw",
    "get_law",
    "EXPOSURE_COLUMNS",
    "KEY_COLUMNS",
    "REQUIRED_COLUMNS",
    "ErrorTransform",
    "LogErrorTransform",
    "ResultsError",
    "ResultsTableError",
    "final_checkpoints",
    "from_error",
    "is_error_metric",
    "is_ranking_metric",
    "metric_columns",
    "seed_average",
    "synthetic_results_table",
    "synthetic_truth",
    "to_error",
    "validate_results_table",
]
