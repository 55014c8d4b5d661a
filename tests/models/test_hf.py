"""The ``hf`` family: a pretrained encoder by path (a local stand-in for a hub id)."""

from __future__ import annotations

import time

import pytest
import torch

from rerankscale.config import ModelConfig
from rerankscale.models.crossencoder import (
    ETTIN_REGISTRY,
    ModelLoadError,
    build_model,
    hf_name,
    modernbert_config,
    parameter_counts,
)
from rerankscale.models.shapes import shape_for


@pytest.fixture
def local_encoder(tmp_path, word_tokenizer):
    """A tiny ModernBERT masked-LM encoder + tokenizer saved as a hub model would be."""
    from transformers import ModernBertForMaskedLM

    config = modernbert_config(shape_for("20k"), word_tokenizer)
    config.num_labels = 2  # what a pretrained (non-classifier) config carries
    torch.manual_seed(0)
    mlm = ModernBertForMaskedLM(config)
    path = tmp_path / "tiny-modernbert"
    mlm.save_pretrained(path)
    word_tokenizer.save_pretrained(path)
    return path, mlm


def test_hf_family_loads_a_local_encoder_as_a_one_score_cross_encoder(
    local_encoder, word_tokenizer
):
    path, mlm = local_encoder
    model, tok = build_model(ModelConfig(family="hf", name_or_path=str(path)), None, seed=3)
    assert type(model).__name__ == "ModernBertForSequenceClassification"
    assert model.config.num_labels == 1 and len(tok) == len(word_tokenizer)
    for name, tensor in mlm.model.state_dict().items():  # the pretrained encoder, unchanged
        assert torch.equal(model.model.state_dict()[name], tensor), name
    assert parameter_counts(model)["non_embedding"] == shape_for("20k").non_embedding_params()
    again, _ = build_model(ModelConfig(family="hf", name_or_path=str(path)), None, seed=3)
    assert torch.equal(model.classifier.weight, again.classifier.weight)  # seeded head init
    batch = tok(["e1 r2"], ["e1 r2 v3"], return_tensors="pt")
    with torch.no_grad():
        assert model(**batch).logits.shape == (1, 1)


def test_registry_maps_the_paper_sizes_to_ettin_and_name_or_path_overrides():
    assert hf_name(ModelConfig(family="hf", size="17m")) == "jhu-clsp/ettin-encoder-17m"
    assert hf_name(ModelConfig(family="hf", size="1B")) == "jhu-clsp/ettin-encoder-1b"
    assert sorted(ETTIN_REGISTRY) == sorted(["17m", "32m", "68m", "150m", "400m", "1b"])
    cfg = ModelConfig(family="hf", size="17m", name_or_path="/models/mine")
    assert hf_name(cfg) == "/models/mine"


def test_unfetchable_hub_id_names_the_id_and_the_missing_hub_access(monkeypatch, tmp_path):
    import rerankscale.models.crossencoder as models

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hugging Face cache
    monkeypatch.setattr(models, "_hub_reachable", lambda: False)
    start = time.perf_counter()
    with pytest.raises(ModelLoadError) as err:
        build_model(ModelConfig(family="hf", size="17m"), None)
    message = str(err.value)
    assert "'jhu-clsp/ettin-encoder-17m'" in message
    assert "no Hugging Face Hub access" in message and "model.name_or_path" in message
    assert time.perf_counter() - start < 20  # no network retries


def test_hub_offline_environment_means_unreachable(monkeypatch):
    from rerankscale.models.crossencoder import _hub_reachable

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _hub_reachable() is False


def test_local_folder_without_a_model_is_a_load_error(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=r"half is not a model folder.*weights"):
        build_model(ModelConfig(family="hf", name_or_path=str(tmp_path / "half")), None)


def test_hf_family_keeps_the_checkpoints_pooling_and_dropout_unless_the_config_sets_them(
    local_encoder, tmp_path
):
    from transformers import AutoConfig

    path, _ = local_encoder
    config = AutoConfig.from_pretrained(path)  # a checkpoint that pools by mean, dropout 0.1
    config.classifier_pooling, config.classifier_dropout = "mean", 0.1
    config.save_pretrained(path)
    own, tok = build_model(ModelConfig(family="hf", name_or_path=str(path)), None, seed=3)
    assert own.config.classifier_pooling == "mean" and own.config.classifier_dropout == 0.1
    set_, _ = build_model(
        ModelConfig(family="hf", name_or_path=str(path), pooling="cls", dropout=0.0), None, seed=3
    )
    assert set_.config.classifier_pooling == "cls"
    assert set_.config.classifier_dropout == set_.config.attention_dropout == 0.0
    batch = tok(["e1 r2", "e3 r4"], ["e1 r2 v3 v5", "e3 v4"], padding=True, return_tensors="pt")
    with torch.no_grad():  # same weights, other pooled input: other scores
        assert not torch.allclose(own(**batch).logits, set_(**batch).logits)


def test_pooling_on_a_non_modernbert_checkpoint_is_a_config_error_naming_its_type(
    tmp_path, word_tokenizer
):
    from transformers import BertConfig, BertForMaskedLM

    from rerankscale.models.crossencoder import ModelConfigError

    path = tmp_path / "tiny-bert"
    bert = BertConfig(
        vocab_size=len(word_tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    BertForMaskedLM(bert).save_pretrained(path)
    word_tokenizer.save_pretrained(path)
    model, _ = build_model(ModelConfig(family="hf", name_or_path=str(path)), None, seed=0)
    assert type(model).__name__ == "BertForSequenceClassification"  # its own head, loaded
    with pytest.raises(ModelConfigError, match=r"'bert' checkpoint .* ModernBERT"):
        build_model(ModelConfig(family="hf", name_or_path=str(path), pooling="mean"), None)
