"""The ``suite`` family: the ``scratch`` shapes pretrained with masked-language modelling (MLM).

A local, offline stand-in for a pretrained encoder family like Ettin (Weller et al. 2025,
arXiv 2507.11412): each member has a ``scratch`` shape and is pretrained on a corpus (by default
the dataset's own documents, ``rerankscale.data.corpus_texts``) with a token budget that grows
with size, Chinchilla-style (Hoffmann et al. 2022, arXiv 2203.15556: ≈ 20 tokens per parameter):

    tokens(N) = clip(tokens_per_param · N_non-embedding, min_tokens, max_tokens)
              = clip(20 · N, 250k, 10m)                 (defaults of ``PretrainRecipe``)

so 10k → 250k tokens (the floor), 50k → 1.0m, 250k → 5.0m, ≥ 500k → 10m (the CPU cap).

Objective (BERT, Devlin et al. 2019, with ModernBERT's 30 % masking rate): documents are
tokenized, joined with ``[SEP]`` and packed into sequences ``[CLS] t₁ … t_{seq_len−1}`` (no
padding). Each non-special token is selected with probability ``mask_prob``; a selected token
is replaced by ``[MASK]`` (80 %), a random token (10 %) or kept (10 %), and the loss is the mean
cross-entropy of the original tokens at the selected positions. With ``word_swap`` = s > 0 a
share s of the selected words is instead replaced by a word of the same length drawn from the
batch (``swap_words``: ELECTRA's replaced-token corruption with a unigram generator), so the
model also learns to tell whether an unmasked word fits its context. AdamW (weight decay on
matrices only), linear warm-up then linear decay to 0, gradient clipping; learning rate
``min(lr_max, lr_width_const / d_model)`` (the 1/width rule the CPU prototype needed); the
optimizer, schedule and width rule are fine-tuning's own (``rerankscale.schedule``).

Every ``heldout_every``-th document is held out; the held-out MLM loss (fixed masks, the same
for every member of a corpus) is measured before and after pretraining and recorded with the
training curve in ``pretrain.json``.

Members are cached under ``<cache>/suite/<key>``, the key naming the corpus, the size, the
seed and a hash of (corpus, shape, tokenizer vocabulary, recipe); a member is built on first use
(with a tqdm bar) in a temporary folder and renamed into place under a lock. The folder is a
Hugging Face ``ModernBertForMaskedLM`` checkpoint plus tokenizer; ``build_model`` loads its
encoder and head transform into ``ModernBertForSequenceClassification``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import rerankscale.models.tokenizer as _tok
from rerankscale.caches import cache_root
from rerankscale.config import ENGINES, ConfigError, ModelConfig, format_size, size_name
from rerankscale.io import atomic_write_json
from rerankscale.models.fastpath import masked_logits
from rerankscale.models.modernbert import (
    modernbert_config,
    parameter_counts,
    quiet_transformers,
    seeded,
)
from rerankscale.models.shapes import Shape, shape_for
from rerankscale.models.tokenizer import SPECIAL_TOKENS, build_directory, save_and_check, slug
from rerankscale.schedule import LRSchedule, make_optimizer, resolve_lr

LOG_FILE = "pretrain.json"
PACKINGS = ("stream", "documents")
NO_DOCUMENT = -1  # document index of a padding position (``pack_documents``)
DOCUMENT_PACKING_MARGIN = 1.4  # text read per budgeted token when rows hold whole documents


class PretrainError(RuntimeError):
    """Pretraining cannot run (e.g. an empty corpus); the message names the problem and the fix."""


@dataclass(frozen=True)
class PretrainRecipe:
    """How a suite member is pretrained. Every field is part of the cache key."""

    tokens_per_param: float = 20.0  # Chinchilla-like budget per non-embedding parameter
    tokens: int | None = None  # a fixed budget for every member (as Ettin); overrides the above
    min_tokens: int = 250_000
    max_tokens: int = 10_000_000  # CPU cap; raise it on a GPU
    seq_len: int = 64
    batch_size: int = 32  # sequences per step
    mask_prob: float = 0.3
    whole_word: bool = True  # whole-word masking (pieces of a word are masked together)
    # share of the selected words replaced by a word of the batch (``swap_words``); held-out
    # masks never swap, so held-out losses stay comparable across recipes
    word_swap: float = 0.0
    lr: float | None = None  # None: min(lr_max, lr_width_const / d_model) (schedule.resolve_lr)
    lr_max: float = 3e-3
    lr_width_const: float = 0.144
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    max_texts: int = 200_000  # corpus documents read
    heldout_every: int = 20  # every k-th document is held out
    heldout_sequences: int = 128  # held-out sequences scored
    log_every: int = 10  # steps between curve points
    seed: int = 0
    # "stream": documents joined with [SEP] and cut into rows (a document may straddle two rows
    # and attends to its neighbours); "documents": whole documents ``[CLS] d [SEP]`` packed into
    # rows, each attending only to itself (``pack_documents``).
    packing: str = "stream"
    # the forward pass (``config.ENGINES``): "hf" the transformers module's own (the shipped
    # suites'), "fast"/"auto" ``models.fastpath.masked_logits`` (same model to float rounding,
    # fewer FLOPs: the last layer runs only at the masked positions)
    engine: str = "hf"

    def token_budget(self, n_non_embedding: int) -> int:
        """``tokens`` if set, else ``clip(tokens_per_param · N, min_tokens, max_tokens)``."""
        if self.tokens is not None:
            return int(self.tokens)
        raw = int(round(self.tokens_per_param * n_non_embedding))
        return int(min(self.max_tokens, max(self.min_tokens, raw)))

    def validate(self) -> PretrainRecipe:
        if self.seq_len < 8 or self.batch_size < 1:
            raise ConfigError(
                f"recipe seq_len={self.seq_len} (≥ 8), batch_size={self.batch_size} (≥ 1)"
            )
        if not 0 < self.mask_prob < 1:
            raise ConfigError(f"recipe mask_prob={self.mask_prob} must be in (0, 1)")
        if self.packing not in PACKINGS:
            raise ConfigError(f"recipe packing={self.packing!r}: use one of {PACKINGS}")
        if self.heldout_every < 2:
            raise ConfigError(f"recipe heldout_every={self.heldout_every} must be ≥ 2")
        if not 0 <= self.word_swap <= 1:
            raise ConfigError(f"recipe word_swap={self.word_swap} must be in [0, 1]")
        if self.engine not in ENGINES:
            raise ConfigError(f"recipe engine={self.engine!r}: use one of {ENGINES}")
        return self


# --------------------------------------------------------------------------- data


def pack(token_lists: Iterable[list[int]], seq_len: int, cls_id: int, sep_id: int) -> torch.Tensor:
    """Join documents as ``d₁ [SEP] d₂ [SEP] …`` and cut into rows ``[CLS] + seq_len−1 tokens``
    (the incomplete tail is dropped). Returns ``LongTensor[n, seq_len]``."""
    stream: list[int] = []
    for ids in token_lists:
        stream.extend(ids)
        stream.append(sep_id)
    width = seq_len - 1
    n = len(stream) // width
    if n == 0:
        return torch.empty((0, seq_len), dtype=torch.long)
    body = torch.tensor(stream[: n * width], dtype=torch.long).view(n, width)
    return torch.cat([torch.full((n, 1), cls_id, dtype=torch.long), body], dim=1)


def pack_documents(
    token_lists: Iterable[list[int]], seq_len: int, cls_id: int, sep_id: int, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pack whole documents ``[CLS] d [SEP]`` into rows of ``seq_len`` in order (a document
    that does not fit starts the next row; one longer than a row is cut to it), pad the rest.

    Returns ``(input_ids, document)``, both ``LongTensor[n, seq_len]``: ``document`` numbers
    the documents of each row (0, 1, …) and is ``NO_DOCUMENT`` at padding. With
    ``document_attention`` each document attends only to itself, as in ModernBERT's unpadded
    packing (Warner et al. 2024, arXiv 2412.13663, §2.1.3): a question-answer document then
    reads ``[CLS] question [SEP] answer [SEP]``, the cross-encoder's own input form, and no
    ``[SEP]`` is ambiguous between "the answer follows" and "an unrelated document follows".
    """
    rows: list[list[int]] = []
    docs: list[list[int]] = []
    row: list[int] = []
    doc: list[int] = []
    for ids in token_lists:
        unit = [cls_id, *ids[: seq_len - 2], sep_id]
        if len(row) + len(unit) > seq_len:
            rows.append(row)
            docs.append(doc)
            row, doc = [], []
        doc.extend([doc[-1] + 1 if doc else 0] * len(unit))
        row.extend(unit)
    if row:
        rows.append(row)
        docs.append(doc)
    ids = torch.full((len(rows), seq_len), pad_id, dtype=torch.long)
    index = torch.full((len(rows), seq_len), NO_DOCUMENT, dtype=torch.long)
    for i, (r, d) in enumerate(zip(rows, docs, strict=True)):
        ids[i, : len(r)] = torch.tensor(r)
        index[i, : len(d)] = torch.tensor(d)
    return ids, index


def document_attention(document: torch.Tensor) -> dict[str, torch.Tensor]:
    """Additive attention mask ``[batch, 1, L, L]`` (0 = attend, dtype min = blocked) letting
    each position attend only within its document; a padding position attends to itself only
    (its output is never used), so no softmax row is empty. Given for every ModernBERT layer
    type (global and sliding-window layers alike)."""
    same = document[:, :, None] == document[:, None, :]
    same &= document[:, :, None] != NO_DOCUMENT
    same |= torch.eye(document.shape[1], dtype=torch.bool)
    mask = torch.zeros(same.shape, dtype=torch.float32).masked_fill_(
        ~same, torch.finfo(torch.float32).min
    )[:, None]
    return {"full_attention": mask, "sliding_attention": mask}


def read_corpus(
    texts: Iterable[str], tokenizer, recipe: PretrainRecipe, budget: int, block: int = 2048
) -> tuple[list[list[int]], list[list[int]], int]:
    """Tokenize documents in order until the training split holds ``budget`` tokens (one epoch)
    and the held-out split fills ``heldout_sequences`` rows, or ``max_texts`` / the corpus runs
    out. Document ``i`` is held out when ``i % heldout_every == heldout_every − 1``, so every
    member of a corpus sees the same held-out text. Returns ``(train, held_out, n_docs)``."""
    train: list[list[int]] = []
    held: list[list[int]] = []
    n_train = n_held = n_docs = 0
    need_held = recipe.heldout_sequences * recipe.seq_len
    stream = iter(texts)
    while n_docs < recipe.max_texts and (n_train < budget or n_held < need_held):
        docs = list(itertools.islice(stream, min(block, recipe.max_texts - n_docs)))
        if not docs:
            break
        for ids in tokenizer(docs, add_special_tokens=False)["input_ids"]:
            if n_docs % recipe.heldout_every == recipe.heldout_every - 1:
                held.append(ids)
                n_held += len(ids) + 1
            else:
                train.append(ids)
                n_train += len(ids) + 1
            n_docs += 1
    return train, held, n_docs


def word_continuations(tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Per vocabulary id: ``(opens_next, continues_prev)``. A token ending in the synthetic
    world's continuation mark ``_`` (``ka_ lom``) is continued by the next token; a WordPiece
    token starting with ``##`` continues the previous one. Used by whole-word masking."""
    vocab = tokenizer.get_vocab()
    opens = torch.zeros(len(tokenizer), dtype=torch.bool)
    conts = torch.zeros(len(tokenizer), dtype=torch.bool)
    for token, i in vocab.items():
        if i < len(tokenizer) and token not in SPECIAL_TOKENS:
            opens[i] = token.endswith("_") and len(token) > 1
            conts[i] = token.startswith("##")
    return opens, conts


def word_starts(input_ids: torch.Tensor, opens: torch.Tensor, conts: torch.Tensor) -> torch.Tensor:
    """Index, per position, of the first token of the word it belongs to (same shape)."""
    cont = conts[input_ids].clone()
    cont[:, 1:] |= opens[input_ids[:, :-1]]
    cont[:, 0] = False
    pos = torch.arange(input_ids.shape[1]).expand_as(input_ids)
    start = torch.where(cont, torch.zeros_like(pos), pos)
    return torch.cummax(start, dim=1).values


def mask_tokens(
    input_ids: torch.Tensor,
    mask_prob: float,
    mask_id: int,
    n_special: int,
    vocab_size: int,
    generator: torch.Generator,
    words: tuple[torch.Tensor, torch.Tensor] | None = None,
    word_swap: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: returns ``(corrupted input_ids, labels)`` with labels −100 where not
    selected. Tokens with ids < ``n_special`` are never selected nor used as replacements.
    With ``words = word_continuations(tokenizer)`` whole words are selected (every piece of a
    selected word; whole-word masking, Devlin et al.'s BERT release of 2019), so an unmasked
    sibling piece cannot give a masked piece away.

    ``word_swap`` (``PretrainRecipe.word_swap``): the share of selected words replaced by a
    word of the same length drawn uniformly from the batch's own words (``swap_words``), the
    rest corrupted by the 80 / 10 / 10 rule; 0 leaves the draws, and so the masks, as before."""
    shape = input_ids.shape
    selectable = input_ids >= n_special
    draw = torch.rand(shape, generator=generator)
    starts = None if words is None else word_starts(input_ids, *words)
    if starts is not None:
        draw = torch.gather(draw, 1, starts)
    selected = (draw < mask_prob) & selectable
    labels = torch.where(selected, input_ids, torch.full_like(input_ids, -100))
    roll = torch.rand(shape, generator=generator)
    if word_swap > 0:
        corrupted, swapped = swap_words(
            input_ids, selected, selectable, starts, word_swap, generator
        )
    else:
        corrupted, swapped = input_ids.clone(), torch.zeros_like(selected)
    rest = selected & ~swapped
    corrupted[rest & (roll < 0.8)] = mask_id
    random_pos = rest & (roll >= 0.8) & (roll < 0.9)
    random_ids = torch.randint(n_special, vocab_size, shape, generator=generator)
    corrupted[random_pos] = random_ids[random_pos]
    return corrupted, labels


def swap_words(
    input_ids: torch.Tensor,
    selected: torch.Tensor,
    selectable: torch.Tensor,
    starts: torch.Tensor | None,
    share: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace ``share`` of the selected words by words of the same length drawn uniformly
    from the batch's words; returns ``(corrupted input_ids, swapped positions)``.

    The replacement is a sample of the corpus's own word distribution (a unigram generator, the
    simplest case of ELECTRA's replaced-token corruption, Clark et al. 2020, arXiv 2003.10555):
    a plausible word in the wrong place, so the model must judge whether a word fits its
    context (does this passage-side relation word answer that question? is this the asked
    entity's name?) at positions that carry no ``[MASK]``, the form in which a reranker meets
    its inputs. ``starts``: ``word_starts`` (None: every token is a word); a word is a run of
    positions sharing a start, and only words without special tokens are drawn or replaced.
    A word never crosses a row end, so neither does a swap."""
    batch, length = input_ids.shape
    pos = torch.arange(length).expand(batch, length)
    starts = pos if starts is None else starts
    flat = (starts + torch.arange(batch).unsqueeze(1) * length).reshape(-1)
    sizes = torch.bincount(flat, minlength=batch * length)
    clean = torch.bincount(flat, weights=selectable.reshape(-1).double(), minlength=batch * length)
    words = (starts == pos).reshape(-1) & (clean == sizes)  # a start counts itself
    roll = torch.rand(batch * length, generator=generator)
    chosen = words & selected.reshape(-1) & (roll < share)
    source = input_ids.reshape(-1)
    out = source.clone()
    swapped = torch.zeros(batch * length, dtype=torch.bool)
    for size in torch.unique(sizes[chosen]).tolist():
        targets = (chosen & (sizes == size)).nonzero().squeeze(1)
        pool = (words & (sizes == size)).nonzero().squeeze(1)
        picks = pool[torch.randint(len(pool), (len(targets),), generator=generator)]
        for k in range(size):
            out[targets + k] = source[picks + k]
            swapped[targets + k] = True
    return out.view(batch, length), swapped.view(batch, length)


def mlm_loss(
    model,
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    document: torch.Tensor | None = None,
    engine: str = "hf",
) -> torch.Tensor:
    """Mean cross-entropy at the selected positions (logits computed only there); with
    ``document`` (``pack_documents``) each document attends only to itself. ``engine``
    (``PretrainRecipe.engine``): "hf" runs the module's forward, "fast"/"auto" the lean one
    (``models.fastpath.masked_logits``; padding rows' tokens skipped)."""
    attention = None if document is None else document_attention(document)
    selected = labels != -100
    if engine == "hf":
        hidden = model.model(input_ids=input_ids, attention_mask=attention).last_hidden_state
        logits = model.decoder(model.head(hidden[selected]))
    else:
        valid = None if document is None else document != NO_DOCUMENT
        bias = None if attention is None else attention["full_attention"]
        logits = masked_logits(model, input_ids, selected, valid=valid, bias=bias)
    return F.cross_entropy(logits, labels[selected])


@torch.no_grad()
def heldout_loss(model, batches: list[tuple], engine: str = "hf") -> float:
    """Token-weighted mean MLM loss over fixed ``(input_ids, labels[, document])`` batches."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for input_ids, labels, *document in batches:
        n = int((labels != -100).sum())
        total += float(mlm_loss(model, input_ids, labels, *document, engine=engine)) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


# --------------------------------------------------------------------------- training


def pretrain_mlm(
    shape: Shape,
    tokenizer,
    texts: Iterable[str],
    recipe: PretrainRecipe,
    model_cfg: ModelConfig | None = None,
    progress: bool = True,
    on_step=None,
):
    """Pretrain a ``ModernBertForMaskedLM`` of ``shape`` on ``texts``; returns ``(model, log)``.
    ``on_step(step, model)``, if given, is called after every optimizer step (1-based ``step``;
    e.g. to probe the member along pretraining); it must leave the model's weights and mode as
    it found them, and is not part of the member's key.

    ``log`` holds the recipe, shape, parameter counts, token budget, steps, epochs over the
    corpus, seconds, the training curve ``[{"step", "tokens", "loss"}]`` (loss averaged over
    the last ``log_every`` steps) and the held-out loss before and after.
    """
    from transformers import ModernBertForMaskedLM

    recipe.validate()
    model_cfg = dataclasses.replace(model_cfg or ModelConfig(), dropout=0.0)
    cls_id, sep_id, mask_id, pad_id = (
        tokenizer.convert_tokens_to_ids(t) for t in ("[CLS]", "[SEP]", "[MASK]", "[PAD]")
    )
    budget = recipe.token_budget(shape.non_embedding_params())
    by_document = recipe.packing == "documents"
    # rows of whole documents carry padding: read a margin more text so no row repeats
    read = int(budget * DOCUMENT_PACKING_MARGIN) if by_document else budget
    train_docs, held_docs, n_docs = read_corpus(texts, tokenizer, recipe, read)

    def rows(docs):  # (input_ids, document index or None), as the recipe packs them
        if by_document:
            return pack_documents(docs, recipe.seq_len, cls_id, sep_id, pad_id)
        return pack(docs, recipe.seq_len, cls_id, sep_id), None

    train, train_doc = rows(train_docs)
    held, held_doc = rows(held_docs)
    held = held[: recipe.heldout_sequences]
    held_doc = None if held_doc is None else held_doc[: recipe.heldout_sequences]
    if len(train) < recipe.batch_size or len(held) == 0:
        raise PretrainError(
            f"the corpus is too small to pretrain on: {n_docs} documents gave {len(train)} "
            f"training and {len(held)} held-out sequences of {recipe.seq_len} tokens (need ≥ "
            f"{recipe.batch_size} and ≥ 1); pass more texts or lower recipe.seq_len/batch_size"
        )
    vocab_size = len(tokenizer)
    n_special = len(SPECIAL_TOKENS)
    gen = torch.Generator().manual_seed(recipe.seed + 1)
    words = word_continuations(tokenizer) if recipe.whole_word else None

    def corrupt(rows: torch.Tensor, word_swap: float = 0.0):  # draws from ``gen``, in order
        return mask_tokens(
            rows, recipe.mask_prob, mask_id, n_special, vocab_size, gen, words, word_swap
        )

    held_batches = [
        corrupt(held[i : i + recipe.batch_size])
        + (() if held_doc is None else (held_doc[i : i + recipe.batch_size],))
        for i in range(0, len(held), recipe.batch_size)
    ]
    config = modernbert_config(shape, tokenizer, model_cfg)
    with seeded(recipe.seed):
        model = ModernBertForMaskedLM(config)
    counts = parameter_counts(
        model
    )  # MLM head included; the CE's counts come from parameter_counts
    budget = recipe.token_budget(shape.non_embedding_params())
    tokens_per_step = recipe.batch_size * recipe.seq_len
    steps = max(1, math.ceil(budget / tokens_per_step))
    lr = resolve_lr(recipe, shape.d_model)
    optimizer = make_optimizer(model, recipe, lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, LRSchedule.pretraining(steps, recipe.warmup_fraction)
    )
    initial = heldout_loss(model, held_batches, recipe.engine)
    start = time.perf_counter()
    curve, window = [], []
    order = torch.empty(0, dtype=torch.long)
    cursor, epochs = 0, 0
    model.train()
    bar = tqdm(
        total=steps,
        desc=f"MLM {format_size(shape.non_embedding_params())}",
        disable=not progress,
        leave=False,
    )
    for step in range(steps):
        if cursor + recipe.batch_size > len(order):
            order = torch.randperm(len(train), generator=gen)
            cursor, epochs = 0, epochs + 1
        rows = order[cursor : cursor + recipe.batch_size]
        cursor += recipe.batch_size
        input_ids, labels = corrupt(train[rows], recipe.word_swap)
        document = None if train_doc is None else train_doc[rows]
        loss = mlm_loss(model, input_ids, labels, document, engine=recipe.engine)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()
        scheduler.step()
        if on_step is not None:
            on_step(step + 1, model)
        window.append(loss.item())
        if (step + 1) % recipe.log_every == 0 or step + 1 == steps:
            curve.append(
                {
                    "step": step + 1,
                    "tokens": (step + 1) * tokens_per_step,
                    "loss": sum(window) / len(window),
                }
            )
            bar.set_postfix(loss=f"{curve[-1]['loss']:.3f}")
            window = []
        bar.update(1)
    bar.close()
    model.eval()
    log = {
        "recipe": dataclasses.asdict(recipe),
        "shape": shape.to_dict(),
        "n_params_non_embedding": shape.non_embedding_params(),
        "n_params_mlm_total": counts["total"],
        "token_budget": budget,
        "tokens_seen": steps * tokens_per_step,
        "steps": steps,
        "lr": lr,
        "epochs": epochs,
        "documents_read": n_docs,
        "train_sequences": len(train),
        "heldout_sequences": len(held),
        "seconds": time.perf_counter() - start,
        "curve": curve,
        "heldout_loss_initial": initial,
        "heldout_loss_final": heldout_loss(model, held_batches, recipe.engine),
    }
    return model, log


# --------------------------------------------------------------------------- cache


# Recipe fields added after members were shipped, with the value every earlier member was built
# with: they enter a member's key only when they differ from it, so adding a field does not
# change (and invalidate) the keys of the members already built.
LATER_FIELDS = {"packing": "stream", "engine": "hf", "word_swap": 0.0}


def recipe_key_fields(recipe: PretrainRecipe) -> dict:
    """The recipe's fields as they enter a member key (``LATER_FIELDS`` at their old value
    left out)."""
    return {
        k: v
        for k, v in dataclasses.asdict(recipe).items()
        if not (k in LATER_FIELDS and v == LATER_FIELDS[k])
    }


def member_key(
    corpus_id: str,
    shape: Shape,
    tokenizer,
    recipe: PretrainRecipe,
    size: str | None = None,
    fingerprint: str = "",
) -> str:
    """``<corpus slug>-<size>-s<seed>-<hash>``; the hash covers the corpus id and ``fingerprint``
    (``tokenizer.corpus_fingerprint`` of its first documents: the synthetic corpus changes with
    the task's knobs under the same id), the shape, the tokenizer's vocabulary and every recipe
    field. ``size`` is the label (default: the actual non-embedding count, formatted)."""
    vocab = json.dumps(sorted(tokenizer.get_vocab().items()))
    spec = {
        "corpus": corpus_id,
        "corpus_fingerprint": fingerprint,
        "shape": shape.to_dict(),
        "vocab_sha": hashlib.sha256(vocab.encode()).hexdigest(),
        "recipe": recipe_key_fields(recipe),
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    size = slug(size or format_size(shape.non_embedding_params()))
    return f"{slug(corpus_id)}-{size}-s{recipe.seed}-{digest}"


def suite_member(
    corpus_id: str,
    shape: Shape | str | int,
    tokenizer,
    *,
    model_cfg: ModelConfig | None = None,
    recipe: PretrainRecipe | None = None,
    texts: Iterable[str] | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """The folder of the suite member ``(corpus_id, size, recipe, seed)``, pretraining it on
    first use. ``shape`` is a size (``"50k"``; the folder is named by it) or a ``Shape``.
    ``texts`` overrides the corpus documents (default ``corpus_texts(corpus_id,
    limit=recipe.max_texts)``); they must be the corpus's documents, since the cache is keyed by
    ``corpus_id``."""
    recipe = (recipe or PretrainRecipe()).validate()
    label = None
    if not isinstance(shape, Shape):
        label = size_name(shape)
        shape = shape_for(shape)
    if texts is not None:
        stream = iter(texts)
        head = list(itertools.islice(stream, _tok.FINGERPRINT_DOCS))
        texts = itertools.chain(head, stream)
    else:
        head = list(_tok.corpus_texts(corpus_id, limit=_tok.FINGERPRINT_DOCS))
    fingerprint = _tok.corpus_fingerprint(head)
    key = member_key(corpus_id, shape, tokenizer, recipe, label, fingerprint)
    final = cache_root(cache_dir) / "suite" / key

    def build(tmp: Path) -> None:
        docs = texts if texts is not None else _tok.corpus_texts(corpus_id, limit=recipe.max_texts)
        model, log = pretrain_mlm(shape, tokenizer, docs, recipe, model_cfg, progress)
        with quiet_transformers(warnings=False):
            model.save_pretrained(str(tmp))
        save_and_check(tokenizer, tmp)
        atomic_write_json(
            tmp / LOG_FILE, {"corpus": corpus_id, "corpus_fingerprint": fingerprint, **log}
        )

    return build_directory(final, build, LOG_FILE)


def member_log(path: str | Path) -> dict:
    """The ``pretrain.json`` record of a suite member folder."""
    return json.loads((Path(path) / LOG_FILE).read_text())
