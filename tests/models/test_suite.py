"""The ``suite`` family: MLM pretraining on a corpus, cached per (corpus, size, recipe, seed)."""

from __future__ import annotations

import pytest
import torch

from rerankscale.config import ModelConfig
from rerankscale.models.pretrain import (
    NO_DOCUMENT,
    PretrainError,
    PretrainRecipe,
    mask_tokens,
    member_log,
    mlm_loss,
    pack,
    pack_documents,
    suite_member,
)
from rerankscale.models.shapes import shape_for

RECIPE = PretrainRecipe(min_tokens=100_000, max_tokens=1_000_000, seq_len=48, log_every=10)


@pytest.fixture(scope="module")
def members(tmp_path_factory, corpus, word_tokenizer):
    """Two members (5k and 20k non-embedding parameters) pretrained on the pseudo-text."""
    torch.set_num_threads(1)
    cache = tmp_path_factory.mktemp("cache")
    small = suite_member(
        "toy/words",
        "5k",
        word_tokenizer,
        recipe=RECIPE,
        texts=corpus,
        cache_dir=cache,
        progress=False,
    )
    large = suite_member(
        "toy/words",
        "20k",
        word_tokenizer,
        recipe=RECIPE,
        texts=corpus,
        cache_dir=cache,
        progress=False,
    )
    return cache, small, large


def test_token_budget_grows_with_size_chinchilla_like():
    recipe = PretrainRecipe()
    assert recipe.token_budget(5_000) == 250_000  # floor
    assert recipe.token_budget(50_000) == 1_000_000  # 20 tokens per parameter
    assert recipe.token_budget(10_000_000) == 10_000_000  # CPU cap


def test_mlm_loss_falls_and_the_larger_member_ends_lower(members):
    _, small, large = members
    logs = {name: member_log(path) for name, path in (("small", small), ("large", large))}
    for log in logs.values():
        curve = [point["loss"] for point in log["curve"]]
        assert curve[-1] < curve[0] - 0.2  # training loss falls
        assert log["heldout_loss_final"] < log["heldout_loss_initial"] - 0.2
        assert log["tokens_seen"] >= log["token_budget"]
    for name, size in (("small", "5k"), ("large", "20k")):  # 20 tokens per parameter
        assert logs[name]["token_budget"] == 20 * shape_for(size).non_embedding_params()
    # same held-out text and masks: the larger member predicts it better
    assert logs["large"]["heldout_loss_final"] < logs["small"]["heldout_loss_final"] - 0.1


def test_second_request_loads_the_cache(members, corpus, word_tokenizer, monkeypatch):
    import rerankscale.models.pretrain as pretrain

    cache, small, _ = members

    def must_not_run(*args, **kwargs):
        raise AssertionError("pretrained again instead of loading the cache")

    monkeypatch.setattr(pretrain, "pretrain_mlm", must_not_run)
    again = suite_member(
        "toy/words",
        "5k",
        word_tokenizer,
        recipe=RECIPE,
        texts=corpus,
        cache_dir=cache,
        progress=False,
    )
    assert again == small
    assert small.parent == cache / "suite" and small.name.startswith("toy_words-5k-s0-")
    with pytest.raises(AssertionError, match="pretrained again"):  # another seed: another key
        suite_member(
            "toy/words",
            "5k",
            word_tokenizer,
            recipe=PretrainRecipe(seed=1),
            texts=corpus,
            cache_dir=cache,
            progress=False,
        )
    with pytest.raises(AssertionError, match="pretrained again"):  # same id, other documents
        suite_member(
            "toy/words",
            "5k",
            word_tokenizer,
            recipe=RECIPE,
            texts=corpus[1:],
            cache_dir=cache,
            progress=False,
        )
    assert sorted(
        p.name for p in (cache / "suite").iterdir() if not p.name.startswith(".")
    ) == sorted([small.name, members[2].name])


def test_build_model_suite_loads_the_pretrained_encoder(members, fake_data, monkeypatch):
    from transformers import ModernBertForMaskedLM

    import rerankscale.models.pretrain as pretrain
    import rerankscale.models.tokenizer as _tok
    from rerankscale.models.crossencoder import build_model

    cache, _, large = members
    # build_model passes the default recipe; make it the test's recipe
    monkeypatch.setattr(pretrain, "PretrainRecipe", lambda: RECIPE)
    model, tok = build_model(
        ModelConfig(family="suite", size="20k"),
        "toy/words",
        seed=5,
        cache_dir=cache,
        progress=False,
    )
    # the member came from the cache: the corpus was read only for its fingerprint
    assert fake_data["limits"] == [_tok.FINGERPRINT_DOCS]
    mlm = ModernBertForMaskedLM.from_pretrained(large)
    for name, tensor in mlm.model.state_dict().items():
        assert torch.equal(model.model.state_dict()[name], tensor), name
    assert torch.equal(model.head.dense.weight, mlm.head.dense.weight)
    assert model.config.num_labels == 1 and not model.training
    other, _ = build_model(
        ModelConfig(family="suite", size="20k"),
        "toy/words",
        seed=6,
        cache_dir=cache,
        progress=False,
    )
    assert not torch.equal(model.classifier.weight, other.classifier.weight)
    assert torch.equal(
        model.model.embeddings.tok_embeddings.weight, other.model.embeddings.tok_embeddings.weight
    )


def test_packing_and_masking():
    packed = pack([[5, 6, 7], [8], [9, 10]], seq_len=4, cls_id=2, sep_id=3)
    assert packed.tolist() == [[2, 5, 6, 7], [2, 3, 8, 3], [2, 9, 10, 3]]
    ids = torch.randint(5, 100, (64, 32))
    ids[:, 0] = 2
    corrupted, labels = mask_tokens(ids, 0.3, 4, 5, 100, torch.Generator().manual_seed(0))
    selected = labels != -100
    assert 0.25 < selected.float().mean() < 0.35 and not selected[:, 0].any()
    assert torch.equal(labels[selected], ids[selected])
    masked = (corrupted[selected] == 4).float().mean()
    assert 0.75 < masked < 0.85
    assert torch.equal(corrupted[~selected], ids[~selected])


def test_document_packing_keeps_whole_documents_in_rows():
    ids, doc = pack_documents([[5, 6, 7], [8], [9, 10], [11] * 9], 8, cls_id=2, sep_id=3, pad_id=0)
    assert ids.tolist() == [
        [2, 5, 6, 7, 3, 2, 8, 3],  # two documents fill the first row
        [2, 9, 10, 3, 0, 0, 0, 0],  # the next does not fit beside the fourth: padding
        [2, 11, 11, 11, 11, 11, 11, 3],  # a document longer than a row is cut to it
    ]
    P = NO_DOCUMENT
    assert doc.tolist() == [[0] * 5 + [1] * 3, [0] * 4 + [P] * 4, [0] * 8]


def test_document_attention_isolates_the_documents_of_a_row(word_tokenizer):
    """Changing the second document of a row leaves the first one's MLM loss unchanged, and
    without document attention it does not (the mask is really applied)."""
    from transformers import ModernBertForMaskedLM

    from rerankscale.models.crossencoder import modernbert_config

    torch.manual_seed(0)
    model = ModernBertForMaskedLM(modernbert_config(shape_for("5k"), word_tokenizer)).eval()
    ids, doc = pack_documents([[7, 8, 9, 10], [11, 12, 13]], 12, cls_id=2, sep_id=3, pad_id=0)
    other = ids.clone()
    other[0, 7:9] = torch.tensor([20, 21])  # inside the second document
    labels = torch.full_like(ids, -100)
    labels[0, 2] = 8  # a target in the first document
    with torch.no_grad():
        isolated = [mlm_loss(model, x, labels, doc).item() for x in (ids, other)]
        mixed = [mlm_loss(model, x, labels).item() for x in (ids, other)]
    assert isolated[0] == isolated[1]  # blocked scores get weight exactly 0
    assert abs(mixed[0] - mixed[1]) > 1e-6


def test_document_packing_recipe_pretrains_and_is_checked(corpus, word_tokenizer):
    from rerankscale.config import ConfigError
    from rerankscale.models.pretrain import pretrain_mlm

    recipe = PretrainRecipe(
        min_tokens=20_000, max_tokens=20_000, seq_len=32, log_every=5, packing="documents"
    )
    _, log = pretrain_mlm(shape_for("5k"), word_tokenizer, corpus[:2000], recipe, progress=False)
    assert log["heldout_loss_final"] < log["heldout_loss_initial"] - 0.1
    assert log["epochs"] == 1  # the margin of text read covers the padding
    with pytest.raises(ConfigError, match="packing"):
        PretrainRecipe(packing="rows").validate()


def test_too_small_corpus_is_a_clear_error(tmp_path, word_tokenizer):
    with pytest.raises(PretrainError, match="corpus is too small"):
        suite_member(
            "toy/tiny",
            "5k",
            word_tokenizer,
            recipe=RECIPE,
            texts=["e1 r1 v1"] * 5,
            cache_dir=tmp_path,
            progress=False,
        )
    assert [p for p in (tmp_path / "suite").iterdir() if not p.name.endswith(".lock")] == []


def test_pretraining_is_deterministic_for_a_seed(corpus, word_tokenizer):
    from rerankscale.models.pretrain import pretrain_mlm

    recipe = PretrainRecipe(min_tokens=20_000, max_tokens=20_000, seq_len=32, log_every=5)
    a, log_a = pretrain_mlm(shape_for("5k"), word_tokenizer, corpus[:800], recipe, progress=False)
    probed = []

    def probe(step, model):  # reads the model as a probe along pretraining would
        if step % 4 == 0:
            with torch.inference_mode():
                model.eval()
                probed.append(float(model(input_ids=torch.tensor([[2, 5, 6, 3]])).logits.sum()))
                model.train()

    b, log_b = pretrain_mlm(
        shape_for("5k"), word_tokenizer, corpus[:800], recipe, progress=False, on_step=probe
    )
    assert len(probed) == log_b["steps"] // 4 and len(set(probed)) > 1  # it saw the model move
    assert log_a["curve"] == log_b["curve"]  # and the probe changed nothing
    assert log_a["heldout_loss_final"] == log_b["heldout_loss_final"]
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert log_a["documents_read"] == 800 and log_a["tokens_seen"] >= 20_000


def test_a_recipe_field_at_its_old_value_leaves_member_keys_unchanged():
    """Adding ``packing`` or ``engine`` must not invalidate the shipped members: at "stream" /
    "hf" they are not part of the key; "documents" / "fast" make a different member."""
    from rerankscale.models.pretrain import recipe_key_fields

    stream, documents = PretrainRecipe(), PretrainRecipe(packing="documents")
    assert "packing" not in recipe_key_fields(stream) and "engine" not in recipe_key_fields(stream)
    assert recipe_key_fields(documents)["packing"] == "documents"
    assert recipe_key_fields(PretrainRecipe(engine="fast"))["engine"] == "fast"


@pytest.mark.parametrize("packing", ["stream", "documents"])
def test_the_lean_engine_pretrains_the_same_model(corpus, word_tokenizer, packing):
    """``engine="fast"`` (``models.fastpath``) follows the module forward's trajectory to float
    rounding: same loss curve and held-out loss to ~1e-4 after 20k tokens."""
    from rerankscale.config import ConfigError
    from rerankscale.models.pretrain import pretrain_mlm

    logs = {}
    for engine in ("hf", "fast"):
        recipe = PretrainRecipe(
            min_tokens=20_000,
            max_tokens=20_000,
            seq_len=32,
            log_every=5,
            packing=packing,
            engine=engine,
        )
        _, logs[engine] = pretrain_mlm(
            shape_for("5k"), word_tokenizer, corpus[:2000], recipe, progress=False
        )
    hf, fast = logs["hf"], logs["fast"]
    assert hf["heldout_loss_final"] < hf["heldout_loss_initial"] - 0.1  # it learned
    assert fast["heldout_loss_initial"] == pytest.approx(hf["heldout_loss_initial"], abs=1e-5)
    assert fast["heldout_loss_final"] == pytest.approx(hf["heldout_loss_final"], abs=1e-3)
    losses = [(a["loss"], b["loss"]) for a, b in zip(hf["curve"], fast["curve"])]
    assert max(abs(a - b) for a, b in losses) < 1e-3
    with pytest.raises(ConfigError, match="engine"):
        PretrainRecipe(engine="turbo").validate()
