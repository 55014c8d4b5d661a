"""The analysis object behind notebooks 04–06: a validated results table with what the tables
and figures need to know about the study (``Analysis``, ``load_analysis``), the first-stage
baseline (``first_stage``, ``first_stage_values``) and ``save``, which writes any table or
figure as an artifact. Imports neither torch nor transformers: the analysis runs on a results
table alone.

Conventions (DESIGN.md §7):
- N is the non-embedding parameter count; the exposure axis D is training queries seen (the
  same for every objective, so objectives compare at equal data); compute is dense training
  FLOPs 6·N·tokens, the attention term reported separately.
- Intervals are percentile intervals of a bootstrap over runs (size × seed), or of the
  parametric bootstrap where runs are too few (``scaling.forecast.choose_interval``); every
  forecast table names its ``interval_method``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rerankscale import scaling as sc
from rerankscale.config import StudyConfig, load_preset, parse_size
from rerankscale.evaluation.results import ResultsError
from rerankscale.evaluation.results import load as load_results
from rerankscale.io import atomic_write_text
from rerankscale.paths import resolve
from rerankscale.reporting import plots
from rerankscale.reporting.artifacts import writable

FIRST_STAGE = "first stage (BM25)"
HEADLINE = ("ndcg@10", "mrr@10", "map")
EXPOSURE = "queries_seen"


@dataclass
class Analysis:
    """A results table with what the analysis needs to know about the study."""

    table: pd.DataFrame
    study: StudyConfig
    baseline: pd.DataFrame | None
    eval_sets: list[str]
    held_out: list[str]
    fits: dict = field(default_factory=dict)  # memo of fitted laws, see ``cached_fits``
    # results of sizes outside the study's grid, forecast by the laws fitted on the study and
    # never fitted on (T10); read on first use from ``StudyConfig.offgrid_results``
    # (``offgrid_table``)
    offgrid: pd.DataFrame | None = None

    @property
    def primary(self) -> str:
        """The eval set the figures show (the study's first)."""
        return self.eval_sets[0]

    @property
    def ce(self) -> str:
        return next(c for c in self.table.columns if c.startswith("ce@"))

    @property
    def metrics(self) -> list[str]:
        return [*(m for m in HEADLINE if m in self.table), self.ce]

    def on(self, eval_set: str | None = None) -> pd.DataFrame:
        return self.table[self.table["eval_set"] == (eval_set or self.primary)]

    def cached_fits(self, kind: str, metric: str, eval_set: str | None, build) -> dict:
        """Fit once per (kind, metric, eval set, held-out sizes): the tables and figures of a
        notebook share the same fitted laws instead of refitting them."""
        key = (kind, metric, eval_set or self.primary, tuple(self.held_out))
        if key not in self.fits:
            self.fits[key] = build()
        return self.fits[key]

    def fitted_rows(self, eval_set: str | None = None) -> pd.DataFrame:
        """Rows of the sizes the laws are fitted on (the held-out sizes removed)."""
        t = self.on(eval_set)
        return t[~t["size"].isin(self.held_out)]


def load_analysis(preset: str, results_path: str | Path) -> Analysis:
    """Load and validate the results table; the first-stage baseline (``T0_first_stage.csv``)
    is read from beside it when present."""
    path = resolve(results_path)
    table = load_results(path)
    sc.validate_results_table(table)
    table = _with_dense_flops(table)
    study = load_preset(preset)
    baseline_path = path.parent / "T0_first_stage.csv"
    baseline = pd.read_csv(baseline_path) if baseline_path.exists() else None
    eval_sets = list(dict.fromkeys(table["eval_set"]))
    ordered = sorted(eval_sets, key=lambda e: (not e.endswith("dev"), e))
    held = [s for s in study.held_out if s in set(table["size"])]
    return Analysis(table, study, baseline, ordered, held)


def offgrid_table(a: Analysis) -> pd.DataFrame | None:
    """``a.offgrid``, read on first use from the study's ``offgrid_results`` (None when it
    names none) and validated against the study's table: sizes outside the grid, the same
    objectives and eval sets; ``ResultsError`` naming the fix otherwise."""
    if a.offgrid is None and a.study.offgrid_results is not None:
        a.offgrid = _load_offgrid(a.study, a.table)
    return a.offgrid


def _load_offgrid(study: StudyConfig, table: pd.DataFrame) -> pd.DataFrame:
    path = resolve(study.offgrid_results)
    fix = (
        f"build it with `rerankscale sweep --preset {study.name}-offgrid` (after `make suite "
        f"SUITE={study.base.model.suite}-offgrid`), or set offgrid_results: null in preset "
        f"{study.name!r}"
    )
    if not path.is_file():
        raise ResultsError(f"offgrid_results {str(path)!r} does not exist; {fix}")
    offgrid = load_results(path)
    sc.validate_results_table(offgrid)
    shared = sorted(set(offgrid["size"]) & set(table["size"]), key=parse_size)
    if shared:
        raise ResultsError(
            f"offgrid_results {str(path)!r} holds sizes of the study's own grid {shared}: "
            "an off-grid table must hold only sizes the laws are not fitted on"
        )
    for column in ("objective", "eval_set"):
        missing = sorted(set(table[column]) - set(offgrid[column]))
        if missing:
            raise ResultsError(
                f"offgrid_results {str(path)!r} has no rows for {column} {missing}: it must "
                f"come from a study with the same {column}s; {fix}"
            )
    return _with_dense_flops(offgrid)


def _with_dense_flops(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``dense_flops``: training FLOPs less the attention term (6·N·tokens)."""
    attention = table["attention_flops"] if "attention_flops" in table else 0.0
    return table.assign(dense_flops=table["train_flops"] - attention)


# --------------------------------------------------------------------------- saving


def save(
    artifact, figures_dir: str | Path | None, artifact_id: str, data: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Write a table (CSV) or a figure (PNG, PDF and the CSV behind it) as ``<artifact_id>.*``;
    nothing when ``figures_dir`` is None (notebooks only display by default). A published set
    (``rerankscale.reporting.artifacts``: one with a manifest) is refused: it is only replaced whole."""
    if figures_dir is None:
        return {}
    figures = writable(figures_dir)
    if isinstance(artifact, pd.DataFrame):
        path = figures / f"{artifact_id}.csv"
        atomic_write_text(path, artifact.to_csv(index=False, float_format="%.6g"))
        return {"csv": path}
    return plots.save_figure(artifact, data, figures, artifact_id)


# --------------------------------------------------------------------------- first stage


def first_stage_values(a: Analysis, metric: str = "ndcg@10") -> dict[str, float]:
    """The first stage's ``metric`` per eval set (from ``T0_first_stage.csv``)."""
    if a.baseline is None:
        raise ResultsError(
            "T0_first_stage.csv is not beside the results table; run notebooks/01_data.ipynb "
            "with figures_dir set to the results' folder first"
        )
    return dict(zip(a.baseline["eval_set"], a.baseline[metric].astype(float)))


def first_stage(a: Analysis, metric: str, eval_set: str | None = None) -> float | None:
    """The first stage's ``metric`` on ``eval_set`` (default: the primary), if known."""
    if a.baseline is None or metric not in a.baseline:
        return None
    row = a.baseline[a.baseline["eval_set"] == (eval_set or a.primary)]
    return float(row[metric].iloc[0]) if len(row) else None
