"""Caches: the project cache folder, file locks between processes, in-process LRU caches.

* ``cache_root``: tokenizers and pretrained suite members live under ``$RERANKSCALE_CACHE``
  or ``<project>/.cache`` (the project directory of ``rerankscale.paths``). Derived *data*
  (BM25 indexes and runs, the synthetic task's files) lives beside the datasets instead, under
  ``$IR_DATASETS_HOME/rerankscale/`` (``rerankscale.data.home.cache_dir``), so it moves with
  the dataset home; the analysis memo stays at ``<project>/.cache/analysis``
  (``rerankscale.memo``), whatever ``$RERANKSCALE_CACHE`` says.
* ``file_lock``: an exclusive advisory lock (``fcntl.flock``) that serialises the processes
  building one cache entry or evaluating one run.
* ``LRU``: the most recently used values of an expensive ``make()``, keyed by a value the
  caller derives (eval sets by their settings, pair encoders by a tokenizer fingerprint).

Standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

from rerankscale.paths import project_home

CACHE_ENV_VAR = "RERANKSCALE_CACHE"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir`` if given, else ``$RERANKSCALE_CACHE``, else ``<project>/.cache`` (the
    project directory of ``rerankscale.paths``)."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get(CACHE_ENV_VAR, project_home() / ".cache"))


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (``fcntl.flock``) on ``path`` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LRU:
    """The ``maxsize`` most recently used values, each made once by ``get(key, make)``."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value cached under ``key``, else ``make()`` (cached, the oldest evicted)."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        self._items[key] = value
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items
