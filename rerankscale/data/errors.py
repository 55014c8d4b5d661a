"""Errors of the data layer.

Every error a user can trigger with a bad dataset id, a missing cache or a bad argument is a
``DataError`` whose message names the problem *and* the fix. Callers (notebooks, the CLI) print
the message; they never need the traceback.
"""

from __future__ import annotations


class DataError(RuntimeError):
    """Base class: the message names the problem and how to fix it."""


class UnknownDatasetError(DataError, KeyError):
    """The dataset id is not registered with ir_datasets."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetNotAvailableError(DataError):
    """A dataset's files are not in the local cache and could not be downloaded.

    Attributes:
        dataset_id: the ir_datasets id that was requested.
        wanted: what ir_datasets tried to fetch (URLs) and where it looked locally.
    """

    def __init__(self, message: str, dataset_id: str, wanted: list[str]):
        super().__init__(message)
        self.dataset_id = dataset_id
        self.wanted = wanted


class MissingDataError(DataError):
    """The dataset exists but lacks what was asked for (no qrels, no docs, no positive...)."""


class DataValueError(DataError, ValueError):
    """An argument of a data function is out of range (depth <= 0, negative start, ...)."""
