"""The run directory on disk: config, exposure checkpoints, resume state, status.

::

    run_dir/
      config.json                 run_id, resolved config, model counts, environment_info()
      train_log.jsonl             one row per optimizer step
      checkpoints/q<queries:09d>/ Hugging Face model + tokenizer + exposure.json
      state/latest.json           points at the newest state folder (the commit point)
      state/q<queries:09d>/       optimizer.pt, scheduler.pt, rng_rank<r>.pt, trainer_state.json
      status.json                 {"finished": bool, ...}

Every file is written atomically: folders are filled under a temporary name and renamed into
place, single files go through ``rerankscale.io``. A run killed at any moment resumes from
``state/latest.json``; checkpoints and log rows written after it are discarded on resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from rerankscale.config import SUITE_SEED_RULES, ConfigError, RunConfig, size_name
from rerankscale.io import atomic_write_bytes, atomic_write_json, read_jsonl
from rerankscale.models.modernbert import BUILT_DROPOUT, BUILT_POOLING

CONFIG = "config.json"
STATUS = "status.json"
LOG = "train_log.jsonl"
EXPOSURE = "exposure.json"
RUN_FILES = {"checkpoints", "state", LOG, STATUS}


class RunDirMismatchError(RuntimeError):
    """The run directory belongs to a different run (or is not a run directory at all)."""


class CheckpointError(RuntimeError):
    """A checkpoint or the resume state is missing or unreadable."""


@dataclass
class Exposure:
    """What the model has been trained on so far, summed over all processes."""

    step: int = 0
    queries_seen: int = 0
    pairs_seen: int = 0
    tokens_seen: int = 0  # non-padding tokens
    dense_flops: float = 0.0  # 6 · N_non-emb · tokens
    attention_flops: float = 0.0  # attention scores and weighted sums, fwd + bwd
    seconds: float = 0.0  # wall-clock training time, summed over resumes

    @property
    def train_flops(self) -> float:
        """Training FLOPs: the dense term plus the attention term."""
        return self.dense_flops + self.attention_flops

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "train_flops": self.train_flops}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Exposure:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def checkpoint_name(queries_seen: int) -> str:
    return f"q{queries_seen:09d}"


# --------------------------------------------------------------------------- config.json


def _normalised(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _comparable(config: dict[str, Any]) -> Any:
    """A run config as two are compared: JSON values, every field the folder's config lacks at
    its default (a field added to the config later keeps the old behaviour at its default, so
    a run written before it is the same run), a scratch/suite size by its name
    (``config.size_name``: ``"50000"`` and ``"50k"`` are one run, as its run id says), a model
    built here by the dropout and pooling it gets (``None`` is ``BUILT_DROPOUT`` /
    ``BUILT_POOLING``, the values runs wrote before the two became optional), and a suite
    member by the pretraining seed it resolves to: ``"paired"`` and ``"ready"`` fine-tune the
    member whose pretraining seed is the run's own seed (``config.member_seed``), so a run of
    fine-tuning seed 0 from member 0 is one run whether its study named the member ``0`` or
    ``"paired"`` (the run id says the same)."""
    with contextlib.suppress(ConfigError, TypeError):
        config = RunConfig.from_dict(config).to_dict()
    out = _normalised(config)
    model = out.get("model") if isinstance(out, dict) else None
    if isinstance(model, dict) and model.get("family") in ("scratch", "suite"):
        with contextlib.suppress(ConfigError):
            model["size"] = size_name(model.get("size"))
        model["dropout"] = BUILT_DROPOUT if model.get("dropout") is None else model["dropout"]
        model["pooling"] = model.get("pooling") or BUILT_POOLING
        if model.get("suite_seed") in SUITE_SEED_RULES:
            train = out.get("train") or {}
            resolved = model.get("family") == "suite" and isinstance(train.get("seed"), int)
            model["suite_seed"] = train["seed"] if resolved else "paired"
    return out


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _diff(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"{prefix[:-1]}: {a!r} in the folder, {b!r} now"]


def _same_weights(recorded: dict | None, init: dict | None) -> bool:
    """Whether two initial-weight identities (``suite.member_identity``) name the same bits: the
    same ``model.safetensors`` sha256, whichever suite folder holds it."""
    return bool(
        recorded and init and recorded.get("sha256") and recorded["sha256"] == init.get("sha256")
    )


def check_run_dir(
    run_dir: Path, run_id: str, config: dict[str, Any], init: dict | None = None
) -> bool:
    """Raise ``RunDirMismatchError`` unless ``run_dir`` is absent, holds no run files yet, or is
    this run's folder. Returns True when the folder already holds this run's ``config.json``.
    ``init``: the identity of the weights the run starts from (``crossencoder.initial_weights``);
    a folder that recorded other initial weights is another run, though its config is the same.

    Unrelated files (e.g. the sweep's executed notebook, written before training starts) are
    tolerated; training outputs or model weights without a run ``config.json`` are not."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirMismatchError(f"run directory {run_dir} is a file; pass a folder path")
    path = run_dir / CONFIG
    if not path.exists():
        found = sorted(
            p.name
            for p in (run_dir.iterdir() if run_dir.is_dir() else [])
            if p.name in RUN_FILES or p.suffix == ".safetensors"
        )
        if found:
            raise RunDirMismatchError(
                f"{run_dir} holds {found} but no run config.json: it is not this run's directory. "
                "Pick a new folder for the run; nothing was written."
            )
        return False
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunDirMismatchError(
            f"{path} is not valid JSON ({err}); move the folder away"
        ) from err
    if not isinstance(info, dict) or "config" not in info or "run_id" not in info:
        kind = (
            "a model checkpoint folder"
            if isinstance(info, dict) and "architectures" in info
            else ("not a run's config.json")
        )
        raise RunDirMismatchError(
            f"{run_dir} is {kind}, not a run directory; pass the run's own folder "
            "(the one holding checkpoints/ and state/). Nothing was written."
        )
    diffs = _diff(_comparable(info["config"]), _comparable(config))
    recorded = info.get("init")
    if _same_weights(recorded, init):
        # one member under two suites' names (``suite.adopt_members``): the run starts from the
        # same bits, so the suite's name is not a difference
        diffs = [d for d in diffs if not d.startswith("model.suite:")]
    if info["run_id"] != run_id or diffs:
        raise RunDirMismatchError(
            f"{run_dir} belongs to a different run ({info['run_id']!r}; differences: "
            f"{diffs[:6] or ['run_id']}). Use a new run directory, or delete this one to retrain; "
            "nothing was overwritten."
        )
    if (
        init is not None
        and recorded is not None
        and recorded != init
        and not _same_weights(recorded, init)
    ):
        raise RunDirMismatchError(
            f"{run_dir} was fine-tuned from {recorded['member']} with weights "
            f"{str(recorded['sha256'])[:12]}, which are now {str(init['sha256'])[:12]} (the member "
            "was rebuilt). Use a new run directory, or delete this one to retrain; nothing was "
            "overwritten."
        )
    return True


def write_config(run_dir: Path, info: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / CONFIG, info)


def read_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS
    return json.loads(path.read_text()) if path.exists() else {"finished": False}


def write_status(run_dir: Path, status: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / STATUS, status)


# --------------------------------------------------------------------------- checkpoints


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move a completed temporary folder into place (an existing one is replaced)."""
    if final.exists():
        trash = final.with_name(f".trash-{final.name}")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)


def save_checkpoint(run_dir: Path, model, tokenizer, exposure: Exposure, extra: dict) -> Path:
    """Write the model (safetensors), tokenizer and ``exposure.json`` as
    ``checkpoints/q<queries_seen:09d>/``, atomically (``models.save_model``). Main process only."""
    from transformers.utils import logging as hf_logging

    from rerankscale.models.crossencoder import save_model

    path = Path(run_dir) / "checkpoints" / checkpoint_name(exposure.queries_seen)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar inside the run's own bar
    try:
        return save_model(
            model, tokenizer, path, extra_json={EXPOSURE: {**exposure.to_dict(), **extra}}
        )
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def list_checkpoints(run_dir: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """``[(checkpoint folder, exposure dict), ...]`` sorted by queries seen."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise RunDirMismatchError(f"{run_dir} has no config.json: it is not a run directory")
    out = []
    for path in sorted((run_dir / "checkpoints").glob("q*")):
        exposure_path = path / EXPOSURE
        if path.is_dir() and exposure_path.exists():
            out.append((path, json.loads(exposure_path.read_text())))
    return sorted(out, key=lambda item: item[1]["queries_seen"])


# --------------------------------------------------------------------------- resume state


def _save_torch(obj: Any, path: Path) -> None:
    """``torch.save`` straight to disk (no in-memory copy of a large optimizer state), fsynced.
    Only used inside a temporary folder that is renamed into place when complete."""
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def rng_state() -> dict[str, Any]:
    import random

    import numpy as np

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import random

    import numpy as np

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def state_tmp_dir(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / "state" / f".tmp-{name}"


def begin_state(run_dir: Path, name: str) -> Path:
    """Main process: a fresh temporary state folder (then every process calls ``save_rng``)."""
    tmp = state_tmp_dir(run_dir, name)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def save_rng(tmp: Path, rank: int) -> None:
    _save_torch(rng_state(), tmp / f"rng_rank{rank}.pt")


def commit_state(run_dir: Path, name: str, optimizer, scheduler, trainer_state: dict) -> None:
    """Main process: add optimizer, scheduler and trainer state to the temporary folder, move it
    into place, then point ``state/latest.json`` at it (the commit) and drop older states."""
    root = Path(run_dir) / "state"
    tmp = state_tmp_dir(run_dir, name)
    _save_torch(optimizer.state_dict(), tmp / "optimizer.pt")
    _save_torch(scheduler.state_dict(), tmp / "scheduler.pt")
    atomic_write_json(tmp / "trainer_state.json", trainer_state)
    _replace_dir(tmp, root / name)
    atomic_write_json(root / "latest.json", {"state": name, "checkpoint": name})
    for old in root.iterdir():
        if old.is_dir() and old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def load_state(run_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The committed resume state, or None for a fresh run. Raises ``CheckpointError`` when the
    state or its checkpoint is missing, or the checkpoint is not this run's (another run id, or
    an exposure other than the state's)."""
    latest = Path(run_dir) / "state" / "latest.json"
    if not latest.exists():
        return None
    pointer = json.loads(latest.read_text())
    folder = latest.parent / pointer["state"]
    checkpoint = Path(run_dir) / "checkpoints" / pointer["checkpoint"]
    if not (folder / "trainer_state.json").exists() or not (checkpoint / EXPOSURE).exists():
        raise CheckpointError(
            f"resume state {folder} or its checkpoint {checkpoint} is missing or incomplete; the "
            "run directory was modified by hand. Delete the run directory to retrain."
        )
    trainer_state = json.loads((folder / "trainer_state.json").read_text())
    exposure = json.loads((checkpoint / EXPOSURE).read_text())
    expected = trainer_state["exposure"]
    if exposure.get("run_id") != run_id or any(
        exposure.get(k) != expected[k] for k in ("step", "queries_seen", "tokens_seen")
    ):
        raise CheckpointError(
            f"checkpoint {checkpoint} is not this run's (run {exposure.get('run_id')!r} at step "
            f"{exposure.get('step')}; the resume state expects {run_id!r} at step "
            f"{expected['step']}). Restore the run's own checkpoint or delete the run directory "
            "to retrain; nothing was overwritten."
        )
    return {**trainer_state, "folder": folder, "checkpoint": checkpoint}


def load_weights(model, checkpoint: Path) -> None:
    """Load a checkpoint's safetensors into the freshly built model (same architecture)."""
    from safetensors.torch import load_file

    files = sorted(Path(checkpoint).glob("*.safetensors"))
    if not files:
        raise CheckpointError(
            f"checkpoint {checkpoint} has no safetensors weights; delete the run "
            "directory to retrain"
        )
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        weights.update(load_file(file))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = set(getattr(model, "all_tied_weights_keys", None) or {})
    missing = [k for k in missing if k not in tied]
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {checkpoint} does not match the model built from the run config "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]}); delete the run directory to "
            "retrain"
        )


def load_torch(path: Path) -> Any:
    return torch.load(path, map_location="cpu", weights_only=False)


def discard_after(run_dir: Path, step: int, queries_seen: int) -> None:
    """Remove what a killed run wrote after its last committed state: log rows past ``step``,
    checkpoints past ``queries_seen`` and temporary folders. Main process only."""
    run_dir = Path(run_dir)
    rows = read_jsonl(run_dir / LOG)
    kept = [r for r in rows if r["step"] <= step]
    if len(kept) != len(rows):
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        atomic_write_bytes(run_dir / LOG, text.encode())
    for folder in (run_dir / "checkpoints", run_dir / "state"):
        if not folder.exists():
            continue
        for path in folder.iterdir():
            if path.name.startswith("."):  # temporary folders of an interrupted write
                shutil.rmtree(path, ignore_errors=True)
            elif folder.name == "checkpoints" and path.name.startswith("q"):
                if int(path.name[1:]) > queries_seen:
                    shutil.rmtree(path)
