"""Data layer: ir_datasets ids -> eval sets (queries, qrels, first-stage candidates) and training
groups; the built-in synthetic task; offline cache handling.

Stage 1 of the pipeline (**data** → models → training → evaluation → scaling → reporting →
orchestration).

Importing this package sets ``IR_DATASETS_HOME`` to ``<project>/.cache/ir_datasets`` unless it is
already set (see ``home``); import it before ``ir_datasets``.
"""

from .home import dataset_home  # noqa: I001  (sets IR_DATASETS_HOME before ir_datasets loads)
from .errors import (
    DataError,
    DatasetNotAvailableError,
    DataValueError,
    MissingDataError,
    UnknownDatasetError,
)
from .offline import seed_beir_cache
from .registry import default_rel_threshold, load_dataset
from .evalsets import EvalSet, load_eval_set
from .groups import TrainingGroup, training_groups
from .texts import corpus_texts, dataset_vocabulary
from .synthetic import SyntheticConfig, SyntheticConfigError, configure_synthetic, synthetic_config

__all__ = [
    "DataError",
    "DatasetNotAvailableError",
    "DataValueError",
    "MissingDataError",
    "UnknownDatasetError",
    "SyntheticConfigError",
    "dataset_home",
    "load_dataset",
    "default_rel_threshold",
    "seed_beir_cache",
    "EvalSet",
    "load_eval_set",
    "TrainingGroup",
    "training_groups",
    "corpus_texts",
    "dataset_vocabulary",
    "SyntheticConfig",
    "configure_synthetic",
    "synthetic_config",
]
