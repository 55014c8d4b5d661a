"""Cross-encoders: build, save, load, count.

A cross-encoder here is a transformers sequence-classification model with one output score for a
(query, passage) pair, plus its tokenizer. Three families (``ModelConfig.family``):

- ``scratch``: a ModernBERT encoder (pre-LN, RoPE, GeGLU; all layers global attention) with the
  shape chosen from a size string by ``rerankscale.models.shapes.shape_for`` (the rule and the
  parameter-count formula are documented there), randomly initialised from ``seed``; its
  tokenizer comes from ``rerankscale.models.tokenizer.get_tokenizer`` (the dataset's fixed vocabulary,
  or WordPiece trained on its documents).
- ``suite``: the same shapes, pretrained with masked-language modelling; a local, offline
  stand-in for a pretrained family like Ettin. On the synthetic task the members are the
  shipped suite (``rerankscale.models.suite``: pretrained on the world's own pretraining collection,
  committed under ``suite/`` with checksums); on any other dataset (or with ``recipe=``) they
  are pretrained on the dataset's documents (``rerankscale.models.pretrain``) and cached on disk. The MLM encoder (and its prediction-head transform) is loaded
  into the sequence-classification model; the 1-unit classifier is initialised from ``seed``.
- ``hf``: any pretrained encoder by hub id or local path
  (``AutoModelForSequenceClassification.from_pretrained(x, num_labels=1)`` + ``AutoTokenizer``);
  ``ETTIN_REGISTRY`` maps the paper's sizes to the Ettin suite and ``ModelConfig.name_or_path``
  overrides it. ``model.dropout`` and ``model.pooling`` apply to a ModernBERT checkpoint when
  set; left ``None`` the checkpoint keeps its own (``modernbert.head_knobs``).

Checkpoints are Hugging Face folders (``config.json``, ``model.safetensors``, tokenizer files),
written atomically by ``save_model`` and read by ``load_model``; they also load with
``AutoModelForSequenceClassification.from_pretrained`` and sentence-transformers' ``CrossEncoder``.

The ModernBERT construction and parameter counting shared with MLM pretraining
(``modernbert_config``, ``parameter_counts``, ``seeded``, ``quiet_transformers``, ``ModelError``)
live in ``rerankscale.models.modernbert`` and are re-exported here.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rerankscale.config import ConfigError, ModelConfig, member_seed, parse_size, size_name
from rerankscale.data.synthetic.config import active_config
from rerankscale.models.modernbert import (
    ModelError,
    head_knobs,
    modernbert_config,
    parameter_counts,
    quiet_transformers,
    seeded,
)
from rerankscale.models.pretrain import suite_member
from rerankscale.models.shapes import ETTIN_REGISTRY, Shape, flops_per_token, shape_for
from rerankscale.models.suite import check_world, member_identity, member_path, suite_folder
from rerankscale.models.tokenizer import get_tokenizer

__all__ = [
    "ETTIN_REGISTRY",
    "ModelConfigError",
    "ModelError",
    "ModelLoadError",
    "Shape",
    "build_model",
    "flops_per_token",
    "load_model",
    "model_shape",
    "modernbert_config",
    "parameter_counts",
    "quiet_transformers",
    "save_model",
    "scratch_model",
    "seeded",
    "shape_for",
]

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
SYNTHETIC_PREFIX = "rerankscale/synthetic"


class ModelLoadError(ModelError):
    """A folder or id is not a loadable cross-encoder; the message names it and what is missing."""


class ModelConfigError(ConfigError):
    """A ``ModelConfig`` value cannot be turned into a model (unknown family, size, ...)."""


# --------------------------------------------------------------------------- counting


_SHAPE_KEYS = {
    "n_layers": ("num_hidden_layers", "n_layers", "num_layers"),
    "d_model": ("hidden_size", "dim", "d_model"),
    "n_heads": ("num_attention_heads", "n_heads"),
    "d_ff": ("intermediate_size", "hidden_dim", "ffn_dim"),
    "vocab_size": ("vocab_size",),
}


def model_shape(model) -> dict[str, int]:
    """``{"n_layers", "d_model", "n_heads", "d_ff", "vocab_size"}`` from the model's config
    (``d_ff`` is the MLP intermediate size; for ModernBERT's GLU, ``Wi`` maps H → 2·d_ff)."""
    config = getattr(model, "config", model)
    shape = {}
    for key, names in _SHAPE_KEYS.items():
        value = next(
            (getattr(config, n) for n in names if getattr(config, n, None) is not None), None
        )
        if value is None:
            raise ModelError(f"model config {type(config).__name__} has none of {names} ({key})")
        shape[key] = int(value)
    return shape


# --------------------------------------------------------------------------- building


def scratch_model(shape: Shape, tokenizer, model_cfg: ModelConfig, seed: int):
    """A randomly initialised ``ModernBertForSequenceClassification`` of ``shape`` (the
    ``model_cfg`` knobs: pooling, max length, attention, dropout), built under ``seed``: what
    family ``scratch`` fine-tunes, and the benchmarks' models of a suite's shapes."""
    from transformers import ModernBertForSequenceClassification

    config = modernbert_config(shape, tokenizer, model_cfg)
    with seeded(seed):
        model = ModernBertForSequenceClassification(config)
    return model.eval()


def fine_tunes_shipped_suite(model_cfg: ModelConfig, dataset_id: str, recipe=None) -> bool:
    """Whether a run starts from a member of a shipped suite (``suite/``): family ``suite`` on
    the synthetic task with the suite's own recipe. Otherwise a ``suite`` member is pretrained
    on the run's dataset and cached under a key of its recipe (``pretrain.suite_member``)."""
    return (
        model_cfg.family == "suite"
        and str(dataset_id).startswith(SYNTHETIC_PREFIX)
        and recipe is None
    )


def initial_weights(model_cfg: ModelConfig, dataset_id: str, seed: int) -> dict | None:
    """The identity of the weights a run starts from that its config does not fix: the shipped
    suite member (``suite.member_identity``) it fine-tunes; None for the others (``scratch``:
    its seed; ``hf``: its hub id or path; a cached ``suite`` member: its recipe's key)."""
    if not fine_tunes_shipped_suite(model_cfg, dataset_id):
        return None
    folder = suite_folder(model_cfg.suite)
    return member_identity(model_cfg.size, folder, seed=member_seed(model_cfg, seed))


def _suite(tokenizer, model_cfg, dataset_id, seed, cache_dir, recipe, progress):
    from transformers import ModernBertForSequenceClassification

    if fine_tunes_shipped_suite(model_cfg, dataset_id, recipe):
        # the shipped suite, checksum-verified, pretrained on the world the run's data is from
        folder = suite_folder(model_cfg.suite)
        check_world(active_config(), folder)
        member = member_path(model_cfg.size, folder, seed=member_seed(model_cfg, seed))
    else:
        member = suite_member(
            dataset_id,
            model_cfg.size,
            tokenizer,
            model_cfg=model_cfg,
            recipe=recipe,
            cache_dir=cache_dir,
            progress=progress,
        )
    with seeded(seed), quiet_transformers():
        model = ModernBertForSequenceClassification.from_pretrained(
            str(member),
            num_labels=1,
            attn_implementation=model_cfg.attn_implementation,
            **head_knobs(model_cfg, built=True),
        )
    return model.eval()


def hf_name(model_cfg: ModelConfig) -> str:
    """The hub id or path of an ``hf``-family model: ``name_or_path`` if set, else the Ettin
    registry entry for ``size``."""
    if model_cfg.name_or_path:
        return str(model_cfg.name_or_path)
    key = str(model_cfg.size).strip().lower()
    with contextlib.suppress(ConfigError):
        key = size_name(key)
    if key not in ETTIN_REGISTRY:
        raise ModelConfigError(
            f"family 'hf' has no registered model for size {model_cfg.size!r}; use one of "
            f"{sorted(ETTIN_REGISTRY, key=parse_size)} or set model.name_or_path to a hub id or "
            "a local folder"
        )
    return ETTIN_REGISTRY[key]


def _hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _hf(name: str, model_cfg: ModelConfig, seed: int):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    kwargs = {"num_labels": 1, "attn_implementation": model_cfg.attn_implementation}
    knobs = head_knobs(model_cfg, built=False)

    def load(source: str, **extra):
        if knobs:
            model_type = AutoConfig.from_pretrained(source, **extra).model_type
            if model_type != "modernbert":
                raise ModelConfigError(
                    f"model.dropout / model.pooling are set, but {name} is a {model_type!r} "
                    "checkpoint and they apply to ModernBERT ones (e.g. Ettin) only; remove them "
                    "to keep the checkpoint's own"
                )
        with seeded(seed), quiet_transformers(warnings=False):
            model = AutoModelForSequenceClassification.from_pretrained(
                source, **kwargs, **knobs, **extra
            )
        return model.eval(), AutoTokenizer.from_pretrained(source, **extra)

    return load_pretrained(name, load, "set model.name_or_path to DIR")


def load_pretrained(name: str, load, use: str = "pass DIR instead"):
    """``load(source, **extra)`` of a transformers checkpoint ``name``: a local folder (checked
    for its files), else the Hugging Face cache, else the Hub when this machine reaches it.
    ``ModelLoadError`` naming ``name`` and how to get it (``use``: where to put the folder)."""
    local = Path(name).expanduser()
    if local.exists():
        missing = _missing_files(local, need_tokenizer=True)
        if missing:
            raise ModelLoadError(f"{local} is not a model folder: {missing}")
        try:
            return load(str(local))
        except ConfigError:
            raise  # the run's config does not fit this checkpoint: its message says why
        except (OSError, ValueError, KeyError) as err:
            raise ModelLoadError(f"cannot load the model in {local}: {err}") from err
    try:
        return load(name, local_files_only=True)  # already in the Hugging Face cache
    except ConfigError:
        raise
    except (OSError, ValueError):
        pass
    how = (
        f"download it on a machine with access (`hf download {name} --local-dir DIR`), copy DIR "
        f"here and {use}"
    )
    if not _hub_reachable():
        raise ModelLoadError(
            f"{name!r} is neither a local folder nor in the Hugging Face cache, and this machine "
            f"has no Hugging Face Hub access; {how}"
        )
    try:
        return load(name)
    except ConfigError:
        raise
    except (OSError, ValueError) as err:
        raise ModelLoadError(
            f"cannot fetch {name!r} from the Hugging Face Hub ({err}); {how}"
        ) from err


def load_encoder(name_or_path: str):
    """``(encoder, tokenizer)`` of any transformers checkpoint, for the readiness probe
    (``models.readiness``): a folder (a suite member, a checkpoint of a run) or a hub id (e.g.
    ``jhu-clsp/ettin-encoder-17m``: from the cache or, with the network, the Hub;
    ``load_pretrained``). The encoder is the model's base (``AutoModel``), any head dropped
    without a report. ``ModelLoadError`` naming the checkpoint when it cannot be had."""
    from transformers import AutoModel, AutoTokenizer

    def load(source: str, **extra):
        with quiet_transformers():  # a head the base model drops is expected, not news
            encoder = AutoModel.from_pretrained(source, **extra)
        return encoder.eval(), AutoTokenizer.from_pretrained(source, **extra)

    return load_pretrained(str(name_or_path), load, "pass DIR as the model")


def build_model(
    model_cfg: ModelConfig,
    dataset_id: str | None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    *,
    tokenizer=None,
    recipe=None,
    progress: bool = True,
):
    """Build a cross-encoder and its tokenizer for ``model_cfg``; returns ``(model, tokenizer)``.

    ``dataset_id`` supplies the tokenizer (``scratch``, ``suite``) and the MLM corpus
    (``suite``); ``seed`` initialises the weights (``scratch``) or the classifier (``suite``,
    ``hf``); ``cache_dir`` holds cached tokenizers and suite members (default ``<project>/.cache``).
    Keyword extras (backwards-compatible with the contract): ``tokenizer`` uses this tokenizer
    instead of the dataset's (``scratch``/``suite``); ``recipe`` a ``pretrain.PretrainRecipe``
    for ``suite``; ``progress`` shows tqdm bars while a suite member pretrains.

    The model is returned in eval mode (as ``from_pretrained`` does); call ``model.train()``.
    """
    family = model_cfg.family
    if family == "hf":
        return _hf(hf_name(model_cfg), model_cfg, seed)
    if family not in ("scratch", "suite"):
        raise ModelConfigError(
            f"unknown model family {family!r}; choose 'scratch' (random init), 'suite' (MLM-"
            "pretrained on the dataset) or 'hf' (a pretrained hub id or local folder)"
        )
    shape = shape_for(model_cfg.size)
    if tokenizer is None:
        if dataset_id is None:
            raise ModelConfigError(
                f"family {family!r} needs a dataset id to build its tokenizer; pass dataset_id "
                "or tokenizer="
            )
        tokenizer = get_tokenizer(dataset_id, model_cfg.vocab_size, cache_dir, progress=progress)
    else:
        tokenizer = copy.deepcopy(tokenizer)  # model_max_length is set below; leave the caller's
    tokenizer.model_max_length = int(model_cfg.max_length)
    if family == "scratch":
        return scratch_model(shape, tokenizer, model_cfg, seed), tokenizer
    if dataset_id is None:
        raise ModelConfigError(
            "family 'suite' needs a dataset id: its documents are the MLM corpus"
        )
    model = _suite(tokenizer, model_cfg, dataset_id, seed, cache_dir, recipe, progress)
    return model, tokenizer


# --------------------------------------------------------------------------- save / load


def _missing_files(path: Path, need_tokenizer: bool = True) -> list[str]:
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / f).is_file() for f in WEIGHT_FILES):
        missing.append("weights (model.safetensors)")
    if need_tokenizer and not any((path / f).is_file() for f in TOKENIZER_FILES):
        missing.append("tokenizer files (tokenizer.json / tokenizer_config.json)")
    return missing


def save_model(
    model, tokenizer, path: str | Path, extra_json: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` and ``tokenizer`` to the folder ``path`` in Hugging Face format
    (safetensors), atomically: everything is written to a temporary sibling folder which is then
    renamed to ``path`` (an existing ``path`` is replaced). ``extra_json`` maps file names to
    JSON-serialisable objects written into the same folder before the rename (e.g.
    ``{"exposure.json": {...}}``). The folder loads with ``load_model``,
    ``AutoModelForSequenceClassification.from_pretrained`` and sentence-transformers'
    ``CrossEncoder``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        with quiet_transformers(warnings=False):
            model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
        for name, obj in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        missing = _missing_files(tmp)
        if missing:
            raise ModelError(f"saving to {path} did not write {missing}")
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            os.rename(path, old / "x")
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_model(path: str | Path):
    """Load a cross-encoder checkpoint folder; returns ``(model, tokenizer)`` (model in eval mode).

    Raises ``ModelLoadError`` naming the path and what is missing when the folder does not exist,
    lacks ``config.json``/weights/tokenizer files, or is not a one-score sequence classifier.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(
            f"{path} is not a folder; pass a checkpoint folder written by save_model"
        )
    missing = _missing_files(path)
    if missing:
        raise ModelLoadError(f"{path} is not a model folder: missing {', '.join(missing)}")
    try:
        config = AutoConfig.from_pretrained(str(path))
    except (OSError, ValueError, KeyError) as err:
        raise ModelLoadError(f"{path}/config.json is not a transformers config: {err}") from err
    if getattr(config, "num_labels", None) != 1:
        raise ModelLoadError(
            f"{path} is not a cross-encoder checkpoint (num_labels={config.num_labels}, "
            f"architectures={config.architectures}); to fine-tune a pretrained encoder use family "
            "'hf' with model.name_or_path"
        )
    try:
        with quiet_transformers(warnings=False):
            model = AutoModelForSequenceClassification.from_pretrained(str(path))
            tokenizer = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise ModelLoadError(f"cannot load the checkpoint in {path}: {err}") from err
    return model.eval(), tokenizer
