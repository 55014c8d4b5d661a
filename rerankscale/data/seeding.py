"""Deterministic random streams that do not depend on the process.

Python's ``hash()`` of a string changes between processes (``PYTHONHASHSEED``), so seeds are
derived with SHA-256 instead: ``stable_seed("chunk", 3, 0)`` is the same integer in every process,
on every machine. Each independent random decision in the data layer gets its own stream,
named by a tuple of parts, so adding a new decision never shifts an existing one.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from the JSON form of ``parts`` (ints, floats, strings, lists)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little")


def rng(*parts: object) -> np.random.Generator:
    """A numpy ``Generator`` (PCG64) seeded by ``stable_seed(*parts)``."""
    return np.random.default_rng(stable_seed(*parts))


def digest(obj: object, length: int = 12) -> str:
    """A short hex digest of a JSON-able object (cache keys)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
