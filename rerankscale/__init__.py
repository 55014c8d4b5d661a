"""rerankscale: scaling laws for cross-encoder rerankers (arXiv 2603.04816), reproducible.

The package follows the pipeline, one subpackage per stage (``docs/architecture.md`` maps it):

- ``data``: eval sets, training groups, the synthetic task, offline caches;
- ``models``: shapes, tokenizers, the pretrained mini-suite, cross-encoders;
- ``training``: the training loop, objectives, batches, run directories;
- ``evaluation``: reranking, metrics, run files, significance, the results table;
- ``scaling``: scaling laws, fits, bootstraps, forecasts, compute allocation, regime checks;
- ``reporting``: the study's tables and figures for the notebooks;
- ``orchestration``: cells, the sweep, preflight, SLURM.

Small modules used by several stages stay at the top: ``config`` (with preset loading),
``schedule`` (the step arithmetic of pretraining and fine-tuning alike), ``paths``, ``caches``,
``io``, ``memo``, ``numerics``, ``provenance``, and ``cli`` (the ``rerankscale`` command).

The notebooks' modules are re-exported here, loaded on first use so that ``import
rerankscale`` stays cheap (no torch): ``from rerankscale import report, overview, runplots,
study, suite_report, memo``.
"""

import importlib

__version__ = "0.1.0"

_NOTEBOOK_MODULES = {
    "report": "rerankscale.reporting.report",
    "overview": "rerankscale.reporting.overview",
    "runplots": "rerankscale.reporting.runplots",
    "suite_report": "rerankscale.reporting.suite_report",
    "study": "rerankscale.orchestration.study",
}


def __getattr__(name: str):
    """The notebook-facing modules (``_NOTEBOOK_MODULES``), imported on first access."""
    if name in _NOTEBOOK_MODULES:
        module = importlib.import_module(_NOTEBOOK_MODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rerankscale' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_NOTEBOOK_MODULES})
