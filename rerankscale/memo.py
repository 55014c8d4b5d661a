"""A disk memo for the analysis notebooks' slow tables (the bootstrap intervals of T2–T4, T8;
T7's regime checks).

Most of an analysis notebook's time goes to bootstrap refits (hundreds of L-BFGS-B refits per
law; T2's 48 bootstraps of 200 draws are most of 04's cost) and, in 04, to T7's fit of each of
the 36 exposure curves (4 s of CPU on the coarse start grid since issue 11). Since stop 21 the
refits of a bootstrap and the starts of a fit run in lockstep (``scaling.optimize``), and since
stop 23 a table's independent fits run on every core (``scaling.parallel``): cold, 04 takes
29 s and 05 44 s instead of 129 s and 210 s. The same tables are recomputed whenever a notebook runs again
on the same results: the sweep's analysis, then ``make notebooks``, then nbval. ``cached``
computes a table once and keeps it under ``<project>/.cache/analysis/`` (``paths.resolve``),
keyed by a sha256 of everything the table depends on:

* the function's qualified name and its keyword arguments (``n_boot``, ``seed``, ...);
* the analysis inputs: the results table, the first-stage baseline and the off-grid table
  (their contents, not their paths, so the sweep's staging copy and ``figures/results.csv``
  share an entry), the study config and the held-out sizes;
* the source of every module of the ``rerankscale`` package, so a change to any fitting code
  invalidates every entry (no stale table survives an edit);
* the floating-point environment (``numerics.fingerprint``: numpy/scipy/pandas versions, BLAS
  kernels and threads, numpy's SIMD targets), so a table computed in an unpinned session
  (``make lab``) is never served to the pinned analysis kernels of ``rerankscale figures``.

The draws are not reduced: a cached table is the one the same call would compute. Set
``RERANKSCALE_NO_MEMO=1`` to bypass the memo. Entries are pickles written atomically; an
unreadable entry is recomputed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rerankscale import numerics
from rerankscale.io import sha256
from rerankscale.paths import resolve

CACHE_DIR = ".cache/analysis"
ENV_OFF = "RERANKSCALE_NO_MEMO"
PACKAGE = Path(__file__).resolve().parent


@functools.cache
def source_digest() -> str:
    """sha256 over the package's Python sources (path and content of each module)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _frame_digest(frame: pd.DataFrame | None) -> str:
    if frame is None:
        return "none"
    h = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _offgrid_digest(analysis) -> str:
    """The off-grid table's content: the frame when loaded, else the file the study names."""
    if getattr(analysis, "offgrid", None) is not None:
        return _frame_digest(analysis.offgrid)
    path = getattr(analysis.study, "offgrid_results", None)
    if path is None or not resolve(path).is_file():
        return "none"
    return sha256(resolve(path))


def key(analysis, fn: Callable, params: dict) -> str:
    """The memo key of ``fn(analysis, **params)`` (see the module docstring)."""
    parts = {
        "fn": f"{fn.__module__}.{fn.__qualname__}",
        "params": {k: repr(v) for k, v in sorted(params.items())},
        "table": _frame_digest(analysis.table),
        "baseline": _frame_digest(analysis.baseline),
        "offgrid": _offgrid_digest(analysis),
        "study": repr(analysis.study),
        "held_out": list(analysis.held_out),
        "source": source_digest(),
        "numerics": numerics.fingerprint(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cached(fn: Callable, analysis, **params):
    """``fn(analysis, **params)``, from the memo when an entry with the same key exists."""
    if os.environ.get(ENV_OFF):
        return fn(analysis, **params)
    path = resolve(CACHE_DIR) / f"{fn.__name__}-{key(analysis, fn, params)[:24]}.pkl"
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - absent, truncated or from old code: compute it
        pass
    value = fn(analysis, **params)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, path)
    return value
