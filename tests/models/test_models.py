"""Building, counting, saving and loading ``scratch`` cross-encoders."""

from __future__ import annotations

import json

import pytest
import torch

from rerankscale.config import ConfigError, ModelConfig
from rerankscale.models.crossencoder import (
    ModelConfigError,
    ModelLoadError,
    build_model,
    load_model,
    model_shape,
    parameter_counts,
    save_model,
)
from rerankscale.models.encoding import PairEncoder
from rerankscale.models.shapes import shape_for


def _scores(model, tokenizer, max_length=32):
    enc = PairEncoder(tokenizer, max_length)
    batch = enc.encode(["e1 r2", "e3 r4 f1"], ["e1 r2 v3 f0 e1", "e9 r1 v2"])
    with torch.no_grad():
        return model(**batch).logits.squeeze(-1)


@pytest.mark.parametrize("size", ["10k", "50k", "250k"])
def test_scratch_counts_match_the_hand_formula(size, word_tokenizer):
    model, tok = build_model(ModelConfig(size=size), None, tokenizer=word_tokenizer)
    shape = shape_for(size)
    counts = parameter_counts(model)
    assert counts["non_embedding"] == shape.non_embedding_params()
    assert counts["total"] == shape.non_embedding_params() + len(word_tokenizer) * shape.d_model
    assert model_shape(model) == {**shape.to_dict(), "vocab_size": len(word_tokenizer)}
    assert model.config.num_labels == 1
    assert set(model.config.layer_types) == {"full_attention"}
    assert model.config._attn_implementation == "sdpa"


def test_scratch_is_deterministic_for_a_seed_and_leaves_the_global_rng_alone(word_tokenizer):
    cfg = ModelConfig(size="20k")
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a, _ = build_model(cfg, None, seed=7, tokenizer=word_tokenizer)
    after = torch.rand(3)
    assert torch.equal(before, after)  # building did not consume the caller's RNG
    b, _ = build_model(cfg, None, seed=7, tokenizer=word_tokenizer)
    c, _ = build_model(cfg, None, seed=8, tokenizer=word_tokenizer)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["classifier.weight"], sc["classifier.weight"])
    assert not a.training  # returned in eval mode, like from_pretrained
    scores = _scores(a, word_tokenizer)
    assert scores.shape == (2,) and torch.isfinite(scores).all()


def test_save_load_round_trip_is_exact_and_atomic(tmp_path, word_tokenizer):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model, tok = build_model(
        ModelConfig(size="20k", max_length=48), None, seed=1, tokenizer=word_tokenizer
    )
    path = tmp_path / "ckpt"
    save_model(model, tok, path, extra_json={"exposure.json": {"step": 3}})
    assert json.loads((path / "exposure.json").read_text()) == {"step": 3}
    assert (path / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temp folders left behind
    loaded, loaded_tok = load_model(path)
    assert len(loaded_tok) == len(word_tokenizer) == 5 + 122
    assert loaded_tok.model_max_length == 48
    assert torch.allclose(_scores(model, tok), _scores(loaded, loaded_tok))
    hf = AutoModelForSequenceClassification.from_pretrained(path)
    assert torch.allclose(_scores(model, tok), _scores(hf, AutoTokenizer.from_pretrained(path)))
    # saving again replaces the folder
    other, _ = build_model(ModelConfig(size="20k"), None, seed=2, tokenizer=word_tokenizer)
    save_model(other, tok, path)
    assert not (path / "exposure.json").exists()
    assert torch.allclose(_scores(other, tok), _scores(load_model(path)[0], tok))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_checkpoint_loads_with_sentence_transformers_cross_encoder(tmp_path, word_tokenizer):
    st = pytest.importorskip("sentence_transformers")
    model, tok = build_model(ModelConfig(size="20k"), None, seed=1, tokenizer=word_tokenizer)
    save_model(model, tok, tmp_path / "ce")
    ce = st.CrossEncoder(str(tmp_path / "ce"), device="cpu")
    scores = ce.predict(
        [("e1 r2", "e1 r2 v3 f0 e1"), ("e3 r4 f1", "e9 r1 v2")], activation_fn=torch.nn.Identity()
    )
    assert torch.allclose(torch.as_tensor(scores), _scores(model, tok), atol=1e-5)


def test_load_model_names_the_path_and_what_is_missing(tmp_path, word_tokenizer):
    with pytest.raises(ModelLoadError, match="is not a folder"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"empty.*config\.json.*weights.*tokenizer"):
        load_model(tmp_path / "empty")
    model, tok = build_model(ModelConfig(size="20k"), None, tokenizer=word_tokenizer)
    save_model(model, tok, tmp_path / "ok")
    (tmp_path / "ok" / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=r"ok is not a model folder: missing weights"):
        load_model(tmp_path / "ok")


def test_load_model_refuses_an_encoder_that_is_not_a_cross_encoder(tmp_path, word_tokenizer):
    from transformers import ModernBertForMaskedLM

    from rerankscale.models.crossencoder import modernbert_config

    config = modernbert_config(shape_for("20k"), word_tokenizer)
    config.num_labels = 2
    ModernBertForMaskedLM(config).save_pretrained(tmp_path / "mlm")
    word_tokenizer.save_pretrained(tmp_path / "mlm")
    with pytest.raises(ModelLoadError, match="not a cross-encoder checkpoint"):
        load_model(tmp_path / "mlm")


def test_bad_family_size_and_missing_dataset_are_clear_errors(word_tokenizer):
    with pytest.raises(ModelConfigError, match="unknown model family 'bert'"):
        build_model(ModelConfig(family="bert"), None, tokenizer=word_tokenizer)
    with pytest.raises(ConfigError, match="malformed size string 'big'"):
        build_model(ModelConfig(size="big"), None, tokenizer=word_tokenizer)
    with pytest.raises(ModelConfigError, match="needs a dataset id"):
        build_model(ModelConfig(size="20k"), None)
    with pytest.raises(ModelConfigError, match="no registered model for size '3m'"):
        build_model(ModelConfig(family="hf", size="3m"), None)


def test_scratch_builds_its_tokenizer_from_the_dataset(tmp_path, fake_data):
    model, tok = build_model(
        ModelConfig(size="20k", vocab_size=300), "toy/words", cache_dir=tmp_path
    )
    assert len(tok) == 5 + 122 == model.config.vocab_size  # the fixed vocabulary, word level
    model2, tok2 = build_model(
        ModelConfig(size="20k", vocab_size=300), "toy/text", cache_dir=tmp_path, progress=False
    )
    assert tok2.tokenize("e12 r3") != tok.tokenize("e12 r3") or len(tok2) != len(tok)
    assert model2.config.vocab_size == len(tok2) <= 300


def test_synthetic_dataset_gets_a_word_level_tokenizer_without_unknowns(tmp_path):
    data = pytest.importorskip("rerankscale.data")
    if not hasattr(data, "dataset_vocabulary"):
        pytest.skip("rerankscale.data has no dataset_vocabulary yet")
    dataset = "rerankscale/synthetic/dev"
    model, tok = build_model(ModelConfig(size="20k"), dataset, cache_dir=tmp_path)
    vocabulary = data.dataset_vocabulary(dataset)
    assert len(tok) == 5 + len(set(vocabulary)) == model.config.vocab_size
    texts = list(data.corpus_texts(dataset, limit=200))
    ids = [i for text in texts for i in tok(text, add_special_tokens=False)["input_ids"]]
    assert ids and tok.unk_token_id not in ids  # every synthetic word is in the vocabulary
