"""The built-in synthetic passage-ranking task (see ``config.SyntheticConfig`` for the knobs,
``world`` for the text format, ``corpus`` for the generator, ``irds`` for the ids)."""

from .config import (
    SyntheticConfig,
    SyntheticConfigError,
    active_config,
    configure_synthetic,
    synthetic_config,
)

__all__ = [
    "SyntheticConfig",
    "SyntheticConfigError",
    "active_config",
    "configure_synthetic",
    "synthetic_config",
]
